//! platform-tests: a sample platform service, its typed client, and the scenarios that serve
//! both as its integration tests and as its stress tests.
//!
//! - [`service`]: the platform (axum), embedded in tests or run alone (`--bin platform`).
//! - [`client`]: a typed client on a swarm-harness `User`.
//! - [`api`]: the typed client a team already has, on `reqwest_middleware`, used unchanged.
//! - [`scenarios`]: the scenario functions, registered with `#[stress_test]`.

pub mod api;
pub mod client;
pub mod config;
pub mod scenarios;
pub mod service;

pub use service::{Platform, PlatformConfig, spawn};

/// The stress target's `main`: runs the registered scenarios against `PT_HOST`, or against a
/// platform started in-process (configured by `PLATFORM_*` variables) when it is unset.
/// At the end it reports what the embedded platform counted (logins, organizations, injected
/// errors), the ground truth to hold the reports against.
pub fn stress_main() -> std::process::ExitCode {
    let embedded: std::sync::Arc<std::sync::OnceLock<Platform>> = std::sync::Arc::default();
    let started = embedded.clone();
    swarm_harness::Harness::new()
        .embedded_target(move || async move {
            let config = config::PlatformArgs::from_env()?.into_config();
            let platform = service::spawn(config).await;
            let url = platform.url();
            let _ = started.set(platform);
            Ok(url)
        })
        .on_finish(move || {
            embedded.get().map(|platform| {
                let counters = platform.counters();
                let injected: u64 = counters.injected_errors.values().sum();
                format!(
                    "embedded platform counted: {} logins, {} organizations created ({} deleted), \
                     {} apps created, {} injected errors, {} requests",
                    counters.logins,
                    counters.orgs_created,
                    counters.orgs_deleted,
                    counters.apps_created,
                    injected,
                    counters.requests.values().sum::<u64>()
                )
            })
        })
        .run()
}
