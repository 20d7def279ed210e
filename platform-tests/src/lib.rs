//! platform-tests: a sample platform service, its typed client, and the scenarios that serve
//! both as its integration tests and as its stress tests.
//!
//! - [`service`]: the platform (axum), embedded in tests or run alone (`--bin platform`).
//! - [`client`]: a typed client on a swarm-harness `User`.
//! - [`scenarios`]: the scenario functions, registered with `#[stress_test]`.

pub mod client;
pub mod config;
pub mod scenarios;
pub mod service;

pub use service::{Platform, PlatformConfig, spawn};

/// The stress target's `main`: runs the registered scenarios against `PT_HOST`, or against a
/// platform started in-process (configured by `PLATFORM_*` variables) when it is unset.
pub fn stress_main() -> std::process::ExitCode {
    swarm_harness::Harness::new()
        .embedded_target(|| async {
            let config = config::PlatformArgs::from_env()?.into_config();
            let platform = service::spawn(config).await;
            Ok(platform.url())
        })
        .run()
}
