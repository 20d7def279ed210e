//! The open model: iterations start at a rate (constant or from a shape), whatever earlier
//! ones take, each served by a free user of a pool of at most `max_users`. An iteration due
//! while every user is busy is dropped and counted, never silently lost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::TrialPlan;
use super::plan::Launch;
use super::user_loop::{ActiveGuard, Iteration, TaskPicker, new_user, run_hook, run_iteration};
use crate::LoadShape;
use crate::User;
use crate::user::TrialContext;

/// A user waiting for its next iteration.
struct Pooled {
    user: User,
    _active: ActiveGuard,
}

/// Idle users. Returning a user and stopping the trial both take this lock, so a user coming
/// back just as the trial stops is either drained by the stop or runs `on_stop` itself.
type Pool = Arc<Mutex<Vec<Pooled>>>;

/// How long to look again when the shape asks for no iterations at all.
const IDLE_POLL: Duration = Duration::from_millis(10);

/// The intended start times of iterations at a rate that may change: each next start is one
/// interval of the rate in force at the previous start. Pure, so it is unit-tested.
pub fn next_start(previous: Duration, rate: f64) -> Duration {
    if rate > 0.0 {
        previous + Duration::from_secs_f64(1.0 / rate)
    } else {
        previous + IDLE_POLL
    }
}

pub async fn drive(launch: Launch, mut shape: Box<dyn LoadShape>) {
    let Launch {
        plan,
        ctx,
        active,
        users: iterations,
        started,
    } = launch;
    let pool: Pool = Arc::default();
    let picker = Arc::new(TaskPicker::new(&plan));
    let created = Arc::new(AtomicUsize::new(0));
    let max_users = plan.profile.max_users as usize;
    let mut due = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until((started + due).into()) => {}
            _ = ctx.stop.cancelled() => break,
        }
        let Some(rate) = shape.tick(due) else { break };
        let intended = started + due;
        due = next_start(due, rate);
        if rate <= 0.0 {
            continue;
        }
        let idle = pool.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let (pooled, fresh) = match idle {
            Some(pooled) => (pooled, false),
            None if created.load(Ordering::Relaxed) < max_users => {
                let id = created.fetch_add(1, Ordering::Relaxed);
                let pooled = Pooled {
                    user: new_user(id, &plan, &ctx),
                    _active: ActiveGuard::new(active.clone()),
                };
                (pooled, true)
            }
            None => {
                ctx.recorder.drop_iteration();
                continue;
            }
        };
        let (plan, ctx, pool, picker) = (plan.clone(), ctx.clone(), pool.clone(), picker.clone());
        iterations.spawn(async move {
            serve(pooled, fresh, intended, &plan, &ctx, &pool, &picker).await;
        });
    }
    // Stop while holding the pool, then run `on_stop` for every idle user.
    let idle = {
        let mut pool = pool.lock().unwrap_or_else(PoisonError::into_inner);
        ctx.stop.cancel();
        std::mem::take(&mut *pool)
    };
    for mut pooled in idle {
        let (plan, ctx) = (plan.clone(), ctx.clone());
        iterations.spawn(async move {
            if let Some(hook) = plan.on_stop {
                run_hook(&mut pooled.user, &ctx, hook, "on_stop").await;
            }
        });
    }
}

/// One iteration on one user, then the user goes back to the pool (or stops with the trial).
async fn serve(
    mut pooled: Pooled,
    fresh: bool,
    intended: Instant,
    plan: &TrialPlan,
    ctx: &TrialContext,
    pool: &Mutex<Vec<Pooled>>,
    picker: &TaskPicker,
) {
    if fresh
        && let Some(hook) = plan.on_start
        && !run_hook(&mut pooled.user, ctx, hook, "on_start").await
    {
        // Its failure is recorded; the user leaves the pool.
        return;
    }
    let task = picker.pick(&mut pooled.user);
    match run_iteration(&mut pooled.user, ctx, plan, task, Some(intended)).await {
        Iteration::Done => {}
        Iteration::LimitReached | Iteration::Killed => return,
    }
    let stopping = {
        let mut idle = pool.lock().unwrap_or_else(PoisonError::into_inner);
        let stopping = ctx.stop.is_cancelled();
        if !stopping {
            idle.push(pooled);
            return;
        }
        stopping
    };
    if stopping && let Some(hook) = plan.on_stop {
        run_hook(&mut pooled.user, ctx, hook, "on_stop").await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_follow_the_rate() {
        let mut due = Duration::ZERO;
        let mut starts = 0;
        while due < Duration::from_secs(5) {
            starts += 1;
            due = next_start(due, 200.0);
        }
        assert_eq!(starts, 1000);
        assert_eq!(next_start(Duration::ZERO, 0.0), IDLE_POLL);
    }
}
