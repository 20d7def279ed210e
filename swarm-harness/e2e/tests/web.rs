//! End-to-end: the web UI's API against the `e2e-stress` binary as a process: the seeds' curl
//! commands verbatim, `/stats/requests` and `/metrics` against the final report and the
//! server's own counts, `/metrics` of hostile names read back by Prometheus's parsers, the
//! token, an exposed address without one, a taken port, libtest's JSON output with the UI on,
//! and slow, idle and surplus sockets on the web port during a trial.

use std::process::Command;

use swarm_harness_e2e::{CountingServer, WebRun, eventually, read_json, request_entry};

const BIN: &str = env!("CARGO_BIN_EXE_e2e-stress");

fn curl(args: &[&str]) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-s", "-m", "30", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Parses Prometheus text with Python's `prometheus_client` (both its Prometheus and its
/// OpenMetrics parser); returns `[[name, labels, value], ...]` samples.
fn parse_metrics(text: &str) -> serde_json::Value {
    use std::io::Write;
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
text = sys.stdin.read()
list(openmetrics(text))  # raises on anything that is not valid OpenMetrics
samples = [[s.name, s.labels, s.value] for f in text_string_to_metric_families(text) for s in f.samples]
print(json.dumps(samples))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "prometheus_client could not parse /metrics (scripts/install-deps.sh test installs it): {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn sample(samples: &serde_json::Value, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples.as_array()?.iter().find_map(|s| {
        let matches = s[0] == name && labels.iter().all(|(k, v)| s[1][*k].as_str() == Some(*v));
        matches.then(|| s[2].as_f64()).flatten()
    })
}

/// What `/metrics` writes for a trial whose names (trial, request, check, custom metrics, tag
/// key and value) all carry `"`, `\`, a newline and braces: the library's unit tests hold this
/// file equal to the encoder's output, so no scenario here needs such names.
const HOSTILE_EXPOSITION: &str = include_str!("../../src/web/metrics/hostile_names.txt");

#[test]
fn both_parsers_read_hostile_names_back_from_every_family() {
    let hostile = "a\"b\\c\nd{e=\"1\"},f}#";
    let samples = parse_metrics(HOSTILE_EXPOSITION);
    let trial = ("trial", hostile);
    let named = [trial, ("name", hostile)];
    let tagged = [trial, ("key", hostile), ("value", hostile)];
    for (name, labels, value) in [
        ("swarm_requests_total", vec![trial, ("name", hostile)], 2.0),
        (
            "swarm_checks_total",
            vec![trial, ("check", hostile), ("result", "pass")],
            2.0,
        ),
        (
            "swarm_checks_total",
            vec![trial, ("check", hostile), ("result", "fail")],
            1.0,
        ),
        ("swarm_metric_counter_total", named.to_vec(), 7.0),
        ("swarm_metric_gauge", named.to_vec(), 2.5),
        (
            "swarm_metric_rate_total",
            [&named[..], &[("result", "false")]].concat(),
            2.0,
        ),
        ("swarm_metric_trend_seconds_count", named.to_vec(), 1.0),
        ("swarm_tag_requests_total", tagged.to_vec(), 2.0),
        ("swarm_tag_failures_total", tagged.to_vec(), 1.0),
        (
            "swarm_tag_response_time_seconds_count",
            tagged.to_vec(),
            2.0,
        ),
    ] {
        assert_eq!(
            sample(&samples, name, &labels),
            Some(value),
            "{name} {labels:?} in {samples}"
        );
    }
}

