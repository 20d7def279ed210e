//! The report's checks, custom metrics and tagged requests: how they are written (from a
//! trial's `Tally`), checked when read back (every count bounded, every rate what its counts
//! give, every gauge's range in order, every name once), and added back into a `Tally` by
//! `swarm merge`, exactly, a sum past [`MAX_COUNT`](super::check::MAX_COUNT) refused.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::EntryReport;
use super::check::{MAX_COUNT, Problem};
use crate::stats::{GaugeReading, Metrics, Named, Ratio, Tally, TrendEntry, round3};

/// A check (`User::check`), or a custom rate: how often it held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatioReport {
    /// Its name.
    pub name: String,
    /// Checks that passed; samples that were true.
    pub passes: u64,
    /// Checks that failed; samples that were false.
    pub fails: u64,
    /// `passes` of all, 0 to 1 (3 decimals); 0 with none.
    pub rate: f64,
}

/// A custom counter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterReport {
    /// Its name.
    pub name: String,
    /// The sum.
    pub value: u64,
    /// The sum per second of the report's `duration_s`.
    pub per_s: f64,
}

/// A custom gauge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaugeReport {
    /// Its name.
    pub name: String,
    /// The value set last.
    pub value: f64,
    /// The smallest value set.
    pub min: f64,
    /// The largest value set.
    pub max: f64,
    /// How many times it was set.
    pub samples: u64,
    /// When `value` was set, µs since the Unix epoch (which value a merge keeps).
    pub at_unix_us: u64,
}

/// The custom metrics of a trial.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MetricsReport {
    /// Counters, by name.
    #[serde(default)]
    pub counters: Vec<CounterReport>,
    /// Gauges, by name.
    #[serde(default)]
    pub gauges: Vec<GaugeReport>,
    /// Rates, by name.
    #[serde(default)]
    pub rates: Vec<RatioReport>,
    /// Trends, by name, as entries: `kind` is `time` (the `_us` fields in µs) or `value`
    /// (the `_us` fields hold the plain values); `failures` is 0.
    #[serde(default)]
    pub trends: Vec<EntryReport>,
}

/// The kind of a trend of times, in [`MetricsReport::trends`].
pub const TIME_TREND: &str = "time";
/// The kind of a trend of plain values.
pub const VALUE_TREND: &str = "value";

impl MetricsReport {
    /// Whether the trial recorded no custom metric.
    pub fn is_empty(&self) -> bool {
        self.counters.is_empty()
            && self.gauges.is_empty()
            && self.rates.is_empty()
            && self.trends.is_empty()
    }
}

fn ratio(name: &str, ratio: &Ratio) -> RatioReport {
    RatioReport {
        name: name.to_owned(),
        passes: ratio.passes,
        fails: ratio.fails,
        rate: round3(ratio.rate().unwrap_or(0.0)),
    }
}

/// The checks of `totals`, by name.
pub(super) fn checks(totals: &Tally) -> Vec<RatioReport> {
    totals
        .checks
        .sorted()
        .into_iter()
        .map(|(name, r)| ratio(name, r))
        .collect()
}

/// The requests by tag of `totals`.
pub(super) fn tags(totals: &Tally, elapsed_s: f64) -> Vec<EntryReport> {
    totals
        .tags
        .iter()
        .map(|(key, value, entry)| EntryReport::from_entry(key, value, entry, elapsed_s))
        .collect()
}

/// The custom metrics of `totals`.
pub(super) fn metrics(totals: &Metrics, elapsed_s: f64) -> MetricsReport {
    let counters = totals.counters.sorted().into_iter();
    let gauges = totals.gauges.sorted().into_iter();
    MetricsReport {
        counters: counters
            .map(|(name, &value)| CounterReport {
                name: name.to_owned(),
                value,
                per_s: round3(value as f64 / elapsed_s.max(1e-3)),
            })
            .collect(),
        gauges: gauges
            .map(|(name, g)| GaugeReport {
                name: name.to_owned(),
                value: g.value,
                min: g.min,
                max: g.max,
                samples: g.samples,
                at_unix_us: g.at_unix_us,
            })
            .collect(),
        rates: totals
            .rates
            .sorted()
            .into_iter()
            .map(|(name, r)| ratio(name, r))
            .collect(),
        trends: totals
            .trends
            .sorted()
            .into_iter()
            .map(|(name, trend)| {
                let kind = if trend.time { TIME_TREND } else { VALUE_TREND };
                EntryReport::from_entry(kind, name, &trend.entry, elapsed_s)
            })
            .collect(),
    }
}

