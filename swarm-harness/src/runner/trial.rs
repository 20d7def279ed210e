//! One trial from start to stop: spawn users on schedule, end at the duration, the request
//! limit or an interrupt, give users a grace period, cancel what remains, collect the stats.
//! While it runs, `command` applies what the web UI asks and `collect` gathers the figures.

mod collect;
mod command;

use crate::report::Outcome;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::closed::{self, Target};
use super::plan::Launch;
use super::stall;
use super::{TrialPlan, open, shaped};
use crate::control::Commands;
use crate::events::{Delivery, EventBus, RequestStream, RunEvent, TrialInfo};
use crate::http::session::ClientFactory;
use crate::report::Stall;
use crate::settings::LoadProfile;
use crate::shape::{Constant, LoadShape};
use crate::stats::panic_message;
use crate::stats::{Collector, CutOff, Recorder, Tally, TimelinePoint};
use crate::threshold::Verdict;
use crate::user::TrialContext;
use crate::user::fixture::FixtureStore;
use collect::{Collected, Watch, collect};
use command::{Conductor, wait_for_start};

/// What the trials of one process share.
#[derive(Debug, Clone)]
pub(crate) struct TrialEnv {
    pub fixtures: Arc<FixtureStore>,
    pub clients: ClientFactory,
    /// Cancelled by Ctrl-C: every trial stops as if its duration had run out.
    pub interrupt: CancellationToken,
    /// Where the trial's events go.
    pub events: Arc<EventBus>,
    /// Commands from the web UI and its API, taken by the trial that runs; `None` without it.
    pub commands: Option<Arc<tokio::sync::Mutex<Commands>>>,
    /// Whether a trial starts by itself, or waits for a swarm command (`PT_WEB_AUTOSTART`).
    pub autostart: bool,
    /// Where every request goes when a request sink asks (the request log, say); `None`
    /// when none does, and trials then have no tap.
    pub requests: Option<Arc<RequestStream>>,
}

/// What a trial produced.
pub(crate) struct TrialResult {
    pub started_at: time::OffsetDateTime,
    /// The time the statistics cover: since the start, or since the last reset.
    pub elapsed: Duration,
    pub totals: Tally,
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
    /// What makes the figures less than they seem without failing the trial (a task that
    /// blocked its thread, query strings left out of request names).
    pub warnings: Vec<String>,
    /// When the statistics were last reset, in seconds after the start.
    pub stats_reset_at: Option<f64>,
    /// Why the trial counts as stalled, when it does.
    pub stall: Option<Stall>,
    /// The plan that ran: the one given, or the one a swarm command started.
    pub plan: Arc<TrialPlan>,
}

