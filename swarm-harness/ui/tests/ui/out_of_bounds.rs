//! Load values beyond what the runtime accepts are refused where they are written.
use swarm_harness::{User, stress_test};

#[stress_test(hatch_rate = 0.000001)]
async fn too_slow(_user: &mut User) -> anyhow::Result<()> {
    Ok(())
}

#[stress_test(users = 2000000)]
async fn too_many(_user: &mut User) -> anyhow::Result<()> {
    Ok(())
}

#[stress_test(stages = "1s:1e12")]
async fn too_steep(_user: &mut User) -> anyhow::Result<()> {
    Ok(())
}

#[stress_test(duration = 1000000h)]
async fn too_long(_user: &mut User) -> anyhow::Result<()> {
    Ok(())
}

fn main() {}
