//! Log set-up: `tracing` for our own events, with the `log` crate's records routed into it.

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_log::LogTracer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Registry, fmt};

/// A subscriber writing to `sink`: the target `name` (our crate) at `level`, everything else at
/// `level` but no finer than INFO, because hyper's and rustls's debug lines drown our own.
pub fn get_subscriber<Sink>(
    name: &str,
    level: LevelFilter,
    sink: Sink,
) -> impl Subscriber + Send + Sync + use<Sink>
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = Targets::new()
        .with_target(name, level)
        .with_default(level.min(LevelFilter::INFO));
    Registry::default()
        .with(filter)
        .with(fmt::layer().with_writer(sink))
}

/// Makes `subscriber` the process's one global subscriber. Call it once per process: a second
/// call panics, as both globals may be set only once.
pub fn init_subscriber(subscriber: impl Subscriber + Send + Sync) {
    LogTracer::init().expect("Failed to set logger");
    tracing::subscriber::set_global_default(subscriber).expect("Failed to set subscriber");
}
