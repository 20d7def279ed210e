//! End-to-end: a `reqwest-middleware` client with `SwarmMiddleware` reports per-request rows in
//! a stress run, equal to what the server counted, and passes requests through untouched (and
//! unrecorded) in an ordinary test.

use swarm_harness_e2e::{CountingServer, read_json, request_entry, run_stress};

const BIN: &str = env!("CARGO_BIN_EXE_e2e-stress");

/// Runs `trial` against `server` with `settings`; its exit status and its JSON report.
async fn run(
    server: &CountingServer,
    trial: &str,
    settings: &[(&str, &str)],
) -> (std::process::Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![
        ("PT_HOST".to_owned(), server.url.clone()),
        ("PT_REPORT_DIR".to_owned(), dir.path().display().to_string()),
    ];
    env.extend(
        settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let args = vec!["--exact".to_owned(), trial.to_owned()];
    let output = run_stress(BIN, args, env).await;
    let report = read_json(dir.path(), trial);
    (output, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_middleware_client_is_recorded_per_request_in_a_stress_run() {
    let server = CountingServer::start().await;
    let (output, report) = run(&server, "middleware_client", &[("PT_DURATION", "2s")]).await;
    assert!(output.status.success(), "{output:?}");
    let a = request_entry(&report, "GET", "/a")["count"]
        .as_u64()
        .unwrap();
    assert!(a > 20, "{a}");
    assert_eq!(a, server.requests("GET /a"));
    let named = request_entry(&report, "GET", "/item/{id}")["count"]
        .as_u64()
        .unwrap();
    assert_eq!(named, server.requests("GET /item/7"));
    assert_eq!(report["requests_total"]["failures"], 0);
    assert!(request_entry(&report, "GET", "/a")["avg_content_bytes"].as_f64() > Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_pt_max_body_fails_and_a_request_in_flight_at_stop_is_cut_off() {
    let server = CountingServer::start().await;
    let settings = [
        ("PT_DURATION", "1s"),
        ("PT_STOP_TIMEOUT", "200ms"),
        ("PT_MAX_BODY", "1"),
        // Both users start at once, well before the trial ends, whatever the machine's load.
        ("PT_HATCH_RATE", "100"),
    ];
    let (output, report) = run(&server, "middleware_bounds", &settings).await;
    // Each user's one pass: the capped body failed (its task went on), the slow request
    // was cut off at the stop.
    let big = request_entry(&report, "GET", "/a");
    assert_eq!(big["count"], 2, "{report}");
    assert_eq!(big["failures"], 2);
    let failure = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "/a")
        .unwrap();
    assert!(
        failure["error"].as_str().unwrap().contains("PT_MAX_BODY"),
        "{failure}"
    );
    let cut: u64 = report["cancelled"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "GET" && c["name"] == "/slow/{ms}")
        .map(|c| c["occurrences"].as_u64().unwrap())
        .sum();
    assert_eq!(cut, server.requests("GET /slow/60000"), "{report}");
    assert_eq!(cut, 2, "{report}");
    // Every request that completed failed: the trial fails on its failure ratio.
    assert!(!output.status.success(), "{output:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_limit_ends_a_middleware_task_without_a_failure() {
    let server = CountingServer::start().await;
    let settings = [("PT_DURATION", "30s"), ("PT_NUM_REQUESTS", "41")];
    let (output, report) = run(&server, "middleware_client", &settings).await;
    assert!(output.status.success(), "{output:?}");
    let sent = server.requests("GET /a") + server.requests("GET /item/7");
    assert_eq!(sent, 41);
    assert_eq!(report["requests_total"]["count"], 41, "{report}");
    // The task that met the limit is not a failure (nor recorded at all).
    let task = &report["tasks"][0];
    assert_eq!(task["failures"], 0, "{report}");
    assert!(
        report["failures"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert!(report["duration_s"].as_f64().unwrap() < 20.0, "{report}");
}

#[tokio::test]
async fn outside_a_stress_run_the_middleware_passes_requests_through() {
    let server = CountingServer::start().await;
    let client = reqwest_middleware::ClientBuilder::new(reqwest_client())
        .with(swarm_harness::SwarmMiddleware::new())
        .build();
    let response = client
        .get(format!("{}/a", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
    assert_eq!(server.requests("GET /a"), 1);
}

/// A plain client, as an ordinary integration test would build it.
fn reqwest_client() -> reqwest::Client {
    reqwest::Client::new()
}
