//! End-to-end: the `e2e-stress` binary as a process against a counting loopback server; the
//! reports are checked against what the server itself counted.

use swarm_harness_e2e::{CountingServer, read_json, request_entry, run_stress, task_entry};

const BIN: &str = env!("CARGO_BIN_EXE_e2e-stress");

/// Tests that check timings take this, so they do not run beside the heavier ones.
static TIMING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn env(
    server: &CountingServer,
    dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut env = vec![
        ("PT_HOST".to_owned(), server.url.clone()),
        ("PT_REPORT_DIR".to_owned(), dir.display().to_string()),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn text(output: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_match_the_server_and_sessions_and_fixtures_are_reused() {
    let _timing = TIMING.read().await;
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(
        &server,
        dir.path(),
        &[
            ("PT_NUM_CLIENTS", "5"),
            ("PT_HATCH_RATE", "50"),
            ("PT_DURATION", "2s"),
        ],
    );
    let output = run_stress(BIN, args(&["--exact", "Counter"]), env).await;
    assert!(output.status.success(), "{}", text(&output));

    let report = read_json(dir.path(), "Counter");
    let counts = server.counts();
    let a = request_entry(&report, "GET", "/a")["count"]
        .as_u64()
        .unwrap();
    let b = request_entry(&report, "GET", "/b")["count"]
        .as_u64()
        .unwrap();
    assert_eq!(a, server.requests("GET /a"));
    assert_eq!(b, server.requests("GET /b"));
    assert!(a + b > 100, "expected many tasks, got {a} + {b}");
    // on_start ran once per user, even over hundreds of tasks.
    assert_eq!(counts.logins, 5);
    assert_eq!(task_entry(&report, "on_start")["count"], 5);
    assert_eq!(request_entry(&report, "POST", "/login")["count"], 5);
    // The fixture was built once and torn down once; its requests are not in the stats.
    assert_eq!((counts.fixtures, counts.fixture_teardowns), (1, 1));
    assert!(
        report["requests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["name"] != "/fixture")
    );
    // Every user kept its own cookie: five sessions, no anonymous request.
    assert_eq!(counts.anonymous, 0);
    assert_eq!(counts.per_session.len(), 5);
    assert_eq!(counts.per_session.values().sum::<u64>(), a + b);
    assert_eq!(report["outcome"], "completed");
    assert_eq!(report["passed"], true);
    assert_eq!(report["format_version"], 1);
    for key in [
        "scenario",
        "param",
        "config",
        "started_at",
        "duration_s",
        "requests",
        "tasks",
        "failures",
        "timeline",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_shares_follow_the_weights() {
    let _timing = TIMING.read().await;
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(
        &server,
        dir.path(),
        &[
            ("PT_NUM_CLIENTS", "4"),
            ("PT_HATCH_RATE", "100"),
            ("PT_NUM_REQUESTS", "4000"),
            ("PT_DURATION", "30s"),
            ("PT_SEED", "7"),
        ],
    );
    let output = run_stress(BIN, args(&["--exact", "Weighted"]), env).await;
    assert!(output.status.success(), "{}", text(&output));
    let report = read_json(dir.path(), "Weighted");
    assert_eq!(report["outcome"], "request_limit");
    let counts: Vec<u64> = ["w1", "w2", "w5"]
        .iter()
        .map(|t| task_entry(&report, t)["count"].as_u64().unwrap())
        .collect();
    let total: u64 = counts.iter().sum();
    assert!(total >= 2000, "only {total} tasks");
    for (count, weight) in counts.iter().zip([1.0, 2.0, 5.0]) {
        let share = *count as f64 / total as f64;
        let expected = weight / 8.0;
        assert!(
            (share - expected).abs() < 0.05,
            "share {share} vs {expected}"
        );
    }
    // The request limit is exact, and matches the server.
    assert_eq!(report["requests_total"]["count"], 4000);
    let served: u64 = ["GET /w1", "GET /w2", "GET /w5"]
        .iter()
        .map(|k| server.requests(k))
        .sum();
    assert_eq!(served, 4000);

    let ratio = run_stress(BIN, args(&["--show-task-ratio"]), vec![]).await;
    assert!(ratio.status.success(), "{}", text(&ratio));
    let json: serde_json::Value = serde_json::from_slice(&ratio.stdout).unwrap();
    let tasks = &json["per_class"]["Weighted"]["tasks"];
    assert!((tasks["w1"]["ratio"].as_f64().unwrap() - 0.125).abs() < 1e-9);
    assert!((tasks["w5"]["ratio"].as_f64().unwrap() - 0.625).abs() < 1e-9);
    assert_eq!(json["total"]["Weighted"], json["per_class"]["Weighted"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_hatch_at_the_hatch_rate() {
    let _timing = TIMING.write().await;
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&server, dir.path(), &[("PT_DURATION", "3500ms")]);
    let output = run_stress(BIN, args(&["--exact", "hatching"]), env).await;
    assert!(output.status.success(), "{}", text(&output));
    let report = read_json(dir.path(), "hatching");
    assert_eq!(report["config"]["users"], 10);
    let timeline = report["timeline"].as_array().unwrap();
    let users_at = |t: f64| {
        timeline
            .iter()
            .rfind(|p| p["t"].as_f64().unwrap() <= t + 0.15)
            .map(|p| p["users"].as_u64().unwrap())
            .unwrap()
    };
    let after_one = users_at(1.0);
    assert!(
        (4..=7).contains(&after_one),
        "{after_one} users after 1s: {timeline:?}"
    );
    assert_eq!(users_at(2.5), 10, "{timeline:?}");
    assert_eq!(timeline.last().unwrap()["users"], 0, "all users stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_only_with_param() {
    let _timing = TIMING.read().await;
    let list = run_stress(BIN, args(&["--list"]), vec![]).await;
    let stdout = String::from_utf8_lossy(&list.stdout);
    for name in [
        "sized[small]: test",
        "sized[large]: test",
        "Counter: test",
        "Weighted: test",
    ] {
        assert!(stdout.contains(name), "{name} missing in {stdout}");
    }

    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(
        &server,
        dir.path(),
        &[("PT_DURATION", "1s"), ("PT_HATCH_RATE", "10")],
    );
    let output = run_stress(BIN, args(&["--only-with-param", "large"]), env).await;
    assert!(output.status.success(), "{}", text(&output));
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    written.sort();
    assert_eq!(written, ["sized[large].json"]);
    assert!(server.requests("GET /sized/large") > 0);
    assert_eq!(server.requests("GET /sized/small"), 0);
    assert_eq!(server.requests("GET /a"), 0, "no other trial ran");

    let unknown = run_stress(BIN, args(&["--only-with-param", "huge"]), vec![]).await;
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("small, large")
            || String::from_utf8_lossy(&unknown.stderr).contains("large, small")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_closed_ports_are_grouped_failures() {
    let _timing = TIMING.read().await;
    let server = CountingServer::start().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        drop(listener);
        url
    };
    let dir = tempfile::tempdir().unwrap();
    let env = env(
        &server,
        dir.path(),
        &[("PT_DURATION", "1s"), ("E2E_CLOSED_URL", &closed)],
    );
    let output = run_stress(BIN, args(&["failing_"]), env).await;
    assert_eq!(output.status.code(), Some(101), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("GET /fail: HTTP 500 Internal Server Error"),
        "{stdout}"
    );
    assert!(stdout.to_lowercase().contains("connect"), "{stdout}");

    let report = read_json(dir.path(), "failing_500");
    assert_eq!(report["passed"], false);
    let failure = &report["failures"][0];
    assert_eq!(failure["error"], "HTTP 500 Internal Server Error");
    assert_eq!(failure["occurrences"], server.requests("GET /fail"));
    assert_eq!(failure["sample"]["status"], 500);
    assert_eq!(failure["sample"]["body"], "database is down");

    let report = read_json(dir.path(), "failing_closed_port");
    let failure = &report["failures"][0];
    assert_eq!(failure["name"], "closed");
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("connect"),
        "{failure}"
    );
    assert_eq!(
        failure["occurrences"],
        request_entry(&report, "GET", "closed")["count"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_settings_fail_before_any_request() {
    let _timing = TIMING.read().await;
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    for (key, value, expected) in [
        (
            "PT_NUM_CLIENTS",
            "abc",
            "invalid PT_NUM_CLIENTS=\"abc\": expected a whole number",
        ),
        (
            "PT_DURATION",
            "10x",
            "invalid PT_DURATION=\"10x\": expected a duration",
        ),
        (
            "PT_HOST",
            "not-a-url",
            "invalid PT_HOST=\"not-a-url\": expected an http:// or https:// base URL",
        ),
    ] {
        let mut env = env(&server, dir.path(), &[("PT_DURATION", "1s")]);
        env.retain(|(k, _)| k != key);
        env.push((key.to_owned(), value.to_owned()));
        let output = run_stress(BIN, args(&["--exact", "limited"]), env).await;
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one clear error: {stderr}");
    }
    let flag = run_stress(
        BIN,
        args(&["--exact", "limited", "--num-clients=0"]),
        vec![],
    )
    .await;
    assert_eq!(flag.status.code(), Some(2), "{}", text(&flag));
    assert!(String::from_utf8_lossy(&flag.stderr).contains("--num-clients"));
    assert!(server.counts().requests.is_empty(), "no load was sent");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "no report written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_trials_run_only_when_asked() {
    let _timing = TIMING.read().await;
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&server, dir.path(), &[("PT_DURATION", "500ms")]);
    let output = run_stress(BIN, args(&["ignored_by_default"]), env.clone()).await;
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(server.requests("GET /ignored"), 0);
    let output = run_stress(BIN, args(&["ignored_by_default", "--ignored"]), env).await;
    assert!(output.status.success(), "{}", text(&output));
    assert!(server.requests("GET /ignored") > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_without_scenarios_explains_how_to_link_them() {
    let output = run_stress(env!("CARGO_BIN_EXE_e2e-empty"), vec![], vec![]).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no #[stress_test] scenario is linked"),
        "{stderr}"
    );
    assert!(stderr.contains("use my_scenarios as _;"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_work_ends_with_its_trial() {
    let _timing = TIMING.read().await;
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(
        &server,
        dir.path(),
        &[("PT_DURATION", "1s"), ("PT_HATCH_RATE", "10")],
    );
    let output = run_stress(BIN, args(&["bg_"]), env).await;
    assert!(output.status.success(), "{}", text(&output));
    let sequence = server.counts().sequence;
    let polls = sequence.iter().filter(|r| *r == "GET /bg").count();
    assert!(
        polls > 10,
        "the background poll ran during its trial: {polls} in {:?}\n{}",
        &sequence[..sequence.len().min(12)],
        text(&output)
    );
    let next_trial = sequence
        .iter()
        .position(|r| r == "GET /after")
        .expect("the second trial ran");
    let leaked = sequence[next_trial..]
        .iter()
        .filter(|r| *r == "GET /bg")
        .count();
    assert_eq!(leaked, 0, "background polls went on into the next trial");
    // Its requests were measured in the trial that started them.
    let report = read_json(dir.path(), "bg_a_spawns");
    assert!(
        request_entry(&report, "GET", "/bg")["count"]
            .as_u64()
            .unwrap()
            > 10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_members_share_a_hook_and_ignored_members_can_be_included() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = [
        ("PT_NUM_CLIENTS", "3"),
        ("PT_HATCH_RATE", "30"),
        ("PT_DURATION", "1s"),
    ];
    // Before: "disagree on `on_start`" with two raw addresses, and no trial ran at all.
    let output = run_stress(
        BIN,
        args(&["--exact", "SharedHook"]),
        env(&server, dir.path(), &settings),
    )
    .await;
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(server.counts().logins, 3, "one login per user");
    assert!(server.requests("GET /shared-a") > 0 && server.requests("GET /shared-b") > 0);

    let output = run_stress(
        BIN,
        args(&["--exact", "Mixed"]),
        env(&server, dir.path(), &settings),
    )
    .await;
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(server.requests("GET /mixed-ignored"), 0);
    let output = run_stress(
        BIN,
        args(&["--exact", "Mixed", "--include-ignored"]),
        env(&server, dir.path(), &settings),
    )
    .await;
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        server.requests("GET /mixed-ignored") > 0,
        "--include-ignored brings it back"
    );
}
