//! From registered scenarios to trials: one per scenario (or `user = ".."` group) and
//! parameter, named `scenario[param]`, with the group's settings reconciled.

use std::collections::BTreeMap;

use crate::scenario::{HookFn, Runner, Scenario, ShapeFn, WaitTime};
use crate::settings::AttributeLoad;
use crate::shape::Stages;
use crate::threshold::{ThresholdError, Thresholds};
use crate::user::ScenarioFuture;
use crate::user::user_client::ClientHook;

/// A trial before the environment is applied.
#[derive(Clone)]
pub(crate) struct TrialSpec {
    pub name: String,
    /// The scenario or group name.
    pub scenario: String,
    pub param: Option<&'static str>,
    pub tasks: Vec<TaskSpec>,
    pub load: AttributeLoad,
    pub shape: Option<ShapeFn>,
    pub on_start: Option<HookFn>,
    pub on_stop: Option<HookFn>,
    pub thresholds: Thresholds,
    pub ignore: bool,
}

/// Scenarios that cannot form trials.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum TrialError {
    #[error(
        "scenarios in user group {group:?} disagree on `{option}`: {first} and {second}; \
         set it on one scenario of the group only"
    )]
    GroupConflict {
        group: String,
        option: &'static str,
        first: String,
        second: String,
    },
    #[error(
        "two scenarios are both named {name:?}: {first} and {second}; rename one with `name = \"..\"`"
    )]
    DuplicateName {
        name: String,
        first: String,
        second: String,
    },
    #[error("--only-with-param {param:?} matches no trial; parameters in this binary: {known}")]
    NoSuchParam { param: String, known: String },
    #[error(
        "{location}: `http = \"reqwest\"`: {}",
        crate::http::reqwest_versions::NO_REQWEST
    )]
    NoReqwest { location: String },
    #[error("{location}: {source}")]
    Threshold {
        location: String,
        #[source]
        source: ThresholdError,
    },
}

fn trial_name(base: &str, param: Option<&str>) -> String {
    match param {
        Some(param) => format!("{base}[{param}]"),
        None => base.to_owned(),
    }
}

/// Builds every trial, sorted by name. `include_ignored` (`--include-ignored`, `--ignored`)
/// keeps the ignored members of user groups among their group's tasks.
pub(crate) fn build_trials(
    scenarios: &[&'static Scenario],
    include_ignored: bool,
) -> Result<Vec<TrialSpec>, TrialError> {
    let mut seen: BTreeMap<&str, &Scenario> = BTreeMap::new();
    for scenario in scenarios {
        if scenario.http == Some(crate::http::transport::HttpClient::Reqwest)
            && !crate::http::reqwest_versions::HAS_REQWEST
        {
            return Err(TrialError::NoReqwest {
                location: scenario.location(),
            });
        }
        if let Some(first) = seen.insert(scenario.name, scenario) {
            return Err(TrialError::DuplicateName {
                name: scenario.name.to_owned(),
                first: first.location(),
                second: scenario.location(),
            });
        }
    }
    let mut groups: BTreeMap<&str, Vec<&'static Scenario>> = BTreeMap::new();
    let mut trials = Vec::new();
    for &scenario in scenarios {
        match scenario.group {
            Some(group) => groups.entry(group).or_default().push(scenario),
            None => {
                for param in params_of(scenario) {
                    trials.push(single(scenario, param)?);
                }
            }
        }
    }
    for (group, members) in groups {
        trials.extend(group_trials(group, &members, include_ignored)?);
    }
    trials.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(trials)
}

fn params_of(scenario: &Scenario) -> Vec<Option<&'static str>> {
    if scenario.params.is_empty() {
        vec![None]
    } else {
        scenario.params.iter().map(|p| Some(*p)).collect()
    }
}

fn task(scenario: &'static Scenario, param: Option<&'static str>) -> TaskSpec {
    TaskSpec {
        name: trial_name(scenario.name, param),
        weight: scenario.weight,
        runner: scenario.runner,
        param,
        client: scenario.client,
    }
}

