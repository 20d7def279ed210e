//! `swarm merge`: the reports of a run's shards (`PT_SHARD=i/n`) added into the report one
//! process would have written. Exact where the figures allow it: the HDR histograms add bucket
//! by bucket, counts, failures, sums, minima and maxima add or compare, failure groups add
//! their occurrences; percentiles, means and rates are then computed from the sums, and the
//! thresholds judged again on the merged figures. The timeline is aligned by wall-clock
//! second: users and rates add, cumulative counts add, and a second's percentiles are the
//! request-weighted mean of the shards' (a report does not keep per-second histograms).
//!
//! Reports of different trials are merged separately; reports of different runs, shard
//! counts or settings are refused, and missing shards are named.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{BuildInput, EntryReport, Report, judge};
use crate::shard::ShardSet;
use crate::stats::{Entry, EntryTable, Shard, TimelinePoint};
use crate::threshold::Thresholds;

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    #[error("no reports to merge")]
    Empty,
    #[error("{trial}: a report without a shard (not written with PT_SHARD); only shards merge")]
    NotSharded { trial: String },
    #[error(
        "reports of different runs (run ids {first} and {second}); merge the shards of one run"
    )]
    DifferentRuns { first: String, second: String },
    #[error("{trial}: shards of runs cut into {first} and into {second} shards")]
    DifferentCounts {
        trial: String,
        first: u32,
        second: u32,
    },
    #[error("{trial}: shard {shard} is there twice")]
    Duplicate { trial: String, shard: String },
    #[error("{trial}: shards {shards} ran different settings ({difference})")]
    DifferentConfig {
        trial: String,
        /// `1/2 and 2/2`.
        shards: String,
        /// `users: 7 and 8`.
        difference: String,
    },
    #[error(
        "{trial}: {have} of {count} shards; missing {missing} (--partial merges what is there)"
    )]
    Missing {
        trial: String,
        have: usize,
        count: u32,
        missing: String,
    },
    #[error(
        "{trial}: {entry} was written by an older version without exact sums; it cannot be merged exactly"
    )]
    NoSums { trial: String, entry: String },
    #[error("{trial}: the histogram of {entry} is damaged: {problem}")]
    Histogram {
        trial: String,
        entry: String,
        problem: String,
    },
}

/// Merges reports of any trials of one run: one merged report per trial, sorted by trial
/// name. `partial` merges trials some of whose shards are missing (and says so in their
/// warnings) instead of refusing them.
///
/// # Errors
/// When the reports are not shards of one run with the same settings, or (unless `partial`)
/// a shard is missing.
pub fn merge_run(reports: Vec<Report>, partial: bool) -> Result<Vec<Report>, MergeError> {
    if reports.is_empty() {
        return Err(MergeError::Empty);
    }
    // One run, and every report a shard of it cut into one count.
    let run_id = reports[0].run_id.clone().unwrap_or_default();
    let mut count: Option<u32> = None;
    let mut trials: BTreeMap<String, Vec<Report>> = BTreeMap::new();
    for report in reports {
        let trial = report.identity.trial.clone();
        let id = report.run_id.clone().unwrap_or_default();
        if id != run_id {
            return Err(MergeError::DifferentRuns {
                first: run_id,
                second: id,
            });
        }
        let shard = report
            .shard
            .as_ref()
            .ok_or_else(|| MergeError::NotSharded {
                trial: trial.clone(),
            })?;
        match count {
            Some(first) if first != shard.count => {
                return Err(MergeError::DifferentCounts {
                    trial,
                    first,
                    second: shard.count,
                });
            }
            _ => count = Some(shard.count),
        }
        trials.entry(trial).or_default().push(report);
    }
    trials
        .into_values()
        .map(|shards| merge_trial(shards, partial))
        .collect()
}

