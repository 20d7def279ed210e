//! Run groups: trials that run at the same time, each with its own load model, thresholds and
//! report (k6's `scenarios`, Gatling's populations). A trial joins one by its attribute
//! (`run = "mix"`) or by `PT_RUN_TOGETHER` (`mix=browse,api`), which wins for the trials it
//! names. A group is one libtest trial, named after the group.

use super::trials::TrialSpec;
use crate::settings::RunGroups;

/// What libtest runs as one of its trials: a trial on its own, or a run group.
pub(crate) enum Unit {
    /// A trial, with its position in the run.
    Alone(Box<TrialSpec>, usize),
    /// A run group: its name and its trials, each with its position in the run.
    Together {
        name: String,
        members: Vec<(TrialSpec, usize)>,
    },
}

impl Unit {
    /// The name libtest knows it by.
    pub(crate) fn name(&self) -> &str {
        match self {
            Unit::Alone(spec, _) => &spec.name,
            Unit::Together { name, .. } => name,
        }
    }

    /// Whether libtest counts it as ignored: a trial that is, a group whose trials all are.
    pub(crate) fn ignored(&self) -> bool {
        match self {
            Unit::Alone(spec, _) => spec.ignore,
            Unit::Together { members, .. } => members.iter().all(|(spec, _)| spec.ignore),
        }
    }

    /// The names of the trials it runs.
    pub(crate) fn trials(&self) -> Vec<String> {
        match self {
            Unit::Alone(spec, _) => vec![spec.name.clone()],
            Unit::Together { members, .. } => {
                members.iter().map(|(spec, _)| spec.name.clone()).collect()
            }
        }
    }
}

/// Run groups that cannot be formed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum RunError {
    #[error(
        "invalid PT_RUN_TOGETHER: group {group:?} names {trial:?}, which is not a trial of this \
         binary; its trials: {known}"
    )]
    UnknownTrial {
        group: String,
        trial: String,
        known: String,
    },
    #[error(
        "run group {group:?} has the name of a trial; give the group (`run = \"..\"` or \
         PT_RUN_TOGETHER) a name of its own"
    )]
    NameTaken { group: String },
}

/// The units libtest runs, in the order of their first trial: each trial's group is the one
/// `PT_RUN_TOGETHER` names it in, else its attribute's. Trials keep their position in the run
/// (`specs`' order), which events and commands name them by. An ignored trial leaves a group
/// of trials that are not (unless `include_ignored`); a group of ignored trials is ignored.
pub(crate) fn units(
    specs: Vec<TrialSpec>,
    named: Option<&RunGroups>,
    include_ignored: bool,
) -> Result<Vec<Unit>, RunError> {
    if let Some(RunGroups(groups)) = named {
        for (group, members) in groups {
            if let Some(trial) = members
                .iter()
                .find(|m| !specs.iter().any(|s| &s.name == *m))
            {
                return Err(RunError::UnknownTrial {
                    group: group.clone(),
                    trial: trial.clone(),
                    known: specs
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let mut units: Vec<Unit> = Vec::new();
    for (index, mut spec) in specs.into_iter().enumerate() {
        if let Some(group) = named.and_then(|groups| groups.group_of(&spec.name)) {
            spec.run = Some(group.to_owned());
        }
        let Some(group) = spec.run.clone() else {
            units.push(Unit::Alone(Box::new(spec), index));
            continue;
        };
        if names.contains(&group) {
            return Err(RunError::NameTaken { group });
        }
        let joined = units.iter_mut().find_map(|unit| match unit {
            Unit::Together { name, members } if *name == group => Some(members),
            _ => None,
        });
        match joined {
            Some(members) => members.push((spec, index)),
            None => units.push(Unit::Together {
                name: group,
                members: vec![(spec, index)],
            }),
        }
    }
    for unit in &mut units {
        if let Unit::Together { members, .. } = unit
            && !include_ignored
            && members.iter().any(|(spec, _)| !spec.ignore)
        {
            members.retain(|(spec, _)| !spec.ignore);
        }
    }
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::AttributeLoad;

    fn spec(name: &str, run: Option<&str>) -> TrialSpec {
        TrialSpec {
            name: name.to_owned(),
            scenario: name.to_owned(),
            param: None,
            classes: Vec::new(),
            load: AttributeLoad {
                users: None,
                hatch_rate: None,
                duration: None,
                wait: None,
                arrival_rate: None,
                max_users: None,
                stages: None,
                http: None,
            },
            shape: None,
            shape_name: None,
            thresholds: crate::threshold::Thresholds::default(),
            ignore: false,
            run: run.map(str::to_owned),
        }
    }

    fn shape(units: &[Unit]) -> Vec<(String, Vec<(String, usize)>)> {
        units
            .iter()
            .map(|unit| match unit {
                Unit::Alone(spec, index) => (spec.name.clone(), vec![(spec.name.clone(), *index)]),
                Unit::Together { name, members } => (
                    name.clone(),
                    members.iter().map(|(s, i)| (s.name.clone(), *i)).collect(),
                ),
            })
            .collect()
    }

    fn owned(rows: &[(&str, &[(&str, usize)])]) -> Vec<(String, Vec<(String, usize)>)> {
        rows.iter()
            .map(|(n, m)| {
                (
                    (*n).to_owned(),
                    m.iter().map(|(t, i)| ((*t).to_owned(), *i)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn attribute_groups_gather_and_the_environment_wins() {
        let specs = vec![
            spec("a", Some("mix")),
            spec("b", None),
            spec("c", Some("mix")),
        ];
        let got = units(specs.clone(), None, false).unwrap();
        assert_eq!(
            shape(&got),
            owned(&[("mix", &[("a", 0), ("c", 2)]), ("b", &[("b", 1)])])
        );
        let named = RunGroups::parse("night=c,b").unwrap();
        let got = units(specs, Some(&named), false).unwrap();
        assert_eq!(
            shape(&got),
            owned(&[("mix", &[("a", 0)]), ("night", &[("b", 1), ("c", 2)])])
        );
    }

    #[test]
    fn an_ignored_trial_leaves_its_group_unless_ignored_trials_run() {
        let mut ignored = spec("b", Some("mix"));
        ignored.ignore = true;
        let specs = vec![spec("a", Some("mix")), ignored];
        let got = units(specs.clone(), None, false).unwrap();
        assert_eq!(shape(&got), owned(&[("mix", &[("a", 0)])]));
        assert!(!got[0].ignored());
        let got = units(specs, None, true).unwrap();
        assert_eq!(shape(&got), owned(&[("mix", &[("a", 0), ("b", 1)])]));
    }

    #[test]
    fn unknown_trials_and_taken_names_are_refused() {
        let specs = vec![spec("a", None), spec("b", Some("a"))];
        let named = RunGroups::parse("mix=a,zz").unwrap();
        let error = units(specs.clone(), Some(&named), false).err().unwrap();
        assert_eq!(
            error.to_string(),
            "invalid PT_RUN_TOGETHER: group \"mix\" names \"zz\", which is not a trial of this \
             binary; its trials: a, b"
        );
        assert_eq!(
            units(specs, None, false).err(),
            Some(RunError::NameTaken { group: "a".into() })
        );
    }
}