fn load_of(scenario: &Scenario) -> AttributeLoad {
    AttributeLoad {
        users: scenario.users,
        hatch_rate: scenario.hatch_rate,
        duration: scenario.duration,
        wait: scenario.wait,
        arrival_rate: scenario.arrival_rate,
        max_users: scenario.max_users,
        stages: stages_of(scenario),
        http: scenario.http,
    }
}

fn stages_of(scenario: &Scenario) -> Option<Stages> {
    // The macro validated the text; a hand-made registration that is invalid has no stages.
    scenario.stages.and_then(|text| Stages::parse(text).ok())
}

fn thresholds_of(scenario: &Scenario) -> Result<Thresholds, TrialError> {
    Thresholds::parse(scenario.thresholds).map_err(|source| TrialError::Threshold {
        location: scenario.location(),
        source,
    })
}

fn single(
    scenario: &'static Scenario,
    param: Option<&'static str>,
) -> Result<TrialSpec, TrialError> {
    Ok(TrialSpec {
        name: trial_name(scenario.name, param),
        scenario: scenario.name.to_owned(),
        param,
        tasks: vec![task(scenario, param)],
        load: load_of(scenario),
        shape: scenario.shape,
        on_start: scenario.on_start,
        on_stop: scenario.on_stop,
        thresholds: thresholds_of(scenario)?,
        ignore: scenario.ignore,
    })
}

/// One value that the members of a group may set at most once (or identically).
fn agree<T: PartialEq + Copy + std::fmt::Debug>(
    group: &str,
    option: &'static str,
    values: impl Iterator<Item = Option<T>>,
) -> Result<Option<T>, TrialError> {
    let mut chosen: Option<T> = None;
    for value in values.flatten() {
        match chosen {
            Some(first) if first != value => {
                return Err(TrialError::GroupConflict {
                    group: group.to_owned(),
                    option,
                    first: format!("{first:?}"),
                    second: format!("{value:?}"),
                });
            }
            _ => chosen = Some(value),
        }
    }
    Ok(chosen)
}

/// One path (hook or shape) that the members of a group may name at most once (or the same).
fn agree_path<'m>(
    group: &str,
    option: &'static str,
    members: &[&'m Scenario],
    pick: fn(&Scenario) -> Option<&'static str>,
) -> Result<Option<&'m Scenario>, TrialError> {
    let mut chosen: Option<(String, &Scenario)> = None;
    for member in members {
        let Some(key) = member.path_key(pick(member)) else {
            continue;
        };
        match &chosen {
            Some((first, _)) if *first != key => {
                return Err(TrialError::GroupConflict {
                    group: group.to_owned(),
                    option,
                    first: first.clone(),
                    second: key,
                });
            }
            Some(_) => {}
            None => chosen = Some((key, member)),
        }
    }
    Ok(chosen.map(|(_, member)| member))
}

