//! `GET /metrics`: the run's figures in the OpenMetrics text format (Prometheus reads it),
//! encoded by `prometheus-client` at each scrape from the web UI's live state. Per trial
//! (label `trial`) and request (`method`, `name`): requests and failures (counters that equal
//! the report's), response times as a histogram in seconds; per task: executions and
//! failures; the running users and dropped iterations; then checks, custom metrics and
//! requests by tag ([`custom`]). A statistics reset restarts the counters, which Prometheus
//! treats as a counter reset. And the web UI's own sockets: open, refused above the cap,
//! closed for a client's slowness (label `reason`), so an attack on the port shows.
//!
//! Label values are names from scenario code; the encoder escapes `\`, `"` and newlines in
//! them (prometheus-client 0.25.2 and later), which `tests.rs` holds it to.

mod custom;
#[cfg(test)]
mod tests;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::AppState;
use super::live::Live;
use super::serve::Connections;
use crate::stats::{Entry, LATENCY_KIND, Tally};

/// Histogram bucket bounds in seconds: 1 ms to 60 s, plus `+Inf`.
const BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The figures of one trial at scrape time.
struct TrialFigures {
    trial: String,
    totals: std::sync::Arc<Tally>,
    users: Option<usize>,
    dropped: u64,
}

/// `Collector` wants `Debug`; the figures are large, so only their trial names print.
impl std::fmt::Debug for TrialFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.trial)
    }
}

/// A collector over the live figures as they were at the scrape.
#[derive(Debug)]
struct Figures(Vec<TrialFigures>);

pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        exposition(&state.live(), &state.connections),
    )
}

/// The whole document a scrape gets.
fn exposition(live: &Live, connections: &Connections) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Figures(figures(live))));
    registry.register_collector(Box::new(Sockets::of(connections)));
    let mut text = String::new();
    // Writing into a String does not fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}

fn figures(live: &Live) -> Vec<TrialFigures> {
    let mut figures: Vec<TrialFigures> = live
        .ended
        .iter()
        .map(|(trial, totals, dropped)| TrialFigures {
            trial: trial.clone(),
            totals: totals.clone(),
            users: None,
            dropped: *dropped,
        })
        .collect();
    let running = live.current.iter().chain(live.beside.values());
    for current in running.filter(|c| c.running()) {
        figures.push(TrialFigures {
            trial: current.info.name.clone(),
            totals: current.totals.clone(),
            users: Some(current.snapshot.users),
            dropped: current.snapshot.dropped_iterations,
        });
    }
    figures
}

