//! `swarm history` over real runs against loopback servers: twelve runs where the server got
//! 25 % slower from run 8 on mark run 8 and only run 8; a thirteenth, slower still, starts a
//! regression at the newest run and fails the gate; the page is written. The server answers
//! in 40 ms and the medians and requests/s are followed: on a busy 2-core machine the tails of
//! a faster server move by a fifth from run to run (see `compare_noise.rs`).

use swarm_harness_test_support as common;

use std::process::{Command, ExitCode};

use common::{run, start_server};

const SWARM: &str = env!("CARGO_BIN_EXE_swarm");

fn history(parent: &std::path::Path, html: &std::path::Path) -> (i32, String) {
    let output = Command::new(SWARM)
        .arg("history")
        .arg(parent)
        .arg("--html")
        .arg(html)
        .args(["--metrics", "p50,rps"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code().unwrap_or(-1), stdout)
}

fn marked_runs(stdout: &str) -> Vec<usize> {
    stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("change point at run "))
        .map(|rest| rest.split(':').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn a_lasting_slowdown_is_marked_where_it_started_and_a_new_one_fails_the_gate() {
    let (fast, slower, slowest) = (start_server(40), start_server(50), start_server(65));
    let parent = tempfile::tempdir().unwrap();
    let add_run = |number: usize, url: &str| {
        let dir = parent.path().join(format!("run-{number:02}"));
        std::fs::create_dir(&dir).unwrap();
        assert_eq!(
            run("delayed", url, &dir, &["--duration", "1s"]),
            ExitCode::SUCCESS
        );
    };
    for number in 1..=12 {
        add_run(number, if number < 8 { &fast.url } else { &slower.url });
    }
    let html = parent.path().join("history.html");
    let (code, stdout) = history(parent.path(), &html);
    assert_eq!(code, 0, "the newest run starts nothing:\n{stdout}");
    let marked = marked_runs(&stdout);
    assert!(!marked.is_empty(), "{stdout}");
    assert!(marked.iter().all(|&run| run == 8), "{marked:?}\n{stdout}");
    let p50 = stdout
        .lines()
        .position(|line| line.starts_with("delayed GET /delay p50:"))
        .unwrap();
    assert!(
        stdout
            .lines()
            .nth(p50 + 1)
            .unwrap()
            .contains("change point at run 8"),
        "{stdout}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Chartist") && page.contains("history-data"),
        "page written"
    );

    add_run(13, &slowest.url);
    let (code, stdout) = history(parent.path(), &html);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("the newest run (run-13) starts"),
        "{stdout}"
    );
}
