//! The life of one user in the closed model: `on_start`, then pick a task by weight, run it,
//! wait; `on_stop` at the end. Also what both models share: running one iteration and a hook.
//!
//! A panic in a task or hook is caught where it happens, recorded as that task's failure with
//! the panic message, and the user goes on with its next iteration (as Locust does with an
//! exception): one bad response must not silently remove a user from the swarm. A task that
//! fails with no wait time configured backs off (1 ms, doubling per consecutive failure, up to
//! 1 s) so a target that is down is not hammered in a busy loop.

use crate::stats::panic_message;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::FutureExt;

use super::TrialPlan;
use crate::scenario::trials::ClassSpec;
use crate::scenario::{HookFn, WaitTime};
use crate::stats::CutOff;
use crate::user::flow::{Ending, ending};
use crate::user::request::{RequestError, error_chain};
use crate::user::{TrialContext, User, elapsed_micros};

/// The first back-off after a failed iteration without a wait time; doubles up to
/// [`MAX_BACKOFF`] while iterations keep failing.
const FIRST_BACKOFF: Duration = Duration::from_millis(1);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Counts a user as active for as long as it lives, even if its task is cancelled.
pub(super) struct ActiveGuard(Arc<AtomicUsize>);

impl ActiveGuard {
    pub(super) fn new(active: Arc<AtomicUsize>) -> Self {
        active.fetch_add(1, Ordering::Relaxed);
        ActiveGuard(active)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What became of one iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Iteration {
    Done,
    /// It ran and failed (an error or a panic).
    Failed,
    /// The request limit is reached: the trial is stopping.
    LimitReached,
    /// Cut short when the trial's grace period ran out.
    Killed,
    /// It ended with `StopUser`: the user leaves, with no failure.
    UserStopped,
}

/// Picks tasks by weight: task `i` with probability `weight[i] / total`.
pub(super) struct TaskPicker {
    /// The running sums of the weights: task `i` owns the draws in `ends[i-1]..ends[i]`.
    ends: Vec<u64>,
}

impl TaskPicker {
    pub(super) fn new(class: &ClassSpec) -> Self {
        Self::of_weights(class.tasks.iter().map(|task| task.weight))
    }

    fn of_weights(weights: impl IntoIterator<Item = u32>) -> Self {
        let ends: Vec<u64> = weights
            .into_iter()
            .scan(0u64, |total, weight| {
                *total += u64::from(weight);
                Some(*total)
            })
            .collect();
        assert!(
            ends.last().is_some_and(|&total| total > 0),
            "trials have at least one task, each with a weight of at least 1"
        );
        TaskPicker { ends }
    }

    pub(super) fn pick(&self, user: &mut User) -> usize {
        self.pick_with(user.rng())
    }

    fn pick_with(&self, rng: &mut fastrand::Rng) -> usize {
        let total = *self.ends.last().expect("checked in of_weights");
        let draw = rng.u64(0..total);
        // The first task whose range ends after the draw; a weight of 0 owns no draw.
        self.ends.partition_point(|&end| end <= draw)
    }
}

/// Runs one task and records it: its service time (from its actual start) and, when its
/// start was scheduled, its latency from the intended start.
pub(super) async fn run_iteration(
    user: &mut User,
    ctx: &TrialContext,
    class: &ClassSpec,
    task: usize,
    intended: Option<Instant>,
) -> Iteration {
    let task = &class.tasks[task];
    user.iterations += 1;
    // Its requests carry the intended start (the request log's), hooks' none.
    user.intended = intended;
    let (shard, parked) = (user.shard(), user.parked().clone());
    let work = crate::user::middleware::within(user, |user| task.run(user));
    let (outcome, error) = run_recorded(work, ctx, shard, &task.name, parked).await;
    user.intended = None;
    settle(user, ctx, shard, outcome, error.as_deref());
    if let (Some(intended), Iteration::Done | Iteration::Failed | Iteration::UserStopped) =
        (intended, outcome)
    {
        ctx.recorder
            .latency(shard, &task.name, elapsed_micros(intended));
    }
    outcome
}

/// Runs a task or hook under the name `name` and records it: a success, a failure (an error
/// or a caught panic), or, when the trial's grace period runs out first, a cut-off. A task
/// that met the request limit (directly, or parked by `measure`) is not recorded. Returns the
/// error that ended a failed one too.
async fn run_recorded(
    work: impl std::future::Future<Output = anyhow::Result<()>>,
    ctx: &TrialContext,
    shard: usize,
    name: &str,
    parked: tokio_util::sync::CancellationToken,
) -> (Iteration, Option<String>) {
    let started = Instant::now();
    let work = crate::user::watch::Watched::new(work, name, &ctx.blocked);
    let result = tokio::select! {
        result = AssertUnwindSafe(work).catch_unwind() => result,
        _ = ctx.kill.cancelled() => {
            ctx.recorder.cancelled(shard, "task", name, CutOff::AtStop);
            return (Iteration::Killed, None);
        }
        _ = parked.cancelled() => return (Iteration::LimitReached, None),
    };
    let micros = elapsed_micros(started);
    let error = match result {
        Ok(Ok(())) => {
            ctx.recorder.task(shard, name, micros, None);
            return (Iteration::Done, None);
        }
        Ok(Err(error)) if is_limit(&error) => return (Iteration::LimitReached, None),
        // Ended on purpose (Locust's RescheduleTask, StopUser): a run, not a failure.
        Ok(Err(error)) => match ending(&error) {
            Ending::Failed => describe(&error),
            Ending::Rescheduled => {
                ctx.recorder.task(shard, name, micros, None);
                return (Iteration::Done, None);
            }
            Ending::UserStopped => {
                ctx.recorder.task(shard, name, micros, None);
                return (Iteration::UserStopped, None);
            }
        },
        Err(panic) => panic_message(&*panic),
    };
    ctx.recorder.task(shard, name, micros, Some(error.clone()));
    (Iteration::Failed, Some(error))
}

/// The pause after an iteration: the wait time, or a back-off after failures when there is
/// none, so a failing task never spins.
#[derive(Default)]
pub(super) struct Backoff(Duration);

impl Backoff {
    /// The wait after an iteration that ended as `outcome`, given the `wait` due now and
    /// whether a wait time is `configured`: a wait time (pacing included, even when it is
    /// behind schedule) is honoured as it is; only without one do failures back off.
    pub(super) fn after(
        &mut self,
        outcome: Iteration,
        wait: Duration,
        configured: bool,
    ) -> Duration {
        if outcome != Iteration::Failed || configured {
            self.0 = Duration::ZERO;
            return wait;
        }
        self.0 = if self.0.is_zero() {
            FIRST_BACKOFF
        } else {
            (self.0 * 2).min(MAX_BACKOFF)
        };
        wait.max(self.0)
    }
}

/// Runs `work` (a user's life, an iteration of the open model) so that a panic outside any
/// task, which would be the runner's own bug, fails the trial instead of vanishing with it.
///
/// A plain function, not an `async fn`: an `async fn` keeps its argument and the wrapped
/// future side by side, which doubled every user's task (measured: +0.9 KiB per user).
pub(super) fn supervised(
    ctx: Arc<TrialContext>,
    work: impl std::future::Future<Output = ()>,
) -> impl std::future::Future<Output = ()> {
    AssertUnwindSafe(work).catch_unwind().map(move |result| {
        if let Err(panic) = result {
            ctx.error(format!("a user {}", panic_message(&*panic)));
        }
    })
}

/// A user of this trial, seeded from `PT_SEED` when set.
pub(super) fn new_user(id: usize, plan: &TrialPlan, ctx: &Arc<TrialContext>) -> User {
    let seed = plan.profile.seed.map(|seed| seed_for(seed, &plan.name, id));
    User::new(id, ctx.clone(), seed)
}

/// A user's start: `on_start`, then the build of each client its tasks take, once per type,
/// each recorded as a task. `false` when one failed: a user whose start failed (a login, say)
/// would only produce noise, so its failure is recorded and it leaves the swarm.
pub(super) async fn start_user(user: &mut User, class: &ClassSpec, ctx: &TrialContext) -> bool {
    if let Some(hook) = class.on_start
        && !run_hook(user, ctx, hook, "on_start").await
    {
        return false;
    }
    for client in super::plan::clients(class) {
        if !run_hook(user, ctx, client.build, &client.row_name()).await {
            return false;
        }
    }
    true
}

/// The closed-model loop of an existing user of `class`.
pub(super) async fn run_user_with(user: &mut User, class: &ClassSpec, ctx: &TrialContext) {
    if !start_user(user, class, ctx).await {
        return;
    }
    let picker = TaskPicker::new(class);
    let pacing = class.wait.and_then(|wait| wait.pacing());
    let mut backoff = Backoff::default();
    // Pacing keeps a schedule (wrk2's constant throughput): after a slow task the user catches
    // up, and each task's latency is measured from its intended start.
    let mut intended = Instant::now();
    while !user.stop_token().is_cancelled() {
        let task = picker.pick(user);
        let outcome = run_iteration(user, ctx, class, task, pacing.map(|_| intended)).await;
        match outcome {
            Iteration::Done | Iteration::Failed => {}
            Iteration::LimitReached | Iteration::UserStopped => break,
            Iteration::Killed => return,
        }
        let wait = match pacing {
            Some(interval) => {
                intended = intended.checked_add(interval).unwrap_or(intended);
                intended.saturating_duration_since(Instant::now())
            }
            None => wait_after(class.wait, user),
        };
        let wait = backoff.after(outcome, wait, class.wait.is_some());
        if wait.is_zero() {
            // A task that never awaits must not starve the timers that end the trial.
            tokio::task::yield_now().await;
        } else {
            user.wait_or_stop(wait).await;
        }
    }
    if let Some(hook) = class.on_stop {
        // A task that met the request limit parked the user; its on_stop still runs.
        user.unpark();
        run_hook(user, ctx, hook, "on_stop").await;
    }
}

/// Runs a hook, recorded as a task of its own name; `false` when it failed or was cut short.
pub(super) async fn run_hook(
    user: &mut User,
    ctx: &TrialContext,
    hook: HookFn,
    name: &str,
) -> bool {
    let (shard, parked) = (user.shard(), user.parked().clone());
    let work = crate::user::middleware::within(user, hook);
    let (outcome, error) = run_recorded(work, ctx, shard, name, parked).await;
    settle(user, ctx, shard, outcome, error.as_deref());
    outcome == Iteration::Done
}

/// The flows a task left unmarked: failed with its error, or forgotten when the task did not
/// end by itself (cut off at the stop, parked at the request limit).
fn settle(user: &User, ctx: &TrialContext, shard: usize, outcome: Iteration, error: Option<&str>) {
    match outcome {
        Iteration::Killed | Iteration::LimitReached => user.abandoned.discard(),
        Iteration::Done | Iteration::Failed | Iteration::UserStopped => {
            user.abandoned.settle(&ctx.recorder, shard, error)
        }
    }
}

fn is_limit(error: &anyhow::Error) -> bool {
    matches!(error.downcast_ref(), Some(RequestError::LimitReached))
}

/// The error as a failure-table line: its whole chain, with the request's name instead of its
/// URL (ids in URLs would split one kind of failure into many groups).
fn describe(error: &anyhow::Error) -> String {
    match error.downcast_ref::<RequestError>() {
        Some(RequestError::Transport {
            method, message, ..
        }) => format!("{method}: {message}"),
        Some(RequestError::Status {
            method,
            name,
            status,
            ..
        }) => {
            format!("{method} {name}: HTTP {status}")
        }
        _ => error_chain(error.as_ref()),
    }
}

/// How long to wait after a task, for wait times without a schedule (pacing wait times keep
/// their schedule in `run_user_with`).
pub(super) fn wait_after(wait: Option<WaitTime>, user: &mut User) -> Duration {
    match wait {
        None | Some(WaitTime::ConstantPacing(_) | WaitTime::ConstantThroughput(_)) => {
            Duration::ZERO
        }
        Some(WaitTime::Constant(wait)) => wait,
        Some(WaitTime::Between(min, max)) if max <= min => min,
        Some(WaitTime::Between(min, max)) => between(user.rng(), min, max),
    }
}

/// A uniform wait in `[min, max]` (`min < max`), to the nanosecond.
fn between(rng: &mut fastrand::Rng, min: Duration, max: Duration) -> Duration {
    // Spans past u64 nanoseconds (584 years) are no wait time anyone sets; clamped, not wrapped.
    let span = u64::try_from((max - min).as_nanos()).unwrap_or(u64::MAX);
    min + Duration::from_nanos(rng.u64(0..=span))
}

/// A per-user seed: the same `PT_SEED` gives each user of each trial the same sequence.
fn seed_for(seed: u64, trial: &str, user: usize) -> u64 {
    // FNV-1a over the trial name, mixed with the seed and the user's number.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in trial.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash ^ seed.rotate_left(17) ^ (user as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_and_successes_reset() {
        let mut backoff = Backoff::default();
        let zero = Duration::ZERO;
        assert_eq!(backoff.after(Iteration::Failed, zero, false), FIRST_BACKOFF);
        assert_eq!(
            backoff.after(Iteration::Failed, zero, false),
            FIRST_BACKOFF * 2
        );
        for _ in 0..20 {
            backoff.after(Iteration::Failed, zero, false);
        }
        assert_eq!(backoff.after(Iteration::Failed, zero, false), MAX_BACKOFF);
        assert_eq!(backoff.after(Iteration::Done, zero, false), zero);
        // Pacing behind schedule: no wait is due, and none is added.
        assert_eq!(backoff.after(Iteration::Failed, zero, true), zero);
        let wait = Duration::from_secs(3);
        assert_eq!(
            backoff.after(Iteration::Failed, wait, true),
            wait,
            "the wait time is honoured"
        );
        let short = Duration::from_millis(1);
        assert_eq!(backoff.after(Iteration::Failed, short, true), short);
    }

    /// A user's tasks and waits, as its RNG draws them.
    fn draws(seed: u64, picker: &TaskPicker) -> Vec<(usize, Duration)> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let (min, max) = (Duration::from_millis(50), Duration::from_millis(250));
        (0..200)
            .map(|_| (picker.pick_with(&mut rng), between(&mut rng, min, max)))
            .collect()
    }

