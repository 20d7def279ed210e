//! The closed model under a load shape (stages or a custom `LoadShape`): every 100 ms the shape
//! names a number of users; missing users start at once, extra ones (the newest first) finish
//! their task, run `on_stop` and leave.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::plan::Launch;
use super::user_loop::{ActiveGuard, new_user, run_user_with};
use crate::LoadShape;
use crate::shape::adjust;

/// How often the shape is asked for its target.
pub const SHAPE_TICK: Duration = Duration::from_millis(100);

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
        let (start, stop) = adjust(running.len(), target);
        for _ in 0..start {
            let token = ctx.stop.child_token();
            running.push(token.clone());
            let (plan, ctx, active) = (plan.clone(), ctx.clone(), active.clone());
            let id = next_id;
            next_id += 1;
            users.spawn(async move {
                let _active = ActiveGuard::new(active);
                let mut user = new_user(id, &plan, &ctx);
                user.set_stop(token);
                run_user_with(&mut user, &plan, &ctx).await;
            });
        }
        for _ in 0..stop {
            if let Some(token) = running.pop() {
                token.cancel();
            }
        }
    }
}
