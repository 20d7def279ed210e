//! The merge's sums refuse what overflows, naming the file, and its linear timeline pass gives
//! what the quadratic search it replaced gave.

use super::timeline::at;
use super::*;
use crate::report::Outcome;
use crate::report::{BuildInput, TrialIdentity};
use crate::stats::TimelinePoint;
use proptest::prelude::*;

/// A shard's report of `count` requests of 1 µs, read from `file`.
fn shard(index: u32, count: u64, file: &str) -> Report {
    let mut totals = Tally::default();
    let entry = totals.requests.entry("GET", "/a");
    entry.record(1, true, 0);
    entry.histogram.record_n(1, count - 1).unwrap();
    (entry.count, entry.total_micros) = (count, count);
    let mut report = Report::build(BuildInput {
        identity: TrialIdentity {
            trial: "t".into(),
            scenario: "t".into(),
            param: None,
        },
        config: serde_json::Value::Null,
        started_at: "2026-01-01T00:00:00Z".into(),
        elapsed_s: 1.0,
        outcome: Outcome::Completed,
        dropped_iterations: 0,
        folded_requests: 0,
        max_names: 100,
        errors: Vec::new(),
        totals: &totals,
        timeline: Vec::new(),
    });
    report.run_id = Some("run".into());
    report.shard = Some(ShardSet {
        count: 2,
        indices: vec![index],
    });
    report.file = Some(file.into());
    report
}

#[test]
fn counts_whose_sum_overflows_are_refused_naming_the_file() {
    // Each within what a report holds, the two together not: refused before anything is
    // built from them (a histogram counter past i64::MAX does not even serialize).
    let big = crate::report::check::MAX_COUNT;
    let error = merge_run(
        vec![shard(1, big, "s1/t.json"), shard(2, big, "s2/t.json")],
        false,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "s2/t.json: t: GET /a: added to the shards before it, the count values add up beyond \
         9007199254740991"
    );
    let fine = merge_run(vec![shard(1, 10, "a"), shard(2, 20, "b")], false).unwrap();
    assert_eq!(fine[0].requests_total.count, 30);
}

fn point(timestamp: i64, users: usize, rps: f64, total: u64) -> TimelinePoint {
    TimelinePoint {
        t: 0.0,
        timestamp,
        users,
        rps,
        failures_per_s: rps / 10.0,
        percentiles_us: vec![total * 3, total * 7],
        p50_us: 0,
        p95_us: 0,
        latency_percentiles_us: Vec::new(),
        total_percentiles_us: vec![total, total * 2, total * 5],
        total_requests: total,
        total_failures: total / 3,
        total_median_us: 0,
        total_mean_us: total as f64 * 1.5,
        total_min_us: total,
        total_max_us: total * 9,
        total_avg_content_bytes: 2.0,
    }
}

/// Up to four shards, each a timeline in time order with gaps and repeated seconds.
fn timelines() -> impl Strategy<Value = Vec<Vec<TimelinePoint>>> {
    let timeline =
        proptest::collection::vec((0_i64..4, 0_usize..5, 0.0_f64..50.0, 0_u64..500), 0..30)
            .prop_map(|steps| {
                let mut second = 1_767_225_600;
                steps
                    .into_iter()
                    .map(|(gap, users, rps, total)| {
                        second += gap;
                        point(second, users, rps, total)
                    })
                    .collect()
            });
    proptest::collection::vec(timeline, 1..5)
}

proptest! {
    #[test]
    fn the_sorted_pass_merges_as_the_search_did(timelines in timelines()) {
        let shards: Vec<Report> = timelines
            .into_iter()
            .enumerate()
            .map(|(i, timeline)| {
                let mut report = shard(i as u32 + 1, 1, "f");
                report.timeline = timeline;
                report
            })
            .collect();
        let start = time::OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        prop_assert_eq!(merge_timelines(&shards, start), quadratic(&shards, start));
    }
}