/// Where a problem is, for [`super::check::Invalid`]: `checks[2] (status is 201)`.
pub(super) type Place = String;

fn once<'a>(
    list: &'static str,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), (Place, Problem)> {
    let mut seen = BTreeSet::new();
    for (index, name) in names.enumerate() {
        if !seen.insert(name) {
            let problem = Problem::OutOfRange {
                field: "name",
                value: format!("{name:?} again"),
                expected: format!("each name once in {list}"),
            };
            return Err((format!("{list}[{index}] ({name})"), problem));
        }
    }
    Ok(())
}

fn at_most(field: &'static str, value: u64) -> Result<(), Problem> {
    if value <= MAX_COUNT {
        return Ok(());
    }
    Err(Problem::OutOfRange {
        field,
        value: value.to_string(),
        expected: format!("at most {MAX_COUNT}"),
    })
}

fn check_ratio(list: &'static str, ratios: &[RatioReport]) -> Result<(), (Place, Problem)> {
    once(list, ratios.iter().map(|r| r.name.as_str()))?;
    let mut total = 0_u64;
    for (index, r) in ratios.iter().enumerate() {
        let place = || format!("{list}[{index}] ({})", r.name);
        at_most("passes", r.passes).map_err(|problem| (place(), problem))?;
        at_most("fails", r.fails).map_err(|problem| (place(), problem))?;
        let bounded = r
            .passes
            .checked_add(r.fails)
            .and_then(|n| total.checked_add(n))
            .filter(|&n| n <= MAX_COUNT);
        total = bounded.ok_or_else(|| {
            (
                place(),
                Problem::SumTooLarge {
                    list,
                    field: "passes and fails",
                },
            )
        })?;
        // What the renderings show is the rate; what a merge adds is the counts: the two agree
        // (to the 3 decimals the rate is written with).
        let exact = Ratio {
            passes: r.passes,
            fails: r.fails,
        }
        .rate()
        .unwrap_or(0.0);
        let expected = if !(0.0..=1.0).contains(&r.rate) {
            "from 0 to 1".to_owned()
        } else if (r.rate - exact).abs() > 0.000_5 + 1e-9 {
            format!("passes / (passes + fails), {} to 3 decimals", round3(exact))
        } else {
            continue;
        };
        let problem = Problem::OutOfRange {
            field: "rate",
            value: r.rate.to_string(),
            expected,
        };
        return Err((place(), problem));
    }
    Ok(())
}

/// The checks, the custom metrics and the tags of a report read back (the entries among them
/// go through `check_entry` as well, by the caller).
pub(super) fn check(
    checks: &[RatioReport],
    metrics: &MetricsReport,
    tags: &[EntryReport],
) -> Result<(), (Place, Problem)> {
    check_ratio("checks", checks)?;
    let mut pairs = BTreeSet::new();
    if let Some((index, tag)) = tags
        .iter()
        .enumerate()
        .find(|(_, t)| !pairs.insert((t.kind.as_str(), t.name.as_str())))
    {
        let problem = Problem::OutOfRange {
            field: "name",
            value: format!("{:?} again", tag.name),
            expected: "each tag (kind and name) once in tags".to_owned(),
        };
        return Err((
            format!("tags[{index}] ({} {})", tag.kind, tag.name),
            problem,
        ));
    }
    check_ratio("metrics.rates", &metrics.rates)?;
    once(
        "metrics.counters",
        metrics.counters.iter().map(|c| c.name.as_str()),
    )?;
    once(
        "metrics.gauges",
        metrics.gauges.iter().map(|g| g.name.as_str()),
    )?;
    once(
        "metrics.trends",
        metrics.trends.iter().map(|t| t.name.as_str()),
    )?;
    for (index, counter) in metrics.counters.iter().enumerate() {
        let place = || format!("metrics.counters[{index}] ({})", counter.name);
        at_most("value", counter.value).map_err(|problem| (place(), problem))?;
        if !(counter.per_s >= 0.0 && counter.per_s.is_finite()) {
            let problem = Problem::OutOfRange {
                field: "per_s",
                value: counter.per_s.to_string(),
                expected: "a number of at least 0".to_owned(),
            };
            return Err((place(), problem));
        }
    }
    for (index, gauge) in metrics.gauges.iter().enumerate() {
        let place = || format!("metrics.gauges[{index}] ({})", gauge.name);
        if !(1..=MAX_COUNT).contains(&gauge.samples) {
            let problem = Problem::OutOfRange {
                field: "samples",
                value: gauge.samples.to_string(),
                expected: format!("from 1 to {MAX_COUNT} (a gauge is set at least once)"),
            };
            return Err((place(), problem));
        }
        if !(gauge.min <= gauge.value && gauge.value <= gauge.max) {
            let problem = Problem::OutOfRange {
                field: "value",
                value: format!("{} (min {}, max {})", gauge.value, gauge.min, gauge.max),
                expected: "min <= value <= max".to_owned(),
            };
            return Err((place(), problem));
        }
    }
    for (index, trend) in metrics.trends.iter().enumerate() {
        let place = || format!("metrics.trends[{index}] ({})", trend.name);
        if trend.kind != TIME_TREND && trend.kind != VALUE_TREND {
            let problem = Problem::OutOfRange {
                field: "kind",
                value: format!("{:?}", trend.kind),
                expected: format!("{TIME_TREND:?} or {VALUE_TREND:?}"),
            };
            return Err((place(), problem));
        }
        if trend.failures != 0 {
            let problem = Problem::OutOfRange {
                field: "failures",
                value: trend.failures.to_string(),
                expected: "0 (a trend records values, not requests)".to_owned(),
            };
            return Err((place(), problem));
        }
    }
    Ok(())
}

