//! The harness against a hostile server (`hostile_server`): announced sizes it must not
//! reserve, framing it must not trust, a connection closed under a POST, a server that never
//! answers, panicking scenarios, unbounded names, credentials on redirects. Every count is
//! checked against the server's own.

use swarm_harness_test_support as common;
mod hostile_server;

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hostile_server::HostileServer;
use swarm_harness::{User, stress_test};

async fn user(server: &HostileServer) -> User {
    User::standalone(&server.url).await
}

/// Runs the trial `exact` against `url` with one user for 2 s, reports into `dir`.
fn run(exact: &str, url: &str, dir: &Path, extra: &[&str]) -> ExitCode {
    let mut args = extra.to_vec();
    if !extra.contains(&"--num-clients") {
        args.extend(["--num-clients", "1"]);
    }
    common::run(exact, url, dir, &args)
}

fn report(dir: &Path, trial: &str) -> serde_json::Value {
    common::read_json(dir, trial)
}

fn request_count(report: &serde_json::Value, kind: &str, name: &str) -> u64 {
    report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind && e["name"] == name)
        .map(|e| e["count"].as_u64().unwrap())
        .sum()
}

// Finding 1: memory and arithmetic on server input.

#[tokio::test]
async fn announced_sizes_are_never_reserved_and_overflow_nothing() {
    let server = HostileServer::start();
    let user = user(&server).await;
    for path in ["/huge-length", "/huge-chunk", "/overflow-chunk"] {
        // Before: the first two aborted the process (allocation failure), the third panicked.
        let result = user.get(path).timeout(Duration::from_secs(5)).send().await;
        let error = result.expect_err(path).to_string();
        assert!(!error.contains("timed out"), "{path}: {error}");
    }
}

/// Resident memory of this process, in MiB.
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024
}

#[tokio::test]
async fn endless_bodies_are_drained_not_kept() {
    let server = HostileServer::start();
    let user = user(&server).await;
    let before = rss_mib();
    for path in ["/endless-chunked", "/endless-eof"] {
        // Before: one user grew to 2 GiB in 5 s.
        let error = user
            .get(path)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .expect_err(path);
        assert!(error.to_string().contains("timed out"), "{path}: {error}");
    }
    let grown = rss_mib().saturating_sub(before);
    assert!(grown < 200, "memory grew by {grown} MiB");
    // A finite body over PT_MAX_BODY is read to its end, counted, and kept up to the cap.
    let response = user.get("/big").send().await.unwrap();
    assert!(response.is_truncated());
    assert_eq!(response.content_length(), 20_000_000);
    assert_eq!(response.bytes().len(), 8 << 20);
    assert!(response.json::<serde_json::Value>().is_err());
}

// Finding 2: strict framing; a connection in doubt is never reused.

#[tokio::test]
async fn no_response_is_handed_to_another_request() {
    let server = HostileServer::start();
    let user = user(&server).await;
    for round in 0..15 {
        for (method, path) in [
            ("GET", "/smuggle"),
            ("GET", "/te-cl"),
            ("GET", "/late-junk"),
            ("HEAD", "/head-body"),
        ] {
            let request = if method == "HEAD" {
                user.head(path)
            } else {
                user.get(path)
            };
            let _ = request.send().await;
            if path == "/late-junk" {
                // The stray bytes arrive while the connection is idle.
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            let next = user.get("/ok").send().await.unwrap();
            // Before: 12 of 15 rounds read WRONG, the bytes meant for no request.
            assert_eq!(next.text(), "RIGHT", "round {round} after {method} {path}");
        }
    }
}

#[tokio::test]
async fn invalid_framing_is_refused() {
    let server = HostileServer::start();
    let user = user(&server).await;
    for path in ["/plus-length", "/dup-length", "/upgrade"] {
        let error = user.get(path).send().await.expect_err(path).to_string();
        assert!(
            error.contains("invalid response") || error.contains("101"),
            "{path}: {error}"
        );
    }
    // Chunked is not the final coding: the body runs to the end of the connection.
    let response = user.get("/xchunked").send().await.unwrap();
    assert_eq!(response.text(), "RIGHT");
}

// Finding 3: only idempotent requests are retried.

#[tokio::test]
async fn a_post_is_never_sent_twice() {
    let server = HostileServer::start();
    let user = user(&server).await;
    user.post("/close-after-read").send().await.unwrap();
    let error = user.post("/close-after-read").send().await.unwrap_err();
    assert!(error.to_string().contains("not retried"), "{error}");
    assert_eq!(server.count("POST /close-after-read"), 2);
    // An idempotent request is retried once on a new connection, transparently.
    let server = HostileServer::start();
    let user = User::standalone(&server.url).await;
    user.get("/close-after-read").send().await.unwrap();
    user.get("/close-after-read").send().await.unwrap();
    assert_eq!(server.count("GET /close-after-read"), 3);
    // Part of a response, then a reset: even a GET is not sent again, and it fails.
    let server = HostileServer::start();
    let user = User::standalone(&server.url).await;
    user.get("/reset-mid").send().await.unwrap();
    let error = user.get("/reset-mid").send().await.unwrap_err();
    assert!(
        error.to_string().contains("middle of the response"),
        "{error}"
    );
    assert_eq!(server.count("GET /reset-mid"), 2);
}

#[stress_test(wait = constant(5ms))]
async fn post_to_closing(user: &mut User) -> anyhow::Result<()> {
    user.post("/close-after-read").send().await?;
    Ok(())
}

#[test]
fn the_report_counts_every_post_the_server_handled() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let _ = run("post_to_closing", &server.url, dir.path(), &[]);
    let report = report(dir.path(), "post_to_closing");
    let counted = request_count(&report, "POST", "/close-after-read");
    // Before: the server handled 7,213 POSTs while the report counted 3,607.
    assert_eq!(counted, server.count("POST /close-after-read"));
    assert!(counted > 20, "{counted}");
}

