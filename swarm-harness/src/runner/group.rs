//! A run group: its trials at the same time, each with its own plan, load model, recorder,
//! thresholds and report, then the group's run-level report. The web UI's commands are
//! routed to the trial they name (`Envelope::trial`), so each can still be steered.

use std::sync::Arc;

use futures_util::future::join_all;
use libtest_mimic::Failed;

use super::{RunEnv, TrialPlan, TrialResult, idle, run_trial};
use crate::control::{self, Commands, Controller};
use crate::events::RunEvent;
use crate::report::GroupReport;
use crate::scenario::trials::TrialSpec;
use crate::settings::LoadProfile;

/// One trial of the group, planned.
struct Member {
    plan: Arc<TrialPlan>,
    whole: LoadProfile,
    idle: Option<String>,
    index: usize,
}

impl RunEnv {
    /// Runs the group `name`'s trials (each with its position in the run) at once; fails
    /// when any of them does, naming each that did.
    pub(crate) fn run_group(
        &self,
        name: &str,
        trials: Vec<(TrialSpec, usize)>,
    ) -> Result<(), Failed> {
        if self.env.interrupt.is_cancelled() {
            return Err("interrupted before this run group started".into());
        }
        let members: Vec<Member> = trials
            .into_iter()
            .map(|(spec, index)| {
                let (plan, whole, idle) = self.plan(spec, |_| {});
                Member {
                    plan,
                    whole,
                    idle,
                    index,
                }
            })
            .collect();
        let results = self.runtime.block_on(self.run_members(&members));
        let mut reports = Vec::new();
        let mut failed = Vec::new();
        for (member, result) in members.iter().zip(results) {
            let trial = member.plan.name.clone();
            let (verdict, report) = self.conclude_member(result, member);
            if let Err(why) = verdict {
                let why = why.message().unwrap_or("failed").to_owned();
                failed.push(format!("{trial}: {why}"));
            }
            reports.extend(report);
        }
        let group = GroupReport::build(name, &reports.iter().map(|r| &**r).collect::<Vec<_>>());
        let errors = self.env.events.publish(RunEvent::GroupEnded {
            report: Arc::new(group),
        });
        failed.extend(errors);
        match failed.is_empty() {
            true => Ok(()),
            false => Err(failed.join("\n").into()),
        }
    }

    /// Every member run to its end, the web UI's commands routed to each.
    async fn run_members(&self, members: &[Member]) -> Vec<TrialResult> {
        let mut commands = match &self.env.commands {
            Some(commands) => Some(commands.lock().await),
            None => None,
        };
        let mut routes: Vec<(usize, Controller)> = Vec::new();
        let mut receivers: Vec<Option<Commands>> = Vec::new();
        for member in members {
            match commands.is_some() {
                true => {
                    let (controller, receiver) = control::channel();
                    routes.push((member.index, controller));
                    receivers.push(Some(receiver));
                }
                false => receivers.push(None),
            }
        }
        let runs = members
            .iter()
            .zip(receivers)
            .map(|(member, mut receiver)| async move {
                match &member.idle {
                    Some(_) => idle(member.plan.clone()),
                    None => {
                        run_trial(
                            member.plan.clone(),
                            &self.env,
                            member.index,
                            receiver.as_mut(),
                        )
                        .await
                    }
                }
            });
        let all = join_all(runs);
        match commands.as_deref_mut() {
            None => all.await,
            Some(commands) => {
                tokio::select! {
                    results = all => results,
                    () = route(commands, &routes) => unreachable!("the router runs until the trials end"),
                }
            }
        }
    }

    /// A member's report built, judged and published (`TrialEnded`, files); its verdict and,
    /// for the group's report, the report.
    fn conclude_member(
        &self,
        result: TrialResult,
        member: &Member,
    ) -> (Result<(), Failed>, Option<Arc<crate::report::Report>>) {
        let mut seen = None;
        let idle = member.idle.clone();
        let verdict = self.conclude_with(result, member.index, &member.whole, idle, |report| {
            seen = Some(report.clone());
        });
        (verdict, seen)
    }
}

/// Hands each command to the trial it names; one for a trial not in the group (ended, or a
/// page that saw another) is refused with that said. Runs until its caller drops it.
async fn route(commands: &mut Commands, routes: &[(usize, Controller)]) {
    const REFUSAL: &str =
        "that trial is not running in this run group (it ended, or the page is out of date)";
    loop {
        let Some(envelope) = commands.recv().await else {
            // The web UI has gone: nothing more to route.
            return std::future::pending().await;
        };
        match routes.iter().find(|(index, _)| *index == envelope.trial) {
            Some((_, controller)) => controller.forward(envelope, REFUSAL),
            None => envelope.reply(Err(REFUSAL.to_owned())),
        }
    }
}
