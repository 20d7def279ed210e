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
}

#[derive(Clone, Default)]
struct Shared {
    counts: Arc<Mutex<Counts>>,
}

/// A running counting server.
pub struct CountingServer {
    pub url: String,
    counts: Arc<Mutex<Counts>>,
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
        }
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