// Finding 4: nothing hangs, nothing is lost at the end.

#[tokio::test]
async fn stalled_servers_time_out() {
    let server = HostileServer::start();
    let user = user(&server).await;
    for path in ["/never", "/drip"] {
        let error = user
            .get(path)
            .timeout(Duration::from_millis(500))
            .send()
            .await
            .expect_err(path);
        assert!(error.to_string().contains("timed out"), "{path}: {error}");
    }
    // A TLS handshake that never completes is bounded by the same timeout.
    let tls = format!("https://{}/ok", server.addr);
    let error = user
        .get(tls)
        .timeout(Duration::from_millis(500))
        .send()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("timed out"), "{error}");
}

#[stress_test]
async fn never_answered(user: &mut User) -> anyhow::Result<()> {
    user.get("/never").send().await?;
    Ok(())
}

#[test]
fn a_trial_that_measured_nothing_fails_and_shows_what_was_in_flight() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let code = run(
        "never_answered",
        &server.url,
        dir.path(),
        &["--duration", "1s", "--stop-timeout", "200ms"],
    );
    assert_eq!(
        code,
        ExitCode::from(101),
        "before: a trial with 0 requests passed"
    );
    let report = report(dir.path(), "never_answered");
    assert_eq!(report["passed"], false);
    assert!(
        report["verdict"]
            .as_str()
            .unwrap()
            .contains("measured nothing")
    );
    let cancelled = report["cancelled"].as_array().unwrap();
    let requests: u64 = cancelled
        .iter()
        .filter(|c| c["kind"] == "GET")
        .map(|c| c["occurrences"].as_u64().unwrap())
        .sum();
    assert_eq!(requests, server.count("GET /never"));
    assert!(cancelled.iter().all(|c| {
        c["error"]
            .as_str()
            .unwrap()
            .starts_with("cancelled at stop")
    }));
    let csv = std::fs::read_to_string(dir.path().join("never_answered_failures.csv")).unwrap();
    assert!(csv.contains("cancelled at stop"), "{csv}");
}

#[test]
fn the_default_request_timeout_applies() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let code = run(
        "never_answered",
        &server.url,
        dir.path(),
        &["--request-timeout", "300ms"],
    );
    assert_eq!(code, ExitCode::from(101));
    let report = report(dir.path(), "never_answered");
    let failures = report["failures"].as_array().unwrap();
    assert!(
        failures[0]["error"]
            .as_str()
            .unwrap()
            .contains("timed out after 300ms")
    );
    assert_eq!(report["config"]["request_timeout"], 0.3);
}

// Finding 5: panics are failures.

static PANICS: AtomicU64 = AtomicU64::new(0);

async fn panicking_start(user: &mut User) -> anyhow::Result<()> {
    if user.id() == 0 {
        panic!("on_start exploded");
    }
    Ok(())
}

#[stress_test(wait = constant(10ms), on_start = panicking_start)]
async fn panicking(user: &mut User) -> anyhow::Result<()> {
    user.get("/ok").send().await?;
    let n = PANICS.fetch_add(1, Ordering::Relaxed);
    if n.is_multiple_of(2) {
        panic!("scenario exploded on call {}", n);
    }
    Ok(())
}

