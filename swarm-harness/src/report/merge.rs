//! `swarm merge`: the reports of a run's shards (`PT_SHARD=i/n`) added into the report one
//! process would have written. Exact where the figures allow it: the HDR histograms add bucket
//! by bucket, counts, failures, sums, minima and maxima add or compare, failure groups add
//! their occurrences; percentiles, means and rates are then computed from the sums, and the
//! thresholds judged again on the merged figures. The timeline is aligned by wall-clock
//! second: users and rates add, cumulative counts add, and a second's percentiles are the
//! request-weighted mean of the shards' (a report does not keep per-second histograms).
//!
//! Reports of different trials are merged separately; reports of different runs, shard
//! counts or settings are refused, and missing shards are named. Sums that would not fit in a
//! u64 are refused, naming the file that took them past it. The work is linear in the input
//! (times the number of shards, for the timeline): one sorted pass over the seconds.

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

mod timeline;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{BuildInput, EntryReport, Report, judge};
use crate::shard::ShardSet;
use crate::stats::histogram::DecodeError;
use crate::stats::{Entry, EntryTable, Overflow, Tally};
use crate::threshold::Thresholds;
use timeline::merge_timelines;

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
        "{file}: {trial}: {entry} was written by an older version without exact sums; it cannot be merged exactly"
    )]
    NoSums {
        file: String,
        trial: String,
        entry: String,
    },
    #[error("{file}: {trial}: the histogram of {entry} is damaged: {problem}")]
    Histogram {
        file: String,
        trial: String,
        entry: String,
        problem: HistogramProblem,
    },
    /// The merged figures are beyond what the reader accepts (counts past 2^53 - 1, a trial
    /// longer than ten years): the merge would write a report no subcommand reads.
    #[error("{trial}: the merged report would be refused: {invalid}")]
    Unreadable {
        trial: String,
        invalid: super::check::Invalid,
    },
    #[error(
        "{file}: {trial}: trend {trend} records {kind} here and {before} in the shards before it"
    )]
    TrendKinds {
        file: String,
        trial: String,
        trend: String,
        /// `times` or `plain values`.
        kind: &'static str,
        before: &'static str,
    },
    #[error("{file}: {trial}: {entry}: added to the shards before it, {overflow}")]
    Overflow {
        file: String,
        trial: String,
        entry: String,
        overflow: Overflow,
    },
}

/// Why a shard's histogram cannot be added.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum HistogramProblem {
    #[error("histogram {0}")]
    Decode(#[from] DecodeError),
    #[error("it holds {histogram} samples where the entry counts {count}")]
    Count { histogram: u64, count: u64 },
}

/// How errors name a report: its file, or its shards when it was not read from one.
fn file_of(report: &Report) -> String {
    match (&report.file, &report.shard) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(shard)) => {
            format!("the report of shard(s) {:?}/{}", shard.indices, shard.count)
        }
        (None, None) => "a report".to_owned(),
    }
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
        .map(|shards| {
            let trial = shards[0].identity.trial.clone();
            let merged = merge_trial(shards, partial)?;
            super::check::check(&merged)
                .map_err(|invalid| MergeError::Unreadable { trial, invalid })?;
            Ok(merged)
        })
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
    let totals = add_shards(&trial, &shards)?;
    let (start, elapsed) = span(&shards);
    let dropped_iterations = dropped(&trial, &shards)?;
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
            .unwrap_or(crate::report::Outcome::Completed),
        dropped_iterations,
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

/// When the first shard started, and how long until the last one ended. Checked: the reader
/// bounds `started_at` and `duration_s`, but reports built in memory reach here too.
fn span(shards: &[Report]) -> (time::OffsetDateTime, Duration) {
    let start = shards
        .iter()
        .map(|r| started(&r.started_at))
        .min()
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let end = shards
        .iter()
        .filter_map(|r| {
            let duration = Duration::try_from_secs_f64(r.duration_s.max(0.0)).ok()?;
            started(&r.started_at).checked_add(duration.try_into().ok()?)
        })
        .max()
        .unwrap_or(start);
    (start, Duration::try_from(end - start).unwrap_or_default())
}

