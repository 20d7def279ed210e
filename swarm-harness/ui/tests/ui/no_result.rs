use swarm_harness::{User, stress_test};

#[stress_test]
async fn browse(user: &mut User) {
    let _ = user;
}

fn main() {}