/// Why a merge cannot add a shard's checks or metrics: a sum past what a report holds.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what}: the shards' figures add up beyond {MAX_COUNT}")]
pub struct TooLarge {
    /// `checks status is 201`, `counter orders`.
    pub what: String,
}

fn add_ratio(named: &mut Named<Ratio>, list: &str, r: &RatioReport) -> Result<(), TooLarge> {
    let mine = named.entry(&r.name, Ratio::default);
    let passes = mine.passes.checked_add(r.passes);
    let fails = mine.fails.checked_add(r.fails);
    match (passes, fails) {
        (Some(passes), Some(fails)) if passes.saturating_add(fails) <= MAX_COUNT => {
            (mine.passes, mine.fails) = (passes, fails);
            Ok(())
        }
        _ => Err(TooLarge {
            what: format!("{list} {}", r.name),
        }),
    }
}

/// Adds one shard's checks and metrics (not its trends or tags, which are entries and go
/// through the merge's entry path) into `totals`.
pub(super) fn add(
    totals: &mut Tally,
    checks: &[RatioReport],
    metrics: &MetricsReport,
) -> Result<(), TooLarge> {
    for r in checks {
        add_ratio(&mut totals.checks, "check", r)?;
    }
    for r in &metrics.rates {
        add_ratio(&mut totals.metrics.rates, "rate", r)?;
    }
    for counter in &metrics.counters {
        let mine = totals.metrics.counters.entry(&counter.name, || 0);
        *mine = mine
            .checked_add(counter.value)
            .filter(|&sum| sum <= MAX_COUNT)
            .ok_or_else(|| TooLarge {
                what: format!("counter {}", counter.name),
            })?;
    }
    for gauge in &metrics.gauges {
        let samples = totals
            .metrics
            .gauges
            .get(&gauge.name)
            .map_or(0, |mine| mine.samples);
        samples
            .checked_add(gauge.samples)
            .filter(|&sum| sum <= MAX_COUNT)
            .ok_or_else(|| TooLarge {
                what: format!("gauge {}", gauge.name),
            })?;
        let theirs = GaugeReading {
            value: gauge.value,
            at_unix_us: gauge.at_unix_us,
            min: gauge.min,
            max: gauge.max,
            samples: gauge.samples,
        };
        let gauges = &mut totals.metrics.gauges;
        if gauges.contains(&gauge.name) {
            gauges.entry(&gauge.name, || theirs).extend(&theirs);
        } else {
            gauges.entry(&gauge.name, || theirs);
        }
    }
    Ok(())
}

/// A trend's entry in `totals`, made with its kind the first time (for the merge's entry path).
pub(super) fn trend_entry<'a>(
    totals: &'a mut Tally,
    trend: &EntryReport,
) -> &'a mut crate::stats::Entry {
    let time = trend.kind == TIME_TREND;
    &mut totals
        .metrics
        .trends
        .entry(&trend.name, || TrendEntry {
            time,
            entry: crate::stats::Entry::default(),
        })
        .entry
}
