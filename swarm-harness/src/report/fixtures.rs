//! The reports the renderings' tests share: a trial with requests, tasks, latency, failures,
//! thresholds and a timeline but no checks, custom metrics or tags, and the same trial with
//! all of them, named with what breaks markup and CSV (`<`, `"`, `,`, a line feed).

use super::{BuildInput, Outcome, Report, TrialIdentity};
use crate::stats::{
    Entry, FailureKey, FailureSample, GaugeReading, LATENCY_KIND, Ratio, Tally, TimelinePoint,
    TrendEntry,
};
use crate::threshold::Verdict;

/// A name of user code that markup, CSV and one-line output each have to take care of.
pub(crate) const HOSTILE: &str = "a <b> \"c\", d\ne";

fn record(entry: &mut Entry, micros: impl IntoIterator<Item = u64>, failures: u64) {
    let mut failed = 0;
    for value in micros {
        let ok = failed >= failures;
        failed += u64::from(!ok);
        entry.record(value, ok, 512);
    }
}

fn plain_tally() -> Tally {
    let mut tally = Tally::default();
    record(
        tally.requests.entry("GET", "/items"),
        (1..=10).map(|n| n * 1_000),
        1,
    );
    record(
        tally.requests.entry("POST", "/orders"),
        (1..=5).map(|n| n * 20_000),
        0,
    );
    record(tally.tasks.entry("task", "browse"), [50_000, 70_000], 1);
    record(
        tally.tasks.entry(LATENCY_KIND, "browse"),
        [55_000, 90_000],
        1,
    );
    let key = FailureKey {
        kind: "GET".into(),
        name: "/items".into(),
        error: "HTTP 500 Internal Server Error".into(),
    };
    let sample = FailureSample {
        url: Some("http://localhost/items".into()),
        status: Some(500),
        body: Some("oops".into()),
    };
    tally.failures.record(key, Some(sample));
    tally
}

fn point(t: f64, total_requests: u64) -> TimelinePoint {
    TimelinePoint {
        t,
        timestamp: 1_767_225_600 + t as i64,
        users: 2,
        rps: 8.0,
        failures_per_s: 0.5,
        percentiles_us: vec![5_000; 11],
        p50_us: 5_000,
        p95_us: 9_000,
        latency_percentiles_us: vec![60_000; 11],
        total_percentiles_us: vec![6_000; 11],
        total_requests,
        total_failures: 1,
        total_median_us: 6_000,
        total_mean_us: 6_500.5,
        total_min_us: 1_000,
        total_max_us: 100_000,
        total_avg_content_bytes: 512.0,
    }
}

fn report_of(tally: &Tally) -> Report {
    let mut report = Report::build(BuildInput {
        identity: TrialIdentity {
            trial: "checkout[large]".into(),
            scenario: "checkout".into(),
            param: Some("large".into()),
        },
        config: serde_json::Value::Null,
        started_at: "2026-01-01T00:00:00Z".into(),
        elapsed_s: 1.25,
        outcome: Outcome::Completed,
        dropped_iterations: 0,
        folded_requests: 0,
        max_names: 1000,
        errors: Vec::new(),
        totals: tally,
        timeline: vec![point(1.0, 8), point(1.25, 15)],
    });
    report.passed = false;
    report.verdict = Some("threshold `p95 < 1ms` breached".into());
    report.thresholds.push(Verdict {
        expression: "p95 < 1ms".into(),
        observed: Some(90_000.0),
        observed_text: "90.0ms".into(),
        pass: false,
    });
    report.warnings.push("a warning".into());
    report
}

/// A trial without checks, custom metrics or tags.
pub(crate) fn plain() -> Report {
    report_of(&plain_tally())
}

/// The trial of [`plain`], with two checks (one of them failing 30 of 1000 times), a counter,
/// a gauge, a rate, a trend of times, a trend of values and requests under two tags.
pub(crate) fn custom() -> Report {
    let mut tally = plain_tally();
    *tally.checks.entry("status is 201", Ratio::default) = Ratio {
        passes: 970,
        fails: 30,
    };
    *tally.checks.entry(HOSTILE, Ratio::default) = Ratio {
        passes: 3,
        fails: 0,
    };
    let metrics = &mut tally.metrics;
    *metrics.counters.entry(HOSTILE, || 0) += 12;
    let mut gauge = GaugeReading::new(5.0, 100);
    gauge.extend(&GaugeReading::new(-1.5, 200));
    gauge.extend(&GaugeReading::new(3.0, 300));
    metrics.gauges.entry("depth <q>", || gauge);
    *metrics.rates.entry("cache \"hit\"", Ratio::default) = Ratio {
        passes: 3,
        fails: 1,
    };
    let wait = metrics.trends.entry("queue wait", || TrendEntry {
        time: true,
        entry: Entry::default(),
    });
    record(&mut wait.entry, (1..=100).map(|n| n * 1_000), 0);
    let items = metrics.trends.entry("items, per page", TrendEntry::default);
    record(&mut items.entry, 1..=100, 0);
    record(
        tally.tags.entry("kind", "read"),
        (1..=10).map(|n| n * 1_000),
        0,
    );
    record(
        tally.tags.entry("region", "eu\n<west>, \"2\""),
        (1..=5).map(|n| n * 20_000),
        1,
    );
    report_of(&tally)
}