    #[test]
    fn the_same_seed_gives_each_user_the_same_tasks_and_waits() {
        let picker = TaskPicker::of_weights([1, 3, 6]);
        let seed = |user| seed_for(42, "checkout", user);
        assert_eq!(draws(seed(3), &picker), draws(seed(3), &picker));
        assert_ne!(
            draws(seed(3), &picker),
            draws(seed(4), &picker),
            "users differ"
        );
        assert_ne!(
            draws(seed(3), &picker),
            draws(seed_for(42, "browse", 3), &picker),
            "trials differ"
        );
        assert_ne!(
            draws(seed(3), &picker),
            draws(seed_for(43, "checkout", 3), &picker),
            "seeds differ"
        );
    }

    #[test]
    fn tasks_are_picked_by_weight() {
        let picker = TaskPicker::of_weights([1, 3, 0, 6]);
        let mut rng = fastrand::Rng::with_seed(7);
        let mut counts = [0u32; 4];
        for _ in 0..100_000 {
            counts[picker.pick_with(&mut rng)] += 1;
        }
        assert_eq!(counts[2], 0, "a weight of 0 is never picked");
        for (count, weight) in [(counts[0], 1.0), (counts[1], 3.0), (counts[3], 6.0)] {
            let share = f64::from(count) / 100_000.0;
            assert!((share - weight / 10.0).abs() < 0.01, "{counts:?}");
        }
    }

    #[test]
    fn waits_between_are_uniform_within_both_bounds() {
        let (min, max) = (Duration::from_millis(10), Duration::from_millis(20));
        let mut rng = fastrand::Rng::with_seed(1);
        let waits: Vec<Duration> = (0..10_000).map(|_| between(&mut rng, min, max)).collect();
        assert!(waits.iter().all(|wait| (min..=max).contains(wait)));
        let low = waits
            .iter()
            .filter(|&&wait| wait < Duration::from_millis(15));
        let share = low.count() as f64 / 10_000.0;
        assert!((share - 0.5).abs() < 0.03, "{share}");
        let span = |rng: &mut fastrand::Rng| between(rng, min, min + Duration::from_nanos(1));
        let ends: Vec<Duration> = (0..100).map(|_| span(&mut rng)).collect();
        assert!(ends.contains(&min) && ends.contains(&(min + Duration::from_nanos(1))));
    }
}