fn group_trials(
    group: &str,
    members: &[&'static Scenario],
    include_ignored: bool,
) -> Result<Vec<TrialSpec>, TrialError> {
    let on_start: Option<HookFn> =
        agree_path(group, "on_start", members, |m| m.on_start_name)?.and_then(|m| m.on_start);
    let on_stop: Option<HookFn> =
        agree_path(group, "on_stop", members, |m| m.on_stop_name)?.and_then(|m| m.on_stop);
    let load = AttributeLoad {
        users: agree(group, "users", members.iter().map(|m| m.users))?,
        hatch_rate: agree(group, "hatch_rate", members.iter().map(|m| m.hatch_rate))?,
        duration: agree(group, "duration", members.iter().map(|m| m.duration))?,
        wait: agree::<WaitTime>(group, "wait", members.iter().map(|m| m.wait))?,
        arrival_rate: agree(
            group,
            "arrival_rate",
            members.iter().map(|m| m.arrival_rate),
        )?,
        max_users: agree(group, "max_users", members.iter().map(|m| m.max_users))?,
        stages: agree(group, "stages", members.iter().map(|m| m.stages))?
            .and_then(|text| Stages::parse(text).ok()),
        http: agree(group, "http", members.iter().map(|m| m.http))?,
    };
    let shape = agree_path(group, "shape", members, |m| m.shape_name)?.and_then(|m| m.shape);
    let mut thresholds = Thresholds::default();
    for member in members {
        thresholds.0.extend(thresholds_of(member)?.0);
    }
    let mut params: Vec<&'static str> = Vec::new();
    for member in members {
        for param in member.params {
            if !params.contains(param) {
                params.push(param);
            }
        }
    }
    let variants: Vec<Option<&'static str>> = if params.is_empty() {
        vec![None]
    } else {
        params.into_iter().map(Some).collect()
    };
    Ok(variants
        .into_iter()
        .map(|variant| {
            let tasks = members
                .iter()
                .filter(|m| include_ignored || !m.ignore)
                .flat_map(|&member| {
                    if member.params.is_empty() {
                        Some(task(member, None))
                    } else {
                        variant
                            .filter(|v| member.params.contains(v))
                            .map(|v| task(member, Some(v)))
                    }
                })
                .collect();
            TrialSpec {
                name: trial_name(group, variant),
                scenario: group.to_owned(),
                param: variant,
                tasks,
                load: load.clone(),
                shape,
                on_start,
                on_stop,
                thresholds: thresholds.clone(),
                ignore: members.iter().all(|m| m.ignore),
            }
        })
        .filter(|trial| !trial.tasks.is_empty())
        .collect())
}

/// Only the trials with parameter `param` (`--only-with-param`).
///
/// # Errors
/// When no trial has it; the error lists the parameters there are.
pub(crate) fn keep_param(specs: Vec<TrialSpec>, param: &str) -> Result<Vec<TrialSpec>, TrialError> {
    let mut known: Vec<&str> = specs.iter().filter_map(|s| s.param).collect();
    known.sort_unstable();
    known.dedup();
    let known = if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    };
    let kept: Vec<TrialSpec> = specs
        .into_iter()
        .filter(|s| s.param == Some(param))
        .collect();
    if kept.is_empty() {
        return Err(TrialError::NoSuchParam {
            param: param.to_owned(),
            known,
        });
    }
    Ok(kept)
}

/// The task ratios of every trial in the shape of Locust's `--show-task-ratio-json`. Trials
/// run one at a time, so each user class (trial) has a ratio of 1 and `total` equals
/// `per_class`.
pub(crate) fn task_ratio_json(trials: &[TrialSpec]) -> serde_json::Value {
    let mut classes = serde_json::Map::new();
    for trial in trials {
        let total: u32 = trial.tasks.iter().map(|t| t.weight).sum();
        let tasks: serde_json::Map<String, serde_json::Value> = trial
            .tasks
            .iter()
            .map(|t| {
                let ratio = f64::from(t.weight) / f64::from(total.max(1));
                (t.name.clone(), serde_json::json!({ "ratio": ratio }))
            })
            .collect();
        classes.insert(
            trial.name.clone(),
            serde_json::json!({ "ratio": 1.0, "tasks": tasks }),
        );
    }
    serde_json::json!({ "per_class": classes.clone(), "total": classes })
}
/// One task of a trial: a scenario, with its parameter when it has one.
#[derive(Clone)]
pub(crate) struct TaskSpec {
    /// `scenario` or `scenario[param]`.
    pub name: String,
    pub weight: u32,
    pub runner: Runner,
    pub param: Option<&'static str>,
    /// The client its function takes, built once per user when it starts.
    pub client: Option<ClientHook>,
}

impl TaskSpec {
    pub(crate) fn run<'a>(&self, user: &'a mut crate::User) -> ScenarioFuture<'a> {
        match (self.runner, self.param) {
            (Runner::Plain(run), _) => run(user),
            (Runner::Param(run), Some(param)) => run(user, param),
            (Runner::Param(_), None) => unreachable!("parametrized tasks always carry a param"),
        }
    }
}
