//! One trial from start to stop: spawn users on schedule, end at the duration, the request
//! limit or an interrupt, give users a grace period, cancel what remains, collect the stats.

use crate::report::Outcome;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::closed::{self, Target};
use super::plan::Launch;
use super::stall;
use super::{TrialPlan, open, shaped};
use crate::control::{Applied, Command, Commands, Envelope, Swarm};
use crate::events::{EventBus, RunEvent, Tick, TrialInfo};
use crate::http::session::ClientFactory;
use crate::report::Stall;
use crate::shape::{Constant, LoadShape};
use crate::stats::panic_message;
use crate::stats::{Collector, CutOff, Recorder, Shard, TimelinePoint};
use crate::threshold::{Thresholds, Verdict};
use crate::user::TrialContext;
use crate::user::fixture::FixtureStore;

/// What the trials of one process share.
#[derive(Debug, Clone)]
pub struct TrialEnv {
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
}

/// What a trial produced.
pub struct TrialResult {
    pub started_at: time::OffsetDateTime,
    /// The time the statistics cover: since the start, or since the last reset.
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
    /// When the statistics were last reset, in seconds after the start.
    pub stats_reset_at: Option<f64>,
    /// Why the trial counts as stalled, when it does.
    pub stall: Option<Stall>,
    /// The plan that ran: the one given, or the one a swarm command started.
    pub plan: Arc<TrialPlan>,
}

/// Runs one trial (the `index`th of the run) to its end.
pub async fn run_trial(plan: Arc<TrialPlan>, env: &TrialEnv, index: usize) -> TrialResult {
    let mut commands = match &env.commands {
        Some(commands) => Some(commands.lock().await),
        None => None,
    };
    let mut plan = plan;
    if !env.autostart
        && let Some(commands) = commands.as_deref_mut()
    {
        env.events.publish(RunEvent::TrialWaiting {
            index,
            name: plan.name.clone(),
        });
        match wait_for_start(commands, &plan, index, &env.interrupt).await {
            Some(started) => plan = started,
            None => return nothing_ran(plan),
        }
    }
    let started_at = time::OffsetDateTime::now_utc();
    let started = Instant::now();
    let profile = &plan.profile;
    let shards = 4 * std::thread::available_parallelism().map_or(1, |n| n.get());
    let recorder =
        Arc::new(Recorder::new(shards, profile.num_requests).with_max_names(profile.max_names));
    let ctx = Arc::new(TrialContext {
        recorder: recorder.clone(),
        fixtures: env.fixtures.clone(),
        clients: env.clients.with_client(profile.http),
        base: profile.host.as_deref().and_then(|host| host.parse().ok()),
        stop: env.interrupt.child_token(),
        kill: CancellationToken::new(),
        background: TaskTracker::new(),
        errors: std::sync::Mutex::default(),
    });
    let active = Arc::new(AtomicUsize::new(0));
    let model = model(&plan);
    let steerable = matches!(model, Model::Hatch);
    env.events
        .publish(RunEvent::TrialStarted(Arc::new(TrialInfo {
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
        })));
    let target = Target {
        users: profile.users,
        rate: profile.hatch_rate,
    };
    if steerable {
        env.events.publish(RunEvent::UsersChanged {
            target: target.users,
            rate: target.rate,
        });
    }

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
    let spawner = match model {
        Model::Hatch => tokio::spawn(closed::drive(launch, steered)),
        Model::Shaped(shape) => tokio::spawn(shaped::drive(launch, shape)),
        Model::Open(shape) => tokio::spawn(open::drive(launch, shape)),
    };
    let conductor = Conductor {
        plan: &plan,
        index,
        stop: &ctx.stop,
        steer: steerable.then_some(&steer),
        reset: &reset,
        events: &env.events,
    };
    let stopped = conductor
        .run(
            started.checked_add(profile.duration),
            commands.as_deref_mut(),
        )
        .await;
    let run_time = started.elapsed();
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
    let Collected {
        totals,
        timeline,
        aborted_by,
        elapsed,
        reset_at,
        silence,
    } = collector.await.expect("the collector task does not panic");
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
        stats_reset_at: reset_at,
        stall,
        plan,
    }
}

/// Requests (not tasks) cut off in flight when the grace period ran out.
fn in_flight_at_stop(totals: &Shard) -> u64 {
    let at_stop = CutOff::AtStop.message();
    totals
        .cancelled
        .iter()
        .filter(|(key, _)| key.kind != "task" && key.error == at_stop)
        .map(|(_, group)| group.occurrences)
        .sum()
}

