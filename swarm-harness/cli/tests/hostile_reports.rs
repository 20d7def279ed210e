//! Crafted report files through every `swarm` subcommand that reads reports (`compare`,
//! `merge`, `history`, `report`), each run as a child process with its address space limited
//! to 1 GiB and a minute to finish: a histogram announcing a 4 GiB payload (which today's
//! decoder zero-fills), a range of 6 million counters, a zero run that makes hdrhistogram
//! negate `i64::MIN`, a histogram that disagrees with its count, durations and times beyond
//! what `Duration` and `OffsetDateTime` hold, negative and `u64::MAX` counts, counts whose sum
//! overflows, a shard count of 4 billion; and in the checks, custom metrics and tags: counts
//! past 2^53 - 1 or a u64, names given twice, a gauge whose range is upside down or that was
//! never set, a trend of an unknown kind or a damaged histogram, a rate of 1.5 or one its
//! counts do not give, a tag that disagrees with its histogram. Every one must exit 2 with a
//! message naming the file, the entry and the field, and write nothing. Two shards with
//! week-long timelines merge in linear time.

use swarm_harness_test_support as common;
use swarm_harness_test_support::v2;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use swarm_harness::__private::report::check::MAX_COUNT;
use swarm_harness::__private::report::{BuildInput, Report, TrialIdentity};
use swarm_harness::__private::stats::{GaugeReading, Ratio, Tally, TrendEntry};

const SWARM: &str = env!("CARGO_BIN_EXE_swarm");

/// The address space a child may use, in KiB (`ulimit -v`): today's decoder asks for 4 GiB.
const MEMORY_LIMIT_KIB: u64 = 1 << 20;

/// Generous: today's `swarm history` on the 4 GiB histogram ran for more than 10 minutes.
const TIME_LIMIT: Duration = Duration::from_secs(60);

const STARTED: &str = "2026-01-01T00:00:00Z";

/// A report as a run writes it: 30 `GET /a` requests of 1.0 to 3.9 ms tagged `kind:read`,
/// each checked (`checks[0]`, 27 passes), a counter, a gauge, a rate and two trends (`items` of
/// values, then `wait` of times), shard `index` of 2.
fn valid(index: u32) -> Value {
    let mut totals = Tally::default();
    for (i, micros) in (1_000..4_000).step_by(100).enumerate() {
        totals.requests.entry("GET", "/a").record(micros, true, 10);
        totals.tasks.entry("task", "t").record(micros + 50, true, 0);
        totals.tags.entry("kind", "read").record(micros, true, 10);
        let checks = &mut totals.checks;
        checks
            .entry("status is 200", Ratio::default)
            .record(i % 10 != 0);
        let metrics = &mut totals.metrics;
        *metrics.counters.entry("orders", || 0) += 2;
        metrics
            .rates
            .entry("hit", Ratio::default)
            .record(i % 2 == 0);
        let set = GaugeReading::new(i as f64, 1_767_225_600_000_000 + i as u64);
        match metrics.gauges.contains("queue") {
            true => metrics.gauges.entry("queue", || set).extend(&set),
            false => _ = metrics.gauges.entry("queue", || set),
        }
        for (name, time, value) in [("items", false, i as u64), ("wait", true, micros)] {
            let trend = metrics.trends.entry(name, || TrendEntry {
                time,
                entry: Default::default(),
            });
            trend.entry.record(value, true, 0);
        }
    }
    let mut report = Report::build(BuildInput {
        identity: TrialIdentity {
            trial: "t".into(),
            scenario: "t".into(),
            param: None,
        },
        config: json!({"users": 2}),
        started_at: STARTED.into(),
        elapsed_s: 10.0,
        outcome: swarm_harness::Outcome::Completed,
        dropped_iterations: 0,
        folded_requests: 0,
        max_names: 100,
        errors: Vec::new(),
        totals: &totals,
        timeline: Vec::new(),
    });
    report.run_id = Some("run-1".into());
    report.shard = Some(swarm_harness::__private::shard::ShardSet {
        count: 2,
        indices: vec![index],
    });
    let mut value = serde_json::to_value(&report).unwrap();
    value["timeline"] = json!([point(1_767_225_601)]);
    value
}

