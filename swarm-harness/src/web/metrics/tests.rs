//! `/metrics` as written: names from scenario code (a trial, request, check, metric or tag
//! with `"`, `\`, a newline, braces) stay label values, escaped, in every family; trends'
//! buckets; the families' count, whatever the names. `hostile_names.txt` is the exposition
//! of such names, held equal to the encoder's here and read back by Prometheus's own parsers
//! in `e2e/tests/web.rs`.

use std::sync::Arc;

use super::exposition;
use crate::stats::{Marks, Recorder, Sample, Tally};
use crate::web::live::Live;
use crate::web::serve::Connections;

/// Every character a label value must escape or may carry raw.
const HOSTILE: &str = "a\"b\\c\nd{e=\"1\"},f}#";

/// Its escaped form in the text format.
const ESCAPED: &str = r#"a\"b\\c\nd{e=\"1\"},f}#"#;

/// A trial with one of each, named `HOSTILE` (plus a suffix where names share a label).
fn hostile_tally() -> Tally {
    let recorder = Recorder::new(1, None);
    let sample = |micros| Sample {
        kind: "GET",
        name: HOSTILE,
        micros,
        content_bytes: 0,
    };
    let tags = [(HOSTILE.into(), HOSTILE.into())];
    let checks = [(HOSTILE.into(), true)];
    let marks = Marks {
        tags: &tags,
        checks: &checks,
    };
    recorder.marked(0, sample(2_000), None, marks);
    let failed = Some(("500".to_owned(), None));
    recorder.marked(0, sample(40_000), failed, marks);
    recorder.check(0, HOSTILE, false);
    recorder.counter(0, HOSTILE, 7);
    recorder.gauge(0, HOSTILE, 2.5);
    recorder.rate(0, HOSTILE, true);
    recorder.rate(0, HOSTILE, false);
    recorder.rate(0, HOSTILE, false);
    recorder.trend(0, HOSTILE, true, 30_000);
    recorder.trend(0, &format!("{HOSTILE} values"), false, 3);
    recorder.take()
}

fn scrape(trials: &[(&str, Tally)]) -> String {
    let live = Live {
        ended: trials
            .iter()
            .map(|(name, tally)| ((*name).to_owned(), Arc::new(tally.clone()), 0))
            .collect(),
        ..Live::default()
    };
    exposition(&live, &Connections::default())
}