/// Runs one trial (the `index`th of the run) to its end, taking the web UI's `commands`
/// for it (the run's own, or its share in a run group) when there is a web UI.
pub(crate) async fn run_trial(
    plan: Arc<TrialPlan>,
    env: &TrialEnv,
    index: usize,
    mut commands: Option<&mut Commands>,
) -> TrialResult {
    let plan = match await_start(plan, env, index, commands.as_deref_mut()).await {
        Ok(plan) => plan,
        Err(plan) => return nothing_ran(plan),
    };
    let started_at = time::OffsetDateTime::now_utc();
    let started = Instant::now();
    let profile = &plan.profile;
    let shards = 4 * std::thread::available_parallelism().map_or(1, |n| n.get());
    let recorder =
        Arc::new(Recorder::new(shards, profile.num_requests).with_max_names(profile.max_names));
    let active = Arc::new(AtomicUsize::new(0));
    let model = model(&plan);
    let steerable = matches!(model, Model::Hatch);
    let (target, info) = announce(&plan, env, index, steerable);
    let (ctx, delivery) = trial_context(env, profile, recorder.clone(), &info);

    let (finished, finished_rx) = oneshot::channel();
    let reset = Arc::new(Notify::new());
    let collector = tokio::spawn(collect(
        Collector::new(recorder, active.clone(), started),
        Watch {
            trial: index,
            thresholds: plan.thresholds.clone(),
            stop: ctx.stop.clone(),
            events: env.events.clone(),
            reset: reset.clone(),
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
    let (steer, steered) = watch::channel(target);
    let spawner = spawn_users(model, launch, steered);
    let conductor = Conductor {
        plan: &plan,
        index,
        stop: &ctx.stop,
        steer: steerable.then_some(&steer),
        reset: &reset,
        events: &env.events,
    };
    // A custom shape ends the trial itself (`None` from its tick), unless a duration was given.
    let runs_until_shape_ends =
        plan.shape.is_some() && profile.stages.is_none() && !profile.duration_set;
    let deadline = match runs_until_shape_ends {
        true => None,
        false => started.checked_add(profile.duration),
    };
    let stopped = conductor.run(deadline, commands).await;
    let run_time = started.elapsed();
    wind_down(&plan, &ctx, spawner, &users).await;
    // Every user has ended: what they recorded reaches the request sinks before the report.
    let delivered = delivery.finish(ctx.requests.as_ref()).await;

    let _ = finished.send(());
    let collected = collector.await.expect("the collector task does not panic");
    let mut result = result(plan, env, &ctx, started_at, run_time, stopped, collected);
    result.warnings.extend(delivered);
    result
}

/// The plan to run: the one given, or, when the trial waits for a swarm command
/// (`PT_WEB_AUTOSTART=false`), the one it starts; `Err` when it was interrupted first.
async fn await_start(
    plan: Arc<TrialPlan>,
    env: &TrialEnv,
    index: usize,
    commands: Option<&mut Commands>,
) -> Result<Arc<TrialPlan>, Arc<TrialPlan>> {
    let Some(commands) = commands.filter(|_| !env.autostart) else {
        return Ok(plan);
    };
    env.events.publish(RunEvent::TrialWaiting {
        index,
        name: plan.name.clone(),
    });
    let started = wait_for_start(commands, &plan, index, &env.interrupt).await;
    started.ok_or(plan)
}

/// Starts the users as the model says, in a task of their own (the spawner).
fn spawn_users(model: Model, launch: Launch, steered: watch::Receiver<Target>) -> JoinHandle<()> {
    match model {
        Model::Hatch => tokio::spawn(closed::drive(launch, steered)),
        Model::Shaped(shape) => tokio::spawn(shaped::drive(launch, shape)),
        Model::Open(shape) => tokio::spawn(open::drive(launch, shape)),
    }
}

/// The context every user of the trial shares: its statistics, fixtures, client, target, the
/// tokens that stop and kill it, and its request tap when a request sink asks (with the
/// delivery that drains it).
fn trial_context(
    env: &TrialEnv,
    profile: &LoadProfile,
    recorder: Arc<Recorder>,
    info: &TrialInfo,
) -> (Arc<TrialContext>, Delivery) {
    let (requests, delivery) = match &env.requests {
        Some(stream) => stream.open(info),
        None => (None, Delivery::default()),
    };
    let ctx = Arc::new(TrialContext {
        recorder,
        fixtures: env.fixtures.clone(),
        clients: env.clients.with_client(profile.http),
        base: profile.host.as_deref().and_then(|host| host.parse().ok()),
        stop: env.interrupt.child_token(),
        kill: CancellationToken::new(),
        background: TaskTracker::new(),
        errors: std::sync::Mutex::default(),
        blocked: Default::default(),
        query_dropped: Default::default(),
        feeds: Default::default(),
        requests,
    });
    (ctx, delivery)
}

/// Tells the run the trial started (and its user target, when it can be steered); the closed
/// model's first target, and the trial as announced.
fn announce(
    plan: &TrialPlan,
    env: &TrialEnv,
    index: usize,
    steerable: bool,
) -> (Target, Arc<TrialInfo>) {
    let profile = &plan.profile;
    let info = Arc::new(TrialInfo {
        index,
        name: plan.name.clone(),
        description: profile.describe(plan.shape.is_some()),
        host: profile.host.as_deref().map(crate::settings::redact_host),
        duration_s: profile.duration.as_secs_f64(),
        steerable,
        thresholds: plan
            .thresholds
            .0
            .iter()
            .map(|t| t.expression.clone())
            .collect(),
        max_names: profile.max_names,
    });
    env.events.publish(RunEvent::TrialStarted(info.clone()));
    let target = Target {
        users: profile.users,
        rate: profile.hatch_rate,
    };
    if steerable {
        env.events.publish(RunEvent::UsersChanged {
            trial: index,
            target: target.users,
            rate: target.rate,
        });
    }
    (target, info)
}

/// Ends the trial's tasks: the spawner stops, users get the grace period, then what remains
/// (users, background tasks) is cancelled and waited for.
async fn wind_down(
    plan: &TrialPlan,
    ctx: &TrialContext,
    spawner: JoinHandle<()>,
    users: &TaskTracker,
) {
    let profile = &plan.profile;
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
}

/// What the trial produced, once every task of it has ended and the collector handed back
/// its figures: the outcome, the stall if any, the runner's errors.
fn result(
    plan: Arc<TrialPlan>,
    env: &TrialEnv,
    ctx: &TrialContext,
    started_at: time::OffsetDateTime,
    run_time: Duration,
    stopped: bool,
    collected: Collected,
) -> TrialResult {
    let profile = &plan.profile;
    let Collected {
        totals,
        timeline,
        aborted_by,
        elapsed,
        reset_at,
        silence,
    } = collected;
    let stall = stall::judge(
        stall::Ending {
            in_flight: in_flight_at_stop(&totals),
            oldest: ctx.recorder.oldest_cut_off(),
            silence,
            run_time,
            grace: profile.stop_timeout,
            slowest_us: totals.request_total().max_micros,
        },
        profile.stall_timeout,
    );
    let outcome = if env.interrupt.is_cancelled() {
        Outcome::Interrupted
    } else if aborted_by.is_some() {
        Outcome::Aborted
    } else if stall.is_some() {
        Outcome::Stalled
    } else if ctx.recorder.limit_reached() {
        Outcome::RequestLimit
    } else if stopped {
        Outcome::Stopped
    } else {
        Outcome::Completed
    };
    let errors = std::mem::take(
        &mut *ctx
            .errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let mut warnings = ctx.blocked.warnings();
    warnings.extend(ctx.feeds.warnings());
    if ctx.query_dropped.load(std::sync::atomic::Ordering::Relaxed) {
        warnings.push(
            "requests with a query string and no .name() were recorded under their path alone \
             (GET /search?q=x as /search); give .name(\"/search?q={q}\") to keep it apart"
                .to_owned(),
        );
    }
    TrialResult {
        started_at,
        elapsed,
        totals,
        timeline,
        outcome,
        aborted_by,
        dropped_iterations: ctx.recorder.dropped(),
        folded_requests: ctx.recorder.folded(),
        errors,
        warnings,
        stats_reset_at: reset_at,
        stall,
        plan,
    }
}

/// Requests (not tasks) cut off in flight when the grace period ran out.
fn in_flight_at_stop(totals: &Tally) -> u64 {
    let at_stop = CutOff::AtStop.message();
    totals
        .cancelled
        .iter()
        .filter(|(key, _)| key.kind != "task" && key.error == at_stop)
        .map(|(_, group)| group.occurrences)
        .sum()
}

/// The result of a trial this shard has no part of: completed, with nothing measured.
pub(crate) fn idle(plan: Arc<TrialPlan>) -> TrialResult {
    TrialResult {
        outcome: Outcome::Completed,
        ..nothing_ran(plan)
    }
}

/// The result of a trial interrupted before it started.
fn nothing_ran(plan: Arc<TrialPlan>) -> TrialResult {
    TrialResult {
        started_at: time::OffsetDateTime::now_utc(),
        elapsed: Duration::ZERO,
        totals: Tally::default(),
        timeline: Vec::new(),
        outcome: Outcome::Interrupted,
        aborted_by: None,
        dropped_iterations: 0,
        folded_requests: 0,
        errors: Vec::new(),
        warnings: Vec::new(),
        stats_reset_at: None,
        stall: None,
        plan,
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
    // A shard runs its slice of the shape; the fixed rate is sliced in the profile already.
    let open = profile.arrival_rate.is_some();
    let shape = match (shape, plan.shard) {
        (Some(inner), Some(shard)) => {
            Some(Box::new(crate::shard::Sliced { inner, shard, open }) as Box<dyn LoadShape>)
        }
        (shape, _) => shape,
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
