//! The merged timeline: the shards' per-second points aligned by wall-clock second, users
//! and rates added, cumulative counts added, percentiles the request-weighted mean of the
//! shards' (chart figures, so counts saturate where the entries' sums are checked).

use crate::report::Report;
use crate::stats::TimelinePoint;

/// The shards' timelines aligned by wall-clock second (see the module docs), in one pass over
/// the seconds with a cursor into each shard's sorted timeline: a second costs a step per
/// shard, where searching every shard's timeline for each second made two week-long shards
/// 10^12 steps.
pub(super) fn merge_timelines(
    shards: &[Report],
    start: time::OffsetDateTime,
) -> Vec<TimelinePoint> {
    // A report's timeline is in time order already; sorting (stable, so a repeated second
    // keeps its order) makes a hand-made one safe too.
    let sorted: Vec<Vec<&TimelinePoint>> = shards
        .iter()
        .map(|r| {
            let mut points: Vec<&TimelinePoint> = r.timeline.iter().collect();
            points.sort_by_key(|p| p.timestamp);
            points
        })
        .collect();
    let mut seconds: Vec<i64> = sorted.iter().flatten().map(|p| p.timestamp).collect();
    seconds.sort_unstable();
    seconds.dedup();
    let mut cursors = vec![0_usize; sorted.len()];
    let mut merged = Vec::with_capacity(seconds.len());
    for second in seconds {
        // Each shard's first point of this second, and its latest point up to it (cumulative
        // figures carry over a second a shard did not report). Every earlier second was a
        // step of this loop, so a cursor stands at its shard's first point of this second or
        // later.
        let (mut exact, mut latest) = (Vec::new(), Vec::new());
        for (points, cursor) in sorted.iter().zip(&mut cursors) {
            exact.extend(points.get(*cursor).filter(|p| p.timestamp == second));
            while points.get(*cursor).is_some_and(|p| p.timestamp <= second) {
                *cursor += 1;
            }
            latest.extend(cursor.checked_sub(1).map(|last| points[last]));
        }
        merged.push(merged_point(second, start, &exact, &latest));
    }
    merged
}

/// A second's rate percentiles: the `weight`-weighted mean of the points' `values`, or their
/// maximum when no point has weight.
pub(super) fn weighted(
    points: &[&TimelinePoint],
    weight: impl Fn(&TimelinePoint) -> f64,
    values: impl Fn(&TimelinePoint) -> &Vec<u64>,
) -> Vec<u64> {
    let total: f64 = points.iter().map(|p| weight(p)).sum();
    let len = points.iter().map(|p| values(p).len()).max().unwrap_or(0);
    (0..len)
        .map(|i| {
            if total <= 0.0 {
                return points
                    .iter()
                    .filter_map(|p| values(p).get(i))
                    .copied()
                    .max()
                    .unwrap_or(0);
            }
            let sum: f64 = points
                .iter()
                .map(|p| weight(p) * values(p).get(i).copied().unwrap_or(0) as f64)
                .sum();
            (sum / total).round() as u64
        })
        .collect()
}

/// One merged second from the shards' `exact` points of it and their `latest` up to it. Counts
/// saturate: these are chart figures, and the entries' exact sums were checked already.
fn merged_point(
    second: i64,
    start: time::OffsetDateTime,
    exact: &[&TimelinePoint],
    latest: &[&TimelinePoint],
) -> TimelinePoint {
    let percentiles_us = weighted(exact, |p| p.rps, |p| &p.percentiles_us);
    let latency_percentiles_us = weighted(exact, |p| p.rps, |p| &p.latency_percentiles_us);
    let total_percentiles_us = weighted(
        latest,
        |p| p.total_requests as f64,
        |p| &p.total_percentiles_us,
    );
    let sum = |value: fn(&TimelinePoint) -> u64, points: &[&TimelinePoint]| {
        points.iter().map(|p| value(p)).fold(0, u64::saturating_add)
    };
    let total_requests = sum(|p| p.total_requests, latest);
    let total_weight = |value: fn(&TimelinePoint) -> f64| -> f64 {
        if total_requests == 0 {
            return 0.0;
        }
        let weighted: f64 = latest
            .iter()
            .map(|p| p.total_requests as f64 * value(p))
            .sum();
        weighted / total_requests as f64
    };
    TimelinePoint {
        t: crate::stats::round3(second.saturating_sub(start.unix_timestamp()) as f64),
        timestamp: second,
        users: exact.iter().map(|p| p.users).fold(0, usize::saturating_add),
        rps: crate::stats::round3(exact.iter().map(|p| p.rps).sum()),
        failures_per_s: crate::stats::round3(exact.iter().map(|p| p.failures_per_s).sum()),
        p50_us: at(&percentiles_us, 0.5),
        p95_us: at(&percentiles_us, 0.95),
        percentiles_us,
        latency_percentiles_us,
        total_median_us: at(&total_percentiles_us, 0.5),
        total_percentiles_us,
        total_requests,
        total_failures: sum(|p| p.total_failures, latest),
        total_mean_us: crate::stats::round3(total_weight(|p| p.total_mean_us)),
        total_min_us: latest
            .iter()
            .filter(|p| p.total_requests > 0)
            .map(|p| p.total_min_us)
            .min()
            .unwrap_or(0),
        total_max_us: latest.iter().map(|p| p.total_max_us).max().unwrap_or(0),
        total_avg_content_bytes: crate::stats::round3(total_weight(|p| p.total_avg_content_bytes)),
    }
}

/// The value for quantile `q` in a list ordered as [`PERCENTILES`](crate::stats::PERCENTILES).
pub(super) fn at(values: &[u64], q: f64) -> u64 {
    crate::stats::PERCENTILES
        .iter()
        .position(|&p| (p - q).abs() < 1e-9)
        .and_then(|i| values.get(i).copied())
        .unwrap_or(0)
}