#[test]
fn hostile_names_stay_label_values_in_every_family() {
    let text = scrape(&[(HOSTILE, hostile_tally())]);
    let trial = format!("trial=\"{ESCAPED}\"");
    let named = format!("{trial},name=\"{ESCAPED}\"");
    let tagged = format!("{trial},key=\"{ESCAPED}\",value=\"{ESCAPED}\"");
    for line in [
        format!("swarm_requests_total{{{trial},method=\"GET\",name=\"{ESCAPED}\"}} 2"),
        format!("swarm_checks_total{{{trial},check=\"{ESCAPED}\",result=\"pass\"}} 2"),
        format!("swarm_checks_total{{{trial},check=\"{ESCAPED}\",result=\"fail\"}} 1"),
        format!("swarm_metric_counter_total{{{named}}} 7"),
        format!("swarm_metric_gauge{{{named}}} 2.5"),
        format!("swarm_metric_rate_total{{{named},result=\"true\"}} 1"),
        format!("swarm_metric_rate_total{{{named},result=\"false\"}} 2"),
        format!("swarm_metric_trend_seconds_sum{{{named}}} 0.03"),
        format!("swarm_metric_trend_count{{{trial},name=\"{ESCAPED} values\"}} 1"),
        format!("swarm_tag_requests_total{{{tagged}}} 2"),
        format!("swarm_tag_failures_total{{{tagged}}} 1"),
        // The encoder puts `le` first.
        format!("swarm_tag_response_time_seconds_bucket{{le=\"0.0025\",{tagged}}} 1"),
        format!("swarm_tag_response_time_seconds_bucket{{le=\"0.05\",{tagged}}} 2"),
    ] {
        assert!(text.lines().any(|l| l == line), "no {line} in\n{text}");
    }
    // A raw newline would start a line that is neither a sample nor a comment.
    for line in text.lines() {
        assert!(
            line.starts_with("swarm_") || line.starts_with("# "),
            "{line:?} in\n{text}"
        );
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
}

/// The `# TYPE` lines of an exposition: its families.
fn families(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .collect()
}

#[test]
fn the_families_are_the_same_however_many_names() {
    let recorder = Recorder::new(1, None);
    for i in 0..50_u32 {
        let name = format!("check {i}");
        recorder.check(0, &name, i.is_multiple_of(2));
        recorder.counter(0, &name, 1);
        let tags = [("kind".into(), format!("value {i}").into())];
        let marks = Marks {
            tags: &tags,
            checks: &[],
        };
        let sample = Sample {
            kind: "GET",
            name: "/",
            micros: 1_000,
            content_bytes: 0,
        };
        recorder.marked(0, sample, None, marks);
    }
    let many = scrape(&[("a", recorder.take()), ("b", hostile_tally())]);
    let none = scrape(&[]);
    assert_eq!(families(&many), families(&none));
    for family in [
        "swarm_checks counter",
        "swarm_metric_counter counter",
        "swarm_metric_gauge gauge",
        "swarm_metric_rate counter",
        "swarm_metric_trend_seconds histogram",
        "swarm_metric_trend histogram",
        "swarm_tag_requests counter",
        "swarm_tag_failures counter",
        "swarm_tag_response_time_seconds histogram",
    ] {
        assert!(families(&none).contains(&family), "no {family}: {none}");
    }
    let checks = many
        .lines()
        .filter(|l| l.starts_with("swarm_checks_total{trial=\"a\""));
    assert_eq!(checks.count(), 100, "{many}");
}

#[test]
fn trends_are_buckets_of_seconds_or_of_plain_values() {
    let recorder = Recorder::new(1, None);
    for value in [1, 3, 7, 1_000, 5_000_000] {
        recorder.trend(0, "items", false, value);
        recorder.trend(0, "wait", true, value * 1_000);
    }
    let text = scrape(&[("t", recorder.take())]);
    for line in [
        "swarm_metric_trend_bucket{le=\"1.0\",trial=\"t\",name=\"items\"} 1",
        "swarm_metric_trend_bucket{le=\"2.5\",trial=\"t\",name=\"items\"} 1",
        "swarm_metric_trend_bucket{le=\"5.0\",trial=\"t\",name=\"items\"} 2",
        "swarm_metric_trend_bucket{le=\"1000.0\",trial=\"t\",name=\"items\"} 4",
        "swarm_metric_trend_bucket{le=\"1000000.0\",trial=\"t\",name=\"items\"} 4",
        "swarm_metric_trend_bucket{le=\"+Inf\",trial=\"t\",name=\"items\"} 5",
        "swarm_metric_trend_sum{trial=\"t\",name=\"items\"} 5001011.0",
        "swarm_metric_trend_seconds_bucket{le=\"0.001\",trial=\"t\",name=\"wait\"} 1",
        "swarm_metric_trend_seconds_bucket{le=\"0.005\",trial=\"t\",name=\"wait\"} 2",
        "swarm_metric_trend_seconds_bucket{le=\"1.0\",trial=\"t\",name=\"wait\"} 4",
        "swarm_metric_trend_seconds_bucket{le=\"60.0\",trial=\"t\",name=\"wait\"} 4",
        "swarm_metric_trend_seconds_bucket{le=\"+Inf\",trial=\"t\",name=\"wait\"} 5",
        "swarm_metric_trend_seconds_count{trial=\"t\",name=\"wait\"} 5",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line} in\n{text}");
    }
}

/// The e2e test of `/metrics` parses `hostile_names.txt` with Prometheus's own parsers; this
/// holds it equal to what the encoder writes. `SWARM_UPDATE_DOCS=1` rewrites it.
#[test]
fn the_hostile_exposition_the_parsers_read_is_the_encoders() {
    let text = scrape(&[(HOSTILE, hostile_tally())]);
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web/metrics/hostile_names.txt");
    if std::env::var_os("SWARM_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let held = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        held == text,
        "src/web/metrics/hostile_names.txt is not what /metrics writes for hostile names; \
         regenerate it with \
         SWARM_UPDATE_DOCS=1 cargo test -p swarm-harness --lib web::metrics\n{text}"
    );
}