/// The result of a trial interrupted before it started.
/// The result of a trial this shard has no part of: completed, with nothing measured.
pub fn idle(plan: Arc<TrialPlan>) -> TrialResult {
    TrialResult {
        outcome: Outcome::Completed,
        ..nothing_ran(plan)
    }
}

fn nothing_ran(plan: Arc<TrialPlan>) -> TrialResult {
    TrialResult {
        started_at: time::OffsetDateTime::now_utc(),
        elapsed: Duration::ZERO,
        totals: Shard::default(),
        timeline: Vec::new(),
        outcome: Outcome::Interrupted,
        aborted_by: None,
        dropped_iterations: 0,
        folded_requests: 0,
        errors: Vec::new(),
        stats_reset_at: None,
        stall: None,
        plan,
    }
}

/// Waits for a swarm command; the plan it starts, or `None` when interrupted first.
async fn wait_for_start(
    commands: &mut Commands,
    plan: &Arc<TrialPlan>,
    index: usize,
    interrupt: &CancellationToken,
) -> Option<Arc<TrialPlan>> {
    let host = || plan.profile.host.as_deref().map(crate::settings::redact_host);
    loop {
        let envelope = tokio::select! {
            envelope = next_command(Some(commands)) => envelope,
            _ = interrupt.cancelled() => return None,
        };
        if envelope.trial != index {
            envelope.reply(Err(ended_trial(&plan.name)));
            continue;
        }
        match envelope.command.clone() {
            Command::Swarm(swarm) if swarm.users == 0 && matches!(model(plan), Model::Hatch) => {
                envelope.reply(Err(
                    "a swarm of 0 users would measure nothing: start with a \
                     user count of at least 1"
                        .to_owned(),
                ));
            }
            Command::Swarm(swarm) => {
                let (started, message) = start_plan(plan, swarm);
                let host = started
                    .profile
                    .host
                    .as_deref()
                    .map(crate::settings::redact_host);
                envelope.reply(Ok(Applied::new(message, host)));
                return Some(started);
            }
            Command::Stop => envelope.reply(Ok(Applied::new(
                format!("no swarm is running; {} waits for a start", plan.name),
                host(),
            ))),
            Command::ResetStats => envelope.reply(Ok(Applied::new(
                format!("nothing to reset: {} has not started", plan.name),
                host(),
            ))),
        }
    }
}

/// The refusal of a command meant for a trial that has ended.
fn ended_trial(now: &str) -> String {
    format!("the trial that command was meant for has ended; {now} is the current one")
}

/// The plan a swarm command starts, and what to tell its sender.
fn start_plan(plan: &TrialPlan, swarm: Swarm) -> (Arc<TrialPlan>, String) {
    let mut started = plan.clone();
    let profile = &mut started.profile;
    if let Some(run_time) = swarm.run_time {
        profile.duration = run_time;
    }
    if let Some(host) = swarm.host {
        profile.host = Some(host.to_string());
    }
    let message = match model(plan) {
        Model::Hatch => {
            profile.users = swarm.users;
            profile.hatch_rate = swarm.rate;
            format!(
                "Swarming started: {} users at {}/s in {}",
                swarm.users, swarm.rate, plan.name
            )
        }
        Model::Shaped(_) | Model::Open(_) => format!(
            "Swarming started: {} follows its load shape or arrival rate; the user count and rate given were not used",
            plan.name
        ),
    };
    (Arc::new(started), message)
}

/// The next command whose sender still waits for the answer (one that gave up between two
/// trials is dropped, not applied late), or never when there is no web UI.
async fn next_command(commands: Option<&mut Commands>) -> Envelope {
    let Some(commands) = commands else {
        return std::future::pending().await;
    };
    loop {
        match commands.recv().await {
            Some(envelope) if envelope.is_stale() => continue,
            Some(envelope) => return envelope,
            None => return std::future::pending().await,
        }
    }
}

/// Holds a running trial until its end (the deadline, a stop) and applies the commands that
/// arrive meanwhile.
struct Conductor<'a> {
    plan: &'a TrialPlan,
    index: usize,
    stop: &'a CancellationToken,
    /// The closed model's target, when the trial can be steered.
    steer: Option<&'a watch::Sender<Target>>,
    reset: &'a Notify,
    events: &'a EventBus,
}

