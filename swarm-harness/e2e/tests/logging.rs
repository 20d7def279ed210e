//! The user's logging wins: a logger the app installs in its embedded target (with
//! `.expect(..)`) is not broken by the harness's, and the harness's warnings reach it, and
//! stderr besides (a team's logger may drop them).

use swarm_harness_e2e::run_stress;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_own_logger_is_installed_and_hears_the_harness() {
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("PT_REPORT_DIR".to_owned(), dir.path().display().to_string()),
        ("PT_DURATION".to_owned(), "2s".to_owned()),
        ("PT_MAX_NAMES".to_owned(), "1".to_owned()),
    ];
    let output = run_stress(env!("CARGO_BIN_EXE_e2e-own-logger"), vec![], env).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Before: the harness's env_logger came first and the app's `.expect(..)` panicked.
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("app logger: WARN more than 1 distinct request names (PT_MAX_NAMES)"),
        "{stderr}"
    );
    // And on stderr by the harness itself, for a logger of the team's that drops it.
    assert!(
        stderr
            .lines()
            .any(|line| line.starts_with("warning: more than 1 distinct request names")),
        "{stderr}"
    );
}
