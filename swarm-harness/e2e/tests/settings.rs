//! Bad settings fail before any load (exit 2, one message naming the value), and the process
//! behaves under failing targets: a task that fails at once backs off instead of spinning,
//! warnings reach stderr.

use std::process::Output;

use swarm_harness_e2e::{CountingServer, read_json, run_stress, task_entry};

const BIN: &str = env!("CARGO_BIN_EXE_e2e-stress");

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn run(
    server: &CountingServer,
    dir: &std::path::Path,
    trial: &str,
    env: &[(&str, &str)],
) -> Output {
    let mut vars = vec![
        ("PT_HOST".to_owned(), server.url.clone()),
        ("PT_REPORT_DIR".to_owned(), dir.display().to_string()),
        ("PT_DURATION".to_owned(), "2s".to_owned()),
    ];
    vars.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    run_stress(BIN, vec!["--exact".into(), trial.into()], vars).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_fail_before_any_load() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    for (key, value, says) in [
        ("PT_DURATION", "1e30", "invalid PT_DURATION=\"1e30\""),
        ("PT_DURATION", "0s", "invalid PT_DURATION=\"0s\""),
        ("PT_STAGES", "1s:1e12", "invalid PT_STAGES=\"1s:1e12\""),
        (
            "PT_HATCH_RATE",
            "1e-300",
            "invalid PT_HATCH_RATE=\"1e-300\"",
        ),
        (
            "PT_ARRIVAL_RATE",
            "1e-300",
            "invalid PT_ARRIVAL_RATE=\"1e-300\"",
        ),
        (
            "PT_NUM_CLIENTS",
            "100000000",
            "invalid PT_NUM_CLIENTS=\"100000000\"",
        ),
        (
            "PT_REPORT_DIR",
            "/proc/no/such/dir",
            "invalid PT_REPORT_DIR=\"/proc/no/such/dir\"",
        ),
        ("PT_MAX_BODY", "lots", "invalid PT_MAX_BODY=\"lots\""),
    ] {
        let output = run(&server, dir.path(), "hatching", &[(key, value)]).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{key}={value}: {}",
            text(&output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{key}={value}: {stderr}");
    }
    // No target at all: refused, not a busy loop of failures.
    let output = run_stress(
        BIN,
        vec!["--exact".into(), "hatching".into()],
        vec![("PT_REPORT_DIR".into(), dir.path().display().to_string())],
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("set PT_HOST"));
    assert_eq!(server.counts().sequence.len(), 0, "no load was sent");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no report"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trials_that_would_share_a_report_file_are_refused() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let output = run_stress(
        env!("CARGO_BIN_EXE_e2e-collide"),
        vec![],
        vec![
            ("PT_HOST".into(), server.url.clone()),
            ("PT_REPORT_DIR".into(), dir.path().display().to_string()),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("would write the same report file"),
        "{}",
        text(&output)
    );
    assert_eq!(server.counts().sequence.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_in_a_variable_is_named() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        &server,
        dir.path(),
        "hatching",
        &[("PT_NUM_CLIENT", "5"), ("PT_DURATION", "1s")],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown variable PT_NUM_CLIENT is ignored; did you mean PT_NUM_CLIENTS?"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_task_backs_off_and_the_progress_line_counts_it() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        &server,
        dir.path(),
        "instant_failure",
        &[("PT_DURATION", "6s")],
    )
    .await;
    assert!(!output.status.success(), "{}", text(&output));
    let report = read_json(dir.path(), "instant_failure");
    let runs = task_entry(&report, "instant_failure")["count"]
        .as_u64()
        .unwrap();
    // Before: 25,800 failures a second from one user. Backing off 1 ms, 2 ms, ... up to 1 s:
    // about a dozen in 6 s.
    assert!((5..100).contains(&runs), "{runs} runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("| task fails "), "{stdout}");
    assert!(!stdout.contains("| task fails 0 |"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_reach_stderr() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        &server,
        dir.path(),
        "unique_names",
        &[("PT_MAX_NAMES", "5")],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("more than 5 distinct request names"),
        "{stderr}"
    );
    let report = read_json(dir.path(), "unique_names");
    assert!(report["requests"].as_array().unwrap().len() <= 6);
    assert!(!report["warnings"].as_array().unwrap().is_empty());
}

/// `BIN --exact steered` under the open-file limits `ulimit` sets first (a shell's builtin),
/// with `users` users for 2 s against `server`.
fn under_ulimit(
    ulimit: &str,
    users: &str,
    server: &CountingServer,
    dir: &std::path::Path,
) -> Output {
    let mut command = std::process::Command::new("bash");
    command
        .args(["-c", &format!("ulimit {ulimit} && exec \"$0\" \"$@\""), BIN])
        .args([
            "--exact",
            "steered",
            "--duration",
            "1s",
            "--hatch-rate",
            "1000",
        ]);
    for (key, _) in std::env::vars() {
        if key.starts_with("PT_") {
            command.env_remove(key);
        }
    }
    command
        .env("PT_WEB", "off")
        .env("PT_HOST", &server.url)
        .env("PT_REPORT_DIR", dir)
        .env("PT_NUM_CLIENTS", users)
        .output()
        .expect("bash runs")
}

/// Each user keeps a connection: under a hard limit too low for the users, one error before
/// any load names the limit and how to raise it (exit 2); under a low soft limit with room
/// below the hard one, the harness raises it, says so, and every user runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_file_limit_is_raised_or_refused_before_any_load() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let url_server = &server;
    let refused = tokio::task::block_in_place(|| under_ulimit("-n 200", "500", url_server, &path));
    let said = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(
        said.contains("steered keeps 500 users live, which need about 564 open files")
            && said.contains("this process may open 200 (ulimit -n; its hard limit is 200)")
            && said.contains("ulimit -Hn"),
        "{said}"
    );
    assert_eq!(server.requests("GET /concurrent"), 0, "no load was sent");

    let raised = tokio::task::block_in_place(|| under_ulimit("-Sn 200", "300", url_server, &path));
    let said = text(&raised);
    assert!(raised.status.success(), "{said}");
    assert!(
        said.contains("raised the open-file limit (ulimit -n) from 200 to"),
        "{said}"
    );
    // More users than the soft limit had room for, none failing for want of a socket.
    let report = read_json(&path, "steered");
    assert!(report["peak_users"].as_u64().unwrap() > 200, "{said}");
    assert_eq!(report["requests_total"]["failures"], 0, "{said}");
}
