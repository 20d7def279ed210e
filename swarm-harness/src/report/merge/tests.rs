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
