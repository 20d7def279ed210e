//! `GET /metrics`: the run's figures in the Prometheus text format, encoded by
//! `prometheus-client` at each scrape from the web UI's live state. Per trial (label `trial`)
//! and request (`method`, `name`): requests and failures (counters that equal the report's),
//! response times as a histogram in seconds; per task: executions and failures; the running
//! users and dropped iterations. A statistics reset restarts the counters, which Prometheus
//! treats as a counter reset. And the web UI's own sockets: open, refused above the cap,
//! closed for a client's slowness (label `reason`), so an attack on the port shows.

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
    let figures = figures(&state.live());
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Figures(figures)));
    registry.register_collector(Box::new(Sockets::of(&state.connections)));
    let mut text = String::new();
    // Writing into a String does not fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
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
    if let Some(current) = &live.current
        && current.running()
    {
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

impl Collector for Figures {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let figures: Vec<&TrialFigures> = self.0.iter().collect();
        let requests = |f: &TrialFigures| -> Vec<(Labels, Entry)> {
            f.totals
                .requests
                .iter()
                .map(|(kind, name, entry)| {
                    let labels = vec![
                        ("trial", f.trial.clone()),
                        ("method", kind.to_owned()),
                        ("name", name.to_owned()),
                    ];
                    (labels, entry.clone())
                })
                .collect()
        };
        let tasks = |f: &TrialFigures| -> Vec<(Labels, Entry)> {
            f.totals
                .tasks
                .iter()
                .filter(|(kind, _, _)| *kind != LATENCY_KIND)
                .map(|(_, name, entry)| {
                    (
                        vec![("trial", f.trial.clone()), ("task", name.to_owned())],
                        entry.clone(),
                    )
                })
                .collect()
        };
        let all_requests: Vec<(Labels, Entry)> = figures.iter().flat_map(|f| requests(f)).collect();
        let all_tasks: Vec<(Labels, Entry)> = figures.iter().flat_map(|f| tasks(f)).collect();

        counter_family(
            &mut encoder,
            "swarm_requests",
            "Requests completed (Locust's # requests)",
            all_requests.iter().map(|(l, e)| (l, e.count)),
        )?;
        counter_family(
            &mut encoder,
            "swarm_request_failures",
            "Requests that failed",
            all_requests.iter().map(|(l, e)| (l, e.failures)),
        )?;
        let mut family = encoder.encode_descriptor(
            "swarm_response_time_seconds",
            "Response times of completed requests",
            None,
            MetricType::Histogram,
        )?;
        for (labels, entry) in &all_requests {
            let buckets = buckets(entry);
            family
                .encode_family(labels)?
                .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                    entry.total_micros as f64 / 1e6,
                    entry.count,
                    &buckets,
                    None,
                )?;
        }
        counter_family(
            &mut encoder,
            "swarm_tasks",
            "Task executions (scenario runs, on_start and on_stop hooks)",
            all_tasks.iter().map(|(l, e)| (l, e.count)),
        )?;
        counter_family(
            &mut encoder,
            "swarm_task_failures",
            "Task executions that failed",
            all_tasks.iter().map(|(l, e)| (l, e.failures)),
        )?;
        let trial_labels: Vec<(Labels, &TrialFigures)> = figures
            .iter()
            .map(|f| (vec![("trial", f.trial.clone())], *f))
            .collect();
        counter_family(
            &mut encoder,
            "swarm_dropped_iterations",
            "Open model: iterations due while no user was free",
            trial_labels.iter().map(|(l, f)| (l, f.dropped)),
        )?;
        let mut family = encoder.encode_descriptor(
            "swarm_users",
            "Users running in the current trial",
            None,
            MetricType::Gauge,
        )?;
        for (labels, f) in &trial_labels {
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
    fn of(counts: &super::serve::Connections) -> Self {
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

/// Per-bucket counts (the encoder adds them up) from the HDR histogram: exact up to its
/// 3 significant digits.
fn buckets(entry: &Entry) -> Vec<(f64, u64)> {
    let histogram = &entry.histogram;
    let mut below = 0;
    let mut buckets = Vec::with_capacity(BUCKETS.len() + 1);
    for bound in BUCKETS {
        let micros = (bound * 1e6) as u64;
        let upto = if histogram.is_empty() {
            0
        } else {
            histogram.count_between(0, micros)
        };
        buckets.push((bound, upto.saturating_sub(below)));
        below = upto.max(below);
    }
    buckets.push((f64::INFINITY, entry.count.saturating_sub(below)));
    buckets
}