/// The shards' dropped iterations added up, within what a report holds.
fn dropped(trial: &str, shards: &[Report]) -> Result<u64, MergeError> {
    let limit = super::check::MAX_COUNT;
    shards
        .iter()
        .try_fold(0_u64, |sum, r| {
            sum.checked_add(r.dropped_iterations)
                .filter(|&s| s <= limit)
                .ok_or(r)
        })
        .map_err(|r| MergeError::Overflow {
            file: file_of(r),
            trial: trial.to_owned(),
            entry: "dropped_iterations".to_owned(),
            overflow: Overflow {
                field: "dropped_iterations",
                limit,
            },
        })
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
    // A set, not a list searched for each index: thousands of shards stay linear.
    let (mut count, mut indices) = (0, BTreeSet::new());
    for report in shards {
        let shard = report
            .shard
            .as_ref()
            .expect("merge_run let in only reports with a shard");
        count = shard.count;
        for &index in &shard.indices {
            if !indices.insert(index) {
                return Err(MergeError::Duplicate {
                    trial: trial.to_owned(),
                    shard: format!("{index}/{}", shard.count),
                });
            }
        }
    }
    Ok(ShardSet {
        count,
        indices: indices.into_iter().collect(),
    })
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

/// Every shard's entries and failure groups added up; a sum beyond a u64 names the file.
fn add_shards(trial: &str, shards: &[Report]) -> Result<Tally, MergeError> {
    let mut totals = Tally::default();
    // The occurrences of all groups together: when they fit, so does every group's sum.
    let mut occurrences = 0_u64;
    for report in shards {
        add_entries(trial, report, &mut totals.requests, &report.requests)?;
        add_entries(trial, report, &mut totals.tasks, &report.tasks)?;
        add_entries(trial, report, &mut totals.tasks, &report.task_latency)?;
        add_custom(trial, report, &mut totals)?;
        for (target, failures) in [
            (&mut totals.failures, &report.failures),
            (&mut totals.cancelled, &report.cancelled),
        ] {
            for failure in failures {
                occurrences = occurrences
                    .checked_add(failure.occurrences)
                    .ok_or_else(|| MergeError::Overflow {
                        file: file_of(report),
                        trial: trial.to_owned(),
                        entry: format!("failure group {} {}", failure.kind, failure.name),
                        overflow: Overflow {
                            field: "occurrences",
                            limit: u64::MAX,
                        },
                    })?;
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
    Ok(totals)
}

fn add_entries(
    trial: &str,
    report: &Report,
    table: &mut EntryTable,
    entries: &[EntryReport],
) -> Result<(), MergeError> {
    for entry in entries {
        let theirs = decoded(trial, report, entry)?;
        add_into(
            trial,
            report,
            entry,
            table.entry(&entry.kind, &entry.name),
            &theirs,
        )?;
    }
    Ok(())
}

/// A report's entry as the statistics hold it, its histogram decoded and checked.
fn decoded(trial: &str, report: &Report, entry: &EntryReport) -> Result<Entry, MergeError> {
    let label = format!("{} {}", entry.kind, entry.name);
    let (Some(total_micros), Some(content_bytes)) = (entry.total_us, entry.content_bytes) else {
        return Err(MergeError::NoSums {
            file: file_of(report),
            trial: trial.to_owned(),
            entry: label,
        });
    };
    let damaged = |problem| MergeError::Histogram {
        file: file_of(report),
        trial: trial.to_owned(),
        entry: label.clone(),
        problem,
    };
    let histogram = entry
        .decode_histogram()
        .map_err(|error| damaged(HistogramProblem::Decode(error)))?;
    if histogram.len() != entry.count {
        return Err(damaged(HistogramProblem::Count {
            histogram: histogram.len(),
            count: entry.count,
        }));
    }
    Ok(Entry {
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
    })
}

/// Adds `theirs` into `merged`, refusing a sum beyond a u64 or beyond what a report holds
/// (which also keeps every histogram counter within the i64 its serialization writes).
fn add_into(
    trial: &str,
    report: &Report,
    entry: &EntryReport,
    merged: &mut Entry,
    theirs: &Entry,
) -> Result<(), MergeError> {
    let limit = super::check::MAX_COUNT;
    merged
        .try_extend(theirs)
        .and_then(|()| {
            (merged.count <= limit).then_some(()).ok_or(Overflow {
                field: "count",
                limit,
            })
        })
        .map_err(|overflow| MergeError::Overflow {
            file: file_of(report),
            trial: trial.to_owned(),
            entry: format!("{} {}", entry.kind, entry.name),
            overflow,
        })
}

/// A shard's checks, custom metrics and requests by tag, added into `totals`.
fn add_custom(trial: &str, report: &Report, totals: &mut Tally) -> Result<(), MergeError> {
    add_entries(trial, report, &mut totals.tags, &report.tags)?;
    for trend in &report.metrics.trends {
        let theirs = decoded(trial, report, trend)?;
        let time = trend.kind == super::TIME_TREND;
        if let Some(mine) = totals.metrics.trends.get(&trend.name)
            && mine.time != time
        {
            let kind = |time| if time { "times" } else { "plain values" };
            return Err(MergeError::TrendKinds {
                file: file_of(report),
                trial: trial.to_owned(),
                trend: trend.name.clone(),
                kind: kind(time),
                before: kind(mine.time),
            });
        }
        let merged = super::custom::trend_entry(totals, trend);
        add_into(trial, report, trend, merged, &theirs)?;
    }
    super::custom::add(totals, &report.checks, &report.metrics).map_err(|too_large| {
        MergeError::Overflow {
            file: file_of(report),
            trial: trial.to_owned(),
            entry: too_large.what,
            overflow: Overflow {
                field: "count",
                limit: super::check::MAX_COUNT,
            },
        }
    })
}

fn started(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// How much an outcome says about the figures: the merged trial takes the gravest.
fn severity(outcome: crate::report::Outcome) -> u8 {
    use crate::report::Outcome::*;
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

#[cfg(test)]
mod tests;
