//! # swarm-harness
//!
//! A cargo test harness that runs a project's integration tests as Locust-style stress tests.
//!
//! Mark async scenario functions with [`stress_test`], declare a test target with
//! `harness = false` whose `main` calls [`main()`], and
//! `PT_NUM_CLIENTS=20 cargo test --test stress` runs each scenario as a swarm of simulated
//! users: spawned at a hatch rate, looping over weighted tasks with wait times for a duration,
//! each user with its own HTTP session. Every request and task is timed into HDR histograms
//! and written as a JSON report per trial.
//!
//! ```no_run
//! use swarm_harness::{stress_test, User};
//!
//! #[stress_test(weight = 3, wait = between(1s, 3s))]
//! async fn browse_catalog(user: &mut User) -> anyhow::Result<()> {
//!     user.get("/api/catalog").send().await?.error_for_status()?;
//!     Ok(())
//! }
//!
//! #[stress_test(params = ["small", "large"])]
//! async fn create_app(user: &mut User, size: &str) -> anyhow::Result<()> {
//!     user.post("/api/apps").json(&serde_json::json!({ "size": size })).send().await?;
//!     Ok(())
//! }
//! # fn main() {}
//! ```
//!
//! ## `#[stress_test]` options
//! Each load option is the scenario's default; the `PT_*` variable and the flag override it
//! (defaults < attribute < environment < flag).
//!
//! | option | meaning |
//! |---|---|
//! | `params = ["a", "b"]` | one trial per parameter, named `scenario[a]`; the function takes `param: &str` |
//! | `weight = N` | how often the task is picked among the tasks of its user group (default 1) |
//! | `name = ".."` | the reported name instead of the function's |
//! | `user = "Group"` | scenarios sharing a group form one trial whose users pick among them by weight |
//! | `trial = "Mix"`, `user_weight = N`, `fixed_count = N` | on a group's scenarios: the groups of one trial are its user classes, sharing its users |
//! | `ignore` | skipped unless `--ignored` / `--include-ignored` |
//! | `wait = between(1s, 3s)` | also `constant(2s)`, `constant_pacing(1s)`, `constant_throughput(5)` |
//! | `users = N`, `hatch_rate = R`, `duration = 30s` | this scenario's load |
//! | `on_start = path`, `on_stop = path` | `async fn(&mut User) -> Result` run once per user before its first and after its last task |
//! | `thresholds = ["p95 < 200ms"]` | pass/fail criteria, `[SCOPE:] METRIC OP VALUE [abort_on_fail]` (docs/src/reports.md), each judged into an [`events::Verdict`] |
//! | `arrival_rate = 200`, `max_users = 50` | the open model: iterations per second, served by a pool of users |
//! | `stages = "30s:10,1m:50,30s:0"` | a ramp of users (or of iterations per second in the open model) |
//! | `shape = my_shape` | a programmable [`LoadShape`]: `fn my_shape() -> impl LoadShape` |
//! | `http = "reqwest"` | the native `User` API over reqwest instead of the lean client |
//!
//! The first argument is `&mut User`, or `&mut T` for the team's own client type `T` that
//! implements [`UserClient`]: each user builds it once when it starts, and the scenario
//! takes only it, so an existing `#[tokio::test]` body moves over unchanged.
//!
//! Every setting is a `PT_*` environment variable and a flag (`--help` lists them with their
//! defaults); the book's settings page (docs/src/settings.md) has the table, made from the
//! same one declaration, and docs/src/guarantees.md says what each bound protects.
//!
//! Besides timings, a scenario counts checks ([`User::check`], [`Request::check`]) and
//! custom metrics ([`Counter`], [`Gauge`], [`Rate`], [`Trend`]), tags requests
//! ([`Request::tag`]), takes test data from a [`Feeder`], and ends an iteration or its user
//! without a failure ([`RescheduleTask`], [`StopUser`]).
//!
//! Live consumers read the run's [`events`]: implement [`events::Sink`] to watch a run, or
//! [`events::RequestSink`] to be handed every request.

#![warn(missing_docs, unreachable_pub)]

#[doc(hidden)]
pub mod __private;
// Its sending side is the web UI's (every command) and the Locust worker's (some).
#[cfg_attr(
    not(feature = "web"),
    allow(dead_code, reason = "the commands only the web UI sends")
)]
mod control;
pub mod events;
mod figure;
pub mod har;
mod harness;
mod http;
#[cfg(feature = "locust")]
mod locust;
#[cfg(not(feature = "locust"))]
#[path = "locust/left_out.rs"]
mod locust;
mod logging;
mod report;
mod run_id;
mod runner;
mod scenario;
mod settings;
mod shape;
mod shard;
mod stats;
mod threshold;
// The warnings of the web UI and the Locust worker, kept from flooding the log.
#[cfg(any(feature = "web", feature = "locust"))]
mod throttle;
mod user;
#[cfg(feature = "web")]
mod web;
#[cfg(not(feature = "web"))]
#[path = "web/left_out.rs"]
mod web;

pub use harness::Harness;
pub use http::reqwest_versions::{ReqwestClient, ReqwestClientBuilder, ReqwestRequest};
#[cfg(feature = "tls")]
pub use http::tls::crypto_provider;
pub use report::Outcome;
/// reqwest 0.12, as the harness builds it (json; HTTP/2, proxies, cookies, rustls without a
/// provider of its own): name it when your tests have no reqwest of their own.
#[cfg(feature = "reqwest-0-12")]
pub use reqwest_0_12;
/// reqwest 0.13, as the harness builds it (json, form, query; HTTP/2, proxies, cookies,
/// rustls without a provider of its own).
#[cfg(feature = "reqwest-0-13")]
pub use reqwest_0_13;
/// reqwest-middleware 0.4 (reqwest 0.12's), for [`SwarmMiddleware`].
#[cfg(feature = "middleware-0-4")]
pub use reqwest_middleware_0_4;
/// reqwest-middleware 0.5 (reqwest 0.13's), for [`SwarmMiddleware`].
#[cfg(feature = "middleware-0-5")]
pub use reqwest_middleware_0_5;
pub use scenario::WaitTime;
pub use shape::{Constant, LoadShape, Stage, Stages, StagesError};
pub use swarm_harness_macros::stress_test;
pub use user::User;
pub use user::feed::{FeedError, Feeder, WhenExhausted};
pub use user::fixture::Fixture;
pub use user::flow::{RescheduleTask, StopUser};
pub use user::metrics::{Counter, Gauge, Rate, Trend};
#[cfg(any(feature = "middleware-0-4", feature = "middleware-0-5"))]
pub use user::middleware::{StatsName, SwarmMiddleware};
pub use user::own_client::SendReqwest;
pub use user::request::{CaughtResponse, MAX_TAG_LEN, Predicate, Request, RequestError, Response};
pub use user::target::TargetError;
pub use user::transaction::{Transaction, TransactionFailed};
pub use user::user_client::UserClient;

/// Runs the stress target: `fn main() -> std::process::ExitCode { swarm_harness::main() }`.
pub fn main() -> std::process::ExitCode {
    Harness::new().run()
}
