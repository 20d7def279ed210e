use swarm_harness::{User, stress_test};

#[stress_test]
async fn browse(user: &mut User, size: &str) -> anyhow::Result<()> {
    let _ = (user, size);
    Ok(())
}

#[stress_test(params = ["a"])]
async fn sized(user: &mut User) -> anyhow::Result<()> {
    let _ = user;
    Ok(())
}

fn main() {}
