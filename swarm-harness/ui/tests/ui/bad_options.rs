use swarm_harness::{User, stress_test};

#[stress_test(wieght = 3)]
async fn unknown(user: &mut User) -> anyhow::Result<()> {
    let _ = user;
    Ok(())
}

#[stress_test(weight = 1, weight = 2)]
async fn repeated(user: &mut User) -> anyhow::Result<()> {
    let _ = user;
    Ok(())
}

#[stress_test(wait = between(1x, 3s))]
async fn bad_duration(user: &mut User) -> anyhow::Result<()> {
    let _ = user;
    Ok(())
}

#[stress_test(thresholds = ["p95 < 200xs"])]
async fn bad_threshold(user: &mut User) -> anyhow::Result<()> {
    let _ = user;
    Ok(())
}

#[stress_test(stages = "30s:10,oops")]
async fn bad_stages(user: &mut User) -> anyhow::Result<()> {
    let _ = user;
    Ok(())
}

#[stress_test(weight = 0)]
async fn zero_weight(user: &mut User) -> anyhow::Result<()> {
    let _ = user;
    Ok(())
}

#[stress_test(http = "curl")]
async fn bad_http(user: &mut User) -> anyhow::Result<()> {
    let _ = user;
    Ok(())
}

#[stress_test(user_weight = 2)]
async fn class_option_without_a_class(user: &mut User) -> anyhow::Result<()> {
    let _ = user;
    Ok(())
}

#[stress_test(user = "Browser", user_weight = 1, fixed_count = 2)]
async fn weight_and_fixed_count(user: &mut User) -> anyhow::Result<()> {
    let _ = user;
    Ok(())
}

fn main() {}