/// One second of a timeline.
fn point(timestamp: i64) -> Value {
    // One value per reported percentile, as a run writes them.
    let eleven = vec![1_u64; 11];
    json!({
        "t": 1.0, "timestamp": timestamp, "users": 2, "rps": 3.0, "failures_per_s": 0.0,
        "percentiles_us": eleven, "p50_us": 1, "p95_us": 1, "total_percentiles_us": eleven,
        "total_requests": 3, "total_failures": 0, "total_median_us": 0, "total_mean_us": 1.0,
        "total_min_us": 1, "total_max_us": 1, "total_avg_content_bytes": 0.0
    })
}

/// Base64 of an uncompressed V2 histogram header (and payload).
fn histogram(announced: u32, digits: u32, low: u64, high: u64, payload: &[u8]) -> String {
    let mut bytes = v2::v2_header(announced, digits, low, high);
    bytes.extend(payload);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A crafted report: what is changed, and what the error must say besides the file.
struct Case {
    name: &'static str,
    craft: fn(&mut Value),
    /// The report's JSON text is edited after serializing (for numbers JSON values cannot hold).
    text: fn(String) -> String,
    expected: &'static [&'static str],
}

fn same(text: String) -> String {
    text
}

const CASES: &[Case] = &[
    Case {
        name: "a histogram announcing a 4 GiB payload in 56 characters",
        craft: |r| r["requests"][0]["histogram"] = histogram(u32::MAX, 3, 1, 2048, &[]).into(),
        text: same,
        expected: &[
            "requests[0] (GET /a)",
            "histogram announces a payload of 4294967295",
        ],
    },
    Case {
        name: "a histogram whose range needs 6 million counters",
        craft: |r| r["tasks"][0]["histogram"] = histogram(0, 5, 1, u64::MAX, &[]).into(),
        text: same,
        expected: &["tasks[0] (task t)", "needs 6291456 counters"],
    },
    Case {
        name: "a zero run of i64::MIN (hdrhistogram negates it)",
        craft: |r| {
            r["requests_total"]["histogram"] = histogram(9, 3, 1, 2048, &[0xff; 9]).into();
        },
        text: same,
        expected: &[
            "requests_total (Aggregated)",
            "past the end of its value range",
        ],
    },
    Case {
        name: "a histogram that disagrees with its count",
        craft: |r| r["requests"][0]["count"] = 31.into(),
        text: same,
        expected: &[
            "requests[0] (GET /a)",
            "holds 30 samples where the entry counts 31",
        ],
    },
    Case {
        name: "a duration of 1e12 seconds",
        craft: |r| r["duration_s"] = 1e12.into(),
        text: same,
        expected: &["report", "duration_s is 1000000000000"],
    },
    Case {
        name: "a duration beyond an f64",
        craft: |r| r["duration_s"] = 12_345.5.into(),
        text: |text| text.replace("12345.5", "1e400"),
        expected: &["duration_s", "number out of range"],
    },
    Case {
        name: "a count of u64::MAX",
        craft: |r| r["tasks"][0]["count"] = u64::MAX.into(),
        text: same,
        expected: &["tasks[0] (task t)", "count is 18446744073709551615"],
    },
    Case {
        name: "a negative count",
        craft: |r| r["requests"][0]["failures"] = (-1).into(),
        text: same,
        expected: &["requests[0].failures", "invalid value"],
    },
    Case {
        name: "failure counts whose sum overflows",
        craft: |r| {
            let group = json!({"kind": "GET", "name": "/a", "error": "e", "occurrences":
                (1_u64 << 63), "sample": null});
            r["failures"] = json!([group, group]);
        },
        text: same,
        expected: &["report", "occurrences values of failures add up"],
    },
    Case {
        name: "a trial that ends after the year 9999",
        craft: |r| r["started_at"] = "9999-12-31T23:59:59Z".into(),
        text: same,
        expected: &["report", "started_at is \"9999-12-31T23:59:59Z\""],
    },
    Case {
        name: "a timeline second of i64::MIN",
        craft: |r| r["timeline"][0]["timestamp"] = i64::MIN.into(),
        text: same,
        expected: &["timeline[0]", "timestamp is -9223372036854775808"],
    },
    Case {
        name: "a run cut into 4 billion shards",
        craft: |r| r["shard"] = json!({"count": u32::MAX, "indices": [2]}),
        text: same,
        expected: &["shard", "count is 4294967295"],
    },
    Case {
        name: "a check's passes past 2^53 - 1",
        craft: |r| r["checks"][0]["passes"] = (MAX_COUNT + 1).into(),
        text: same,
        expected: &["checks[0] (status is 200)", "passes is 9007199254740992"],
    },
    Case {
        name: "a check's passes and fails that overflow a u64 together",
        craft: |r| {
            (r["checks"][0]["passes"], r["checks"][0]["fails"]) = (u64::MAX.into(), 1.into())
        },
        text: same,
        expected: &[
            "checks[0] (status is 200)",
            "passes is 18446744073709551615",
        ],
    },
    Case {
        name: "two checks whose counts add up past 2^53 - 1",
        craft: |r| {
            let half = json!({"name": "b", "passes": MAX_COUNT / 2 + 1, "fails": 0, "rate": 1.0});
            let other = json!({"name": "c", "passes": MAX_COUNT / 2 + 1, "fails": 0, "rate": 1.0});
            r["checks"] = json!([half, other]);
        },
        text: same,
        expected: &[
            "checks[1] (c)",
            "passes and fails values of checks add up beyond",
        ],
    },
    Case {
        name: "a check named twice",
        craft: |r| {
            let check = r["checks"][0].clone();
            r["checks"].as_array_mut().unwrap().push(check);
        },
        text: same,
        expected: &["checks[1] (status is 200)", "each name once in checks"],
    },
    Case {
        name: "a check rate that its counts do not give",
        craft: |r| r["checks"][0]["rate"] = 0.1.into(),
        text: same,
        expected: &[
            "checks[0] (status is 200)",
            "rate is 0.1; expected passes / (passes + fails), 0.9",
        ],
    },
    Case {
        name: "a rate of 1.5",
        craft: |r| r["metrics"]["rates"][0]["rate"] = 1.5.into(),
        text: same,
        expected: &[
            "metrics.rates[0] (hit)",
            "rate is 1.5; expected from 0 to 1",
        ],
    },
    Case {
        name: "a counter past 2^53 - 1",
        craft: |r| r["metrics"]["counters"][0]["value"] = u64::MAX.into(),
        text: same,
        expected: &[
            "metrics.counters[0] (orders)",
            "value is 18446744073709551615",
        ],
    },
    Case {
        name: "a gauge whose min is above its max",
        craft: |r| {
            (
                r["metrics"]["gauges"][0]["min"],
                r["metrics"]["gauges"][0]["max"],
            ) = (40.0.into(), 20.0.into())
        },
        text: same,
        expected: &["metrics.gauges[0] (queue)", "value is 29 (min 40, max 20)"],
    },
    Case {
        name: "a gauge of 0 samples",
        craft: |r| r["metrics"]["gauges"][0]["samples"] = 0.into(),
        text: same,
        expected: &["metrics.gauges[0] (queue)", "samples is 0"],
    },
    Case {
        name: "a trend of a kind other than time or value",
        craft: |r| r["metrics"]["trends"][0]["kind"] = "bytes".into(),
        text: same,
        expected: &["metrics.trends[0] (items)", "kind is \"bytes\""],
    },
    Case {
        name: "a trend whose histogram announces a 4 GiB payload",
        craft: |r| {
            r["metrics"]["trends"][1]["histogram"] = histogram(u32::MAX, 3, 1, 2048, &[]).into();
        },
        text: same,
        expected: &[
            "metrics.trends[1] (time wait)",
            "histogram announces a payload of 4294967295",
        ],
    },
    Case {
        name: "a trend with failures",
        craft: |r| r["metrics"]["trends"][0]["failures"] = 1.into(),
        text: same,
        expected: &["metrics.trends[0] (items)", "failures is 1"],
    },
    Case {
        name: "a tag whose histogram disagrees with its count",
        craft: |r| r["tags"][0]["count"] = 31.into(),
        text: same,
        expected: &[
            "tags[0] (kind read)",
            "holds 30 samples where the entry counts 31",
        ],
    },
    Case {
        name: "a tag listed twice",
        craft: |r| {
            let tag = r["tags"][0].clone();
            r["tags"].as_array_mut().unwrap().push(tag);
        },
        text: same,
        expected: &[
            "tags[1] (kind read)",
            "each tag (kind and name) once in tags",
        ],
    },
];

