//! The life of one user in the closed model: `on_start`, then pick a task by weight, run it,
//! wait; `on_stop` at the end. Also what both models share: running one iteration and a hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;

use super::TrialPlan;
use crate::entry::{HookFn, WaitTime};
use crate::request::{RequestError, error_chain};
use crate::user::{TrialContext, User, elapsed_micros};

/// Counts a user as active for as long as it lives, even if its task is cancelled.
pub struct ActiveGuard(Arc<AtomicUsize>);

impl ActiveGuard {
    pub fn new(active: Arc<AtomicUsize>) -> Self {
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
pub enum Iteration {
    Done,
    /// The request limit is reached: the trial is stopping.
    LimitReached,
    /// Cut short when the trial's grace period ran out.
    Killed,
}

/// Picks tasks by weight.
pub struct TaskPicker(WeightedIndex<u32>);

impl TaskPicker {
    pub fn new(plan: &TrialPlan) -> Self {
        TaskPicker(
            WeightedIndex::new(plan.tasks.iter().map(|task| task.weight))
                .expect("trials have at least one task, each with a weight of at least 1"),
        )
    }

    pub fn pick(&self, user: &mut User) -> usize {
        self.0.sample(user.rng())
    }
}

/// Runs one task and records it: its service time (from its actual start) and, when its
/// start was scheduled, its latency from the intended start.
pub async fn run_iteration(
    user: &mut User,
    ctx: &TrialContext,
    plan: &TrialPlan,
    task: usize,
    intended: Option<Instant>,
) -> Iteration {
    let task = &plan.tasks[task];
    let started = Instant::now();
    let result = tokio::select! {
        result = task.run(user) => result,
        _ = ctx.kill.cancelled() => return Iteration::Killed,
    };
    let service = elapsed_micros(started);
    match result {
        Ok(()) => ctx.recorder.task(user.shard(), &task.name, service, None),
        Err(error) if is_limit(&error) => return Iteration::LimitReached,
        Err(error) => ctx
            .recorder
            .task(user.shard(), &task.name, service, Some(describe(&error))),
    }
    if let Some(intended) = intended {
        ctx.recorder
            .latency(user.shard(), &task.name, elapsed_micros(intended));
    }
    Iteration::Done
}

/// Runs one user until its stop token is cancelled.
pub async fn run_user(
    id: usize,
    plan: Arc<TrialPlan>,
    ctx: Arc<TrialContext>,
    active: Arc<AtomicUsize>,
) {
    let _active = ActiveGuard::new(active);
    let mut user = new_user(id, &plan, &ctx);
    run_user_with(&mut user, &plan, &ctx).await;
}

/// A user of this trial, seeded from `PT_SEED` when set.
pub fn new_user(id: usize, plan: &TrialPlan, ctx: &Arc<TrialContext>) -> User {
    let seed = plan.profile.seed.map(|seed| seed_for(seed, &plan.name, id));
    User::new(id, ctx.clone(), seed)
}

/// The closed-model loop of an existing user.
pub async fn run_user_with(user: &mut User, plan: &TrialPlan, ctx: &TrialContext) {
    if let Some(hook) = plan.on_start
        && !run_hook(user, ctx, hook, "on_start").await
    {
        // A user whose start failed (a login, say) would only produce noise; its failure is
        // recorded and it leaves the swarm.
        return;
    }
    let picker = TaskPicker::new(plan);
    let pacing = plan.profile.wait.and_then(|wait| wait.pacing());
    // Pacing keeps a schedule (wrk2's constant throughput): after a slow task the user catches
    // up, and each task's latency is measured from its intended start.
    let mut intended = Instant::now();
    while !user.stop_token().is_cancelled() {
        let task = picker.pick(user);
        match run_iteration(user, ctx, plan, task, pacing.map(|_| intended)).await {
            Iteration::Done => {}
            Iteration::LimitReached => break,
            Iteration::Killed => return,
        }
        let wait = match pacing {
            Some(interval) => {
                intended += interval;
                intended.saturating_duration_since(Instant::now())
            }
            None => wait_after(plan.profile.wait, user),
        };
        if wait.is_zero() {
            // A task that never awaits must not starve the timers that end the trial.
            tokio::task::yield_now().await;
        } else {
            user.wait_or_stop(wait).await;
        }
    }
    if let Some(hook) = plan.on_stop {
        run_hook(user, ctx, hook, "on_stop").await;
    }
}

/// Runs a hook, recorded as a task of its own name; `false` when it failed or was cut short.
pub async fn run_hook(user: &mut User, ctx: &TrialContext, hook: HookFn, name: &str) -> bool {
    let started = Instant::now();
    let result = tokio::select! {
        result = hook(user) => result,
        _ = ctx.kill.cancelled() => return false,
    };
    let micros = elapsed_micros(started);
    match result {
        Ok(()) => {
            ctx.recorder.task(user.shard(), name, micros, None);
            true
        }
        Err(error) if is_limit(&error) => false,
        Err(error) => {
            ctx.recorder
                .task(user.shard(), name, micros, Some(describe(&error)));
            false
        }
    }
}

fn is_limit(error: &anyhow::Error) -> bool {
    matches!(error.downcast_ref(), Some(RequestError::LimitReached))
}

/// The error as a failure-table line: its whole chain, without the URL of the request (ids
/// in URLs would split one kind of failure into many groups).
fn describe(error: &anyhow::Error) -> String {
    match error.downcast_ref::<RequestError>() {
        Some(RequestError::Transport {
            method, message, ..
        }) => format!("{method}: {message}"),
        Some(RequestError::Status {
            method,
            url,
            status,
            ..
        }) => {
            format!("{method} {}: HTTP {status}", url.path())
        }
        _ => error_chain(error.as_ref()),
    }
}

/// How long to wait after a task, for wait times without a schedule (pacing wait times keep
/// their schedule in `run_user_with`).
pub fn wait_after(wait: Option<WaitTime>, user: &mut User) -> Duration {
    match wait {
        None | Some(WaitTime::ConstantPacing(_) | WaitTime::ConstantThroughput(_)) => {
            Duration::ZERO
        }
        Some(WaitTime::Constant(wait)) => wait,
        Some(WaitTime::Between(min, max)) if max <= min => min,
        Some(WaitTime::Between(min, max)) => Duration::from_secs_f64(
            user.rng()
                .random_range(min.as_secs_f64()..=max.as_secs_f64()),
        ),
    }
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
