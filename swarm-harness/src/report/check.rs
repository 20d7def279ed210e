//! What a report read back from a file must satisfy before any subcommand uses it, checked in
//! one place ([`super::read_report`]) so `swarm compare`, `merge`, `history` and `report` refuse
//! the same files with the same words: every histogram decodes (bounded, see
//! [`crate::stats::histogram`]) and holds as many samples as its entry counts; counts, and the
//! sums the renderers and `merge` take of them, stay at most [`MAX_COUNT`]; durations and times
//! are finite and inside what `std::time` and `time` represent, so no later arithmetic on them
//! panics. The first problem found is reported, naming the entry and the field.

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

use crate::report::{EntryReport, FailureReport, Report};
use crate::shard::MAX_SHARDS;
use crate::stats::histogram::DecodeError;
use crate::stats::{PERCENTILES, TimelinePoint};

/// The largest count a report may hold: 2^53 - 1, the largest integer an `f64` (and the
/// report page's JavaScript) represents exactly; a run at ten million requests a second takes
/// 28 years to reach it. Sums of a few thousand such counts still fit in a u64.
pub const MAX_COUNT: u64 = (1 << 53) - 1;

/// The longest trial a report may describe: ten years, in seconds.
pub const MAX_DURATION_S: f64 = 10.0 * 365.25 * 86_400.0;

/// 9999-12-31T23:59:59Z, the last second RFC 3339 (and `time`'s default range) can write.
const LAST_SECOND: i64 = 253_402_300_799;

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("histogram {0}")]
    Histogram(#[from] DecodeError),
    #[error("the histogram holds {histogram} samples where the entry counts {count}")]
    HistogramCount { histogram: u64, count: u64 },
    #[error("{field} is {value}; expected {expected}")]
    OutOfRange {
        field: &'static str,
        value: String,
        expected: String,
    },
    #[error("the {field} values of {list} add up beyond {MAX_COUNT}")]
    SumTooLarge {
        list: &'static str,
        field: &'static str,
    },
}

/// A problem and where it is: `requests[2] (GET /apps)`, `timeline[17]`, `report`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{place}: {problem}")]
pub struct Invalid {
    pub place: String,
    pub problem: Problem,
}

/// Checks everything a report's readers rely on (see the module docs).
///
/// # Errors
/// The first field that is out of range or inconsistent.
pub fn check(report: &Report) -> Result<(), Invalid> {
    let at = |place: &str| {
        let place = place.to_owned();
        move |problem| Invalid { place, problem }
    };
    check_times(report).map_err(at("report"))?;
    at_most("dropped_iterations", report.dropped_iterations, MAX_COUNT).map_err(at("report"))?;
    at_most("peak_users", report.peak_users as u64, MAX_COUNT).map_err(at("report"))?;
    check_shard(report).map_err(at("shard"))?;
    let lists = [
        ("requests", &report.requests),
        ("tasks", &report.tasks),
        ("task_latency", &report.task_latency),
        ("tags", &report.tags),
        ("metrics.trends", &report.metrics.trends),
    ];
    for (list, entries) in lists {
        for (index, entry) in entries.iter().enumerate() {
            check_entry(entry).map_err(|problem| Invalid {
                place: format!("{list}[{index}] ({} {})", entry.kind, entry.name)
                    .replace("( ", "("),
                problem,
            })?;
        }
        sum(list, "count", entries.iter().map(|e| e.count)).map_err(at("report"))?;
        sum(list, "failures", entries.iter().map(|e| e.failures)).map_err(at("report"))?;
    }
    check_entry(&report.requests_total).map_err(at("requests_total (Aggregated)"))?;
    super::custom::check(&report.checks, &report.metrics, &report.tags)
        .map_err(|(place, problem)| Invalid { place, problem })?;
    check_failures("failures", &report.failures).map_err(at("report"))?;
    check_failures("cancelled", &report.cancelled).map_err(at("report"))?;
    for (index, point) in report.timeline.iter().enumerate() {
        check_point(point).map_err(|problem| Invalid {
            place: format!("timeline[{index}]"),
            problem,
        })?;
    }
    Ok(())
}