/// Runs `swarm args` with the memory limit; its exit code, stderr and how long it took.
fn swarm(args: &[&Path]) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(SWARM)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = common::finish(child, TIME_LIMIT, &format!("swarm {args:?}"));
    (
        output.status.code(),
        common::text(&output.stderr),
        started.elapsed(),
    )
}

/// Writes `<dir>/<name>/t.json`; returns the run directory.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let run = dir.join(name);
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("t.json"), text).unwrap();
    run
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_subcommand_refuses_every_crafted_report_in_bounded_time_and_memory() {
    let mut failed = Vec::new();
    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        let good = write(dir.path(), "a", &valid(1).to_string());
        let mut crafted = valid(2);
        (case.craft)(&mut crafted);
        let bad = write(dir.path(), "b", &(case.text)(crafted.to_string()));
        let out = dir.path().join("out");
        let file = bad.join("t.json").display().to_string();
        let runs: [(&str, Vec<&Path>); 4] = [
            ("compare", vec![Path::new("compare"), &good, &bad]),
            (
                "merge",
                vec![Path::new("merge"), &good, &bad, Path::new("--out"), &out],
            ),
            ("history", vec![Path::new("history"), &good, &bad]),
            ("report", vec![Path::new("report"), &bad]),
        ];
        for (subcommand, args) in runs {
            let (code, stderr, took) = swarm(&args);
            let named = stderr.contains(&file) && case.expected.iter().all(|e| stderr.contains(e));
            if code != Some(2) || !named {
                failed.push(format!(
                    "{}: swarm {subcommand} exited {code:?} after {took:?}, expected 2 and \
                     {file} {:?}:\n{}",
                    case.name,
                    case.expected,
                    stderr.lines().take(3).collect::<Vec<_>>().join("\n")
                ));
            }
        }
        // Nothing written: no merged directory, no renderings beside the crafted report.
        if out.exists() || files(&bad) != ["t.json"] {
            failed.push(format!("{}: merge or report wrote files", case.name));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// The untouched pair is read by every subcommand: the checks refuse nothing a run writes.
#[test]
fn reports_as_a_run_writes_them_pass_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a", &valid(1).to_string());
    let mut second = valid(2);
    second["started_at"] = "2026-01-01T00:00:01Z".into();
    let b = write(dir.path(), "b", &second.to_string());
    let out = dir.path().join("out");
    for args in [
        vec![Path::new("compare"), &a, &b],
        vec![Path::new("merge"), &a, &b, Path::new("--out"), &out],
        vec![Path::new("history"), &a, &b],
        vec![Path::new("report"), &b],
    ] {
        let (code, stderr, _) = swarm(&args);
        assert_eq!(code, Some(0), "swarm {args:?}: {stderr}");
    }
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("t.json")).unwrap()).unwrap();
    assert_eq!(merged["requests_total"]["count"], 60);
    assert_eq!(
        (
            &merged["checks"][0]["passes"],
            &merged["metrics"]["counters"][0]["value"],
            &merged["metrics"]["gauges"][0]["samples"],
            &merged["metrics"]["trends"][1]["count"],
            &merged["tags"][0]["count"],
        ),
        (&json!(54), &json!(120), &json!(60), &json!(60), &json!(60))
    );
}