#[test]
fn panics_are_recorded_failures_and_users_go_on() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let code = run(
        "panicking",
        &server.url,
        dir.path(),
        &["--num-clients", "2"],
    );
    assert_eq!(code, ExitCode::from(101));
    let report = report(dir.path(), "panicking");
    let failures = report["failures"].as_array().unwrap();
    let panicked = failures
        .iter()
        .find(|f| f["name"] == "panicking")
        .expect("the task's panics are a failure group");
    assert!(
        panicked["error"]
            .as_str()
            .unwrap()
            .starts_with("panicked: scenario exploded on call")
    );
    // The user that survived on_start went on after its panics.
    assert!(panicked["occurrences"].as_u64().unwrap() >= 5, "{panicked}");
    assert!(
        failures
            .iter()
            .any(|f| f["name"] == "on_start" && f["error"] == "panicked: on_start exploded")
    );
    assert_eq!(
        request_count(&report, "GET", "/ok"),
        server.count("GET /ok")
    );
}

// Finding 8: bounded cardinality.

static ITEM: AtomicU64 = AtomicU64::new(0);

#[stress_test(wait = constant(1ms))]
async fn unique_urls(user: &mut User) -> anyhow::Result<()> {
    let n = ITEM.fetch_add(1, Ordering::Relaxed);
    user.get(format!("/item/{n}")).send().await?;
    user.get(format!("/missing/{n}"))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

#[test]
fn unique_urls_fold_at_the_name_cap() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let _ = run(
        "unique_urls",
        &server.url,
        dir.path(),
        &["--max-names", "20"],
    );
    let report = report(dir.path(), "unique_urls");
    let requests = report["requests"].as_array().unwrap();
    assert!(requests.len() <= 21, "{} rows", requests.len());
    let item_rows: u64 = requests
        .iter()
        .filter(|e| {
            e["name"].as_str().unwrap().starts_with("/item/")
                || e["name"] == swarm_harness::__private::stats::OTHER_NAMES
        })
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    let total: u64 = requests.iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert_eq!(
        total,
        server.count_prefix("GET /item/") + server.count_prefix("GET /missing/")
    );
    assert!(item_rows > 100, "{item_rows}");
    assert!(
        report["warnings"][0]
            .as_str()
            .unwrap()
            .contains("PT_MAX_NAMES")
    );
    let failures = report["failures"].as_array().unwrap();
    assert!(
        failures.len() <= 2 * 20 + 2,
        "{} failure groups",
        failures.len()
    );
    // Status errors name the request, never its URL with the id.
    let groups: u64 = failures
        .iter()
        .map(|f| f["occurrences"].as_u64().unwrap())
        .sum();
    assert!(groups >= total / 2, "every failure is in a group");
}

// Finding 9: credentials stay at their origin.

#[tokio::test]
async fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let first = HostileServer::start();
    let second = HostileServer::start();
    let user = user(&first).await;
    let response = user
        .get(format!("/redirect/{}", second.addr.port()))
        .header("cookie", "hand=secret-cookie")
        .header("proxy-authorization", "Basic secret-proxy")
        .bearer_auth("secret-token")
        .send()
        .await
        .unwrap();
    let seen = response.text().to_ascii_lowercase();
    assert!(seen.starts_with("get /echo-headers"), "{seen}");
    for secret in ["secret-cookie", "secret-proxy", "secret-token"] {
        assert!(
            !seen.contains(secret),
            "{secret} reached the other origin: {seen}"
        );
    }
    // Within the origin, they follow.
    let response = user
        .get("/redirect-here")
        .header("cookie", "hand=secret-cookie")
        .send()
        .await
        .unwrap();
    assert!(response.text().contains("secret-cookie"));
}

#[stress_test(wait = constant(20ms))]
async fn with_credentials(user: &mut User) -> anyhow::Result<()> {
    let seen = user.get("/echo-headers").send().await?.text();
    anyhow::ensure!(
        seen.contains("authorization: Basic dXNlcjpzM2NyZXQtcHc="),
        "{seen}"
    );
    user.get("/fail").send().await?;
    Ok(())
}

#[test]
fn passwords_in_the_host_are_sent_but_never_shown() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let host = format!("http://user:s3cret-pw@{}", server.addr);
    let _ = run("with_credentials", &host, dir.path(), &["--duration", "1s"]);
    let report = report(dir.path(), "with_credentials");
    assert!(
        report["tasks"][0]["failures"] == 0,
        "{}",
        report["failures"]
    );
    for file in [
        "with_credentials.json",
        "with_credentials.html",
        "with_credentials_failures.csv",
        "junit.xml",
        "index.html",
    ] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(!text.contains("s3cret-pw"), "{file} shows the password");
    }
    assert_eq!(
        report["config"]["host"],
        format!("http://***@{}/", server.addr)
    );
}

