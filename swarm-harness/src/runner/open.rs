//! The open model: iterations start at a rate (constant or from a shape), whatever earlier
//! ones take, each served by a free user of a pool of at most `max_users`. An iteration due
//! while every user is busy is dropped and counted, never silently lost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio_util::task::TaskTracker;

use super::TrialPlan;
use super::plan::{Dispatch, Launch};
use super::user_loop::{
    ActiveGuard, Iteration, TaskPicker, new_user, run_hook, run_iteration, start_user, supervised,
};
use crate::LoadShape;
use crate::User;
use crate::user::TrialContext;

/// A user waiting for its next iteration.
struct Pooled {
    user: User,
    /// Its user class.
    class: usize,
    _active: ActiveGuard,
}

/// Idle users. Returning a user and stopping the trial both take this lock, so a user coming
/// back just as the trial stops is either drained by the stop or runs `on_stop` itself.
type Pool = Arc<Mutex<Vec<Pooled>>>;

/// How long to look again when the shape asks for no iterations at all.
const IDLE_POLL: Duration = Duration::from_millis(10);

/// The intended start times of iterations at a rate that may change. At `due`, with `rate`
/// in force: whether an iteration starts now, and when to look next. Above 100/s each next
/// start is one interval of the rate; below, the shape is asked every [`IDLE_POLL`] and the
/// fractions of an iteration add up in `credit` (so a ramp from 0 picks up at once instead of
/// waiting a whole interval of its first tiny rate). A rate from a custom shape is clamped to
/// [`MAX_RATE`](swarm_harness_syntax::limits::MAX_RATE). Pure, so it is unit-tested.
pub(super) fn next_start(due: Duration, rate: f64, credit: &mut f64) -> (bool, Duration) {
    // NaN first: `NaN.min(x)` is `x`, which would run a broken shape at the maximum rate.
    if rate.is_nan() || rate <= 0.0 {
        *credit = 0.0;
        return (false, due.saturating_add(IDLE_POLL));
    }
    let rate = rate.min(swarm_harness_syntax::limits::MAX_RATE);
    let interval = Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::MAX);
    if interval <= IDLE_POLL {
        return (true, due.saturating_add(interval));
    }
    *credit += rate * IDLE_POLL.as_secs_f64();
    // The epsilon absorbs the rounding of adding up tenths and such.
    let start = *credit >= 1.0 - 1e-9;
    if start {
        *credit -= 1.0;
    }
    (start, due.saturating_add(IDLE_POLL))
}

pub(super) async fn drive(launch: Launch, mut shape: Box<dyn LoadShape>) {
    let Launch {
        plan,
        ctx,
        active,
        users: iterations,
        started,
    } = launch;
    let pool: Pool = Arc::default();
    let pickers: Arc<Vec<TaskPicker>> =
        Arc::new(plan.classes.iter().map(TaskPicker::new).collect());
    let places = Arc::new(Places {
        alive: AtomicUsize::new(0),
        max: plan.profile.max_users as usize,
        dispatch: Dispatch::new(&plan),
    });
    let mut next_id = 0;
    let mut due = Duration::ZERO;
    let mut credit = 0.0;
    loop {
        // Beyond what an Instant can hold, the trial's duration ends it first.
        let Some(intended) = started.checked_add(due) else {
            ctx.stop.cancelled().await;
            break;
        };
        tokio::select! {
            _ = tokio::time::sleep_until(intended.into()) => {}
            _ = ctx.stop.cancelled() => break,
        }
        let Some(rate) = shape.tick(due) else { break };
        let start;
        (start, due) = next_start(due, rate, &mut credit);
        if !start {
            continue;
        }
        let idle = pool.lock().unwrap_or_else(PoisonError::into_inner).pop();
        // An idle user first; a fresh one only when none is idle and a place is free.
        let (mut pooled, fresh) = match idle.map(|pooled| (pooled, None)).or_else(|| {
            let class = places.take()?;
            next_id += 1;
            Some((
                Pooled {
                    user: new_user(next_id - 1, &plan, &ctx),
                    class,
                    _active: ActiveGuard::new(active.clone()),
                },
                Some(()),
            ))
        }) {
            Some((pooled, fresh)) => (pooled, fresh.is_some()),
            None => {
                ctx.recorder.drop_iteration();
                continue;
            }
        };
        let (plan, ctx, pool, pickers) = (plan.clone(), ctx.clone(), pool.clone(), pickers.clone());
        let places = places.clone();
        iterations.spawn(supervised(ctx.clone(), async move {
            let mut intended = intended;
            if fresh {
                // The user's start is not the iteration's: its latency is measured from
                // its intended start pushed back by the time the start took.
                let begun = Instant::now();
                if !start_user(&mut pooled.user, &plan.classes[pooled.class], &ctx).await {
                    // Its failure is recorded; the user leaves, and its place is free.
                    places.leave();
                    return;
                }
                intended = intended.checked_add(begun.elapsed()).unwrap_or(intended);
            }
            let class = pooled.class;
            if !serve(pooled, intended, &plan, &ctx, &pool, &pickers[class]).await {
                places.leave();
            }
        }));
    }
    stop_idle_users(&pool, &plan, &ctx, &iterations);
}

