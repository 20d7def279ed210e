//! The request log's lines and its bound, on records made here.

use super::*;

fn record(n: u64) -> RequestRecord {
    RequestRecord {
        kind: "GET".into(),
        name: "/flaky".into(),
        start_us: 1_700_000_000_000_000 + n,
        intended_start_us: None,
        duration_us: 120,
        bytes: 4,
        status: Some(503),
        error: Some("HTTP 503 Service Unavailable".into()),
        user: 3,
        iteration: n,
        tags: vec![("route".into(), "flaky".into())],
    }
}

/// A trial as the request sinks are told of it (the tests of `requests.rs` take it too).
pub(in crate::events) fn info(name: &str) -> TrialInfo {
    TrialInfo {
        index: 0,
        name: name.into(),
        description: String::new(),
        host: None,
        duration_s: 1.0,
        steerable: false,
        thresholds: Vec::new(),
        max_names: 10,
    }
}

#[test]
fn a_line_has_every_field_in_its_documented_form() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = RequestLog::new(dir.path().into(), 1 << 20, None);
    log.trial_started(&info("checked[a b]"));
    log.requests(&[record(7)]);
    assert!(log.trial_ended().is_empty());
    let text = std::fs::read_to_string(dir.path().join("checked[a_b].ndjson")).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(
        line,
        serde_json::json!({
            "intended_start": null, "start": 1_700_000_000_000_007u64, "duration_us": 120,
            "status": 503, "bytes": 4, "kind": "GET", "name": "/flaky", "user": 3,
            "iteration": 7, "error": "HTTP 503 Service Unavailable",
            "tags": {"route": "flaky"},
        })
    );
}

#[test]
fn the_bound_keeps_whole_lines_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let shard = ShardId { index: 2, count: 3 };
    let mut log = RequestLog::new(dir.path().into(), 1000, Some(shard));
    log.trial_started(&info("t"));
    let batch: Vec<RequestRecord> = (0..50).map(record).collect();
    log.requests(&batch);
    let warnings = log.trial_ended();
    let text = std::fs::read_to_string(dir.path().join("t.shard-2-of-3.ndjson")).unwrap();
    assert!(text.len() <= 1000 && text.ends_with('\n'), "{}", text.len());
    let lines = text.lines().count();
    assert!(lines > 0);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&format!("after {lines} lines: the {} requests", 50 - lines)),
        "{warnings:?}"
    );
}

#[test]
fn a_file_that_cannot_be_created_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = RequestLog::new(dir.path().join("gone"), 1000, None);
    log.trial_started(&info("t"));
    log.requests(&[record(1), record(2)]);
    let warnings = log.trial_ended();
    assert!(
        warnings[0].contains("could not be created") && warnings[0].contains("2 requests left"),
        "{warnings:?}"
    );
}
