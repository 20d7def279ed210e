//! Shards as a user runs them: three processes, each with `--shard i/3`, against one loopback
//! server that counts requests; `swarm merge` adds their reports into one whose count is the
//! server's and whose histogram is the shards' added bucket by bucket. A single shard merges
//! into itself byte for byte; a missing shard is named; mismatched reports and bad `PT_SHARD`
//! values are refused with exit 2 and no load.
//!
//! This target has no libtest harness: the same binary is the test (no arguments) and, with
//! `SHARD_CHILD=1`, a stress target the test starts as a shard process.

use swarm_harness_test_support as common;

#[path = "shards/feeders.rs"]
mod feeders;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

const SWARM: &str = env!("CARGO_BIN_EXE_swarm");

fn main() -> ExitCode {
    common::test_or_child(
        "SHARD_CHILD",
        &[
            (
                "three_shards_merge_into_the_servers_count",
                three_shards_merge_into_the_servers_count,
            ),
            (
                "a_single_shard_merges_into_itself_byte_for_byte",
                a_single_shard_merges_into_itself_byte_for_byte,
            ),
            (
                "bad_shard_values_are_refused_before_any_load",
                bad_shard_values_are_refused_before_any_load,
            ),
            (
                "a_merge_of_mismatched_reports_is_refused",
                a_merge_of_mismatched_reports_is_refused,
            ),
            (
                "checks_metrics_and_tags_merge_into_the_servers_figures",
                checks_metrics_and_tags_merge_into_the_servers_figures,
            ),
            (
                "feeders_users_of_one_process_never_send_one_email_twice",
                feeders::users_of_one_process_never_send_one_email_twice,
            ),
            (
                "feeders_three_shards_never_send_one_email_twice",
                feeders::three_shards_never_send_one_email_twice,
            ),
            (
                "feeders_fewer_rows_than_iterations_stop_the_trial_or_fail_as_chosen",
                feeders::fewer_rows_than_iterations_stop_the_trial_or_fail_as_chosen,
            ),
            (
                "feeders_a_bad_row_is_one_error_before_any_load",
                feeders::a_bad_row_is_one_error_before_any_load,
            ),
        ],
        None,
    )
}

/// A shard process of the `delayed` trial (GET /delay, no wait to speak of) against `url`.
fn shard(url: &str, dir: &Path, shard: &str, extra: &[&str]) -> Child {
    shard_of("delayed", url, dir, shard, extra)
}

/// A shard process of the trial `trial` against `url`.
fn shard_of(trial: &str, url: &str, dir: &Path, shard: &str, extra: &[&str]) -> Child {
    shard_command(trial, url, dir, shard, extra)
        .spawn()
        .unwrap()
}

