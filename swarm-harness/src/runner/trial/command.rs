//! The commands of the web UI and its API to a trial: waiting for the swarm command that starts
//! it (without `PT_WEB_AUTOSTART`), then, while it runs, stop, reset and steering, until its
//! deadline or a stop.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::{Model, model};
use crate::control::{Applied, Command, Commands, Envelope, Swarm};
use crate::events::{EventBus, RunEvent};
use crate::runner::TrialPlan;
use crate::runner::closed::Target;

/// Waits for a swarm command; the plan it starts, or `None` when interrupted first.
pub(super) async fn wait_for_start(
    commands: &mut Commands,
    plan: &Arc<TrialPlan>,
    index: usize,
    interrupt: &CancellationToken,
) -> Option<Arc<TrialPlan>> {
    let host = || {
        plan.profile
            .host
            .as_deref()
            .map(crate::settings::redact_host)
    };
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
pub(super) struct Conductor<'a> {
    pub(super) plan: &'a TrialPlan,
    pub(super) index: usize,
    pub(super) stop: &'a CancellationToken,
    /// The closed model's target, when the trial can be steered.
    pub(super) steer: Option<&'a watch::Sender<Target>>,
    pub(super) reset: &'a Notify,
    pub(super) events: &'a EventBus,
}

impl Conductor<'_> {
    /// Runs until the deadline (`None`: beyond what an `Instant` holds) or a stop; `true`
    /// when a stop command ended it.
    pub(super) async fn run(
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
            trial: self.index,
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
