//! The closed model under a load shape (stages or a custom `LoadShape`): every 100 ms the shape
//! names a number of users; missing users start (at the shape's spawn rate if it gives one, at
//! once otherwise), extra ones (the newest first) finish their task, run `on_stop` and leave. A shape's target is clamped to
//! [`MAX_USERS`](swarm_harness_syntax::limits::MAX_USERS) (with a warning), and starting many
//! users yields to the runtime every [`SPAWN_BATCH`] so the stop and the clock keep working.

use std::time::Duration;

use super::crew::Crew;
use super::plan::Launch;
use crate::LoadShape;
use crate::shape::{RateLimit, adjust};

/// How often the shape is asked for its target.
pub(super) const SHAPE_TICK: Duration = Duration::from_millis(100);

/// Users started between two yields to the runtime.
const SPAWN_BATCH: usize = 256;

pub(super) async fn drive(launch: Launch, mut shape: Box<dyn LoadShape>) {
    let (plan, ctx, started) = (launch.plan.clone(), launch.ctx.clone(), launch.started);
    let mut crew = Crew::new(launch);
    let mut warned = false;
    let (mut starts, mut stops) = (RateLimit::default(), RateLimit::default());
    let mut ticker = tokio::time::interval(SHAPE_TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = ctx.stop.cancelled() => return,
        }
        let Some(target) = shape.tick(started.elapsed()) else {
            ctx.stop.cancel();
            return;
        };
        let cap = f64::from(swarm_harness_syntax::limits::MAX_USERS);
        if target > cap && !warned {
            warned = true;
            crate::logging::warning!(
                "{}: the load shape asked for {target} users; capped at {cap}",
                plan.name
            );
        }
        let target = if target.is_nan() {
            0.0
        } else {
            target.min(cap)
        };
        let (start, stop) = adjust(crew.len(), target);
        // At the shape's spawn rate, if it gives one (Locust's `(users, spawn_rate)`).
        let rate = shape.spawn_rate(started.elapsed());
        let (start, stop) = (
            starts.allow(start, rate, SHAPE_TICK),
            stops.allow(stop, rate, SHAPE_TICK),
        );
        // Users still leaving from a lower target count against a higher one.
        let start = start.min(crew.room(crew.len() + start));
        for started_now in 0..start {
            if started_now % SPAWN_BATCH == SPAWN_BATCH - 1 {
                tokio::task::yield_now().await;
                if ctx.stop.is_cancelled() {
                    return;
                }
            }
            crew.start_one();
        }
        crew.stop_down_to(crew.len().saturating_sub(stop));
    }
}
