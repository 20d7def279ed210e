//! A stress target whose two trials would write the same report file: the harness must refuse
//! it before any load, not let one report overwrite the other.

use swarm_harness::{User, stress_test};

#[stress_test(name = "checkout/v1")]
async fn checkout_slash(user: &mut User) -> anyhow::Result<()> {
    user.get("/a").send().await?;
    Ok(())
}

#[stress_test(name = "checkout v1")]
async fn checkout_space(user: &mut User) -> anyhow::Result<()> {
    user.get("/b").send().await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    swarm_harness::main()
}