/// The command of a shard process of the trial `trial` against `url`, to start.
fn shard_command(trial: &str, url: &str, dir: &Path, shard: &str, extra: &[&str]) -> Command {
    std::fs::create_dir_all(dir).unwrap();
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .env("SHARD_CHILD", "1")
        .env_remove("PT_SHARD")
        .env_remove("PT_RUN_ID")
        .env_remove("NEXTEST_RUN_ID")
        .args([
            "--exact",
            trial,
            "--host",
            url,
            "--report-dir",
            dir.to_str().unwrap(),
            "--web",
            "off",
            "--duration",
            "2s",
            "--num-clients",
            "7",
            "--hatch-rate",
            "70",
            "--shard",
            shard,
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for a shard process, at most a minute.
fn finish(child: Child) -> Output {
    common::finish(child, Duration::from_secs(60), "a shard process")
}

fn merge(inputs: &[&Path], out: &Path, extra: &[&str]) -> Output {
    Command::new(SWARM)
        .arg("merge")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn histogram(report: &serde_json::Value) -> hdrhistogram::Histogram<u64> {
    let entry: swarm_harness::__private::report::EntryReport =
        serde_json::from_value(report["requests_total"].clone()).unwrap();
    entry.decode_histogram().unwrap()
}

fn three_shards_merge_into_the_servers_count() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    // Shards started apart still begin together.
    let start = time::OffsetDateTime::now_utc() + Duration::from_secs(2);
    let start = start.unix_timestamp().to_string();
    let dirs: Vec<PathBuf> = (1..=3)
        .map(|i| dir.path().join(format!("shard-{i}")))
        .collect();
    let children: Vec<Child> = (1..=3)
        .map(|i| {
            shard(
                &server.url,
                &dirs[i - 1],
                &format!("{i}/3"),
                &["--run-id", "ci-1234", "--start-at", &start],
            )
        })
        .collect();
    let reports: Vec<serde_json::Value> = children
        .into_iter()
        .zip(&dirs)
        .map(|(child, dir)| {
            let output = finish(child);
            assert_eq!(
                output.status.code(),
                Some(0),
                "{}",
                common::text(&output.stderr)
            );
            common::read_json(dir, "delayed")
        })
        .collect();
    // 7 users over 3 shards: 2, 2 and 3.
    let peaks: Vec<u64> = reports
        .iter()
        .map(|r| r["peak_users"].as_u64().unwrap())
        .collect();
    assert_eq!(peaks, [2, 2, 3]);
    for (i, report) in reports.iter().enumerate() {
        assert_eq!(report["shard"]["indices"][0], i + 1);
        assert_eq!(report["shard"]["count"], 3);
        assert_eq!(report["config"]["users"], 7, "the whole trial's settings");
        assert_eq!(report["run_id"], "ci-1234");
        assert_eq!(report["cancelled"].as_array().unwrap().len(), 0);
    }
    let counted = server.requests.load(Ordering::SeqCst);
    let sum: u64 = reports
        .iter()
        .map(|r| r["requests_total"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, counted, "the shards recorded what the server served");

    let out = dir.path().join("merged");
    let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let output = merge(&refs, &out, &[]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::text(&output.stderr)
    );
    assert!(
        common::text(&output.stdout).contains("delayed: 3 of 3 shards"),
        "{}",
        common::text(&output.stdout)
    );
    let merged = common::read_json(&out, "delayed");
    assert_eq!(merged["requests_total"]["count"], counted);
    assert_eq!(merged["shard"]["indices"], serde_json::json!([1, 2, 3]));
    assert_eq!(merged["passed"], true, "{}", merged["verdict"]);
    // Bucket for bucket, the merged histogram is the shards' added.
    let mut added = histogram(&reports[0]);
    for report in &reports[1..] {
        added.add(histogram(report)).unwrap();
    }
    let merged_histogram = histogram(&merged);
    assert_eq!(merged_histogram.len(), counted);
    let buckets = |h: &hdrhistogram::Histogram<u64>| -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    };
    assert_eq!(buckets(&merged_histogram), buckets(&added));
    // Counts per entry and task add up too, and every rendering was written from the merge.
    let tasks: u64 = reports
        .iter()
        .map(|r| r["tasks"][0]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(merged["tasks"][0]["count"], tasks);
    for file in [
        "delayed_stats.csv",
        "delayed_stats_history.csv",
        "delayed_failures.csv",
        "delayed.html",
        "index.html",
        "junit.xml",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let csv = std::fs::read_to_string(out.join("delayed_stats.csv")).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("GET,/delay,") && l.contains(&format!(",{counted},"))),
        "{csv}"
    );

    // Two of three: the missing one is named, and --partial merges what is there.
    let output = merge(&[&dirs[0], &dirs[2]], &dir.path().join("two"), &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = common::text(&output.stderr);
    assert!(
        stderr.contains("delayed: 2 of 3 shards; missing 2/3"),
        "{stderr}"
    );
    let output = merge(
        &[&dirs[0], &dirs[2]],
        &dir.path().join("two"),
        &["--partial"],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::text(&output.stderr)
    );
    let partial = common::read_json(&dir.path().join("two"), "delayed");
    assert!(
        partial["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("missing 2/3")),
        "{partial}"
    );
}

fn a_single_shard_merges_into_itself_byte_for_byte() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one");
    let output = finish(shard(&server.url, &one, "1/1", &[]));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::text(&output.stderr)
    );
    let out = dir.path().join("merged");
    let output = merge(&[&one], &out, &[]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::text(&output.stderr)
    );
    for file in ["delayed.json", "delayed_stats.csv", "delayed_failures.csv"] {
        assert_eq!(
            std::fs::read(one.join(file)).unwrap(),
            std::fs::read(out.join(file)).unwrap(),
            "{file}"
        );
    }
}

fn bad_shard_values_are_refused_before_any_load() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    for (value, wanted) in [
        (
            "0/3",
            "invalid PT_SHARD=\"0/3\": the shard index must be at least 1",
        ),
        (
            "4/3",
            "invalid PT_SHARD=\"4/3\": the shard index 4 is above the shard count 3",
        ),
        ("x", "invalid PT_SHARD=\"x\": expected i/n"),
    ] {
        let output = Command::new(std::env::current_exe().unwrap())
            .env("SHARD_CHILD", "1")
            .env("PT_SHARD", value)
            .args(["--exact", "delayed", "--host", &server.url, "--web", "off"])
            .arg("--report-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{value}");
        let stderr = common::text(&output.stderr);
        assert!(stderr.contains(wanted), "{value}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
    // Shards of more than one need a run id to be merged by.
    let output = finish(shard(&server.url, dir.path(), "1/2", &[]));
    assert_eq!(output.status.code(), Some(2));
    assert!(common::text(&output.stderr).contains("needs PT_RUN_ID"));
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        0,
        "no load was sent"
    );
}

fn a_merge_of_mismatched_reports_is_refused() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let output = finish(shard(&server.url, &first, "1/2", &["--run-id", "run-a"]));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::text(&output.stderr)
    );
    let report: serde_json::Value = common::read_json(&first, "delayed");
    let write = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| -> PathBuf {
        let other = dir.path().join(name);
        std::fs::create_dir_all(&other).unwrap();
        let mut copy = report.clone();
        copy["shard"]["indices"] = serde_json::json!([2]);
        edit(&mut copy);
        std::fs::write(other.join("delayed.json"), copy.to_string()).unwrap();
        other
    };
    let cases = [
        (
            write("settings", &|r| r["config"]["users"] = 8.into()),
            "delayed: shards 1/2 and 2/2 ran different settings (users: 7 and 8)",
        ),
        (
            write("run", &|r| r["run_id"] = "run-b".into()),
            "reports of different runs (run ids run-a and run-b)",
        ),
        (
            write("count", &|r| r["shard"]["count"] = 3.into()),
            "delayed: shards of runs cut into 2 and into 3 shards",
        ),
        (
            write("twice", &|r| r["shard"]["indices"] = serde_json::json!([1])),
            "delayed: shard 1/2 is there twice",
        ),
    ];
    for (other, wanted) in cases {
        let output = merge(&[&first, &other], &dir.path().join("out"), &[]);
        assert_eq!(output.status.code(), Some(2), "{wanted}");
        let stderr = common::text(&output.stderr);
        assert!(stderr.contains(wanted), "{stderr}");
    }
    assert!(
        !dir.path().join("out").exists(),
        "nothing written on refusal"
    );
}

/// The figure of `name` in the report list `list` (`checks`, `metrics.counters`, ...).
fn named<'a>(report: &'a serde_json::Value, list: &str, name: &str) -> &'a serde_json::Value {
    let mut value = report;
    for part in list.split('.') {
        value = &value[part];
    }
    value
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {report}"))
        .iter()
        .find(|row| row["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {list}: {value}"))
}