type Labels = Vec<(&'static str, String)>;

impl TrialFigures {
    /// The trial's label followed by `more`.
    fn labels<const N: usize>(&self, more: [(&'static str, &str); N]) -> Labels {
        let mut labels = Vec::with_capacity(N + 1);
        labels.push(("trial", self.trial.clone()));
        labels.extend(more.map(|(key, value)| (key, value.to_owned())));
        labels
    }
}

impl Collector for Figures {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.encode_requests(&mut encoder)?;
        self.encode_tasks(&mut encoder)?;
        self.encode_trials(&mut encoder)?;
        custom::encode(&self.0, &mut encoder)
    }
}

impl Figures {
    fn encode_requests(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let requests: Vec<(Labels, &Entry)> = self
            .0
            .iter()
            .flat_map(|f| {
                f.totals.requests.iter().map(move |(kind, name, entry)| {
                    (f.labels([("method", kind), ("name", name)]), entry)
                })
            })
            .collect();
        counter_family(
            encoder,
            "swarm_requests",
            "Requests completed (Locust's # requests)",
            requests.iter().map(|(l, e)| (l, e.count)),
        )?;
        counter_family(
            encoder,
            "swarm_request_failures",
            "Requests that failed",
            requests.iter().map(|(l, e)| (l, e.failures)),
        )?;
        histogram_family(
            encoder,
            "swarm_response_time_seconds",
            "Response times of completed requests",
            Scale::SECONDS,
            requests.iter().map(|(l, e)| (l, *e)),
        )
    }

    fn encode_tasks(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let tasks: Vec<(Labels, &Entry)> = self
            .0
            .iter()
            .flat_map(|f| {
                f.totals
                    .tasks
                    .iter()
                    .filter(|(kind, _, _)| *kind != LATENCY_KIND)
                    .map(move |(_, name, entry)| (f.labels([("task", name)]), entry))
            })
            .collect();
        counter_family(
            encoder,
            "swarm_tasks",
            "Task executions (scenario runs, on_start and on_stop hooks)",
            tasks.iter().map(|(l, e)| (l, e.count)),
        )?;
        counter_family(
            encoder,
            "swarm_task_failures",
            "Task executions that failed",
            tasks.iter().map(|(l, e)| (l, e.failures)),
        )
    }

    fn encode_trials(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let trials: Vec<(Labels, &TrialFigures)> =
            self.0.iter().map(|f| (f.labels([]), f)).collect();
        counter_family(
            encoder,
            "swarm_dropped_iterations",
            "Open model: iterations due while no user was free",
            trials.iter().map(|(l, f)| (l, f.dropped)),
        )?;
        let mut family = encoder.encode_descriptor(
            "swarm_users",
            "Users running in the current trial",
            None,
            MetricType::Gauge,
        )?;
        for (labels, f) in &trials {
            if let Some(users) = f.users {
                let users = i64::try_from(users).unwrap_or(i64::MAX);
                ConstGauge::new(users).encode(family.encode_family(labels)?)?;
            }
        }
        Ok(())
    }
}

/// The web UI's sockets at the scrape.
#[derive(Debug)]
struct Sockets {
    open: u64,
    refused: u64,
    closed: [(&'static str, u64); 3],
}

impl Sockets {
    fn of(counts: &Connections) -> Self {
        let read = |counter: &std::sync::atomic::AtomicU64| {
            counter.load(std::sync::atomic::Ordering::Relaxed)
        };
        Sockets {
            open: read(&counts.open),
            refused: read(&counts.refused),
            closed: [
                ("request_head_timeout", read(&counts.head_timeouts)),
                ("request_body_timeout", read(&counts.body_timeouts)),
                ("unread_response", read(&counts.unread_responses)),
            ],
        }
    }
}

impl Collector for Sockets {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // Encoded without a label set, so the samples read `name value`, not `name{} value`.
        let open = i64::try_from(self.open).unwrap_or(i64::MAX);
        ConstGauge::new(open).encode(encoder.encode_descriptor(
            "swarm_web_connections",
            "Connections the web UI is serving",
            None,
            MetricType::Gauge,
        )?)?;
        ConstCounter::new(self.refused).encode(encoder.encode_descriptor(
            "swarm_web_connections_refused",
            "Connections closed at once above PT_WEB_MAX_CONNECTIONS",
            None,
            MetricType::Counter,
        )?)?;
        let closed: Vec<(Labels, u64)> = self
            .closed
            .iter()
            .map(|(reason, count)| (vec![("reason", (*reason).to_owned())], *count))
            .collect();
        counter_family(
            &mut encoder,
            "swarm_web_connections_closed",
            "Connections or requests cut off after PT_WEB_TIMEOUT of waiting on the client",
            closed.iter().map(|(labels, count)| (labels, *count)),
        )
    }
}

fn counter_family<'a>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    values: impl Iterator<Item = (&'a Labels, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in values {
        ConstCounter::new(value).encode(family.encode_family(labels)?)?;
    }
    Ok(())
}

/// How a histogram's recorded units become the exposed ones, and the exposed bucket bounds.
#[derive(Debug, Clone, Copy)]
struct Scale {
    /// Recorded units per exposed unit: µs per second for times, 1 for plain values.
    per_unit: f64,
    /// Upper bounds in exposed units; `+Inf` is added.
    bounds: &'static [f64],
}

impl Scale {
    /// Times recorded in µs, exposed in seconds (Prometheus's base unit).
    const SECONDS: Scale = Scale {
        per_unit: 1e6,
        bounds: &BUCKETS,
    };
}

/// A histogram family, one series per entry.
fn histogram_family<'a>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    scale: Scale,
    series: impl Iterator<Item = (&'a Labels, &'a Entry)>,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for (labels, entry) in series {
        let buckets = buckets(entry, scale);
        family
            .encode_family(labels)?
            .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                entry.total_micros as f64 / scale.per_unit,
                entry.count,
                &buckets,
                None,
            )?;
    }
    Ok(())
}

/// Per-bucket counts (the encoder adds them up) from the HDR histogram: exact up to its
/// 3 significant digits.
fn buckets(entry: &Entry, scale: Scale) -> Vec<(f64, u64)> {
    let histogram = &entry.histogram;
    let mut below = 0;
    let mut buckets = Vec::with_capacity(scale.bounds.len() + 1);
    for &bound in scale.bounds {
        // Recorded values are whole units: a bound of 2.5 holds those up to 2.
        let upto = if histogram.is_empty() {
            0
        } else {
            histogram.count_between(0, (bound * scale.per_unit) as u64)
        };
        buckets.push((bound, upto.saturating_sub(below)));
        below = upto.max(below);
    }
    buckets.push((f64::INFINITY, entry.count.saturating_sub(below)));
    buckets
}