/// Stops the trial while holding the pool (so a user coming back just then is drained here
/// or runs `on_stop` itself), then runs `on_stop` for every idle user.
fn stop_idle_users(
    pool: &Pool,
    plan: &Arc<TrialPlan>,
    ctx: &Arc<TrialContext>,
    iterations: &TaskTracker,
) {
    let idle = {
        let mut pool = pool.lock().unwrap_or_else(PoisonError::into_inner);
        ctx.stop.cancel();
        std::mem::take(&mut *pool)
    };
    for mut pooled in idle {
        let (plan, ctx) = (plan.clone(), ctx.clone());
        iterations.spawn(async move {
            if let Some(hook) = plan.classes[pooled.class].on_stop {
                run_hook(&mut pooled.user, &ctx, hook, "on_stop").await;
            }
        });
    }
}

/// The pool's places: users alive (in the pool or serving), at most `max`, each of a class.
/// A user that leaves by itself (a failed start, `StopUser`) frees its place for the next
/// iteration's fresh user.
struct Places {
    alive: AtomicUsize,
    max: usize,
    dispatch: Dispatch,
}

impl Places {
    /// A place for one more user, and its class; `None` when all are taken. Only the
    /// trial's driver takes places, so the check and the increment do not race.
    fn take(&self) -> Option<usize> {
        let place = self.alive.load(Ordering::Relaxed);
        if place >= self.max {
            return None;
        }
        self.alive.fetch_add(1, Ordering::Relaxed);
        Some(self.dispatch.class_of(place))
    }

    /// A user left by itself: its place is free for the next fresh user.
    fn leave(&self) {
        self.alive.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One iteration on a started user, then the user goes back to the pool (or stops with the
/// trial); `false` when the user left by itself (`StopUser`), so its place is free.
async fn serve(
    mut pooled: Pooled,
    intended: Instant,
    plan: &TrialPlan,
    ctx: &TrialContext,
    pool: &Mutex<Vec<Pooled>>,
    picker: &TaskPicker,
) -> bool {
    let class = &plan.classes[pooled.class];
    let task = picker.pick(&mut pooled.user);
    match run_iteration(&mut pooled.user, ctx, class, task, Some(intended)).await {
        Iteration::Done | Iteration::Failed => {}
        Iteration::LimitReached | Iteration::Killed => return true,
        // The user leaves the pool (the open model starts another when one is due).
        Iteration::UserStopped => {
            if let Some(hook) = class.on_stop {
                run_hook(&mut pooled.user, ctx, hook, "on_stop").await;
            }
            return false;
        }
    }
    let stopping = {
        let mut idle = pool.lock().unwrap_or_else(PoisonError::into_inner);
        let stopping = ctx.stop.is_cancelled();
        if !stopping {
            idle.push(pooled);
            return true;
        }
        stopping
    };
    if stopping && let Some(hook) = class.on_stop {
        run_hook(&mut pooled.user, ctx, hook, "on_stop").await;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts_in(seconds: u64, rate: f64) -> usize {
        let (mut due, mut credit, mut starts) = (Duration::ZERO, 0.0, 0);
        while due < Duration::from_secs(seconds) {
            let start;
            (start, due) = next_start(due, rate, &mut credit);
            starts += usize::from(start);
        }
        starts
    }

    #[test]
    fn starts_follow_the_rate() {
        assert_eq!(starts_in(5, 200.0), 1000);
        assert_eq!(starts_in(5, 10.0), 50);
        assert_eq!(starts_in(10, 0.5), 5);
        assert_eq!(
            next_start(Duration::ZERO, 0.0, &mut 0.0),
            (false, IDLE_POLL)
        );
    }

    #[test]
    fn extreme_rates_neither_panic_nor_overflow() {
        for rate in [
            1e-300,
            f64::MIN_POSITIVE,
            1e300,
            f64::INFINITY,
            f64::NAN,
            -1.0,
        ] {
            let (_, next) = next_start(Duration::MAX, rate, &mut 0.0);
            assert_eq!(next, Duration::MAX);
            next_start(Duration::ZERO, rate, &mut 0.0);
        }
    }
}
