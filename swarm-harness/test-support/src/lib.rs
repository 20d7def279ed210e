//! Shared by the integration tests of swarm-harness and of the `swarm` command
//! (swarm-harness-cli): a loopback server with slow and failing routes, scenarios against it,
//! an in-process run of the harness whose libtest output goes to a log file, what the tests
//! that start the stress target as child processes need, and hand-made histogram headers
//! (`v2`), and the `signup` scenario fed unique e-mails (`signup`). A test names it `use swarm_harness_test_support as common;`; its scenarios are
//! registered in every test binary that does.

pub mod signup;
pub mod v2;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use swarm_harness::reqwest_0_13 as reqwest;
use swarm_harness::{Counter, Gauge, Rate, Trend, User, stress_test};

/// A running test server; `/delay` sleeps `delay_ms`, `/flaky` fails every other request,
/// `/signup` records the e-mail it is sent.
pub struct Server {
    pub url: String,
    pub requests: Arc<AtomicU64>,
    /// Every e-mail `/signup` received, with how many times.
    pub signups: signup::Signups,
    _runtime: tokio::runtime::Runtime,
}

#[derive(Clone)]
struct Config {
    delay: Duration,
    requests: Arc<AtomicU64>,
    signups: signup::Signups,
}

pub fn start_server(delay_ms: u64) -> Server {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let requests = Arc::new(AtomicU64::new(0));
    let signups = signup::Signups::default();
    let config = Config {
        delay: Duration::from_millis(delay_ms),
        requests: requests.clone(),
        signups: signups.clone(),
    };
    let app = Router::new()
        .route(
            "/delay",
            get(|State(c): State<Config>| async move {
                c.requests.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(c.delay).await;
                "slept"
            }),
        )
        .route(
            "/flaky",
            get(|State(c): State<Config>| async move {
                let n = c.requests.fetch_add(1, Ordering::SeqCst);
                if n % 2 == 0 {
                    (StatusCode::SERVICE_UNAVAILABLE, "try again")
                } else {
                    (StatusCode::OK, "fine")
                }
            }),
        )
        .route("/fast", get(|| async { "fast" }))
        .route(
            "/order",
            get(|| async { axum::Json(serde_json::json!({ "orderId": 42 })) }),
        )
        .route(
            "/signup",
            axum::routing::post(|State(c): State<Config>, email: String| async move {
                c.signups.record(email)
            }),
        )
        .route(
            "/redirect",
            get(|| async { (StatusCode::FOUND, [("location", "/fast")], "moved") }),
        )
        .with_state(config);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    Server {
        url,
        requests,
        signups,
        _runtime: runtime,
    }
}

#[stress_test(thresholds = ["p95 < 1ms"], wait = constant(5ms))]
async fn slow_route(user: &mut User) -> anyhow::Result<()> {
    user.get("/delay").send().await?;
    Ok(())
}

#[stress_test(thresholds = ["fail_ratio < 1%"], wait = constant(5ms))]
async fn flaky_route(user: &mut User) -> anyhow::Result<()> {
    user.get("/flaky").send().await?;
    Ok(())
}

#[stress_test(thresholds = ["p95 < 2s", "fail_ratio < 1%", "GET /fast: count >= 1", "task fast_route: p99 < 2s"], wait = constant(5ms))]
async fn fast_route(user: &mut User) -> anyhow::Result<()> {
    user.get("/fast").send().await?;
    Ok(())
}

/// A flow that `?` ends on every other request (a 503 from `/flaky`).
#[stress_test(wait = constant(5ms))]
async fn flaky_flow(user: &mut User) -> anyhow::Result<()> {
    let flow = user.transaction("checkout");
    user.get("/flaky").send().await?.error_for_status()?;
    flow.success()
}

/// The user's own reqwest client on a redirect: its status says whether it was followed.
#[stress_test(wait = constant(5ms))]
async fn own_client_redirect(user: &mut User) -> anyhow::Result<()> {
    let client: reqwest::Client = user.reqwest();
    let url = user.url("/redirect")?;
    let response = user.send(client.get(url)).name("/redirect").await?;
    anyhow::ensure!(
        response.status() == 302,
        "followed to {}",
        response.status()
    );
    Ok(())
}

