//! One trial from start to stop: spawn users on schedule, end at the duration, the request
//! limit or an interrupt, give users a grace period, cancel what remains, collect the stats.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::plan::Launch;
use super::user_loop::{panic_message, run_user, supervised};
use super::{TrialPlan, open, shaped, spawn_offsets};
use crate::fixture::FixtureStore;
use crate::progress::Progress;
use crate::session::ClientFactory;
use crate::shape::{Constant, LoadShape};
use crate::stats::{Collector, Recorder, Shard, TimelinePoint};
use crate::threshold::{Thresholds, Verdict};
use crate::user::TrialContext;

/// What the trials of one process share.
#[derive(Debug, Clone)]
pub struct TrialEnv {
    pub fixtures: Arc<FixtureStore>,
    pub clients: ClientFactory,
    /// Cancelled by Ctrl-C: every trial stops as if its duration had run out.
    pub interrupt: CancellationToken,
    /// Live progress as a bar (terminal) rather than periodic lines (CI logs).
    pub interactive: bool,
}

/// Why a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It ran for its whole duration.
    Completed,
    /// It reached `PT_NUM_REQUESTS`.
    RequestLimit,
    /// It was interrupted (Ctrl-C) before its end.
    Interrupted,
    /// An `abort_on_fail` threshold was breached.
    Aborted,
}

/// What a trial produced.
pub struct TrialResult {
    pub started_at: time::OffsetDateTime,
    pub elapsed: Duration,
    pub totals: Shard,
    pub timeline: Vec<TimelinePoint>,
    pub outcome: Outcome,
    /// The breached `abort_on_fail` threshold, when the trial was aborted.
    pub aborted_by: Option<Verdict>,
    /// Open model: iterations due while no user was free.
    pub dropped_iterations: u64,
    /// Requests recorded under the folded name because of `PT_MAX_NAMES`.
    pub folded_requests: u64,
    /// Problems of the runner itself (a panicking load shape, say): each fails the trial.
    pub errors: Vec<String>,
}

/// Runs one trial to its end.
pub async fn run_trial(plan: Arc<TrialPlan>, env: &TrialEnv) -> TrialResult {
    let started_at = time::OffsetDateTime::now_utc();
    let started = Instant::now();
    let profile = &plan.profile;
    let shards = 4 * std::thread::available_parallelism().map_or(1, |n| n.get());
    let recorder =
        Arc::new(Recorder::new(shards, profile.num_requests).with_max_names(profile.max_names));
    let ctx = Arc::new(TrialContext {
        recorder: recorder.clone(),
        fixtures: env.fixtures.clone(),
        clients: env.clients.clone(),
        base: profile.host.as_deref().and_then(|host| host.parse().ok()),
        stop: env.interrupt.child_token(),
        kill: CancellationToken::new(),
        background: TaskTracker::new(),
        errors: std::sync::Mutex::default(),
    });
    let active = Arc::new(AtomicUsize::new(0));

    let (finished, finished_rx) = oneshot::channel();
    let progress = Progress::new(&plan.name, profile.duration, env.interactive);
    let collector = tokio::spawn(collect(
        Collector::new(recorder, active.clone(), started),
        progress,
        Watch {
            thresholds: plan.thresholds.clone(),
            stop: ctx.stop.clone(),
        },
        finished_rx,
    ));

    let users = TaskTracker::new();
    let launch = Launch {
        plan: plan.clone(),
        ctx: ctx.clone(),
        active,
        users: users.clone(),
        started,
    };
    let spawner = match model(&plan) {
        Model::Hatch => tokio::spawn(spawn_users(launch)),
        Model::Shaped(shape) => tokio::spawn(shaped::drive(launch, shape)),
        Model::Open(shape) => tokio::spawn(open::drive(launch, shape)),
    };
    tokio::select! {
        _ = tokio::time::sleep(profile.duration) => {}
        _ = ctx.stop.cancelled() => {}
    }
    ctx.stop.cancel();
    if let Err(error) = spawner.await
        && error.is_panic()
    {
        ctx.error(format!(
            "starting users failed: the spawner {}",
            panic_message(&*error.into_panic())
        ));
    }
    users.close();
    if tokio::time::timeout(profile.stop_timeout, users.wait())
        .await
        .is_err()
    {
        log::info!(
            "{}: users still busy after the grace period are cancelled",
            plan.name
        );
    }
    ctx.kill.cancel();
    users.wait().await;
    ctx.background.close();
    ctx.background.wait().await;

    let _ = finished.send(());
    let (totals, timeline, aborted_by) =
        collector.await.expect("the collector task does not panic");
    let outcome = if env.interrupt.is_cancelled() {
        Outcome::Interrupted
    } else if aborted_by.is_some() {
        Outcome::Aborted
    } else if ctx.recorder.limit_reached() {
        Outcome::RequestLimit
    } else {
        Outcome::Completed
    };
    let errors = std::mem::take(
        &mut *ctx
            .errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    TrialResult {
        started_at,
        elapsed: started.elapsed(),
        totals,
        timeline,
        outcome,
        aborted_by,
        dropped_iterations: ctx.recorder.dropped(),
        folded_requests: ctx.recorder.folded(),
        errors,
    }
}

/// How users are started.
enum Model {
    /// Closed model: `users` users at the hatch rate.
    Hatch,
    /// Closed model: as many users as the shape says.
    Shaped(Box<dyn LoadShape>),
    /// Open model: iterations at the rate the shape says.
    Open(Box<dyn LoadShape>),
}

fn model(plan: &TrialPlan) -> Model {
    let profile = &plan.profile;
    let shape: Option<Box<dyn LoadShape>> = match (&profile.stages, plan.shape) {
        (Some(stages), _) => Some(Box::new(stages.clone())),
        (None, Some(make)) => Some(make()),
        (None, None) => None,
    };
    match (profile.arrival_rate, shape) {
        (Some(_), Some(shape)) => Model::Open(shape),
        (Some(rate), None) => Model::Open(Box::new(Constant {
            target: rate,
            duration: profile.duration,
        })),
        (None, Some(shape)) => Model::Shaped(shape),
        (None, None) => Model::Hatch,
    }
}

async fn spawn_users(launch: Launch) {
    let Launch {
        plan,
        ctx,
        active,
        users,
        started,
    } = launch;
    let profile = &plan.profile;
    for (id, offset) in spawn_offsets(profile.users, profile.hatch_rate).enumerate() {
        let Some(at) = started.checked_add(offset) else {
            return;
        };
        tokio::select! {
            _ = tokio::time::sleep_until(at.into()) => {}
            _ = ctx.stop.cancelled() => return,
        }
        users.spawn(supervised(
            ctx.clone(),
            run_user(id, plan.clone(), ctx.clone(), active.clone()),
        ));
    }
}

/// The `abort_on_fail` thresholds the collector checks after every tick.
struct Watch {
    thresholds: Thresholds,
    stop: CancellationToken,
}

async fn collect(
    mut collector: Collector,
    mut progress: Progress,
    watch: Watch,
    mut finished: oneshot::Receiver<()>,
) -> (Shard, Vec<TimelinePoint>, Option<Verdict>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut aborted_by = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                progress.update(&collector.tick());
                if aborted_by.is_none()
                    && let Some(breach) =
                        watch.thresholds.abort_reason(collector.totals(), collector.elapsed())
                {
                    aborted_by = Some(breach);
                    watch.stop.cancel();
                }
            }
            _ = &mut finished => break,
        }
    }
    progress.finish();
    let (totals, timeline) = collector.finish();
    (totals, timeline, aborted_by)
}
