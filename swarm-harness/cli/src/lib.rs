//! # swarm-harness-cli
//!
//! The `swarm` command of [swarm-harness](https://docs.rs/swarm-harness), in a crate of its
//! own so that a stress binary neither compiles nor links it:
//! `cargo install swarm-harness-cli` installs `swarm`.
//!
//! - `swarm report DIR` renders the CSV, HTML and JUnit files again from the JSON reports;
//!   `swarm merge` merges the reports of a run's shards exactly.
//! - `swarm compare BASELINE CURRENT` is the noise-aware gate ([`compare`], with the
//!   confidence intervals of [`interval`]); `swarm history` follows every figure over runs and
//!   finds its change points ([`history`]).
//! - `swarm har import` turns a HAR recording into `#[stress_test]` code, `swarm har replay`
//!   runs it as a load test ([`har`]). The generated code calls only swarm-harness (its
//!   `har` module), never this crate.
//! - `swarm locustfile` prints the locustfile a Locust master needs to drive a stress target.
//!
//! The library is what the command, its tests and the workspace's own tests call; the command
//! line is the interface users rely on (docs/src/gate.md, docs/src/har.md).

pub mod compare;
pub mod har;
pub mod history;
pub mod interval;