/// Merges the shards of one trial.
fn merge_trial(mut shards: Vec<Report>, partial: bool) -> Result<Report, MergeError> {
    let trial = shards[0].identity.trial.clone();
    shards.sort_by_key(|r| r.shard.as_ref().map(|s| s.indices.clone()));
    let set = union(&trial, &shards)?;
    for pair in shards.windows(2) {
        same_config(&trial, &pair[0], &pair[1])?;
    }
    let missing = set.missing();
    if !missing.is_empty() && !partial {
        return Err(MergeError::Missing {
            trial,
            have: set.indices.len(),
            count: set.count,
            missing: missing.join(", "),
        });
    }
    if shards.len() == 1 {
        // Nothing to add: the report as it is (a merge of one shard changes nothing).
        let mut report = shards.pop().expect("one report");
        if !missing.is_empty() {
            report.warnings.push(missing_warning(&set, &missing));
        }
        return Ok(report);
    }
    let mut totals = Shard::default();
    for report in &shards {
        add_entries(&trial, &mut totals.requests, &report.requests)?;
        add_entries(&trial, &mut totals.tasks, &report.tasks)?;
        add_entries(&trial, &mut totals.tasks, &report.task_latency)?;
        for (target, failures) in [
            (&mut totals.failures, &report.failures),
            (&mut totals.cancelled, &report.cancelled),
        ] {
            for failure in failures {
                target.add(
                    crate::stats::FailureKey {
                        kind: failure.kind.clone(),
                        name: failure.name.clone(),
                        error: failure.error.clone(),
                    },
                    failure.occurrences,
                    failure.sample.as_ref(),
                );
            }
        }
    }
    let start = shards
        .iter()
        .map(|r| started(&r.started_at))
        .min()
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let end = shards
        .iter()
        .map(|r| started(&r.started_at) + Duration::from_secs_f64(r.duration_s.max(0.0)))
        .max()
        .unwrap_or(start);
    let elapsed = Duration::try_from(end - start).unwrap_or_default();
    let first = &shards[0];
    let mut report = Report::build(BuildInput {
        identity: first.identity.clone(),
        config: first.config.clone(),
        started_at: start
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        elapsed_s: elapsed.as_secs_f64(),
        outcome: shards
            .iter()
            .map(|r| r.outcome)
            .max_by_key(|outcome| severity(*outcome))
            .unwrap_or(crate::runner::Outcome::Completed),
        dropped_iterations: shards.iter().map(|r| r.dropped_iterations).sum(),
        folded_requests: 0,
        max_names: usize::MAX,
        errors: unique(shards.iter().flat_map(|r| r.errors.iter())),
        totals: &totals,
        timeline: merge_timelines(&shards, start),
    });
    report.run_id = first.run_id.clone();
    report.shard = Some(set.clone());
    // A stalled shard stalls the whole: its users waited on a target that had stopped answering.
    report.stall = shards.iter().find_map(|r| r.stall.clone());
    report.warnings = unique(shards.iter().flat_map(|r| r.warnings.iter()));
    if !missing.is_empty() {
        report.warnings.push(missing_warning(&set, &missing));
    }
    // The thresholds every shard was judged by, judged again on the whole.
    let expressions: Vec<String> = shards
        .iter()
        .find(|r| !r.thresholds.is_empty())
        .map(|r| r.thresholds.iter().map(|v| v.expression.clone()).collect())
        .unwrap_or_default();
    let thresholds = Thresholds::parse(&expressions).unwrap_or_default();
    report.thresholds = thresholds.evaluate(&totals, elapsed);
    judge(&mut report, !thresholds.is_empty(), None);
    Ok(report)
}

fn missing_warning(set: &ShardSet, missing: &[String]) -> String {
    format!(
        "merged {} of {} shards; missing {}: the figures are those shards' only",
        set.indices.len(),
        set.count,
        missing.join(", ")
    )
}

/// The shards the reports cover together; each at most once.
fn union(trial: &str, shards: &[Report]) -> Result<ShardSet, MergeError> {
    let mut set = ShardSet {
        count: 0,
        indices: Vec::new(),
    };
    for report in shards {
        let shard = report
            .shard
            .as_ref()
            .expect("merge_run let in only reports with a shard");
        set.count = shard.count;
        for &index in &shard.indices {
            if set.indices.contains(&index) {
                return Err(MergeError::Duplicate {
                    trial: trial.to_owned(),
                    shard: format!("{index}/{}", shard.count),
                });
            }
            set.indices.push(index);
        }
    }
    set.indices.sort_unstable();
    Ok(set)
}

