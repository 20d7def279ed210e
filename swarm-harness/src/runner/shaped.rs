//! The closed model under a load shape (stages or a custom `LoadShape`): every 100 ms the shape
//! names a number of users; missing users start at once, extra ones (the newest first) finish
//! their task, run `on_stop` and leave. A shape's target is clamped to
//! [`MAX_USERS`](swarm_harness_syntax::limits::MAX_USERS) (with a warning), and starting many
//! users yields to the runtime every [`SPAWN_BATCH`] so the stop and the clock keep working.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::plan::Launch;
use super::user_loop::{ActiveGuard, new_user, run_user_with, supervised};
use crate::LoadShape;
use crate::shape::adjust;

/// How often the shape is asked for its target.
pub const SHAPE_TICK: Duration = Duration::from_millis(100);

/// Users started between two yields to the runtime.
const SPAWN_BATCH: usize = 256;

pub async fn drive(launch: Launch, mut shape: Box<dyn LoadShape>) {
    let Launch {
        plan,
        ctx,
        active,
        users,
        started,
    } = launch;
    let mut running: Vec<CancellationToken> = Vec::new();
    let mut next_id = 0;
    let mut warned = false;
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
            log::warn!(
                "{}: the load shape asked for {target} users; capped at {cap}",
                plan.name
            );
        }
        let target = if target.is_nan() {
            0.0
        } else {
            target.min(cap)
        };
        let (start, stop) = adjust(running.len(), target);
        for started_now in 0..start {
            if started_now % SPAWN_BATCH == SPAWN_BATCH - 1 {
                tokio::task::yield_now().await;
                if ctx.stop.is_cancelled() {
                    return;
                }
            }
            let token = ctx.stop.child_token();
            running.push(token.clone());
            let (plan, ctx, active) = (plan.clone(), ctx.clone(), active.clone());
            let id = next_id;
            next_id += 1;
            let supervisor = ctx.clone();
            users.spawn(supervised(supervisor, async move {
                let _active = ActiveGuard::new(active);
                let mut user = new_user(id, &plan, &ctx);
                user.set_stop(token);
                run_user_with(&mut user, &plan, &ctx).await;
            }));
        }
        for _ in 0..stop {
            if let Some(token) = running.pop() {
                token.cancel();
            }
        }
    }
}