// Finding 13: names and counts that agree.

#[stress_test(wait = constant(2ms))]
async fn two_origins(user: &mut User) -> anyhow::Result<()> {
    user.get("/ok").send().await?;
    let other = OTHER.lock().unwrap().clone();
    if !other.is_empty() {
        user.get(format!("{other}/ok")).send().await?;
    }
    user.measure("db", "query", async { Ok::<_, String>(()) })
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(())
}

/// The second origin of `two_origins`.
static OTHER: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

#[test]
fn other_origins_get_their_own_rows_and_the_limit_counts_what_aggregated_counts() {
    let server = HostileServer::start();
    let other = HostileServer::start();
    *OTHER.lock().unwrap() = other.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let _ = run(
        "two_origins",
        &server.url,
        dir.path(),
        &["--num-requests", "100", "--duration", "10s"],
    );
    let report = report(dir.path(), "two_origins");
    assert_eq!(
        request_count(&report, "GET", "/ok"),
        server.count("GET /ok")
    );
    assert_eq!(
        request_count(&report, "GET", &format!("{}/ok", other.url)),
        other.count("GET /ok")
    );
    // Before: HTTP requests stopped at 100 while Aggregated (with measure) said 125.
    assert_eq!(report["requests_total"]["count"], 100);
    assert_eq!(report["outcome"], "request_limit");
}

/// Set up fine, panics when torn down.
struct TeardownPanics;

impl swarm_harness::Fixture for TeardownPanics {
    async fn setup(_user: &mut User) -> anyhow::Result<Self> {
        Ok(TeardownPanics)
    }

    async fn teardown(&self, _user: &mut User) -> anyhow::Result<()> {
        panic!("teardown exploded")
    }
}

/// Panics while being set up.
struct SetupPanics;

impl swarm_harness::Fixture for SetupPanics {
    async fn setup(_user: &mut User) -> anyhow::Result<Self> {
        panic!("setup exploded")
    }
}

#[stress_test(wait = constant(20ms))]
async fn panicking_fixtures(user: &mut User) -> anyhow::Result<()> {
    user.fixture::<TeardownPanics>().await?;
    user.get("/ok").send().await?;
    user.fixture::<SetupPanics>().await?;
    Ok(())
}

#[test]
fn panicking_fixtures_are_failures_and_the_run_files_are_still_written() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let code = run(
        "panicking_fixtures",
        &server.url,
        dir.path(),
        &["--duration", "1s"],
    );
    assert_eq!(code, ExitCode::from(101));
    let report = report(dir.path(), "panicking_fixtures");
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(
        failures[0]["error"], "panicked: setup exploded",
        "{failures:?}"
    );
    assert_eq!(
        request_count(&report, "GET", "/ok"),
        server.count("GET /ok")
    );
    // The teardown's panic did not take the run-level files with it.
    assert!(dir.path().join("index.html").is_file());
    assert!(dir.path().join("junit.xml").is_file());
}

/// A load shape with a bug: it panics after the first second.
struct ExplodingShape;

impl swarm_harness::LoadShape for ExplodingShape {
    fn tick(&mut self, elapsed: Duration) -> Option<f64> {
        assert!(elapsed < Duration::from_secs(1), "the shape exploded");
        Some(1.0)
    }
}

fn exploding_shape() -> ExplodingShape {
    ExplodingShape
}

#[stress_test(shape = exploding_shape, wait = constant(20ms))]
async fn shape_panics(user: &mut User) -> anyhow::Result<()> {
    user.get("/ok").send().await?;
    Ok(())
}

#[test]
fn a_panicking_spawner_fails_the_trial() {
    let server = HostileServer::start();
    let dir = tempfile::tempdir().unwrap();
    let code = run(
        "shape_panics",
        &server.url,
        dir.path(),
        &["--duration", "3s"],
    );
    // Before: the spawner's panic was dropped with its JoinHandle and the trial passed.
    assert_eq!(code, ExitCode::from(101));
    let report = report(dir.path(), "shape_panics");
    assert!(
        report["verdict"]
            .as_str()
            .unwrap()
            .contains("starting users failed: the spawner panicked: the shape exploded"),
        "{}",
        report["verdict"]
    );
    assert_eq!(
        request_count(&report, "GET", "/ok"),
        server.count("GET /ok")
    );
}