/// The largest figures the reader accepts pass every subcommand in bounded time (the
/// statistics of `compare` and `history` on them end): each shard counts half of 2^53 - 1, so
/// the merged report holds the most a report may, over a trial of ten years.
#[test]
fn the_largest_accepted_figures_pass_every_subcommand() {
    const HALF: u64 = swarm_harness::__private::report::check::MAX_COUNT / 2;
    let mut histogram = swarm_harness::__private::stats::Entry::default().histogram;
    histogram.record_n(1_500, HALF).unwrap();
    let encoded = swarm_harness::__private::stats::histogram::encode(&histogram);
    let largest = |entry: &mut Value| {
        entry["count"] = HALF.into();
        entry["failures"] = (HALF / 2).into();
        (entry["min_us"], entry["max_us"]) = (1_500.into(), 1_500.into());
        entry["total_us"] = (HALF * 1_500).into();
        entry["histogram"] = encoded.clone().into();
    };
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for index in [1, 2] {
        let mut report = valid(index);
        report["duration_s"] = swarm_harness::__private::report::check::MAX_DURATION_S.into();
        largest(&mut report["requests"][0]);
        largest(&mut report["requests_total"]);
        runs.push(write(dir.path(), &format!("r{index}"), &report.to_string()));
    }
    let out = dir.path().join("out");
    for args in [
        vec![Path::new("compare"), &runs[0], &runs[1]],
        vec![Path::new("history"), &runs[0], &runs[1]],
        vec![
            Path::new("merge"),
            &runs[0],
            &runs[1],
            Path::new("--out"),
            &out,
        ],
        vec![Path::new("report"), &runs[1]],
        vec![Path::new("report"), &out],
    ] {
        let (code, stderr, took) = swarm(&args);
        assert!(
            matches!(code, Some(0 | 1)),
            "swarm {args:?} exited {code:?} after {took:?}: {stderr}"
        );
    }
}

