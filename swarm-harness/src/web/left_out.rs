//! The web UI in a build without the feature `web`: no axum, hyper or prometheus-client is
//! compiled, and a run has no UI. `PT_WEB=on`, `PT_LOCUST_PORT` and the other `PT_WEB_*`
//! settings are refused where they are parsed (`settings/parts.rs`), so nothing here is ever
//! asked for one: the same names as `web/mod.rs`, for `harness/run.rs`.

use crate::settings::Overrides;

/// A bound web UI: none can exist in this build.
pub(crate) enum Bound {}

/// The web UI served (see `web/mod.rs`); never built in this build.
pub(crate) struct Served {
    pub sink: Box<dyn crate::events::Sink>,
    pub commands: crate::control::Commands,
    pub url: String,
}

impl Bound {
    /// Never called: there is no `Bound` to call it on.
    pub(crate) fn start(self, _runtime: &tokio::runtime::Runtime) -> Result<Served, String> {
        match self {}
    }
}

/// No UI: quietly, since no setting asked for one (those that would are refused earlier).
pub(crate) fn bind(_overrides: &Overrides) -> Result<Option<Bound>, String> {
    Ok(None)
}