/// The merge before it was linear (a search of every shard's timeline for each second): the
/// oracle of the sorted pass.
#[allow(clippy::type_complexity)]
fn quadratic(shards: &[Report], start: time::OffsetDateTime) -> Vec<TimelinePoint> {
    let seconds: std::collections::BTreeSet<i64> = shards
        .iter()
        .flat_map(|r| r.timeline.iter().map(|p| p.timestamp))
        .collect();
    let mut merged = Vec::with_capacity(seconds.len());
    for second in seconds {
        // Each shard's point of this second, and its latest point up to it (cumulative figures
        // carry over a second a shard did not report).
        let exact: Vec<&TimelinePoint> = shards
            .iter()
            .filter_map(|r| r.timeline.iter().find(|p| p.timestamp == second))
            .collect();
        let latest: Vec<&TimelinePoint> = shards
            .iter()
            .filter_map(|r| r.timeline.iter().rev().find(|p| p.timestamp <= second))
            .collect();
        let percentiles_us = super::timeline::weighted(&exact, |p| p.rps, |p| &p.percentiles_us);
        let latency_percentiles_us =
            super::timeline::weighted(&exact, |p| p.rps, |p| &p.latency_percentiles_us);
        let total_percentiles_us = super::timeline::weighted(
            &latest,
            |p| p.total_requests as f64,
            |p| &p.total_percentiles_us,
        );
        let total_requests: u64 = latest.iter().map(|p| p.total_requests).sum();
        let total_weight = |value: &dyn Fn(&TimelinePoint) -> f64| -> f64 {
            if total_requests == 0 {
                0.0
            } else {
                latest
                    .iter()
                    .map(|p| p.total_requests as f64 * value(p))
                    .sum::<f64>()
                    / total_requests as f64
            }
        };
        merged.push(TimelinePoint {
            t: crate::stats::round3((second - start.unix_timestamp()) as f64),
            timestamp: second,
            users: exact.iter().map(|p| p.users).sum(),
            rps: crate::stats::round3(exact.iter().map(|p| p.rps).sum()),
            failures_per_s: crate::stats::round3(exact.iter().map(|p| p.failures_per_s).sum()),
            p50_us: at(&percentiles_us, 0.5),
            p95_us: at(&percentiles_us, 0.95),
            percentiles_us,
            latency_percentiles_us,
            total_median_us: at(&total_percentiles_us, 0.5),
            total_percentiles_us,
            total_requests,
            total_failures: latest.iter().map(|p| p.total_failures).sum(),
            total_mean_us: crate::stats::round3(total_weight(&|p| p.total_mean_us)),
            total_min_us: latest
                .iter()
                .filter(|p| p.total_requests > 0)
                .map(|p| p.total_min_us)
                .min()
                .unwrap_or(0),
            total_max_us: latest.iter().map(|p| p.total_max_us).max().unwrap_or(0),
            total_avg_content_bytes: crate::stats::round3(total_weight(&|p| {
                p.total_avg_content_bytes
            })),
        });
    }
    merged
}

/// Shard `index` of `count`'s report of `totals`, read from `file`: ten seconds from the same
/// start, as the shards of one run are.
fn shard_of(totals: &Tally, index: u32, count: u32, file: &str) -> Report {
    let mut report = Report::build(BuildInput {
        identity: TrialIdentity {
            trial: "t".into(),
            scenario: "t".into(),
            param: None,
        },
        config: serde_json::Value::Null,
        started_at: "2026-01-01T00:00:00Z".into(),
        elapsed_s: 10.0,
        outcome: Outcome::Completed,
        dropped_iterations: 0,
        folded_requests: 0,
        max_names: 100,
        errors: Vec::new(),
        totals,
        timeline: Vec::new(),
    });
    report.run_id = Some("run".into());
    report.shard = Some(ShardSet {
        count,
        indices: vec![index],
    });
    report.file = Some(file.into());
    report
}

