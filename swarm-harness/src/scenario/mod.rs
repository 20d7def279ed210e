//! Scenarios: the registry of `#[stress_test]` functions (here: each one's metadata, which
//! listing and filtering read without the runner, plus the function pointers that run it),
//! and the trials made of them (`trials.rs`: user groups, parameters, task ratios), and the
//! run groups they run in (`runs.rs`: trials at the same time).

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

pub(crate) mod runs;
pub(crate) mod trials;

use std::time::Duration;

use crate::User;
pub use crate::user::{HookFn, ScenarioFuture};

/// How the runner calls a scenario function.
#[derive(Clone, Copy)]
pub enum Runner {
    Plain(for<'a> fn(&'a mut User) -> ScenarioFuture<'a>),
    Param(for<'a> fn(&'a mut User, &'static str) -> ScenarioFuture<'a>),
}

pub use crate::settings::WaitTime;

/// One `#[stress_test]` function as registered by the macro.
pub struct Scenario {
    /// Display name: the `name = ".."` option or the function's name.
    pub name: &'static str,
    pub function: &'static str,
    pub module: &'static str,
    pub file: &'static str,
    pub line: u32,
    pub params: &'static [&'static str],
    pub weight: u32,
    /// The `user = ".."` group: scenarios sharing one form one mixed trial.
    pub group: Option<&'static str>,
    /// The `trial = ".."` its user group belongs to: the groups (Locust's user classes) of one
    /// trial share its users, split by `user_weight` and `fixed_count`.
    pub trial: Option<&'static str>,
    /// The `run = ".."` group: trials naming one run at the same time, each with its own
    /// load model, thresholds and report.
    pub run: Option<&'static str>,
    /// The group's share of the trial's users (Locust's class `weight`).
    pub user_weight: Option<u32>,
    /// How many of the trial's users the group gets, whatever the others' weights (Locust's
    /// `fixed_count`).
    pub fixed_count: Option<u32>,
    pub ignore: bool,
    pub wait: Option<WaitTime>,
    pub users: Option<u32>,
    pub hatch_rate: Option<f64>,
    pub duration: Option<Duration>,
    pub thresholds: &'static [&'static str],
    pub on_start: Option<HookFn>,
    /// The `on_start` path as written, which identifies the hook (addresses do not).
    pub on_start_name: Option<&'static str>,
    pub on_stop: Option<HookFn>,
    pub on_stop_name: Option<&'static str>,
    /// Open model: iterations started per second.
    pub arrival_rate: Option<f64>,
    /// Open model: the most users serving iterations at once.
    pub max_users: Option<u32>,
    /// A ramp, `30s:10,1m:50,30s:0` (validated by the macro).
    pub stages: Option<&'static str>,
    /// A programmable load shape.
    pub shape: Option<ShapeFn>,
    pub shape_name: Option<&'static str>,
    /// The client the function takes instead of `&mut User`, built once per user.
    pub client: Option<crate::user::user_client::ClientHook>,
    /// The `http = ".."` option: the users' HTTP client unless `PT_HTTP` says.
    pub http: Option<crate::http::transport::HttpClient>,
    pub runner: Runner,
}

/// Makes a scenario's load shape.
pub type ShapeFn = fn() -> Box<dyn crate::LoadShape>;

impl Scenario {
    /// Every scenario linked into this binary.
    pub fn all() -> impl Iterator<Item = &'static Scenario> {
        inventory::iter::<Scenario>.into_iter()
    }

    /// The identity of a hook or shape path written in this scenario's module: absolute paths
    /// as written, relative ones qualified with the module.
    pub fn path_key(&self, path: Option<&'static str>) -> Option<String> {
        path.map(|path| {
            if path.starts_with("crate::") || path.starts_with("::") {
                path.to_owned()
            } else {
                format!("{}::{path}", self.module)
            }
        })
    }

    /// Where the scenario is defined, for error messages.
    pub fn location(&self) -> String {
        format!(
            "{}:{} ({}::{})",
            self.file, self.line, self.module, self.function
        )
    }
}

inventory::collect!(Scenario);