/// Two shards of a week-long trial, a timeline point every 8 seconds each (75,600 points):
/// today's merge searches every shard's timeline for every second, about 10^10 steps here
/// (more than 10 minutes; at a point a second, 10^12); a linear merge takes seconds.
#[test]
fn week_long_shard_timelines_merge_in_linear_time() {
    const WEEK: i64 = 7 * 86_400;
    let dir = tempfile::tempdir().unwrap();
    let start = 1_767_225_600;
    let mut inputs = Vec::new();
    for index in [1, 2] {
        let mut report = valid(index);
        report["duration_s"] = (WEEK as f64).into();
        let points: Vec<Value> = (1..=WEEK / 8).map(|i| point(start + 8 * i)).collect();
        report["timeline"] = Value::Array(points);
        inputs.push(write(dir.path(), &format!("s{index}"), &report.to_string()));
    }
    let out = dir.path().join("out");
    let started = Instant::now();
    let child = Command::new(SWARM)
        .arg("merge")
        .args(&inputs)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = common::finish(child, TIME_LIMIT, "swarm merge of week-long shards");
    assert!(output.status.success(), "{}", common::text(&output.stderr));
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("t.json")).unwrap()).unwrap();
    let timeline = merged["timeline"].as_array().unwrap();
    assert_eq!(
        timeline.len() as i64,
        WEEK / 8,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        (
            timeline[0]["users"].clone(),
            timeline[0]["total_requests"].clone()
        ),
        (json!(4), json!(6))
    );
}