/// One thing a scenario records, its names drawn from a few so that shards share them.
#[derive(Debug, Clone)]
enum Event {
    Check(u8, bool),
    Counter(u8, u64),
    /// A gauge set to a quarter of the value at a microsecond (often the same one).
    Gauge(u8, i16, u64),
    Rate(u8, bool),
    Trend(u8, u64),
    Request {
        tags: Vec<(u8, u8)>,
        micros: u64,
        success: bool,
    },
}

fn event() -> impl Strategy<Value = Event> {
    let name = 0_u8..3;
    // Small ranges keep the histograms (and the test) small; they still span many buckets.
    let micros = prop_oneof![0_u64..2_000, 0_u64..20_000];
    prop_oneof![
        (name.clone(), any::<bool>()).prop_map(|(n, pass)| Event::Check(n, pass)),
        (name.clone(), 0_u64..1_000_000).prop_map(|(n, add)| Event::Counter(n, add)),
        (name.clone(), any::<i16>(), 0_u64..20).prop_map(|(n, v, at)| Event::Gauge(n, v, at)),
        (name.clone(), any::<bool>()).prop_map(|(n, hit)| Event::Rate(n, hit)),
        (0_u8..2, micros.clone()).prop_map(|(n, value)| Event::Trend(n, value)),
        (
            proptest::collection::vec((0_u8..2, 0_u8..2), 0..3),
            micros,
            any::<bool>()
        )
            .prop_map(|(tags, micros, success)| Event::Request {
                tags,
                micros,
                success
            }),
    ]
}

/// Records `event` as the recorder does.
fn record(totals: &mut Tally, event: &Event) {
    let name = |kind: &str, n: &u8| format!("{kind} {n}");
    match event {
        Event::Check(n, pass) => totals
            .checks
            .entry(&name("check", n), crate::stats::Ratio::default)
            .record(*pass),
        Event::Counter(n, add) => *totals.metrics.counters.entry(&name("counter", n), || 0) += add,
        Event::Gauge(n, value, at) => {
            let set = crate::stats::GaugeReading::new(f64::from(*value) / 4.0, *at);
            let gauges = &mut totals.metrics.gauges;
            let name = name("gauge", n);
            if gauges.contains(&name) {
                gauges.entry(&name, || set).extend(&set);
            } else {
                gauges.entry(&name, || set);
            }
        }
        Event::Rate(n, hit) => totals
            .metrics
            .rates
            .entry(&name("rate", n), crate::stats::Ratio::default)
            .record(*hit),
        // Trend 0 records times, the others plain values.
        Event::Trend(n, value) => totals
            .metrics
            .trends
            .entry(&name("trend", n), || crate::stats::TrendEntry {
                time: *n == 0,
                entry: Entry::default(),
            })
            .entry
            .record(*value, true, 0),
        Event::Request {
            tags,
            micros,
            success,
        } => {
            totals
                .requests
                .entry("GET", "/a")
                .record(*micros, *success, 7);
            for (key, value) in tags {
                let (key, value) = (name("key", key), name("value", value));
                totals.tags.entry(&key, &value).record(*micros, *success, 7);
            }
        }
    }
}

/// What the merge must give exactly: checks, counters, gauges and rates as they are, trends
/// and tags with their figures and histograms (decoded: an encoding may differ in how far
/// its counts array runs).
fn figures(report: &Report) -> serde_json::Value {
    let entries = |entries: &[EntryReport]| -> Vec<serde_json::Value> {
        entries
            .iter()
            .map(|e| {
                let histogram = e.decode_histogram().unwrap();
                let counts: Vec<(u64, u64)> = histogram
                    .iter_recorded()
                    .map(|v| (v.value_iterated_to(), v.count_at_value()))
                    .collect();
                let mut value = serde_json::to_value(e).unwrap();
                value["histogram"] = serde_json::json!(counts);
                value
            })
            .collect()
    };
    serde_json::json!({
        "checks": report.checks,
        "counters": report.metrics.counters,
        "gauges": report.metrics.gauges,
        "rates": report.metrics.rates,
        "trends": entries(&report.metrics.trends),
        "tags": entries(&report.tags),
        "requests_total": entries(std::slice::from_ref(&report.requests_total)),
    })
}

