//! The Locust worker in a build without the feature `locust`: no rmpv is compiled, and this
//! process is never a worker. `PT_LOCUST_MASTER` is refused where it is parsed
//! (`settings/parts.rs`), `--locustfile` here: the same names as `locust/mod.rs`, for
//! `harness/run.rs`.

use std::process::ExitCode;
use std::sync::Arc;

use crate::events::Sink;
use crate::runner::RunEnv;
use crate::scenario::trials::TrialSpec;
use crate::settings::{Overrides, Part};
use crate::user::target::Finish;

/// This process as a Locust worker: never, in this build.
pub(crate) enum WorkerMode {}

impl WorkerMode {
    /// None: `PT_LOCUST_MASTER` cannot have been set.
    pub(crate) fn of(_overrides: &Overrides) -> Option<Self> {
        None
    }

    /// Never called: there is no worker to call it on.
    pub(crate) fn sink(&self) -> Box<dyn Sink> {
        match *self {}
    }

    /// Never called: there is no worker to call it on.
    pub(crate) fn run(
        self,
        _run: Arc<RunEnv>,
        _specs: Vec<TrialSpec>,
        _finish: Finish,
    ) -> Result<ExitCode, String> {
        match self {}
    }
}

/// `--locustfile`: refused, since no master can drive this binary.
pub(crate) fn locustfile(_trials: &[(String, u32)]) -> Result<String, String> {
    Err(format!("--locustfile {}", Part::Locust.missing()))
}
