//! End-to-end: the open model, stages, coordinated omission and measurement accuracy, each
//! checked against the counting server's own figures.

use swarm_harness_e2e::{
    CountingServer, quantile, read_json, request_entry, run_stress, task_entry,
};

const BIN: &str = env!("CARGO_BIN_EXE_e2e-stress");

/// These tests check rates and timings: they run one at a time so they do not steal each
/// other's CPU on a small machine.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn run(
    server: &CountingServer,
    trial: &str,
    extra: &[(&str, &str)],
) -> (serde_json::Value, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![
        ("PT_HOST".to_owned(), server.url.clone()),
        ("PT_REPORT_DIR".to_owned(), dir.path().display().to_string()),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let output = run_stress(BIN, vec!["--exact".into(), trial.into()], env).await;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        dir.path().join(format!("{trial}.json")).exists(),
        "no report: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join(format!("{trial}.html"))).unwrap();
    (read_json(dir.path(), trial), stdout, html)
}

fn p(entry: &serde_json::Value, key: &str) -> f64 {
    entry["percentiles_us"][key].as_f64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_model_starts_iterations_at_the_rate() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = CountingServer::start().await;
    let (report, _, _) = run(&server, "open_fast", &[("PT_DURATION", "5s")]).await;
    let started = task_entry(&report, "open_fast")["count"].as_u64().unwrap()
        + report["dropped_iterations"].as_u64().unwrap();
    assert!(
        (980..=1020).contains(&started),
        "{started} iterations in 5 s at 200/s"
    );
    assert_eq!(
        report["dropped_iterations"], 0,
        "a fast route never exhausts 50 users"
    );
    assert_eq!(
        request_entry(&report, "GET", "/open")["count"]
            .as_u64()
            .unwrap(),
        server.requests("GET /open")
    );
    // Open-model iterations carry their latency from the intended start.
    assert!(
        report["task_latency"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "open_fast")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iterations_beyond_the_pool_are_dropped_and_reported() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = CountingServer::start().await;
    let (report, stdout, _) = run(&server, "open_slow", &[("PT_DURATION", "3s")]).await;
    let served = task_entry(&report, "open_slow")["count"].as_u64().unwrap();
    let dropped = report["dropped_iterations"].as_u64().unwrap();
    // 5 users each take 500 ms: about 10 iterations a second are served of the 50 due.
    assert!(dropped >= 80, "dropped {dropped}, served {served}");
    assert!(served <= 40, "served {served}");
    assert!(
        (140..=160).contains(&(served + dropped + 5)),
        "served {served} + dropped {dropped}"
    );
    assert!(
        stdout.contains(&format!("{dropped} iterations dropped")),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_frees_its_place_in_the_pool() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = CountingServer::start().await;
    let (report, _, _) = run(&server, "open_refused_start", &[("PT_DURATION", "2s")]).await;
    // 20/s for 2 s: each arrival starts a fresh user, whose start fails and leaves.
    let starts = task_entry(&report, "on_start");
    assert_eq!(starts["count"], starts["failures"], "{report}");
    let starts = starts["count"].as_u64().unwrap();
    assert!((35..=41).contains(&starts), "{starts} starts: {report}");
    assert_eq!(starts, server.requests("POST /refused"));
    assert_eq!(report["dropped_iterations"], 0, "{report}");
    assert_eq!(server.requests("GET /open"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_ramp_rises_falls_and_ends_at_zero() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = CountingServer::start().await;
    let (report, stdout, html) = run(&server, "ramp", &[]).await;
    // Outside a terminal, live progress is a line every 5 seconds (CI logs).
    let progress = stdout
        .lines()
        .find(|l| l.starts_with("[ramp "))
        .unwrap_or_else(|| panic!("no progress line: {stdout}"));
    assert!(
        progress.contains("users ") && progress.contains("req/s") && progress.contains("p95"),
        "{progress}"
    );
    assert_eq!(report["outcome"], "completed");
    let users: Vec<u64> = report["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["users"].as_u64().unwrap())
        .collect();
    let peak = users.iter().copied().max().unwrap();
    let peak_at = users.iter().position(|u| *u == peak).unwrap();
    assert!((8..=10).contains(&peak), "{users:?}");
    assert!(
        users[..peak_at].windows(2).all(|w| w[0] <= w[1]),
        "rises: {users:?}"
    );
    assert!(
        users[peak_at..].windows(2).all(|w| w[0] >= w[1]),
        "falls: {users:?}"
    );
    assert!((2..=4).contains(&peak_at), "peak near 3 s: {users:?}");
    // The page shows the users observed, not the 2 configured by default.
    assert_eq!(report["peak_users"].as_u64(), Some(peak));
    assert!(
        html.contains(&format!("<b>{peak}</b><span>peak users</span>")),
        "peak users on the page"
    );
    assert!(progress.contains("| task fails 0 |"), "{progress}");
    assert_eq!(*users.last().unwrap(), 0, "{users:?}");
    assert!(report["duration_s"].as_f64().unwrap() < 8.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinated_omission_is_corrected() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = CountingServer::start().await;
    let (report, stdout, html) = run(&server, "paced_stall", &[("PT_DURATION", "5s")]).await;
    let latency = report["task_latency"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "paced_stall")
        .unwrap();
    let service = task_entry(&report, "paced_stall");
    let (latency_p99, service_p99) = (p(latency, "p99"), p(service, "p99"));
    assert!(
        latency_p99 >= 500_000.0,
        "intended-start p99 {latency_p99}µs"
    );
    assert!(service_p99 < 100_000.0, "service-time p99 {service_p99}µs");
    assert_ne!(latency_p99, service_p99);
    // The stalled request itself shows in both maxima.
    assert!(service["max_us"].as_u64().unwrap() >= 1_000_000);
    assert!(
        stdout.contains("coordinated omission corrected"),
        "{stdout}"
    );
    // The headline leads with what users felt: the summary's first table and the page's
    // first figures are the latency from the intended start, service time after it.
    let latency_line = stdout
        .find("Latency users felt")
        .expect("latency leads the summary");
    assert!(latency_line < stdout.find("Type Name").unwrap(), "{stdout}");
    let (felt, service_figure) = (
        html.find("latency p99").expect("latency figure"),
        html.find("service p99").expect("service figure"),
    );
    assert!(felt < service_figure);
    assert!(
        html.find("Latency from the intended start (ms)").unwrap()
            < html.find("Service time: response time").unwrap()
    );
    // The user caught up: about 100 iterations a second despite the stall.
    let count = service["count"].as_u64().unwrap();
    assert!((450..=510).contains(&count), "{count} iterations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reported_latency_matches_the_servers_own_measurement() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let server = CountingServer::start().await;
    let (report, _, _) = run(&server, "accuracy", &[("PT_DURATION", "3s")]).await;
    let entry = request_entry(&report, "GET", "/timed");
    let truth = server.counts().handling_micros;
    assert_eq!(entry["count"].as_u64().unwrap(), truth.len() as u64);
    let server_p50 = quantile(&truth, 0.5) as f64;
    let reported_p50 = p(entry, "p50");
    let difference = reported_p50 - server_p50;
    assert!(
        difference >= 0.0,
        "the client cannot be faster than the server: {difference}µs"
    );
    assert!(
        difference < 2_000.0,
        "p50 {reported_p50}µs vs server {server_p50}µs"
    );
}
