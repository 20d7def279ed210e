//! A loopback server that counts what it receives (ground truth for the end-to-end tests),
//! and helpers to run the `e2e-stress` binary against it.

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};

/// What the server saw.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    /// Requests per `METHOD /path`.
    pub requests: HashMap<String, u64>,
    pub logins: u64,
    pub fixtures: u64,
    pub fixture_teardowns: u64,
    /// Requests per session cookie, for requests that carried one.
    pub per_session: HashMap<String, u64>,
    /// Requests to session-checked routes that came without a session.
    pub anonymous: u64,
    /// How long `/timed` handled each request, in µs, as the server measured it.
    pub handling_micros: Vec<u64>,
    /// Every request's `METHOD /path`, in the order they arrived.
    pub sequence: Vec<String>,
    /// Requests that reached `/hang-after/{n}`, numbered by the handler itself.
    pub hang_after_seen: u64,
}

#[derive(Clone, Default)]
struct Shared {
    counts: Arc<Mutex<Counts>>,
    concurrency: Arc<Mutex<Concurrency>>,
}

/// Requests in `/concurrent` at once: now, and the most since it was last read.
#[derive(Debug, Default, Clone, Copy)]
pub struct Concurrency {
    pub now: u64,
    pub max: u64,
}

/// A running counting server.
pub struct CountingServer {
    pub url: String,
    counts: Arc<Mutex<Counts>>,
    concurrency: Arc<Mutex<Concurrency>>,
}

impl CountingServer {
    /// Binds an ephemeral loopback port and serves on the current tokio runtime.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Binds loopback `port` (0: any free one) and serves on the current tokio runtime.
    pub async fn start_on(port: u16) -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route("/login", post(login))
            .route("/fixture", post(fixture).delete(fixture_teardown))
            .route(
                "/fail",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "database is down") }),
            )
            .route("/slow/{ms}", get(slow))
            .route("/timed", get(timed))
            .route("/timed-stats", get(timed_stats))
            .route("/stall", get(stall))
            .route("/hang-after/{n}", get(hang_after))
            .route("/concurrent", get(concurrent))
            .route("/{*path}", get(counted))
            .layer(axum::middleware::from_fn_with_state(shared.clone(), count))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        CountingServer {
            url,
            counts: shared.counts,
            concurrency: shared.concurrency,
        }
    }

    /// The most requests `/concurrent` served at once since the last call; starts again
    /// from those in flight now.
    pub fn take_max_concurrency(&self) -> u64 {
        let mut concurrency = self.concurrency.lock().unwrap();
        let max = concurrency.max;
        concurrency.max = concurrency.now;
        max
    }

    pub fn counts(&self) -> Counts {
        self.counts.lock().unwrap().clone()
    }

    pub fn requests(&self, key: &str) -> u64 {
        self.counts().requests.get(key).copied().unwrap_or(0)
    }
}

async fn count(
    State(shared): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let key = format!("{} {}", request.method(), request.uri().path());
    {
        let mut counts = shared.counts.lock().unwrap();
        *counts.requests.entry(key.clone()).or_default() += 1;
        counts.sequence.push(key);
    }
    next.run(request).await
}

fn session_of(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get("cookie")?.to_str().ok()?;
    cookies
        .split(';')
        .find_map(|c| c.trim().strip_prefix("session=").map(str::to_owned))
}

async fn login(State(shared): State<Shared>) -> impl axum::response::IntoResponse {
    let mut counts = shared.counts.lock().unwrap();
    counts.logins += 1;
    let token = format!("s{}", counts.logins);
    ([("set-cookie", format!("session={token}; Path=/"))], token)
}

async fn fixture(State(shared): State<Shared>) -> String {
    let mut counts = shared.counts.lock().unwrap();
    counts.fixtures += 1;
    format!("fixture-{}", counts.fixtures)
}

async fn fixture_teardown(State(shared): State<Shared>) -> StatusCode {
    shared.counts.lock().unwrap().fixture_teardowns += 1;
    StatusCode::NO_CONTENT
}

async fn slow(UrlPath(ms): UrlPath<u64>) -> &'static str {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "slow"
}

/// Sleeps 20 ms and records how long the handler took: the server's own truth.
async fn timed(State(shared): State<Shared>) -> &'static str {
    let started = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let micros = started.elapsed().as_micros() as u64;
    shared.counts.lock().unwrap().handling_micros.push(micros);
    "timed"
}

/// The server's p50 and p99 of `/timed` handling times so far, in µs; then forgets them.
async fn timed_stats(State(shared): State<Shared>) -> axum::Json<serde_json::Value> {
    let times = std::mem::take(&mut shared.counts.lock().unwrap().handling_micros);
    if times.is_empty() {
        return axum::Json(serde_json::json!({ "count": 0 }));
    }
    axum::Json(serde_json::json!({
        "count": times.len(),
        "p50_us": quantile(&times, 0.5),
        "p99_us": quantile(&times, 0.99),
    }))
}

/// Answers at once, except the 100th request, which stalls for one second.
async fn stall(State(shared): State<Shared>) -> &'static str {
    let n = *shared
        .counts
        .lock()
        .unwrap()
        .requests
        .get("GET /stall")
        .unwrap_or(&0);
    if n == 100 {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    "stall"
}

