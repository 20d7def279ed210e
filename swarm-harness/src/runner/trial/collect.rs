//! The collector of a running trial: a tick every second (published, checked against the
//! `abort_on_fail` thresholds), statistics resets, and the totals it hands back at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use crate::events::{EventBus, RunEvent, Tick};
use crate::stats::{Collector, Tally, TimelinePoint};
use crate::threshold::{Thresholds, Verdict};

/// What the collector needs besides the statistics: the `abort_on_fail` thresholds it checks
/// after every tick, the stop it triggers, where ticks go, and the reset signal.
pub(super) struct Watch {
    pub(super) trial: usize,
    pub(super) thresholds: Thresholds,
    pub(super) stop: CancellationToken,
    pub(super) events: Arc<EventBus>,
    pub(super) reset: Arc<Notify>,
}

/// What the collector hands back at the end.
pub(super) struct Collected {
    pub(super) totals: Tally,
    pub(super) timeline: Vec<TimelinePoint>,
    pub(super) aborted_by: Option<Verdict>,
    /// The time the statistics cover.
    pub(super) elapsed: Duration,
    pub(super) reset_at: Option<f64>,
    /// How long no request had completed when collecting ended.
    pub(super) silence: Duration,
}

/// Gathers the trial's figures every second until `finished`: publishes each tick, stops the
/// trial at the first breached `abort_on_fail` threshold, and resets the statistics on
/// request; then hands back the totals.
pub(super) async fn collect(
    mut collector: Collector,
    watch: Watch,
    mut finished: oneshot::Receiver<()>,
) -> Collected {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut aborted_by = None;
    let mut reset_at = None;
    // The end of the last tick in which a request completed: a stall's silence starts there.
    let mut progress = Instant::now();
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if publish_tick(&mut collector, &watch) {
                    progress = Instant::now();
                }
                if aborted_by.is_none()
                    && let Some(breach) =
                        watch.thresholds.abort_reason(collector.totals(), collector.elapsed())
                {
                    watch.events.publish(RunEvent::ThresholdBreached {
                        trial: watch.trial,
                        verdict: breach.clone(),
                    });
                    aborted_by = Some(breach);
                    watch.stop.cancel();
                }
            }
            _ = watch.reset.notified() => {
                let at_s = collector.reset();
                reset_at = Some(at_s);
                watch.events.publish(RunEvent::StatsReset {
                    trial: watch.trial,
                    at_s,
                });
            }
            _ = &mut finished => break,
        }
    }
    // The last tick takes what is left, so every consumer's totals equal the report's.
    if publish_tick(&mut collector, &watch) {
        progress = Instant::now();
    }
    let elapsed = collector.elapsed();
    let (totals, timeline) = collector.into_totals();
    Collected {
        totals,
        timeline,
        aborted_by,
        elapsed,
        reset_at,
        silence: progress.elapsed(),
    }
}

/// Publishes a tick; whether any request completed in its interval.
fn publish_tick(collector: &mut Collector, watch: &Watch) -> bool {
    let interval = collector.tick();
    // The interval's request rate is its count over its length, rounded to 3 decimals: above
    // zero exactly when a request completed (ticks are a second apart, not 1000).
    let progressed = interval.point.rps > 0.0;
    let thresholds = if watch.thresholds.is_empty() {
        Vec::new()
    } else {
        watch
            .thresholds
            .evaluate(collector.totals(), collector.elapsed())
    };
    watch.events.publish(RunEvent::Tick(Arc::new(Tick {
        trial: watch.trial,
        snapshot: interval.snapshot,
        point: interval.point,
        interval: interval.stats,
        thresholds,
    })));
    progressed
}
