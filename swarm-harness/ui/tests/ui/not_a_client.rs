use swarm_harness::stress_test;

/// Not a `UserClient`: the attribute cannot build it.
pub struct Plain;

#[stress_test]
async fn uses_plain(plain: &mut Plain) -> anyhow::Result<()> {
    let _ = plain;
    Ok(())
}

fn main() {}