/// Answers the first `n` requests, then stops answering: every later request waits until
/// its client gives up (a target that hung mid-trial).
async fn hang_after(State(shared): State<Shared>, UrlPath(n): UrlPath<u64>) -> &'static str {
    // Numbered here, under the lock, so two requests arriving together get two numbers.
    let seen = {
        let mut counts = shared.counts.lock().unwrap();
        counts.hang_after_seen += 1;
        counts.hang_after_seen
    };
    if seen > n {
        std::future::pending::<()>().await;
    }
    "answered"
}

/// Holds each request 50 ms, counting how many are in at once: with users that do not wait,
/// the concurrency the server sees is the number of users.
async fn concurrent(State(shared): State<Shared>) -> &'static str {
    {
        let mut c = shared.concurrency.lock().unwrap();
        c.now += 1;
        c.max = c.max.max(c.now);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    shared.concurrency.lock().unwrap().now -= 1;
    "concurrent"
}

/// The `q` quantile of `values` (nearest rank).
pub fn quantile(values: &[u64], q: f64) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

async fn counted(State(shared): State<Shared>, headers: HeaderMap) -> &'static str {
    let mut counts = shared.counts.lock().unwrap();
    match session_of(&headers) {
        Some(session) => *counts.per_session.entry(session).or_default() += 1,
        None => counts.anonymous += 1,
    }
    "ok"
}

/// Runs the `e2e-stress` binary with `args` and `env`, off the async runtime.
pub async fn run_stress(
    binary: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(binary);
        command.args(&args);
        for (key, _) in std::env::vars() {
            if key.starts_with("PT_") {
                command.env_remove(key);
            }
        }
        // Tests run side by side: unless a test serves the web UI, none takes its fixed port.
        let web = env
            .iter()
            .any(|(key, _)| key.starts_with("PT_WEB") || key == "PT_LOCUST_PORT");
        if !web {
            command.env("PT_WEB", "off");
        }
        command.envs(env).output().expect("the stress binary runs")
    })
    .await
    .expect("the blocking task does not panic")
}

/// Reads a trial's JSON report.
pub fn read_json(dir: &Path, trial: &str) -> serde_json::Value {
    let path = dir.join(format!("{trial}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("report {} missing: {e}", path.display()));
    serde_json::from_str(&text).expect("reports are JSON")
}

/// The request entry `kind name` of a report.
pub fn request_entry<'a>(
    report: &'a serde_json::Value,
    kind: &str,
    name: &str,
) -> &'a serde_json::Value {
    report["requests"]
        .as_array()
        .expect("requests is an array")
        .iter()
        .find(|e| e["kind"] == kind && e["name"] == name)
        .unwrap_or_else(|| panic!("no request entry {kind} {name} in {}", report["requests"]))
}

/// The task entry `name` of a report.
pub fn task_entry<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["tasks"]
        .as_array()
        .expect("tasks is an array")
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no task entry {name} in {}", report["tasks"]))
}

/// A stress binary running as a child process with its web UI on a free port: its output is
/// collected as it comes, and the UI's address is read from its first lines.
pub struct WebRun {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT/`
    pub url: String,
    output: Arc<Mutex<String>>,
}

impl WebRun {
    /// Starts `binary` with `args` and `env` (plus `PT_LOCUST_PORT=0` unless given) and waits
    /// up to 60 s for its `web UI:` line.
    pub fn start(binary: &str, args: &[&str], env: &[(&str, &str)]) -> WebRun {
        use std::io::BufRead;
        let mut command = std::process::Command::new(binary);
        command.args(args);
        for (key, _) in std::env::vars() {
            if key.starts_with("PT_") {
                command.env_remove(key);
            }
        }
        if !env.iter().any(|(k, _)| *k == "PT_LOCUST_PORT") {
            command.env("PT_LOCUST_PORT", "0");
        }
        command.envs(env.iter().copied());
        command.stdout(std::process::Stdio::piped());
        command.stderr(std::process::Stdio::piped());
        let mut child = command.spawn().expect("the stress binary starts");
        let output = Arc::new(Mutex::new(String::new()));
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        for (stream, url_tx) in [
            (
                Box::new(stdout) as Box<dyn std::io::Read + Send>,
                Some(url_tx),
            ),
            (Box::new(stderr), None),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if let (Some(tx), Some(url)) = (&url_tx, line.strip_prefix("web UI: ")) {
                        let _ = tx.send(url.trim().to_owned());
                    }
                    let mut output = output.lock().unwrap();
                    output.push_str(&line);
                    output.push('\n');
                }
            });
        }
        let url = url_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("no web UI line; output:\n{}", output.lock().unwrap())
            });
        WebRun { child, url, output }
    }

    /// Everything printed so far (stdout and stderr, interleaved by line).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits (at most 60 s) for the exit status.
    pub fn terminate(self) -> (std::process::ExitStatus, String) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait()
    }

    /// Waits (at most 60 s) for the process to end by itself.
    pub fn wait(mut self) -> (std::process::ExitStatus, String) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // Let the readers take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.output());
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the stress binary did not stop; output:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for WebRun {
    fn drop(&mut self) {
        // A failed test must not leave a swarm behind.
        let _ = self.child.kill();
    }
}

/// Polls `check` every 100 ms until it returns `Some`, at most `seconds`.
pub fn eventually<T>(seconds: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
