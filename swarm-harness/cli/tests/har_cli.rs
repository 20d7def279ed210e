//! `swarm har import` and `swarm har replay` as a user meets them: a bad recording is one line
//! naming the JSON path and exit 2, nothing is overwritten without `--force`, a recording of
//! several hosts is replayed one host at a time, and a replay's report counts what the
//! loopback server counted.

use swarm_harness_test_support as common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::Ordering;

use common::start_server;

const SWARM: &str = env!("CARGO_BIN_EXE_swarm");

fn swarm(args: &[&str], dir: &Path) -> Output {
    Command::new(SWARM)
        .args(args)
        .current_dir(dir)
        .env_remove("PT_HOST")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn entry(url: &str) -> serde_json::Value {
    serde_json::json!({
        "startedDateTime": "2026-11-22T10:00:00.000Z",
        "time": 1,
        "request": {"method": "GET", "url": url, "headers": []},
        "response": {"status": 200, "headers": [], "content": {"mimeType": "text/plain", "text": "slept"}}
    })
}

fn write_har(dir: &Path, name: &str, urls: &[&str]) -> String {
    let har =
        serde_json::json!({"log": {"entries": urls.iter().map(|u| entry(u)).collect::<Vec<_>>()}});
    std::fs::write(dir.join(name), har.to_string()).unwrap();
    name.to_owned()
}

#[test]
fn a_malformed_recording_is_one_line_with_its_json_path_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            r#"{"log":{"entries":[{"request":{"method":"GET"}}]}}"#,
            "log.entries[0].request.url: missing",
        ),
        (r#"{"log":{}}"#, "log.entries: missing"),
        (
            r#"{"log":{"entries":[{"request":{"method":"GET","url":"http://a/","headers":[{"name":7}]}}]}}"#,
            "log.entries[0].request.headers[0].name: invalid type: integer `7`",
        ),
        (
            "\u{feff}not json",
            "bad3.har: not a HAR file: (document): expected",
        ),
        (
            r#"{"log":{"entries":[{"request":{"method":"GET","url":"chrome://settings"},"response":{"status":200}}]}}"#,
            "no entry of the recording can be replayed (1 entries, skipped 1 browser-internal)",
        ),
    ];
    for (index, (content, expected)) in cases.iter().enumerate() {
        let name = format!("bad{index}.har");
        std::fs::write(dir.path().join(&name), content).unwrap();
        let output = swarm(&["har", "import", &name], dir.path());
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(output.stdout.is_empty());
    }
    let missing = swarm(&["har", "import", "nope.har"], dir.path());
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("cannot read nope.har"));
    // Only the recording was written: nothing generated from bad input.
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files, cases.len());
}

#[test]
fn import_writes_a_file_per_host_and_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let har = write_har(
        dir.path(),
        "two.har",
        &[
            "http://127.0.0.1:9/a",
            "https://api.example.test/b",
            "http://127.0.0.1:9/c",
        ],
    );
    let output = swarm(&["har", "import", &har], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("replay_127_0_0_1_9.rs: 2 requests"),
        "{stdout}"
    );
    assert!(
        stdout.contains("replay_api_example_test.rs: 1 requests"),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 entries in two.har; none skipped"),
        "{stdout}"
    );

    let kept = dir.path().join("replay_127_0_0_1_9.rs");
    std::fs::write(&kept, "// edited by hand").unwrap();
    let again = swarm(&["har", "import", &har], dir.path());
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("pass --force to overwrite it"));
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "// edited by hand");
    let forced = swarm(&["har", "import", &har, "--force"], dir.path());
    assert_eq!(forced.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(&kept)
            .unwrap()
            .contains("#[stress_test]")
    );

    let only_in = |dir: &Path| {
        swarm(
            &[
                "har",
                "import",
                &har,
                "--host",
                "*.example.test",
                "--out",
                "sub",
            ],
            dir,
        )
    };
    // A missing --out is created; a file in its place is refused.
    std::fs::write(dir.path().join("sub"), "a file").unwrap();
    assert_eq!(
        only_in(dir.path()).status.code(),
        Some(2),
        "a file is no directory"
    );
    std::fs::remove_file(dir.path().join("sub")).unwrap();
    let only = only_in(dir.path());
    assert_eq!(only.status.code(), Some(0), "{}", text(&only.stderr));
    assert_eq!(
        std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
        1
    );
    let none = swarm(
        &["har", "import", &har, "--host", "nowhere.test"],
        dir.path(),
    );
    assert_eq!(none.status.code(), Some(2));
    assert!(
        text(&none.stderr).contains(
            "matches none of the recording's hosts: http://127.0.0.1:9, https://api.example.test"
        ),
        "{}",
        text(&none.stderr)
    );
}

#[test]
fn replay_sends_one_host_and_its_report_counts_what_the_server_counted() {
    let dir = tempfile::tempdir().unwrap();
    let har = write_har(
        dir.path(),
        "mixed.har",
        &[
            "http://127.0.0.1:9/delay",
            "https://other.example.test/x",
            "http://127.0.0.1:9/delay?n=2",
        ],
    );
    let server = start_server(0);
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let reports_arg = reports.display().to_string();
    let harness = [
        "--",
        "--host",
        &server.url,
        "--num-clients",
        "2",
        "--hatch-rate",
        "50",
        "--duration",
        "2s",
        "--web",
        "off",
        "--report-dir",
        &reports_arg,
    ];

    let mut both = vec!["har", "replay", har.as_str()];
    both.extend_from_slice(&harness);
    let refused = swarm(&both, dir.path());
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("records 2 origins (http://127.0.0.1:9, https://other.example.test); replay one at a time: choose it with --host"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        0,
        "no load before the error"
    );

    let mut one = vec!["har", "replay", har.as_str(), "--host", "127.0.0.1"];
    one.extend_from_slice(&harness);
    let output = swarm(&one, dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reports.join("replay_127_0_0_1_9.json")).unwrap(),
    )
    .unwrap();
    let counted = server.requests.load(Ordering::SeqCst);
    assert!(counted > 0);
    assert_eq!(report["requests_total"]["count"], counted);
    assert_eq!(report["requests_total"]["failures"], 0);
    let tasks = report["tasks"][0]["count"].as_u64().unwrap();
    // Each iteration sends both recorded requests; one may be cut at stop.
    assert!(
        counted == 2 * tasks || counted == 2 * tasks + 1,
        "{counted} requests, {tasks} tasks"
    );
}
