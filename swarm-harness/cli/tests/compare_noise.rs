//! `swarm compare` knows noise: ten runs against the same loopback server never report a
//! regression, a server 30 % slower at p50 does (with the intervals shown), and a run of five
//! samples is `too few samples to tell`, never `regressed`.
//!
//! The server answers in 50 ms. At 20 ms, a 2-core machine running the rest of the test suite
//! moved p95 by 21 % between two runs of the same code (23.1 -> 27.9 ms, intervals apart: the
//! machine really was slower for that run). That is the runner's noise, which the tolerance is
//! for; intervals answer the sampling noise. The tests here run one at a time.

use swarm_harness_test_support as common;

use std::process::{Command, ExitCode};

use common::{run, start_server};

const SWARM: &str = env!("CARGO_BIN_EXE_swarm");

/// One test at a time: each is the other's noise otherwise.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn compare(baseline: &std::path::Path, current: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let output = Command::new(SWARM)
        .arg("compare")
        .arg(baseline)
        .arg(current)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code().unwrap_or(-1), stdout)
}

/// The `delayed GET /delay p50` row of a comparison table.
fn p50_row(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|line| line.starts_with("delayed GET /delay") && line.contains(" p50 "))
        .unwrap_or_else(|| panic!("no p50 row in {stdout}"))
}

#[test]
fn ten_runs_of_the_same_server_never_regress_and_a_slower_one_does() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let server = start_server(50);
    let runs: Vec<tempfile::TempDir> = (0..10)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            assert_eq!(
                run("delayed", &server.url, dir.path(), &[]),
                ExitCode::SUCCESS
            );
            dir
        })
        .collect();
    for pair in runs.windows(2) {
        let (code, stdout) = compare(pair[0].path(), pair[1].path(), &[]);
        assert_eq!(code, 0, "equal runs flagged:\n{stdout}");
        assert!(!stdout.contains(" regressed"), "{stdout}");
    }

    // 65 ms against 50 ms: +30 % at p50, beyond the 20 % tolerance, intervals apart.
    let slower_server = start_server(65);
    let slower = tempfile::tempdir().unwrap();
    assert_eq!(
        run("delayed", &slower_server.url, slower.path(), &[]),
        ExitCode::SUCCESS
    );
    let (code, stdout) = compare(runs[9].path(), slower.path(), &[]);
    assert_eq!(code, 1, "{stdout}");
    let line = p50_row(&stdout);
    assert!(line.ends_with("regressed"), "{line}");
    assert_eq!(line.matches('[').count(), 2, "both intervals shown: {line}");
}

#[test]
fn five_samples_are_too_few_to_tell_never_a_regression() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let fast = start_server(5);
    let slow = start_server(50);
    let (before, after) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let five = ["--num-requests", "5", "--num-clients", "1"];
    run("delayed", &fast.url, before.path(), &five);
    run("delayed", &slow.url, after.path(), &five);
    // Ten times slower, but five samples are below `--min-count` (20); and even when the
    // entry is compared anyway (`--min-count 1`), five samples cannot bound a percentile at
    // 95 %, so the percentiles are too few to tell.
    let percentiles = ["--min-count", "1", "--metrics", "p50,p95,p99"];
    for extra in [&[][..], &percentiles[..]] {
        let (code, stdout) = compare(before.path(), after.path(), extra);
        assert_eq!(code, 0, "{extra:?}: {stdout}");
        let p50 = p50_row(&stdout);
        assert!(p50.ends_with("too few samples to tell"), "{p50}");
        assert!(!stdout.contains(" regressed"), "{stdout}");
    }
}