/// `duration_s` and `started_at`, and the trial's end: within what `Duration` and
/// `OffsetDateTime` hold (`swarm merge` adds them; the JUnit writer converts the duration).
fn check_times(report: &Report) -> Result<(), Problem> {
    let duration = report.duration_s;
    if !(0.0..=MAX_DURATION_S).contains(&duration) {
        return Err(Problem::OutOfRange {
            field: "duration_s",
            value: duration.to_string(),
            expected: format!("a number of seconds from 0 to {MAX_DURATION_S} (ten years)"),
        });
    }
    let started = time::OffsetDateTime::parse(
        &report.started_at,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()
    .map(time::OffsetDateTime::unix_timestamp);
    let ends = started.map(|start| start + duration.ceil() as i64);
    let inside = started.is_some_and(|start| start >= 0) && ends.is_some_and(|e| e <= LAST_SECOND);
    if !inside {
        return Err(Problem::OutOfRange {
            field: "started_at",
            value: format!("{:?}", report.started_at),
            expected: "an RFC 3339 time from 1970 on, the trial (duration_s) ending by \
                       9999-12-31"
                .to_owned(),
        });
    }
    Ok(())
}

/// A shard set of at most [`MAX_SHARDS`], whose indices ascend inside it.
fn check_shard(report: &Report) -> Result<(), Problem> {
    let Some(shard) = &report.shard else {
        return Ok(());
    };
    let count = u64::from(shard.count);
    if !(1..=u64::from(MAX_SHARDS)).contains(&count) {
        return Err(Problem::OutOfRange {
            field: "count",
            value: count.to_string(),
            expected: format!("from 1 to {MAX_SHARDS}"),
        });
    }
    let ascending = shard.indices.windows(2).all(|pair| pair[0] < pair[1]);
    let inside = shard
        .indices
        .iter()
        .all(|&i| (1..=shard.count).contains(&i));
    if !ascending || !inside || shard.indices.is_empty() {
        return Err(Problem::OutOfRange {
            field: "indices",
            value: format!("{:?}", shard.indices),
            expected: format!("ascending shard numbers from 1 to {count}, each once"),
        });
    }
    Ok(())
}

/// One entry's counts, figures and histogram.
fn check_entry(entry: &EntryReport) -> Result<(), Problem> {
    at_most("count", entry.count, MAX_COUNT)?;
    at_most("failures", entry.failures, entry.count)?;
    if entry.count > 0 {
        at_most("min_us", entry.min_us, entry.max_us)?;
    }
    for (field, value) in [
        ("mean_us", entry.mean_us),
        ("rps", entry.rps),
        ("failures_per_s", entry.failures_per_s),
        ("avg_content_bytes", entry.avg_content_bytes),
    ] {
        not_negative(field, value)?;
    }
    if let Some(&(q, _)) = entry
        .percentiles_us
        .0
        .iter()
        .find(|(q, _)| !(0.0..=1.0).contains(q))
    {
        return Err(Problem::OutOfRange {
            field: "percentiles_us",
            value: format!("keyed p{}", q * 100.0),
            expected: "keys from p0 to p100".to_owned(),
        });
    }
    // Exact sums lie between count × min and count × max.
    if let Some(total) = entry.total_us.filter(|_| entry.count > 0) {
        let (count, total) = (u128::from(entry.count), u128::from(total));
        let (low, high) = (
            count * u128::from(entry.min_us),
            count * u128::from(entry.max_us),
        );
        if !(low..=high).contains(&total) {
            return Err(Problem::OutOfRange {
                field: "total_us",
                value: total.to_string(),
                expected: format!("count × min_us to count × max_us ({low} to {high})"),
            });
        }
    }
    let histogram = entry.decode_histogram()?;
    if histogram.len() != entry.count {
        return Err(Problem::HistogramCount {
            histogram: histogram.len(),
            count: entry.count,
        });
    }
    Ok(())
}

fn check_failures(list: &'static str, groups: &[FailureReport]) -> Result<(), Problem> {
    sum(list, "occurrences", groups.iter().map(|g| g.occurrences))
}

/// One second of the timeline: a time inside the calendar, counts and rates in range, one
/// value per reported percentile at most.
fn check_point(point: &TimelinePoint) -> Result<(), Problem> {
    if !(0..=LAST_SECOND).contains(&point.timestamp) {
        return Err(Problem::OutOfRange {
            field: "timestamp",
            value: point.timestamp.to_string(),
            expected: format!("Unix seconds from 0 to {LAST_SECOND} (9999-12-31)"),
        });
    }
    if !(0.0..=MAX_DURATION_S).contains(&point.t) {
        return Err(Problem::OutOfRange {
            field: "t",
            value: point.t.to_string(),
            expected: format!("seconds from 0 to {MAX_DURATION_S}"),
        });
    }
    at_most("users", point.users as u64, MAX_COUNT)?;
    at_most("total_requests", point.total_requests, MAX_COUNT)?;
    at_most("total_failures", point.total_failures, MAX_COUNT)?;
    for (field, value) in [
        ("rps", point.rps),
        ("failures_per_s", point.failures_per_s),
        ("total_mean_us", point.total_mean_us),
        ("total_avg_content_bytes", point.total_avg_content_bytes),
    ] {
        not_negative(field, value)?;
    }
    for (field, values) in [
        ("percentiles_us", &point.percentiles_us),
        ("latency_percentiles_us", &point.latency_percentiles_us),
        ("total_percentiles_us", &point.total_percentiles_us),
    ] {
        at_most(field, values.len() as u64, PERCENTILES.len() as u64).map_err(|_| {
            Problem::OutOfRange {
                field,
                value: format!("{} values long", values.len()),
                expected: format!("at most {}, one per reported percentile", PERCENTILES.len()),
            }
        })?;
    }
    Ok(())
}

fn at_most(field: &'static str, value: u64, max: u64) -> Result<(), Problem> {
    if value <= max {
        return Ok(());
    }
    Err(Problem::OutOfRange {
        field,
        value: value.to_string(),
        expected: format!("at most {max}"),
    })
}

/// A figure that is a size, a time or a rate. (JSON has no NaN or infinity; `serde_json`
/// refuses numbers beyond an `f64`.)
fn not_negative(field: &'static str, value: f64) -> Result<(), Problem> {
    if value >= 0.0 && value.is_finite() {
        return Ok(());
    }
    Err(Problem::OutOfRange {
        field,
        value: value.to_string(),
        expected: "a number of at least 0".to_owned(),
    })
}

/// The sum of a list's counts, which the summaries and `swarm merge` take, within
/// [`MAX_COUNT`].
fn sum(
    list: &'static str,
    field: &'static str,
    values: impl Iterator<Item = u64>,
) -> Result<(), Problem> {
    let mut total = 0_u64;
    for value in values {
        total = total
            .checked_add(value)
            .filter(|&t| t <= MAX_COUNT)
            .ok_or(Problem::SumTooLarge { list, field })?;
    }
    Ok(())
}
