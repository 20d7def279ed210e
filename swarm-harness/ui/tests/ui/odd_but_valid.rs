//! Odd but valid usage compiles, also under `forbid(unsafe_code)`.
#![forbid(unsafe_code)]

use swarm_harness::{User, UserClient, stress_test};

/// A client type of the test's own, taken with `&mut`.
pub struct Api(u32);

impl UserClient for Api {
    async fn build(user: &mut User) -> anyhow::Result<Self> {
        Ok(Api(user.id() as u32))
    }
}

#[stress_test(http = "reqwest", params = ["x"])]
async fn typed(api: &mut Api, param: &str) -> anyhow::Result<u32> {
    Ok(api.0 + param.len() as u32)
}

#[stress_test(http = "lean")]
async fn fully_qualified(user: &mut swarm_harness::User) -> anyhow::Result<()> {
    let _ = user;
    Ok(())
}

mod nested {
    use super::*;

    #[stress_test(name = "raw identifier", wait = constant_pacing(1.5s), duration = "2m")]
    pub async fn r#match(user: &mut User) -> Result<u32, std::io::Error> {
        let _ = user;
        Ok(7)
    }
}

#[stress_test(user = "Group", weight = 2, params = ["a", "b"], thresholds = ["GET /x: p99 < 1s abort_on_fail"], arrival_rate = 2.5, max_users = 3, stages = "1s:1")]
async fn full(user: &mut User, param: &str) -> anyhow::Result<()> {
    let _ = (user, param);
    Ok(())
}

fn main() {
    // The original functions stay callable.
    let _ = nested::r#match;
    let _ = full;
    let _ = (typed, fully_qualified);
}
