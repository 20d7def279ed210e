use swarm_harness::{User, stress_test};

#[stress_test]
fn browse(user: &mut User) -> anyhow::Result<()> {
    let _ = user;
    Ok(())
}

fn main() {}