/// Closed model with fixed users and no wait: throughput is bounded by the server's delay.
#[stress_test(wait = constant(1ms))]
async fn delayed(user: &mut User) -> anyhow::Result<()> {
    user.get("/delay").send().await?;
    Ok(())
}

/// Every `/flaky` request `checked` saw answered.
pub const SERVED: Counter = Counter::new("served");

/// `checked`'s iteration, last set.
pub const ITERATION: Gauge = Gauge::new("iteration");

/// Whether `/flaky` said `fine`.
pub const FINE: Rate = Rate::new("fine");

/// The body lengths `checked` saw.
pub const BODY_BYTES: Trend = Trend::new("body bytes");

/// `/flaky` (every other request a 503) with a tag, a check on the response, a check of its
/// own and each kind of custom metric: their figures follow from the server's count.
#[stress_test(wait = constant(1ms))]
async fn checked(user: &mut User) -> anyhow::Result<()> {
    let response = user
        .get("/flaky")
        .tag("route", "flaky")
        .check("status is 200", |r| r.status() == 200)
        .send()
        .await?;
    SERVED.add(user, 1);
    ITERATION.set(user, user.iteration() as f64);
    FINE.add(user, response.text() == "fine");
    BODY_BYTES.add(user, response.content_length());
    user.check("body is fine", response.text() == "fine");
    Ok(())
}

/// Runs the trial `exact` against `url` with short settings, reports into `dir`.
pub fn run(exact: &str, url: &str, dir: &Path, extra: &[&str]) -> ExitCode {
    run_with(swarm_harness::Harness::new(), exact, url, dir, extra)
}

/// [`run`] with a harness configured by the test (an extra event sink, say).
pub fn run_with(
    harness: swarm_harness::Harness,
    exact: &str,
    url: &str,
    dir: &Path,
    extra: &[&str],
) -> ExitCode {
    let dir_arg = dir.display().to_string();
    let log = dir.join("libtest.log").display().to_string();
    let mut args = vec![
        "stress",
        "--exact",
        exact,
        "--host",
        url,
        "--report-dir",
        &dir_arg,
        "--logfile",
        &log,
    ];
    // Short defaults, unless the test gives its own.
    for (flag, value) in [
        // Tests run side by side: none takes the web UI's fixed port.
        ("--web", "off"),
        ("--duration", "2s"),
        ("--num-clients", "4"),
        ("--hatch-rate", "40"),
    ] {
        if !extra.contains(&flag) {
            args.extend([flag, value]);
        }
    }
    args.extend_from_slice(extra);
    harness.run_from(args)
}

pub fn read_json(dir: &Path, trial: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(format!("{trial}.json"))).expect("report written");
    serde_json::from_str(&text).unwrap()
}

/// The `main` of a test binary without libtest's harness that is both the test and the stress
/// target it starts as child processes: with `child` set in the environment it runs the
/// harness, else the `tests` (at most `threads` at once; libtest's default when `None`).
pub fn test_or_child(
    child: &str,
    tests: &[(&'static str, fn())],
    threads: Option<usize>,
) -> ExitCode {
    if std::env::var_os(child).is_some() {
        return signup::child_harness().run();
    }
    let trials = tests
        .iter()
        .map(|&(name, test)| {
            libtest_mimic::Trial::test(name, move || {
                test();
                Ok(())
            })
        })
        .collect();
    let mut arguments = libtest_mimic::Arguments::from_args();
    if threads.is_some() {
        arguments.test_threads = threads;
    }
    libtest_mimic::run(&arguments, trials).exit_code()
}

/// Waits for a child, at most `limit` (then it is killed and the test fails, with its stderr).
pub fn finish(mut child: std::process::Child, limit: Duration, what: &str) -> std::process::Output {
    use std::io::Read;
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!("{what} ran for over {limit:?}: {stderr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A child's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