proptest! {
    // Each case builds and merges up to six reports of some ten histograms (some 30 ms in a
    // debug build): 32 cases keep the test near one second.
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn shards_merge_into_exactly_the_figures_of_one_report(
        count in 1_u32..5,
        events in proptest::collection::vec((any::<u32>(), event()), 0..60),
    ) {
        let mut whole = Tally::default();
        let mut parts: Vec<Tally> = (0..count).map(|_| Tally::default()).collect();
        for (shard, event) in &events {
            record(&mut whole, event);
            record(&mut parts[(*shard % count) as usize], event);
        }
        let shards: Vec<Report> = parts
            .iter()
            .enumerate()
            .map(|(i, totals)| {
                let index = i as u32 + 1;
                shard_of(totals, index, count, &format!("s{index}/t.json"))
            })
            .collect();
        let merged = merge_run(shards, false).unwrap();
        prop_assert_eq!(merged.len(), 1);
        let expected = shard_of(&whole, 1, 1, "all");
        prop_assert_eq!(figures(&merged[0]), figures(&expected));
    }
}

/// Each shard's figure within what a report holds, the two together past it: refused, naming
/// the figure and the file that took the sum past it, before a report is built of them.
#[test]
fn custom_figures_whose_sum_overflows_are_refused_naming_them_and_the_file() {
    let half = crate::report::check::MAX_COUNT / 2 + 1;
    let refused = |craft: &dyn Fn(&mut Tally)| {
        let mut totals = Tally::default();
        craft(&mut totals);
        let shards = vec![
            shard_of(&totals, 1, 2, "s1/t.json"),
            shard_of(&totals, 2, 2, "s2/t.json"),
        ];
        merge_run(shards, false).unwrap_err().to_string()
    };
    assert_eq!(
        refused(&|t| *t.metrics.counters.entry("orders", || 0) = half),
        "s2/t.json: t: counter orders: added to the shards before it, the count values add up \
         beyond 9007199254740991"
    );
    let ratio = crate::stats::Ratio {
        passes: half - 1,
        fails: 1,
    };
    assert!(
        refused(&|t| *t.checks.entry("ok", || ratio) = ratio)
            .starts_with("s2/t.json: t: check ok: added to the shards before it")
    );
    assert!(
        refused(&|t| *t.metrics.rates.entry("hit", || ratio) = ratio)
            .starts_with("s2/t.json: t: rate hit: added to the shards before it")
    );
    let mut gauge = crate::stats::GaugeReading::new(1.0, 5);
    gauge.samples = half;
    assert!(
        refused(&|t| {
            t.metrics.gauges.entry("queue", || gauge);
        })
        .starts_with("s2/t.json: t: gauge queue: added to the shards before it")
    );
}

#[test]
fn a_trend_of_times_and_one_of_values_under_one_name_are_refused() {
    let trend = |time| {
        let mut totals = Tally::default();
        let entry = &mut totals
            .metrics
            .trends
            .entry("wait", || crate::stats::TrendEntry {
                time,
                entry: Entry::default(),
            })
            .entry;
        entry.record(40, true, 0);
        totals
    };
    let shards = vec![
        shard_of(&trend(true), 1, 2, "s1/t.json"),
        shard_of(&trend(false), 2, 2, "s2/t.json"),
    ];
    assert_eq!(
        merge_run(shards, false).unwrap_err().to_string(),
        "s2/t.json: t: trend wait records plain values here and times in the shards before it"
    );
}
