//! A typed test app as the target (`Harness::embedded_app`): started once for a run and never
//! for `--list`; scenarios and fixtures reach it with `user.target::<TestApp>()`;
//! `on_finish_app` sees it after the last trial, its error fails the run, and a hook for
//! another type is refused before any load.

use swarm_harness_e2e::{request_entry, run_stress};

const BINARY: &str = env!("CARGO_BIN_EXE_e2e-typed-app");

fn env(dir: &std::path::Path, finish: &str) -> Vec<(String, String)> {
    vec![
        ("PT_REPORT_DIR".to_owned(), dir.display().to_string()),
        ("PT_DURATION".to_owned(), "1s".to_owned()),
        (
            "E2E_STARTED".to_owned(),
            dir.join("started").display().to_string(),
        ),
        ("E2E_FINISH".to_owned(), finish.to_owned()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_starts_no_app() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_stress(BINARY, vec!["--list".to_owned()], env(dir.path(), "ok")).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("hit: test"), "{stdout}");
    assert!(
        !dir.path().join("started").exists(),
        "--list started the app"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_and_on_finish_app_reach_the_typed_app() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_stress(BINARY, vec![], env(dir.path(), "ok")).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(dir.path().join("started").exists());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("hit.json")).unwrap()).unwrap();
    let entry = request_entry(&report, "GET", "/hit");
    assert_eq!(entry["failures"], 0, "{report}");
    let sent = entry["count"].as_u64().unwrap();
    assert!(sent > 0);
    // The app's own counter, read by on_finish_app, equals the report's count.
    assert!(
        stdout.contains(&format!("test app counted {sent} hits")),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_finish_app_error_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_stress(BINARY, vec![], env(dir.path(), "fail")).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("on_finish_app: the app's rows do not match the report"),
        "{stderr}"
    );
    // The trial itself ran and wrote its report.
    assert!(dir.path().join("hit.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_finish_app_of_another_type_is_refused_before_any_load() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_stress(BINARY, vec![], env(dir.path(), "wrong-type")).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Harness::on_finish_app takes a e2e_typed_app::OtherApp, but Harness::embedded_app starts a e2e_typed_app::TestApp"),
        "{stderr}"
    );
    assert!(!dir.path().join("started").exists());
}
