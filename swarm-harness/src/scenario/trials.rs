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
    /// Its user classes: one for a scenario or a `user = ".."` group, several for a
    /// `trial = ".."` of groups (Locust's user classes).
    pub classes: Vec<ClassSpec>,
    pub load: AttributeLoad,
    pub shape: Option<ShapeFn>,
    /// The shape's path as written (`shape = my_shape`), for the report's `config`.
    pub shape_name: Option<&'static str>,
    pub thresholds: Thresholds,
    pub ignore: bool,
    /// The run group it runs in, at the same time as the group's other trials (`run = ".."`,
    /// or `PT_RUN_TOGETHER`); `None`: on its own.
    pub run: Option<String>,
}

/// One user class of a trial: its tasks, hooks and wait time, and its share of the users.
#[derive(Clone)]
pub(crate) struct ClassSpec {
    /// The group's name (the scenario's, for a scenario of its own).
    pub name: String,
    pub tasks: Vec<TaskSpec>,
    pub on_start: Option<HookFn>,
    pub on_stop: Option<HookFn>,
    /// Its own wait time, in a trial of several classes; `None`: the trial's.
    pub wait: Option<WaitTime>,
    /// Its share of the users not taken by fixed counts (Locust's class `weight`).
    pub weight: u32,
    /// Users it gets first, whatever the weights (Locust's `fixed_count`).
    pub fixed_count: Option<u32>,
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
    #[error("two trials are both named {name:?}; rename the `trial = \"..\"`, group or scenario")]
    DuplicateTrial { name: String },
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
    // Groups that name a trial are its user classes; the others are trials of their own.
    let mut mixed: BTreeMap<&str, Vec<(&str, Vec<&'static Scenario>)>> = BTreeMap::new();
    for (group, members) in groups {
        match agree(group, "trial", members.iter().map(|m| m.trial))? {
            Some(trial) => mixed.entry(trial).or_default().push((group, members)),
            None => trials.extend(group_trials(group, &[(group, members)], include_ignored)?),
        }
    }
    for (trial, classes) in mixed {
        trials.extend(group_trials(trial, &classes, include_ignored)?);
    }
    trials.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(pair) = trials.windows(2).find(|pair| pair[0].name == pair[1].name) {
        return Err(TrialError::DuplicateTrial {
            name: pair[0].name.clone(),
        });
    }
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
        classes: vec![ClassSpec {
            name: scenario.name.to_owned(),
            tasks: vec![task(scenario, param)],
            on_start: scenario.on_start,
            on_stop: scenario.on_stop,
            wait: None,
            weight: 1,
            fixed_count: None,
        }],
        load: load_of(scenario),
        shape: scenario.shape,
        shape_name: scenario.shape.and(scenario.shape_name),
        thresholds: thresholds_of(scenario)?,
        ignore: scenario.ignore,
        run: scenario.run.map(str::to_owned),
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

/// A group's class options, agreed by its members.
struct ClassOptions {
    on_start: Option<HookFn>,
    on_stop: Option<HookFn>,
    wait: Option<WaitTime>,
    weight: u32,
    fixed_count: Option<u32>,
}

fn class_options(group: &str, members: &[&Scenario]) -> Result<ClassOptions, TrialError> {
    let pick = |f: fn(&Scenario) -> Option<u32>| members.iter().map(move |m| f(m));
    Ok(ClassOptions {
        on_start: agree_path(group, "on_start", members, |m| m.on_start_name)?
            .and_then(|m| m.on_start),
        on_stop: agree_path(group, "on_stop", members, |m| m.on_stop_name)?.and_then(|m| m.on_stop),
        wait: agree::<WaitTime>(group, "wait", members.iter().map(|m| m.wait))?,
        weight: agree(group, "user_weight", pick(|m| m.user_weight))?.unwrap_or(1),
        fixed_count: agree(group, "fixed_count", pick(|m| m.fixed_count))?,
    })
}

/// The trials of user groups: one group (a `user = ".."` trial of its own, its wait time the
/// trial's), or the groups of a `trial = ".."`, each a user class with its own wait time.
/// The load (users, hatch rate, duration, model) is the trial's: every member agrees on it.
fn group_trials(
    trial: &str,
    groups: &[(&str, Vec<&'static Scenario>)],
    include_ignored: bool,
) -> Result<Vec<TrialSpec>, TrialError> {
    let members: Vec<&'static Scenario> = groups.iter().flat_map(|(_, m)| m.clone()).collect();
    let several = groups
        .iter()
        .any(|(_, m)| m.iter().any(|m| m.trial.is_some()));
    let mut classes = Vec::new();
    for (group, group_members) in groups {
        classes.push((*group, group_members, class_options(group, group_members)?));
    }
    let mut load = trial_load(trial, &members)?;
    if !several {
        // A group of its own: its wait time is the trial's, which PT_WAIT-style overrides
        // layer over.
        load.wait = classes[0].2.wait.take();
    }
    let run = agree(trial, "run", members.iter().map(|m| m.run))?;
    let shaped = agree_path(trial, "shape", &members, |m| m.shape_name)?;
    let shape = shaped.and_then(|m| m.shape);
    let shape_name = shaped.and_then(|m| m.shape.and(m.shape_name));
    let mut thresholds = Thresholds::default();
    for member in &members {
        thresholds.0.extend(thresholds_of(member)?.0);
    }
    let mut params: Vec<&'static str> = Vec::new();
    for member in &members {
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
    let class_of =
        |variant: Option<&'static str>,
         (name, members, options): &(&str, &Vec<&'static Scenario>, ClassOptions)| {
            let tasks: Vec<TaskSpec> = members
                .iter()
                .filter(|m| include_ignored || !m.ignore)
                .flat_map(|&member| variant_task(member, variant))
                .collect();
            (!tasks.is_empty()).then(|| ClassSpec {
                name: (*name).to_owned(),
                tasks,
                on_start: options.on_start,
                on_stop: options.on_stop,
                wait: options.wait,
                weight: options.weight,
                fixed_count: options.fixed_count,
            })
        };
    Ok(variants
        .into_iter()
        .map(|variant| TrialSpec {
            name: trial_name(trial, variant),
            scenario: trial.to_owned(),
            param: variant,
            classes: classes
                .iter()
                .filter_map(|class| class_of(variant, class))
                .collect(),
            load: load.clone(),
            shape,
            shape_name,
            thresholds: thresholds.clone(),
            ignore: members.iter().all(|m| m.ignore),
            run: run.map(str::to_owned),
        })
        .filter(|trial| !trial.classes.is_empty())
        .collect())
}

/// The task of `member` in the trial variant `variant`, if it has one.
fn variant_task(member: &'static Scenario, variant: Option<&'static str>) -> Option<TaskSpec> {
    if member.params.is_empty() {
        Some(task(member, None))
    } else {
        variant
            .filter(|v| member.params.contains(v))
            .map(|v| task(member, Some(v)))
    }
}

/// The load every member of a trial agrees on (the wait time aside: each class has its own).
fn trial_load(trial: &str, members: &[&'static Scenario]) -> Result<AttributeLoad, TrialError> {
    Ok(AttributeLoad {
        users: agree(trial, "users", members.iter().map(|m| m.users))?,
        hatch_rate: agree(trial, "hatch_rate", members.iter().map(|m| m.hatch_rate))?,
        duration: agree(trial, "duration", members.iter().map(|m| m.duration))?,
        wait: None,
        arrival_rate: agree(
            trial,
            "arrival_rate",
            members.iter().map(|m| m.arrival_rate),
        )?,
        max_users: agree(trial, "max_users", members.iter().map(|m| m.max_users))?,
        stages: agree(trial, "stages", members.iter().map(|m| m.stages))?
            .and_then(|text| Stages::parse(text).ok()),
        http: agree(trial, "http", members.iter().map(|m| m.http))?,
    })
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
/// run one at a time: a trial of one class is a user class with a ratio of 1 (keyed by the
/// trial's name); the classes of a `trial = ".."` are keyed `trial/class`, their ratio their
/// share of the weights, and `total` gives each task its class's share of it.
pub(crate) fn task_ratio_json(trials: &[TrialSpec]) -> serde_json::Value {
    let (mut per_class, mut total) = (serde_json::Map::new(), serde_json::Map::new());
    for trial in trials {
        let weights: u32 = trial.classes.iter().map(|c| c.weight).sum();
        for class in &trial.classes {
            let share = match trial.classes.len() {
                1 => 1.0,
                _ => f64::from(class.weight) / f64::from(weights.max(1)),
            };
            let key = match trial.classes.len() {
                1 => trial.name.clone(),
                _ => format!("{}/{}", trial.name, class.name),
            };
            let sum: u32 = class.tasks.iter().map(|t| t.weight).sum();
            let ratios = |scale: f64| -> serde_json::Map<String, serde_json::Value> {
                class
                    .tasks
                    .iter()
                    .map(|t| {
                        let ratio = f64::from(t.weight) / f64::from(sum.max(1)) * scale;
                        (t.name.clone(), serde_json::json!({ "ratio": ratio }))
                    })
                    .collect()
            };
            let entry = |tasks| serde_json::json!({ "ratio": share, "tasks": tasks });
            per_class.insert(key.clone(), entry(ratios(1.0)));
            total.insert(key, entry(ratios(share)));
        }
    }
    serde_json::json!({ "per_class": per_class, "total": total })
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