/// Refuses two shards that ran different settings, naming the first setting that differs.
fn same_config(trial: &str, a: &Report, b: &Report) -> Result<(), MergeError> {
    if a.config == b.config && a.identity == b.identity {
        return Ok(());
    }
    let name = |r: &Report| {
        r.shard
            .as_ref()
            .map(|s| {
                let indices: Vec<String> = s.indices.iter().map(u32::to_string).collect();
                format!("{}/{}", indices.join("+"), s.count)
            })
            .unwrap_or_default()
    };
    let (key, first_value, second_value) = match (a.config.as_object(), b.config.as_object()) {
        (Some(x), Some(y)) => x
            .keys()
            .chain(y.keys())
            .find(|k| x.get(*k) != y.get(*k))
            .map(|k| {
                let show = |v: Option<&serde_json::Value>| {
                    v.map_or_else(|| "unset".to_owned(), ToString::to_string)
                };
                (k.clone(), show(x.get(k)), show(y.get(k)))
            })
            .unwrap_or_else(|| {
                (
                    "scenario".to_owned(),
                    a.identity.scenario.clone(),
                    b.identity.scenario.clone(),
                )
            }),
        _ => (
            "config".to_owned(),
            a.config.to_string(),
            b.config.to_string(),
        ),
    };
    Err(MergeError::DifferentConfig {
        trial: trial.to_owned(),
        shards: format!("{} and {}", name(a), name(b)),
        difference: format!("{key}: {first_value} and {second_value}"),
    })
}

fn add_entries(
    trial: &str,
    table: &mut EntryTable,
    entries: &[EntryReport],
) -> Result<(), MergeError> {
    for entry in entries {
        let label = format!("{} {}", entry.kind, entry.name);
        let (Some(total_micros), Some(content_bytes)) = (entry.total_us, entry.content_bytes)
        else {
            return Err(MergeError::NoSums {
                trial: trial.to_owned(),
                entry: label,
            });
        };
        let histogram = entry
            .decode_histogram()
            .map_err(|problem| MergeError::Histogram {
                trial: trial.to_owned(),
                entry: label.clone(),
                problem,
            })?;
        if histogram.len() != entry.count {
            return Err(MergeError::Histogram {
                trial: trial.to_owned(),
                entry: label,
                problem: format!(
                    "it holds {} samples where the entry counts {}",
                    histogram.len(),
                    entry.count
                ),
            });
        }
        let theirs = Entry {
            count: entry.count,
            failures: entry.failures,
            total_micros,
            min_micros: if entry.count == 0 {
                u64::MAX
            } else {
                entry.min_us
            },
            max_micros: entry.max_us,
            content_bytes,
            histogram,
        };
        table.entry(&entry.kind, &entry.name).extend(&theirs);
    }
    Ok(())
}

fn started(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// How much an outcome says about the figures: the merged trial takes the gravest.
fn severity(outcome: crate::runner::Outcome) -> u8 {
    use crate::runner::Outcome::*;
    match outcome {
        Completed => 0,
        RequestLimit => 1,
        Stopped => 2,
        Aborted => 3,
        Stalled => 4,
        Interrupted => 5,
    }
}

fn unique<'a>(items: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(item) {
            seen.push(item.clone());
        }
    }
    seen
}

/// The shards' timelines aligned by wall-clock second (see the module docs).
fn merge_timelines(shards: &[Report], start: time::OffsetDateTime) -> Vec<TimelinePoint> {
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
        let weighted = |points: &[&TimelinePoint],
                        weight: &dyn Fn(&TimelinePoint) -> f64,
                        values: &dyn Fn(&TimelinePoint) -> &Vec<u64>|
         -> Vec<u64> {
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
        };
        let percentiles_us = weighted(&exact, &|p| p.rps, &|p| &p.percentiles_us);
        let latency_percentiles_us = weighted(&exact, &|p| p.rps, &|p| &p.latency_percentiles_us);
        let total_percentiles_us = weighted(&latest, &|p| p.total_requests as f64, &|p| {
            &p.total_percentiles_us
        });
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

/// The value for quantile `q` in a list ordered as [`PERCENTILES`](crate::stats::PERCENTILES).
fn at(values: &[u64], q: f64) -> u64 {
    crate::stats::PERCENTILES
        .iter()
        .position(|&p| (p - q).abs() < 1e-9)
        .and_then(|i| values.get(i).copied())
        .unwrap_or(0)
}