impl Conductor<'_> {
    /// Runs until the deadline (`None`: beyond what an `Instant` holds) or a stop; `true`
    /// when a stop command ended it.
    async fn run(
        &self,
        mut deadline: Option<Instant>,
        mut commands: Option<&mut Commands>,
    ) -> bool {
        loop {
            let envelope = tokio::select! {
                _ = sleep_until(deadline) => return false,
                _ = self.stop.cancelled() => return false,
                envelope = next_command(commands.as_deref_mut()) => envelope,
            };
            if envelope.trial != self.index {
                envelope.reply(Err(ended_trial(&self.plan.name)));
                continue;
            }
            let command = envelope.command.clone();
            match command {
                Command::Stop => {
                    envelope.reply(Ok(self.applied(format!("stopped {}", self.plan.name))));
                    self.stop.cancel();
                    return true;
                }
                Command::ResetStats => {
                    self.reset.notify_one();
                    envelope.reply(Ok(self.applied("statistics reset".to_owned())));
                }
                Command::Swarm(swarm) => {
                    let result = self.steer(&swarm);
                    if result.is_ok()
                        && let Some(run_time) = swarm.run_time
                    {
                        deadline = Instant::now().checked_add(run_time);
                    }
                    envelope.reply(result);
                }
            }
        }
    }

    fn applied(&self, message: String) -> Applied {
        let host = self.plan.profile.host.as_deref();
        Applied::new(message, host.map(crate::settings::redact_host))
    }

    fn steer(&self, swarm: &Swarm) -> Result<Applied, String> {
        let Some(steer) = self.steer else {
            return Err(format!(
                "{} follows its load shape or arrival rate; its user count cannot be changed while it runs",
                self.plan.name
            ));
        };
        if let Some(host) = &swarm.host
            && self
                .plan
                .profile
                .host
                .as_deref()
                .map(str::parse::<url::Url>)
                != Some(Ok(host.clone()))
        {
            return Err("the host can only be chosen when a swarm starts".to_owned());
        }
        steer.send_replace(Target {
            users: swarm.users,
            rate: swarm.rate,
        });
        self.events.publish(RunEvent::UsersChanged {
            target: swarm.users,
            rate: swarm.rate,
        });
        Ok(self.applied(format!(
            "Swarming: {} users at {}/s in {}",
            swarm.users, swarm.rate, self.plan.name
        )))
    }
}

/// Sleeps until `at`; forever when `None`.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
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

/// What the collector needs besides the statistics: the `abort_on_fail` thresholds it checks
/// after every tick, the stop it triggers, where ticks go, and the reset signal.
struct Watch {
    trial: usize,
    thresholds: Thresholds,
    stop: CancellationToken,
    events: Arc<EventBus>,
    reset: Arc<Notify>,
}

/// What the collector hands back at the end.
struct Collected {
    totals: Shard,
    timeline: Vec<TimelinePoint>,
    aborted_by: Option<Verdict>,
    /// The time the statistics cover.
    elapsed: Duration,
    reset_at: Option<f64>,
    /// How long no request had completed when collecting ended.
    silence: Duration,
}

async fn collect(
    mut collector: Collector,
    watch: Watch,
    mut finished: oneshot::Receiver<()>,
) -> Collected {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut aborted_by = None;
    let mut reset_at = None;
    // The end of the last tick in which a request completed: a stall's silence starts there.
    let mut progress = Instant::now();
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if publish_tick(&mut collector, &watch) {
                    progress = Instant::now();
                }
                if aborted_by.is_none()
                    && let Some(breach) =
                        watch.thresholds.abort_reason(collector.totals(), collector.elapsed())
                {
                    watch.events.publish(RunEvent::ThresholdBreached(breach.clone()));
                    aborted_by = Some(breach);
                    watch.stop.cancel();
                }
            }
            _ = watch.reset.notified() => {
                let at_s = collector.reset();
                reset_at = Some(at_s);
                watch.events.publish(RunEvent::StatsReset { at_s });
            }
            _ = &mut finished => break,
        }
    }
    // The last tick takes what is left, so every consumer's totals equal the report's.
    if publish_tick(&mut collector, &watch) {
        progress = Instant::now();
    }
    let elapsed = collector.elapsed();
    let (totals, timeline) = collector.into_totals();
    Collected {
        totals,
        timeline,
        aborted_by,
        elapsed,
        reset_at,
        silence: progress.elapsed(),
    }
}

/// Publishes a tick; whether any request completed in its interval.
fn publish_tick(collector: &mut Collector, watch: &Watch) -> bool {
    let interval = collector.tick();
    // The interval's request rate is its count over its length, rounded to 3 decimals: above
    // zero exactly when a request completed (ticks are a second apart, not 1000).
    let progressed = interval.point.rps > 0.0;
    let thresholds = if watch.thresholds.is_empty() {
        Vec::new()
    } else {
        watch
            .thresholds
            .evaluate(collector.totals(), collector.elapsed())
    };
    watch.events.publish(RunEvent::Tick(Arc::new(Tick {
        trial: watch.trial,
        snapshot: interval.snapshot,
        point: interval.point,
        interval: interval.stats,
        thresholds,
    })));
    progressed
}
