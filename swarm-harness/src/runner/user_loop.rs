//! The life of one user: `on_start`, then pick a task by weight, run it, wait; `on_stop`.

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
struct ActiveGuard(Arc<AtomicUsize>);

impl ActiveGuard {
    fn new(active: Arc<AtomicUsize>) -> Self {
        active.fetch_add(1, Ordering::Relaxed);
        ActiveGuard(active)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs one user until the trial stops.
pub async fn run_user(
    id: usize,
    plan: Arc<TrialPlan>,
    ctx: Arc<TrialContext>,
    active: Arc<AtomicUsize>,
) {
    let _active = ActiveGuard::new(active);
    let seed = plan.profile.seed.map(|seed| seed_for(seed, &plan.name, id));
    let mut user = User::new(id, ctx.clone(), seed);
    if let Some(hook) = plan.on_start
        && !run_hook(&mut user, &ctx, hook, "on_start").await
    {
        // A user whose start failed (a login, say) would only produce noise; its failure is
        // recorded and it leaves the swarm.
        return;
    }
    let weights = WeightedIndex::new(plan.tasks.iter().map(|task| task.weight))
        .expect("trials have at least one task, each with a weight of at least 1");
    while !ctx.stop.is_cancelled() {
        let task = &plan.tasks[weights.sample(user.rng())];
        let started = Instant::now();
        let result = tokio::select! {
            result = task.run(&mut user) => result,
            _ = ctx.kill.cancelled() => return,
        };
        let task_time = started.elapsed();
        match result {
            Ok(()) => ctx
                .recorder
                .task(user.shard(), &task.name, elapsed_micros(started), None),
            Err(error) if is_limit(&error) => break,
            Err(error) => ctx.recorder.task(
                user.shard(),
                &task.name,
                elapsed_micros(started),
                Some(describe(&error)),
            ),
        }
        let wait = wait_after(plan.profile.wait, task_time, &mut user);
        if wait.is_zero() {
            // A task that never awaits must not starve the timers that end the trial.
            tokio::task::yield_now().await;
        } else {
            user.wait_or_stop(wait).await;
        }
    }
    if let Some(hook) = plan.on_stop {
        run_hook(&mut user, &ctx, hook, "on_stop").await;
    }
}

/// Runs a hook, recorded as a task of its own name; `false` when it failed or was cut short.
async fn run_hook(user: &mut User, ctx: &TrialContext, hook: HookFn, name: &str) -> bool {
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

/// How long to wait after a task that took `task_time`.
pub fn wait_after(wait: Option<WaitTime>, task_time: Duration, user: &mut User) -> Duration {
    match wait {
        None => Duration::ZERO,
        Some(WaitTime::Constant(wait)) => wait,
        Some(WaitTime::Between(min, max)) => {
            if max <= min {
                min
            } else {
                Duration::from_secs_f64(
                    user.rng()
                        .random_range(min.as_secs_f64()..=max.as_secs_f64()),
                )
            }
        }
        Some(pacing @ (WaitTime::ConstantPacing(_) | WaitTime::ConstantThroughput(_))) => pacing
            .pacing()
            .expect("pacing wait times have an interval")
            .saturating_sub(task_time),
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
