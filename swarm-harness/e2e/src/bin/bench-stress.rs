//! The harness side of the benchmarks in `scripts/bench/`: scenarios against `PT_HOST`, built
//! with `--release`.

use std::process::ExitCode;

use swarm_harness::{User, stress_test};

/// No wait: as many `GET /` as the users can send (throughput and request-count memory).
#[stress_test]
async fn get_root(user: &mut User) -> anyhow::Result<()> {
    user.get("/").send().await?;
    Ok(())
}

/// Many users, each with its own session, at a human pace (memory per user).
#[stress_test(wait = between(1s, 2s))]
async fn sessions(user: &mut User) -> anyhow::Result<()> {
    user.get("/").send().await?;
    Ok(())
}

/// 20 users against a route with a fixed delay (latency accuracy).
#[stress_test]
async fn timed(user: &mut User) -> anyhow::Result<()> {
    user.get("/timed").send().await?;
    Ok(())
}

fn main() -> ExitCode {
    swarm_harness::main()
}
