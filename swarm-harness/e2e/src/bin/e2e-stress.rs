//! A stress target for the end-to-end tests: scenarios against the counting server at `PT_HOST`.

use std::process::ExitCode;
use std::sync::Arc;

use swarm_harness::{Fixture, User, stress_test};

/// Built once per process: counted by the server's `POST /fixture`.
struct RunToken(String);

impl Fixture for RunToken {
    async fn setup(user: &mut User) -> anyhow::Result<Self> {
        let response = user.post("/fixture").send().await?.error_for_status()?;
        Ok(RunToken(response.text()))
    }

    async fn teardown(&self, user: &mut User) -> anyhow::Result<()> {
        user.delete("/fixture").send().await?.error_for_status()?;
        Ok(())
    }
}

async fn login(user: &mut User) -> anyhow::Result<()> {
    user.post("/login").send().await?.error_for_status()?;
    Ok(())
}

#[stress_test(user = "Counter", weight = 3, on_start = login, wait = constant(2ms))]
async fn hit_a(user: &mut User) -> anyhow::Result<()> {
    let token: Arc<RunToken> = user.fixture().await?;
    anyhow::ensure!(
        token.0.starts_with("fixture-"),
        "unexpected fixture {}",
        token.0
    );
    user.get("/a").send().await?.error_for_status()?;
    Ok(())
}

#[stress_test(user = "Counter", weight = 1)]
async fn hit_b(user: &mut User) -> anyhow::Result<()> {
    user.fixture::<RunToken>().await?;
    user.get("/b").send().await?.error_for_status()?;
    Ok(())
}

#[stress_test(user = "Weighted", weight = 1)]
async fn w1(user: &mut User) -> anyhow::Result<()> {
    user.get("/w1").send().await?;
    Ok(())
}

#[stress_test(user = "Weighted", weight = 2)]
async fn w2(user: &mut User) -> anyhow::Result<()> {
    user.get("/w2").send().await?;
    Ok(())
}

#[stress_test(user = "Weighted", weight = 5)]
async fn w5(user: &mut User) -> anyhow::Result<()> {
    user.get("/w5").send().await?;
    Ok(())
}

#[stress_test(users = 10, hatch_rate = 5, wait = constant(50ms))]
async fn hatching(user: &mut User) -> anyhow::Result<()> {
    user.get("/hatch").send().await?;
    Ok(())
}

#[stress_test(params = ["small", "large"], wait = constant(10ms))]
async fn sized(user: &mut User, size: &str) -> anyhow::Result<()> {
    user.get(format!("/sized/{size}"))
        .name("/sized/{size}")
        .send()
        .await?;
    Ok(())
}

#[stress_test(wait = constant(10ms))]
async fn failing_500(user: &mut User) -> anyhow::Result<()> {
    user.get("/fail").send().await?;
    Ok(())
}

#[stress_test(wait = constant(10ms))]
async fn failing_closed_port(user: &mut User) -> anyhow::Result<()> {
    let url = std::env::var("E2E_CLOSED_URL").unwrap_or_else(|_| "http://127.0.0.1:9/".into());
    user.get(url).name("closed").send().await?;
    Ok(())
}

#[stress_test(wait = constant(5ms))]
async fn limited(user: &mut User) -> anyhow::Result<()> {
    user.get("/limited").send().await?;
    Ok(())
}

#[stress_test(arrival_rate = 200, max_users = 50)]
async fn open_fast(user: &mut User) -> anyhow::Result<()> {
    user.get("/open").send().await?;
    Ok(())
}

async fn refused_login(user: &mut User) -> anyhow::Result<()> {
    user.post("/refused").send().await?;
    anyhow::bail!("login refused")
}

/// Every user's start fails: each arrival tries a fresh user (a failed start frees its
/// place), none is dropped as if the pool were busy.
#[stress_test(arrival_rate = 20, max_users = 2, on_start = refused_login)]
async fn open_refused_start(user: &mut User) -> anyhow::Result<()> {
    user.get("/open").send().await?;
    Ok(())
}

#[stress_test(arrival_rate = 50, max_users = 5)]
async fn open_slow(user: &mut User) -> anyhow::Result<()> {
    user.get("/slow/500").name("/slow").send().await?;
    Ok(())
}

#[stress_test(stages = "3s:10,3s:0", wait = constant(50ms))]
async fn ramp(user: &mut User) -> anyhow::Result<()> {
    user.get("/ramp").send().await?;
    Ok(())
}

/// One user at a constant 100 iterations per second against a server that stalls once.
#[stress_test(users = 1, wait = constant_throughput(100))]
async fn paced_stall(user: &mut User) -> anyhow::Result<()> {
    user.get("/stall").send().await?;
    Ok(())
}

#[stress_test(users = 20, hatch_rate = 100, wait = constant(5ms))]
async fn accuracy(user: &mut User) -> anyhow::Result<()> {
    user.get("/timed").send().await?;
    Ok(())
}

/// Its target answers 5 requests, then none.
#[stress_test(users = 3, hatch_rate = 100, wait = constant(50ms))]
async fn hangs(user: &mut User) -> anyhow::Result<()> {
    user.get("/hang-after/5").send().await?;
    Ok(())
}