fn checks_metrics_and_tags_merge_into_the_servers_figures() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = (1..=3)
        .map(|i| dir.path().join(format!("shard-{i}")))
        .collect();
    // Three that hold on `/flaky` (every other request a 503) and one that cannot.
    let thresholds = "checks{status is 200} < 60%; counter served: count >= 1; \
                      p95{route:flaky} < 30s; checks > 99%";
    let extra = ["--run-id", "ci-checks", "--thresholds", thresholds];
    let children: Vec<Child> = (1..=3)
        .map(|i| {
            shard_of(
                "checked",
                &server.url,
                &dirs[i - 1],
                &format!("{i}/3"),
                &extra,
            )
        })
        .collect();
    for child in children {
        let output = finish(child);
        // libtest's code for a failed test: the `checks > 99%` threshold.
        assert_eq!(
            output.status.code(),
            Some(101),
            "{}",
            common::text(&output.stderr)
        );
    }
    let out = dir.path().join("merged");
    let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let output = merge(&refs, &out, &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        common::text(&output.stderr)
    );
    let merged = common::read_json(&out, "checked");
    // The server's own count: it answered 503 to its 1st, 3rd, .. request, 200 to the others.
    let served = server.requests.load(Ordering::SeqCst);
    let fine = served / 2;
    assert!(served > 10, "{served}");
    assert_eq!(merged["requests_total"]["count"], served);
    let status = named(&merged, "checks", "status is 200");
    assert_eq!(
        (status["passes"].as_u64(), status["fails"].as_u64()),
        (Some(fine), Some(served - fine))
    );
    let body = named(&merged, "checks", "body is fine");
    assert_eq!(body["passes"], fine);
    assert_eq!(
        named(&merged, "metrics.counters", "served")["value"],
        served
    );
    assert_eq!(named(&merged, "metrics.rates", "fine")["passes"], fine);
    let trend = named(&merged, "metrics.trends", "body bytes");
    assert_eq!(
        (trend["kind"].as_str(), trend["count"].as_u64()),
        (Some("value"), Some(served))
    );
    // "fine" is 4 bytes, "try again" 9: the exact sum of the values.
    assert_eq!(trend["total_us"], fine * 4 + (served - fine) * 9);
    let gauge = named(&merged, "metrics.gauges", "iteration");
    assert!(gauge["min"].as_f64().unwrap() >= 1.0, "{gauge}");
    let tag = &merged["tags"][0];
    assert_eq!(
        (tag["kind"].as_str(), tag["name"].as_str()),
        (Some("route"), Some("flaky"))
    );
    assert_eq!(
        (tag["count"].as_u64(), tag["failures"].as_u64()),
        (Some(served), Some(served - fine))
    );
    let verdicts: Vec<bool> = merged["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["pass"].as_bool().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        [true, true, true, false],
        "{}",
        merged["thresholds"]
    );
    assert_eq!(merged["passed"], false);
}
