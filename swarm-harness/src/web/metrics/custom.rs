//! The `/metrics` families of what a scenario records besides timings, per trial: checks
//! (`swarm_checks_total`, `result` pass or fail), custom metrics (`swarm_metric_counter_total`,
//! `swarm_metric_gauge` with the value set last, `swarm_metric_rate_total` with `result` true
//! or false, trends as histograms: `swarm_metric_trend_seconds` for times,
//! `swarm_metric_trend` for plain values) and requests by tag (`swarm_tag_requests_total`,
//! `swarm_tag_failures_total`, `swarm_tag_response_time_seconds`, labels `key` and `value`).
//!
//! The families are fixed, whatever the names: a name is a label value, never part of a
//! family's name, so a scrape has these nine families however many names there are, and the
//! series are as many as the recorder admits (check names and tag values are capped at
//! `PT_MAX_NAMES`; metric names are `&'static str` in the scenario's code).

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use super::{Labels, Scale, TrialFigures, counter_family, histogram_family};
use crate::stats::{Entry, Ratio};

/// Bucket bounds of a trend of plain values: 1 to a million in 1-2.5-5 steps, plus `+Inf`.
/// The values' range is the scenario's own, so a span of six decades covers most counts and
/// sizes while keeping a series at 20 buckets.
const VALUE_BUCKETS: [f64; 19] = [
    1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5,
    2.5e5, 5e5, 1e6,
];

/// Plain values, as recorded.
const VALUES: Scale = Scale {
    per_unit: 1.0,
    bounds: &VALUE_BUCKETS,
};

type Fmt = Result<(), std::fmt::Error>;

/// Every family of this module, in a fixed order.
pub(super) fn encode(figures: &[TrialFigures], encoder: &mut DescriptorEncoder) -> Fmt {
    let checks = ratios(figures, "check", ["pass", "fail"], |f| {
        f.totals.checks.sorted()
    });
    counter_family(
        encoder,
        "swarm_checks",
        "Checks made (user.check, Request::check), by result",
        checks.iter().map(|(l, n)| (l, *n)),
    )?;
    metrics(figures, encoder)?;
    tags(figures, encoder)
}

/// Two series per name, the passes under `results[0]` and the fails under `results[1]`.
fn ratios<'f>(
    figures: &'f [TrialFigures],
    label: &'static str,
    results: [&'static str; 2],
    named: impl Fn(&'f TrialFigures) -> Vec<(&'f str, &'f Ratio)>,
) -> Vec<(Labels, u64)> {
    let mut series = Vec::new();
    for f in figures {
        for (name, ratio) in named(f) {
            for (result, n) in results.into_iter().zip([ratio.passes, ratio.fails]) {
                series.push((f.labels([(label, name), ("result", result)]), n));
            }
        }
    }
    series
}

fn metrics(figures: &[TrialFigures], encoder: &mut DescriptorEncoder) -> Fmt {
    let counters: Vec<(Labels, u64)> = figures
        .iter()
        .flat_map(|f| {
            let counters = f.totals.metrics.counters.sorted().into_iter();
            counters.map(move |(name, n)| (f.labels([("name", name)]), *n))
        })
        .collect();
    counter_family(
        encoder,
        "swarm_metric_counter",
        "Custom counters (Counter::add), by name",
        counters.iter().map(|(l, n)| (l, *n)),
    )?;
    let mut family = encoder.encode_descriptor(
        "swarm_metric_gauge",
        "Custom gauges (Gauge::set): the value set last, by name",
        None,
        MetricType::Gauge,
    )?;
    for f in figures {
        for (name, reading) in f.totals.metrics.gauges.sorted() {
            let labels = f.labels([("name", name)]);
            ConstGauge::new(reading.value).encode(family.encode_family(&labels)?)?;
        }
    }
    let rates = ratios(figures, "name", ["true", "false"], |f| {
        f.totals.metrics.rates.sorted()
    });
    counter_family(
        encoder,
        "swarm_metric_rate",
        "Samples of custom rates (Rate::add), by name and result",
        rates.iter().map(|(l, n)| (l, *n)),
    )?;
    trends(figures, encoder)
}

fn trends(figures: &[TrialFigures], encoder: &mut DescriptorEncoder) -> Fmt {
    let of_kind = |time: bool| -> Vec<(Labels, &Entry)> {
        figures
            .iter()
            .flat_map(|f| {
                let trends = f.totals.metrics.trends.sorted().into_iter();
                trends
                    .filter(move |(_, trend)| trend.time == time)
                    .map(move |(name, trend)| (f.labels([("name", name)]), &trend.entry))
            })
            .collect()
    };
    let times = of_kind(true);
    histogram_family(
        encoder,
        "swarm_metric_trend_seconds",
        "Custom trends of times (Trend::time), by name",
        Scale::SECONDS,
        times.iter().map(|(l, e)| (l, *e)),
    )?;
    let values = of_kind(false);
    histogram_family(
        encoder,
        "swarm_metric_trend",
        "Custom trends of plain values (Trend::new), by name",
        VALUES,
        values.iter().map(|(l, e)| (l, *e)),
    )
}

fn tags(figures: &[TrialFigures], encoder: &mut DescriptorEncoder) -> Fmt {
    let tagged: Vec<(Labels, &Entry)> = figures
        .iter()
        .flat_map(|f| {
            let tags = f.totals.tags.iter();
            tags.map(move |(key, value, entry)| (f.labels([("key", key), ("value", value)]), entry))
        })
        .collect();
    counter_family(
        encoder,
        "swarm_tag_requests",
        "Requests completed, by tag (Request::tag): its key and value",
        tagged.iter().map(|(l, e)| (l, e.count)),
    )?;
    counter_family(
        encoder,
        "swarm_tag_failures",
        "Requests that failed, by tag",
        tagged.iter().map(|(l, e)| (l, e.failures)),
    )?;
    histogram_family(
        encoder,
        "swarm_tag_response_time_seconds",
        "Response times of completed requests, by tag",
        Scale::SECONDS,
        tagged.iter().map(|(l, e)| (l, *e)),
    )
}