/// Starts a background poll that never ends by itself (seed 002's greenlet).
#[derive(Default)]
struct Polling(bool);

#[stress_test(users = 2, wait = constant(50ms))]
async fn bg_a_spawns(user: &mut User) -> anyhow::Result<()> {
    if !user.state_mut::<Polling>().0 {
        user.state_mut::<Polling>().0 = true;
        let poller = user.fork();
        user.spawn(async move {
            loop {
                let _ = poller.get("/bg").send().await;
                poller.sleep(std::time::Duration::from_millis(20)).await;
            }
        });
    }
    user.get("/fg").send().await?;
    Ok(())
}

#[stress_test(users = 1, wait = constant(50ms))]
async fn bg_b_after(user: &mut User) -> anyhow::Result<()> {
    user.get("/after").send().await?;
    Ok(())
}

/// Two members of a group naming the same hook: one hook, not a conflict.
#[stress_test(user = "SharedHook", on_start = login, wait = constant(5ms))]
async fn shared_a(user: &mut User) -> anyhow::Result<()> {
    user.get("/shared-a").send().await?;
    Ok(())
}

#[stress_test(user = "SharedHook", on_start = login, wait = constant(5ms))]
async fn shared_b(user: &mut User) -> anyhow::Result<()> {
    user.get("/shared-b").send().await?;
    Ok(())
}

/// A group with an ignored member, which `--include-ignored` brings back.
#[stress_test(user = "Mixed", wait = constant(5ms))]
async fn mixed_kept(user: &mut User) -> anyhow::Result<()> {
    user.get("/mixed-kept").send().await?;
    Ok(())
}

#[stress_test(user = "Mixed", ignore)]
async fn mixed_ignored(user: &mut User) -> anyhow::Result<()> {
    user.get("/mixed-ignored").send().await?;
    Ok(())
}

/// Fails at once, with no wait time: the user must back off, not spin.
#[stress_test(users = 1)]
async fn instant_failure(_user: &mut User) -> anyhow::Result<()> {
    anyhow::bail!("the dependency is down")
}

/// A new URL on every request: names beyond PT_MAX_NAMES fold, with a warning on stderr.
#[stress_test(users = 1, wait = constant(1ms))]
async fn unique_names(user: &mut User) -> anyhow::Result<()> {
    let n = user.state_mut::<u64>();
    *n += 1;
    let path = format!("/unique/{n}");
    user.get(path).send().await?;
    Ok(())
}

#[stress_test(ignore)]
async fn ignored_by_default(user: &mut User) -> anyhow::Result<()> {
    user.get("/ignored").send().await?;
    Ok(())
}

fn main() -> ExitCode {
    swarm_harness::main()
}

/// Steered from the web UI and its API: requests held 50 ms by the server, so the server's
/// concurrency is the number of users.
#[stress_test(users = 1, wait = constant(1ms))]
async fn steered(user: &mut User) -> anyhow::Result<()> {
    user.get("/concurrent").send().await?;
    Ok(())
}

/// A team's client on `reqwest-middleware`, used as it is: `SwarmMiddleware` records its
/// requests into this user's statistics, named by path or by a `StatsName` extension.
#[stress_test(users = 2, wait = constant(5ms))]
async fn middleware_client(user: &mut User) -> anyhow::Result<()> {
    let client = reqwest_middleware::ClientBuilder::new(user.reqwest())
        .with(swarm_harness::SwarmMiddleware::new())
        .build();
    let base = user.url("/")?;
    client
        .get(base.join("a")?)
        .send()
        .await?
        .error_for_status()?;
    client
        .get(base.join("item/7")?)
        .with_extension(swarm_harness::StatsName::new("/item/{id}"))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// The middleware's bounds: `PT_MAX_BODY` caps the body it reads, and a request still in
/// flight when the trial's grace period ends is counted as cut off.
#[stress_test(users = 2, wait = constant(5ms))]
async fn middleware_bounds(user: &mut User) -> anyhow::Result<()> {
    let client = reqwest_middleware::ClientBuilder::new(user.reqwest())
        .with(swarm_harness::SwarmMiddleware::new().route("/slow/{ms}"))
        .build();
    let base = user.url("/")?;
    // "ok" is 2 bytes: more than PT_MAX_BODY=1.
    let error = client.get(base.join("a")?).send().await.unwrap_err();
    anyhow::ensure!(error.to_string().contains("PT_MAX_BODY"), "{error}");
    client.get(base.join("slow/60000")?).send().await?;
    Ok(())
}

/// A run group (`run = "pair"`): a closed-model trial and an open-model one at the same time,
/// each with its own load model and report.
#[stress_test(run = "pair", users = 2, hatch_rate = 100, wait = constant(5ms))]
async fn pair_closed(user: &mut User) -> anyhow::Result<()> {
    user.get("/pair/closed").send().await?;
    Ok(())
}

/// The open-model half of the `pair` group.
#[stress_test(run = "pair", arrival_rate = 20, max_users = 4)]
async fn pair_open(user: &mut User) -> anyhow::Result<()> {
    user.get("/pair/open").send().await?;
    Ok(())
}