/// `steered` for up to five minutes against `url`, waiting for a start from the API.
fn start_waiting(url: &str, dir: &str, extra: &[(&str, &str)]) -> WebRun {
    let mut env = vec![
        ("PT_HOST", url),
        ("PT_REPORT_DIR", dir),
        ("PT_WEB_AUTOSTART", "false"),
    ];
    env.extend_from_slice(extra);
    WebRun::start(BIN, &["--exact", "steered", "--duration", "5m"], &env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_commands_steer_a_waiting_swarm_and_the_numbers_agree() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().display().to_string();
    let url = server.url.clone();
    let (report, stats, metrics, output) = tokio::task::spawn_blocking(move || {
        let run = start_waiting(&url, &dir_path, &[]);
        let base = run.url.trim_end_matches('/').to_owned();
        // Waiting: no load until the start.
        eventually(30, "the waiting line", || {
            run.output()
                .contains("steered: waiting for a start")
                .then_some(())
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (code, body) = curl(&[
            "-X",
            "POST",
            "-F",
            "locust_count=2",
            "-F",
            "hatch_rate=2",
            &format!("{base}/swarm"),
        ]);
        assert_eq!(code, 200, "{body}");
        let answer = json(&body);
        assert_eq!(answer["success"], true, "{body}");
        eventually(30, "requests", || {
            let (_, body) = curl(&[&format!("{base}/stats/requests")]);
            let stats = json(&body);
            (stats["stats"][0]["num_requests"].as_u64() > Some(20)).then_some(())
        });
        let (code, body) = curl(&[&format!("{base}/stop")]);
        assert_eq!(code, 200, "{body}");
        assert_eq!(json(&body)["success"], true);
        // The trial ends and its report is written; the page stays up (not autostarted).
        eventually(30, "the report", || {
            run.output().contains("every trial has ended").then_some(())
        });
        let (code, body) = curl(&[&format!("{base}/stats/requests")]);
        assert_eq!(code, 200);
        let stats = json(&body);
        let (code, metrics) = curl(&[&format!("{base}/metrics")]);
        assert_eq!(code, 200);
        // The downloads: Locust's CSV columns, the HTML report, the exceptions.
        let (code, csv) = curl(&[&format!("{base}/stats/requests/csv")]);
        assert_eq!(code, 200);
        assert!(
            csv.starts_with("Type,Name,Request Count,Failure Count,"),
            "{csv}"
        );
        assert!(csv.contains("GET,/concurrent,"), "{csv}");
        for path in [
            "stats/requests_full_history/csv",
            "stats/failures/csv",
            "exceptions/csv",
        ] {
            assert_eq!(curl(&[&format!("{base}/{path}")]).0, 200, "{path}");
        }
        let (code, page) = curl(&[&format!("{base}/stats/report")]);
        assert_eq!(code, 200);
        assert!(
            page.contains("<html") && page.contains("/concurrent"),
            "report page"
        );
        let (code, exceptions) = curl(&[&format!("{base}/exceptions")]);
        assert_eq!(code, 200);
        assert_eq!(json(&exceptions)["exceptions"], serde_json::json!([]));
        // Nothing is left to steer.
        let (code, body) = curl(&[
            "-X",
            "POST",
            "-F",
            "user_count=2",
            "-F",
            "spawn_rate=2",
            &format!("{base}/swarm"),
        ]);
        assert_eq!(code, 409, "{body}");
        assert!(body.contains("every trial of this run has ended"), "{body}");
        let (status, output) = run.terminate();
        assert!(status.success(), "{output}");
        (std::path::PathBuf::from(dir_path), stats, metrics, output)
    })
    .await
    .unwrap();
    let report = read_json(&report, "steered");
    assert_eq!(report["outcome"], "stopped", "{output}");
    assert_eq!(report["passed"], true);
    assert_eq!(report["config"]["users"], 2);
    let counted = server.requests("GET /concurrent");
    let reported = request_entry(&report, "GET", "/concurrent")["count"]
        .as_u64()
        .unwrap();
    assert_eq!(reported, counted, "the report against the server");

    // /stats/requests: Locust's keys, the report's numbers.
    for key in [
        "stats",
        "errors",
        "total_rps",
        "total_fail_per_sec",
        "fail_ratio",
        "current_rps",
        "current_fail_per_sec",
        "current_response_time_percentiles",
        "state",
        "user_count",
    ] {
        assert!(stats.get(key).is_some(), "missing {key}: {stats}");
    }
    assert_eq!(stats["state"], "stopped");
    let row = stats["stats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "/concurrent")
        .unwrap_or_else(|| panic!("no /concurrent row: {stats}"));
    assert_eq!(row["method"], "GET");
    assert_eq!(row["num_requests"].as_u64(), Some(reported));
    assert_eq!(row["num_failures"], 0);
    for key in [
        "min_response_time",
        "max_response_time",
        "avg_response_time",
        "median_response_time",
        "current_rps",
        "current_fail_per_sec",
        "total_rps",
        "total_fail_per_sec",
        "response_time_percentile_0.95",
        "response_time_percentile_0.99",
        "avg_content_length",
    ] {
        assert!(row.get(key).is_some(), "missing {key}: {row}");
    }
    // Held 50 ms by the server.
    assert!(
        row["median_response_time"].as_f64().unwrap() >= 50.0,
        "{row}"
    );
    let total = stats["stats"].as_array().unwrap().last().unwrap();
    assert_eq!(total["name"], "Aggregated");
    assert_eq!(
        total["num_requests"].as_u64(),
        report["requests_total"]["count"].as_u64()
    );

    // /metrics: a real parser, the report's counters.
    let samples = parse_metrics(&metrics);
    let labels = [
        ("trial", "steered"),
        ("method", "GET"),
        ("name", "/concurrent"),
    ];
    assert_eq!(
        sample(&samples, "swarm_requests_total", &labels),
        Some(reported as f64),
        "{metrics}"
    );
    assert_eq!(
        sample(&samples, "swarm_request_failures_total", &labels),
        Some(0.0)
    );
    assert_eq!(
        sample(&samples, "swarm_response_time_seconds_count", &labels),
        Some(reported as f64)
    );
    let task = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "steered")
        .unwrap();
    assert_eq!(
        sample(
            &samples,
            "swarm_tasks_total",
            &[("trial", "steered"), ("task", "steered")]
        ),
        task["count"].as_f64()
    );
    // Every request took at least 50 ms: none in the buckets below.
    assert_eq!(
        sample(
            &samples,
            "swarm_response_time_seconds_bucket",
            &[("name", "/concurrent"), ("le", "0.025")]
        ),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_guards_every_request_and_an_exposed_address_needs_one() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().display().to_string();
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || {
        // Exposed without a token: refused before any load.
        let output = Command::new(BIN)
            .args(["--exact", "steered", "--duration", "2s"])
            .env("PT_HOST", &url)
            .env("PT_REPORT_DIR", &dir_path)
            .env("PT_WEB_HOST", "0.0.0.0")
            .env_remove("PT_WEB_TOKEN")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("PT_WEB_HOST=0.0.0.0") && stderr.contains("PT_WEB_TOKEN"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");

        // With a token, nothing passes without it.
        let token = "s3cret-token-42";
        let run = start_waiting(
            &url,
            &dir_path,
            &[("PT_WEB_HOST", "0.0.0.0"), ("PT_WEB_TOKEN", token)],
        );
        let base = run.url.replace("0.0.0.0", "127.0.0.1");
        let base = base.trim_end_matches('/');
        for path in ["/", "/stats/requests", "/metrics", "/api/live"] {
            let (code, _) = curl(&[&format!("{base}{path}")]);
            assert_eq!(code, 401, "{path}");
        }
        let (code, _) = curl(&[
            "-X",
            "POST",
            "-F",
            "user_count=1",
            "-F",
            "spawn_rate=1",
            &format!("{base}/swarm"),
        ]);
        assert_eq!(code, 401);
        let (code, _) = curl(&[
            "-H",
            "Authorization: Bearer wrong-token-00",
            &format!("{base}/stats/requests"),
        ]);
        assert_eq!(code, 401);
        let (code, body) = curl(&[
            "-H",
            &format!("Authorization: Bearer {token}"),
            &format!("{base}/stats/requests"),
        ]);
        assert_eq!(code, 200, "{body}");
        assert_eq!(json(&body)["state"], "ready");
        // The browser's way: Basic with the token as the password.
        let (code, body) = curl(&["-u", &format!("me:{token}"), &format!("{base}/")]);
        assert_eq!(code, 200);
        assert!(body.contains("swarm-harness"));
        let (_, output) = run.terminate();
        assert!(
            !output.contains(token),
            "the token is never printed: {output}"
        );
    })
    .await
    .unwrap();
    assert_eq!(server.requests("GET /concurrent"), 0, "no load was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_one_clear_error_before_any_load() {
    let server = CountingServer::start().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["--exact", "steered", "--duration", "2s"])
        .env("PT_HOST", &server.url)
        .env("PT_REPORT_DIR", dir.path())
        .env("PT_LOCUST_PORT", &port)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("PT_LOCUST_PORT={port}")),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("in use"), "{stderr}");
    assert_eq!(server.requests("GET /concurrent"), 0, "no load was sent");
    assert!(!dir.path().join("steered.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_port_taken_gives_way_to_a_free_one() {
    let server = CountingServer::start().await;
    // Locust's 8089 held here; when something else holds it, it may let go before the run
    // binds, so only a hold of our own makes the fallback certain.
    let held = std::net::TcpListener::bind("127.0.0.1:8089").ok();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["--exact", "steered", "--duration", "2s"])
        .env_remove("PT_LOCUST_PORT")
        .env("PT_HOST", &server.url)
        .env("PT_REPORT_DIR", dir.path())
        .env("PT_WEB", "on")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(dir.path().join("steered.json").exists());
    if held.is_some() {
        assert!(stderr.contains("note: port 8089 is taken"), "{stderr}");
        let url = stdout
            .lines()
            .find_map(|l| l.strip_prefix("web UI: "))
            .unwrap_or_else(|| panic!("no web UI line: {stdout}"));
        assert!(!url.contains(":8089/"), "{url}");
        assert!(
            stderr.contains(url.trim()),
            "the note names the address: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtest_json_output_stays_valid_with_the_web_ui_on() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["--exact", "steered", "--duration", "2s", "--format", "json"])
        .env("PT_HOST", &server.url)
        .env("PT_REPORT_DIR", dir.path())
        .env("PT_LOCUST_PORT", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "ok" && e["name"] == "steered"),
        "{stdout}"
    );
    // The human output went to stderr.
    assert!(stderr.contains("web UI: http://127.0.0.1:"), "{stderr}");
    assert!(stderr.contains("report: "), "{stderr}");
    assert!(read_json(dir.path(), "steered")["requests_total"]["count"].as_u64() > Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_restarts_the_figures_and_a_shaped_trial_is_not_steered() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().display().to_string();
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || {
        // `ramp` follows its stages: a user count from outside is refused, the stop is not.
        let run = WebRun::start(
            BIN,
            &["--exact", "ramp"],
            &[("PT_HOST", &url), ("PT_REPORT_DIR", &dir_path)],
        );
        let base = run.url.trim_end_matches('/').to_owned();
        eventually(30, "ramp requests", || {
            let (_, body) = curl(&[&format!("{base}/stats/requests")]);
            (json(&body)["stats"][0]["num_requests"].as_u64() > Some(0)).then_some(())
        });
        let (code, body) = curl(&[
            "-X",
            "POST",
            "-d",
            "user_count=50&spawn_rate=5",
            &format!("{base}/swarm"),
        ]);
        assert_eq!(code, 409, "{body}");
        assert_eq!(json(&body)["success"], false);
        assert!(body.contains("load shape"), "{body}");
        // Malformed forms are refused, naming the field.
        let (code, body) = curl(&[
            "-X",
            "POST",
            "-F",
            "user_count=abc",
            "-F",
            "spawn_rate=1",
            &format!("{base}/swarm"),
        ]);
        assert_eq!(code, 400);
        assert!(body.contains("invalid user_count=\\\"abc\\\""), "{body}");
        let (code, body) = curl(&["-X", "POST", &format!("{base}/stats/reset")]);
        assert_eq!((code, body.as_str()), (200, "ok"));
        eventually(10, "the reset", || {
            run.output().contains("statistics reset").then_some(())
        });
        // The ramp ends by itself.
        let (status, output) = run.wait();
        assert!(status.success(), "{output}");
    })
    .await
    .unwrap();
    let report = read_json(dir.path(), "ramp");
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("statistics were reset"), "{warnings}");
    let reported = request_entry(&report, "GET", "/ramp")["count"]
        .as_u64()
        .unwrap();
    assert!(
        reported < server.requests("GET /ramp"),
        "the report counts only what came after the reset"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steering_keeps_the_rate_and_never_exceeds_the_target() {
    let server = std::sync::Arc::new(CountingServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().display().to_string();
    let url = server.url.clone();
    let counting = server.clone();
    tokio::task::spawn_blocking(move || {
        let run = start_waiting(&url, &dir_path, &[]);
        let base = run.url.trim_end_matches('/').to_owned();
        let swarm = |users: &str, rate: &str| {
            let (code, body) = curl(&[
                "-X",
                "POST",
                "-d",
                &format!("user_count={users}&spawn_rate={rate}"),
                &format!("{base}/swarm"),
            ]);
            assert_eq!(code, 200, "{body}");
        };
        swarm("5", "100");
        eventually(30, "five users", || {
            (counting.take_max_concurrency() == 5).then_some(())
        });
        // Down to one and straight back up: users still finishing count, so never above 5.
        swarm("1", "100");
        swarm("5", "100");
        for _ in 0..10 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let max = counting.take_max_concurrency();
            assert!(max <= 5, "concurrency {max} above the target of 5");
        }
        // The same command sent again and again does not start users faster than its rate.
        swarm("1", "100");
        eventually(30, "one user", || {
            (counting.take_max_concurrency() == 1).then_some(())
        });
        for _ in 0..5 {
            swarm("30", "0.5");
        }
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let max = counting.take_max_concurrency();
        assert!(
            max <= 3,
            "at 0.5 users/s, 1.5 s after the first command: {max} users"
        );
        let (status, output) = run.terminate();
        assert!(status.success() || status.code() == Some(101), "{output}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_site_cannot_steer_the_run_through_a_browser() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().display().to_string();
    let url = server.url.clone();
    tokio::task::spawn_blocking(move || {
        let run = start_waiting(&url, &dir_path, &[]);
        let base = run.url.trim_end_matches('/').to_owned();
        let swarm = format!("{base}/swarm");
        let stop = format!("{base}/stop");
        let form = ["-X", "POST", "-d", "user_count=3&spawn_rate=3"];
        let cases: Vec<(Vec<&str>, u16)> = vec![
            // DNS rebinding: a name that resolves here is not this page's address.
            (
                [&form[..], &["-H", "Host: attacker.example", &swarm]].concat(),
                403,
            ),
            (
                [
                    &form[..],
                    &["-H", "Origin: http://attacker.example", &swarm],
                ]
                .concat(),
                403,
            ),
            (
                [&form[..], &["-H", "Sec-Fetch-Site: cross-site", &swarm]].concat(),
                403,
            ),
            (
                vec![
                    "-X",
                    "POST",
                    "-H",
                    "Content-Type: text/plain",
                    "--data",
                    "user_count=3&spawn_rate=3",
                    &swarm,
                ],
                415,
            ),
            (vec!["-H", "Sec-Fetch-Site: cross-site", &stop], 403),
            (vec!["-I", &stop], 405),
        ];
        for (args, expected) in cases {
            let (code, body) = curl(&args);
            assert_eq!(code, expected, "{args:?}: {body}");
        }
        // Nothing started; the page's own origin still works.
        assert_eq!(
            json(&curl(&[&format!("{base}/stats/requests")]).1)["state"],
            "ready"
        );
        let own = format!("Origin: {base}");
        let (code, body) = curl(
            &[
                &form[..],
                &["-H", &own, "-H", "Sec-Fetch-Site: same-origin", &swarm],
            ]
            .concat(),
        );
        assert_eq!(code, 200, "{body}");
        let (status, output) = run.terminate();
        assert!(status.code().is_some(), "{output}");
    })
    .await
    .unwrap();
}

/// A raw socket on the web port and everything the server has sent on it.
struct Socket {
    stream: std::net::TcpStream,
    received: Vec<u8>,
    closed: bool,
}

impl Socket {
    fn open(address: &str, first: &[u8]) -> Socket {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(address).expect("connect to the web UI");
        // A socket refused above the cap may be closed already: a failed write is an answer.
        let _ = stream.write_all(first);
        stream.set_nonblocking(true).unwrap();
        Socket {
            stream,
            received: Vec::new(),
            closed: false,
        }
    }

    /// Reads what has arrived; true once the server has closed the connection.
    fn poll_closed(&mut self) -> bool {
        use std::io::Read;
        let mut buffer = [0; 4096];
        while !self.closed {
            match self.stream.read(&mut buffer) {
                Ok(0) => self.closed = true,
                Ok(n) => self.received.extend_from_slice(&buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // A reset is the server closing on unread input: closed all the same.
                Err(_) => self.closed = true,
            }
        }
        self.closed
    }

    fn answer(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }
}

/// `127.0.0.1:PORT` of a run's `http://127.0.0.1:PORT/`.
fn address(run: &WebRun) -> String {
    run.url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// The web UI's counter `name` (with `labels`) from `/metrics`.
fn web_counter(base: &str, name: &str, labels: &[(&str, &str)]) -> u64 {
    let (code, metrics) = curl(&[&format!("{base}/metrics")]);
    assert_eq!(code, 200, "{metrics}");
    sample(&parse_metrics(&metrics), name, labels).unwrap_or_else(|| panic!("no {name}: {metrics}"))
        as u64
}

/// Stops the trial with the seeds' command and holds its report against the server's count.
fn stop_and_check_the_load(
    run: WebRun,
    base: &str,
    dir: &std::path::Path,
    server: &CountingServer,
) {
    let (code, body) = curl(&[&format!("{base}/stop")]);
    assert_eq!(code, 200, "{body}");
    let (status, output) = run.wait();
    assert!(status.success(), "{output}");
    let report = read_json(dir, "steered");
    assert_eq!(report["outcome"], "stopped", "{output}");
    let entry = request_entry(&report, "GET", "/concurrent");
    assert_eq!(entry["failures"], 0, "{output}");
    assert_eq!(
        entry["count"].as_u64().unwrap(),
        server.requests("GET /concurrent"),
        "the report against the server"
    );
}

/// Checks that each socket of [`slow_and_idle_sockets_are_closed_by_the_server_and_the_load_is_unharmed`]
/// was answered as its kind asks: nothing for a head cut off, 408 for a stalled body, 503
/// above the cap (256), or nothing where a reset overtook that 503. Returns the 503s and
/// the 408s.
fn answers_among(sockets: &[Socket]) -> (u64, u64) {
    let (mut refusals, mut timeouts) = (0, 0);
    for (i, socket) in sockets.iter().enumerate() {
        let answer = socket.answer();
        if answer.starts_with("HTTP/1.1 503") {
            refusals += 1;
        } else if i % 3 == 2 && answer.starts_with("HTTP/1.1 408") {
            timeouts += 1;
        } else {
            assert_eq!(answer, "", "socket {i}");
        }
    }
    (refusals, timeouts)
}

/// 300 sockets during a trial, under `PT_WEB_TIMEOUT=2s`: silent ones, heads trickled a
/// header line at a time, and form bodies that stop halfway. Every one is closed by the
/// server (bounded wait: 60 s, thirty times the timeout; today's server held them all), the
/// trial goes on sending load, and its report equals the server's own count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_sockets_are_closed_by_the_server_and_the_load_is_unharmed() {
    let server = std::sync::Arc::new(CountingServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_owned();
    let counting = server.clone();
    tokio::task::spawn_blocking(move || {
        let run = WebRun::start(
            BIN,
            &["--exact", "steered", "--duration", "5m"],
            &[
                ("PT_HOST", &counting.url),
                ("PT_REPORT_DIR", &dir_path.display().to_string()),
                ("PT_WEB_TIMEOUT", "2s"),
            ],
        );
        let base = run.url.trim_end_matches('/').to_owned();
        eventually(30, "the trial's load", || {
            (counting.requests("GET /concurrent") > 0).then_some(())
        });
        let before = counting.requests("GET /concurrent");
        let heads: [&[u8]; 3] = [
            b"",
            b"GET /stats/requests HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            b"POST /swarm HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 1000\r\n\r\nuser_count=",
        ];
        let address = address(&run);
        let mut sockets: Vec<Socket> = (0..300)
            .map(|i| Socket::open(&address, heads[i % 3]))
            .collect();
        eventually(60, "the server to close every slow socket", || {
            use std::io::Write;
            for (i, socket) in sockets.iter_mut().enumerate() {
                // Slowloris: the trickled heads keep sending, which must not help them.
                if i % 3 == 1 && !socket.closed {
                    let _ = socket.stream.write_all(b"X-Slow: 1\r\n");
                }
            }
            let open = sockets
                .iter_mut()
                .filter_map(|s| (!s.poll_closed()).then_some(()))
                .count();
            std::thread::sleep(std::time::Duration::from_millis(400));
            (open == 0).then_some(())
        });
        // The load went on through it all.
        eventually(30, "more load", || {
            (counting.requests("GET /concurrent") > before).then_some(())
        });
        let (refusals, answered_408) = answers_among(&sockets);
        // The first three sockets always find a place: one of them is a stalled body.
        assert!(answered_408 >= 1);
        let closed = |reason| {
            web_counter(
                &base,
                "swarm_web_connections_closed_total",
                &[("reason", reason)],
            )
        };
        let (heads_cut, bodies_cut) = (
            closed("request_head_timeout"),
            closed("request_body_timeout"),
        );
        let refused = web_counter(&base, "swarm_web_connections_refused_total", &[]);
        assert_eq!(
            heads_cut + bodies_cut + refused,
            300,
            "each socket counted once"
        );
        assert!(
            heads_cut >= 2 && bodies_cut >= 1,
            "{heads_cut} {bodies_cut}"
        );
        assert!(
            refused >= refusals && bodies_cut >= answered_408,
            "{refused} {refusals}"
        );
        stop_and_check_the_load(run, &base, &dir_path, &counting);
    })
    .await
    .unwrap();
}

/// `PT_WEB_MAX_CONNECTIONS=16` (and a timeout far beyond the test): 16 silent sockets hold
/// every place, the next 24 are answered 503 and closed at once, counted and logged; once
/// some of the 16 leave, the seeds' commands work again, and the trial was never harmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_above_the_cap_are_refused_and_a_request_succeeds_afterwards() {
    let server = std::sync::Arc::new(CountingServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_owned();
    let counting = server.clone();
    tokio::task::spawn_blocking(move || {
        let run = WebRun::start(
            BIN,
            &["--exact", "steered", "--duration", "5m"],
            &[
                ("PT_HOST", &counting.url),
                ("PT_REPORT_DIR", &dir_path.display().to_string()),
                ("PT_WEB_TIMEOUT", "1h"),
                ("PT_WEB_MAX_CONNECTIONS", "16"),
            ],
        );
        let base = run.url.trim_end_matches('/').to_owned();
        eventually(30, "the trial's load", || {
            (counting.requests("GET /concurrent") > 0).then_some(())
        });
        let address = address(&run);
        // Accepted in the order they connect: the first 16 take the places.
        let mut held: Vec<Socket> = (0..16).map(|_| Socket::open(&address, b"")).collect();
        let mut surplus: Vec<Socket> = (0..24).map(|_| Socket::open(&address, b"")).collect();
        eventually(60, "the surplus sockets to be closed", || {
            let open = surplus
                .iter_mut()
                .filter_map(|s| (!s.poll_closed()).then_some(()))
                .count();
            (open == 0).then_some(())
        });
        for socket in &surplus {
            let answer = socket.answer();
            assert!(
                answer.is_empty() || answer.starts_with("HTTP/1.1 503"),
                "{answer}"
            );
        }
        assert!(
            held.iter_mut().all(|s| !s.poll_closed()),
            "the places are held"
        );
        let before = counting.requests("GET /concurrent");
        // A client leaves: its place serves the next request.
        held.truncate(12);
        let stats = eventually(30, "a request after the surplus", || {
            let (code, body) = curl(&[&format!("{base}/stats/requests")]);
            (code == 200).then_some(body)
        });
        assert!(json(&stats)["stats"].is_array(), "{stats}");
        eventually(30, "more load", || {
            (counting.requests("GET /concurrent") > before).then_some(())
        });
        let refused = web_counter(&base, "swarm_web_connections_refused_total", &[]);
        assert!(refused >= 24, "{refused}");
        assert!(
            run.output().contains("refused a connection")
                && run.output().contains("PT_WEB_MAX_CONNECTIONS"),
            "{}",
            run.output()
        );
        drop(held);
        stop_and_check_the_load(run, &base, &dir_path, &counting);
    })
    .await
    .unwrap();
}

/// A run group (`run = "pair"`: a closed trial and an open one) with the web UI on: both run
/// at once, `POST /swarm` with `trial=` steers the closed one alone, an unknown trial is
/// refused naming the running ones, `/api/live?trial=` shows either, `/metrics` has both;
/// each report keeps its own model and counts what the server counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_groups_trials_run_at_once_and_are_steered_each_by_name() {
    let server = std::sync::Arc::new(CountingServer::start().await);
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_owned();
    let url = server.url.clone();
    let counting = server.clone();
    tokio::task::spawn_blocking(move || {
        let reports = dir_path.display().to_string();
        let env = [
            ("PT_HOST", url.as_str()),
            ("PT_REPORT_DIR", reports.as_str()),
        ];
        let run = WebRun::start(BIN, &["--exact", "pair", "--duration", "4s"], &env);
        let base = run.url.trim_end_matches('/').to_owned();
        eventually(30, "both trials running", || {
            let (_, body) = curl(&[&format!("{base}/api/live")]);
            let live = json(&body);
            (live["running"].as_array().map(Vec::len) == Some(2)).then_some(())
        });
        let (_, body) = curl(&[&format!("{base}/api/live?trial=pair_open")]);
        assert_eq!(json(&body)["trial"]["name"], "pair_open", "{body}");
        let (code, metrics) = curl(&[&format!("{base}/metrics")]);
        assert_eq!(code, 200);
        for trial in ["pair_closed", "pair_open"] {
            assert!(
                metrics.contains(&format!("trial=\"{trial}\"")),
                "{trial}: {metrics}"
            );
        }
        let swarm = |fields: &str| curl(&["-X", "POST", "-d", fields, &format!("{base}/swarm")]);
        let (code, body) = swarm("user_count=5&spawn_rate=100&trial=nope");
        assert_eq!(code, 409, "{body}");
        assert!(body.contains("running: pair_closed, pair_open"), "{body}");
        let (code, body) = swarm("user_count=5&spawn_rate=100&trial=pair_closed");
        assert_eq!(code, 200, "{body}");
        assert!(body.contains("pair_closed"), "{body}");
        // The group ends by itself (started without waiting for the page).
        let (status, output) = run.wait();
        assert!(status.success(), "{output}");
        assert!(output.contains("run group pair: passed"), "{output}");

        let closed = read_json(&dir_path, "pair_closed");
        let open = read_json(&dir_path, "pair_open");
        let most_users = |report: &serde_json::Value| {
            let timeline = report["timeline"].as_array().unwrap();
            timeline
                .iter()
                .map(|p| p["users"].as_u64().unwrap())
                .max()
                .unwrap()
        };
        assert_eq!(most_users(&closed), 5, "steered from 2 to 5");
        assert!(most_users(&open) <= 4, "max_users of the open trial");
        assert_eq!(open["config"]["arrival_rate"], 20.0);
        for (report, path) in [(&closed, "/pair/closed"), (&open, "/pair/open")] {
            let reported = request_entry(report, "GET", path)["count"]
                .as_u64()
                .unwrap();
            assert_eq!(
                reported,
                counting.requests(&format!("GET {path}")),
                "{path}"
            );
        }
        let text = std::fs::read_to_string(dir_path.join("run-groups/pair.json")).unwrap();
        let group: serde_json::Value = serde_json::from_str(&text).unwrap();
        let both = group["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["trials"].as_object().unwrap().len() == 2)
            .count();
        assert!(both >= 2, "seconds with both trials: {group}");
    })
    .await
    .unwrap();
}
