//! The run's composition root (`RunEnv`): what the libtest mode, the Locust worker and HAR
//! replay hang a run on, so that none of them imports the command line.

use std::path::PathBuf;
use std::sync::Arc;

use libtest_mimic::Failed;

use super::{TrialEnv, TrialPlan};
use crate::events::RunEvent;
use crate::report::{self, Report, TrialIdentity};
use crate::runner;
use crate::scenario::trials::TrialSpec;
use crate::settings::{LoadProfile, Overrides};
use crate::user::target::Finish;
use crate::user::{TrialContext, User};

/// The run's composition root, one per process: the runtime, what every trial shares
/// (`TrialEnv`: fixtures, clients, events, control), the settings, the target and where the
/// reports go. The libtest mode, the Locust worker and HAR replay all run trials through it.
pub(crate) struct RunEnv {
    pub(crate) runtime: Arc<tokio::runtime::Runtime>,
    pub(crate) env: TrialEnv,
    pub(crate) overrides: Overrides,
    pub(crate) host: Option<String>,
    pub(crate) report_dir: PathBuf,
    /// Trials that ran (and wrote reports).
    pub(crate) trials_run: std::sync::atomic::AtomicUsize,
    /// What every report of this run carries (`PT_RUN_ID`, `NEXTEST_RUN_ID`).
    pub(crate) run_id: String,
}

impl RunEnv {
    pub(crate) fn run_trial(&self, spec: TrialSpec, index: usize) -> Result<(), Failed> {
        if self.env.interrupt.is_cancelled() {
            return Err("interrupted before this trial started".into());
        }
        let (plan, whole, idle) = self.plan(spec, |_| {});
        let result = match &idle {
            Some(_) => runner::idle(plan),
            None => self.runtime.block_on(async {
                let mut commands = match &self.env.commands {
                    Some(commands) => Some(commands.lock().await),
                    None => None,
                };
                runner::run_trial(plan, &self.env, index, commands.as_deref_mut()).await
            }),
        };
        self.conclude(result, index, &whole, idle)
    }

    /// The plan of a trial, with its whole profile (before this shard's slice) and, when this
    /// shard has no part of it, why. `adjust` changes the resolved profile first (a Locust
    /// master's user count).
    pub(crate) fn plan(
        &self,
        spec: TrialSpec,
        adjust: impl FnOnce(&mut LoadProfile),
    ) -> (Arc<TrialPlan>, LoadProfile, Option<String>) {
        let mut whole = LoadProfile::resolve(&spec.load, &self.overrides, self.host.as_deref());
        adjust(&mut whole);
        let shard = self.overrides.shard;
        let profile = match shard {
            Some(shard) => whole.slice(shard),
            None => whole.clone(),
        };
        let idle = shard.and_then(|shard| whole.idle_reason(&profile, shard, spec.shape.is_some()));
        let plan = Arc::new(TrialPlan {
            name: spec.name.clone(),
            scenario: spec.scenario.clone(),
            param: spec.param,
            classes: resolved_classes(spec.classes, &profile),
            thresholds: self
                .overrides
                .thresholds
                .clone()
                .map_or(spec.thresholds, crate::threshold::Thresholds),
            shape: spec.shape,
            shape_name: spec.shape_name,
            profile,
            shard,
        });
        (plan, whole, idle)
    }

    /// The report of a trial that ran, not yet judged.
    fn report_of(&self, result: &mut runner::TrialResult, whole: &LoadProfile) -> Report {
        let shard = self.overrides.shard;
        let plan = result.plan.clone();
        // A shard's report holds the whole trial's settings: what its shards share.
        let profile = if shard.is_some() {
            whole
        } else {
            &plan.profile
        };
        let mut report = Report::build(report::BuildInput {
            identity: TrialIdentity {
                trial: plan.name.clone(),
                scenario: plan.scenario.clone(),
                param: plan.param.map(str::to_owned),
            },
            config: config(&plan, profile),
            started_at: result
                .started_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            elapsed_s: result.elapsed.as_secs_f64(),
            outcome: result.outcome,
            dropped_iterations: result.dropped_iterations,
            folded_requests: result.folded_requests,
            max_names: plan.profile.max_names,
            errors: std::mem::take(&mut result.errors),
            totals: &result.totals,
            timeline: std::mem::take(&mut result.timeline),
        });
        report.run_id = Some(self.run_id.clone());
        report.shard = shard.map(crate::shard::ShardSet::of);
        report.stall = result.stall.take();
        report.warnings.extend(std::mem::take(&mut result.warnings));
        if let Some(at) = result.stats_reset_at {
            report.warnings.push(format!(
                "the statistics were reset {at:.1}s into the trial (web UI or /stats/reset): \
                 the figures cover the {:.1}s since",
                result.elapsed.as_secs_f64()
            ));
        }
        report
    }

    /// Builds, judges and publishes the report of a trial that ran; its verdict.
    pub(crate) fn conclude(
        &self,
        result: runner::TrialResult,
        index: usize,
        whole: &LoadProfile,
        idle: Option<String>,
    ) -> Result<(), Failed> {
        self.conclude_with(result, index, whole, idle, |_| {})
    }

    /// Like [`RunEnv::conclude`], showing `seen` the judged report before it is published.
    pub(crate) fn conclude_with(
        &self,
        mut result: runner::TrialResult,
        index: usize,
        whole: &LoadProfile,
        idle: Option<String>,
        seen: impl FnOnce(&Arc<Report>),
    ) -> Result<(), Failed> {
        let plan = result.plan.clone();
        let mut report = self.report_of(&mut result, whole);
        report.thresholds = plan.thresholds.evaluate(&result.totals, result.elapsed);
        report::judge(
            &mut report,
            !plan.thresholds.is_empty(),
            result.aborted_by.as_ref(),
        );
        if let Some(reason) = idle {
            // Nothing was asked of this shard: it passes, and says so; the merge judges.
            report.thresholds.clear();
            report.passed = true;
            report.verdict = None;
            report.warnings.push(reason);
        }
        let verdict = report.verdict.clone();
        let trial = report.identity.trial.clone();
        let report = Arc::new(report);
        seen(&report);
        let errors = self
            .env
            .events
            .publish(RunEvent::TrialEnded { index, report });
        self.trials_run
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !errors.is_empty() {
            return Err(errors.join("; ").into());
        }
        self.env.events.publish(RunEvent::ReportWritten {
            path: self
                .report_dir
                .join(format!("{}.json", report::file_stem(&trial))),
        });
        match verdict {
            None => Ok(()),
            Some(verdict) => Err(verdict.into()),
        }
    }

    /// After the last trial: fixtures torn down, the `on_finish` hooks (an `on_finish_app`
    /// error fails the run), the app dropped, the run's index page and JUnit file.
    pub(crate) fn finish_run(&self, finish: Finish) -> Result<(), String> {
        self.teardown_fixtures();
        if let Some(text) = finish.plain.and_then(|finish| finish()) {
            self.env.events.publish(RunEvent::Note(text));
        }
        let mut failures = Vec::new();
        let app = self.env.fixtures.app.take();
        if let (Some(hook), Some(app)) = (finish.app, app.clone()) {
            match self.runtime.block_on((hook.run)(app)) {
                Ok(Some(text)) => {
                    self.env.events.publish(RunEvent::Note(text));
                }
                Ok(None) => {}
                Err(error) => failures.push(format!("on_finish_app: {error:#}")),
            }
        }
        // The app's teardown is its drop, inside the runtime its tasks run on, after the
        // fixtures that may hold it.
        {
            let _inside = self.runtime.enter();
            self.env.fixtures.clear();
            drop(app);
        }
        let ran = self.trials_run.load(std::sync::atomic::Ordering::Relaxed) > 0;
        failures.extend(self.env.events.publish(RunEvent::RunFinished {
            report_dir: ran.then(|| self.report_dir.clone()),
        }));
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }

    fn teardown_fixtures(&self) {
        let fixtures = self.env.fixtures.clone();
        let errors = self
            .runtime
            .block_on(fixtures.teardown_all(|base, clients| {
                let ctx = TrialContext::detached(base, clients, fixtures.clone());
                User::new(usize::MAX, ctx, None)
            }));
        for error in errors {
            eprintln!("warning: {error}");
        }
    }
}

/// The classes with their wait times resolved: a class of its own has the trial's (attribute
/// < environment < flag); in a trial of several classes each keeps its own, unless the
/// environment or a flag set one for the trial.
fn resolved_classes(
    classes: Vec<crate::scenario::trials::ClassSpec>,
    profile: &LoadProfile,
) -> Vec<crate::scenario::trials::ClassSpec> {
    classes
        .into_iter()
        .map(|mut class| {
            class.wait = profile.wait.or(class.wait);
            class
        })
        .collect()
}

/// The report's `config`: the resolved profile, less what the trial did not use. Under a
/// load shape (stages or custom), the users and hatch rate are the shape's, not settings
/// (`null`); a custom shape is named, and its duration is `null` when it ran until the shape
/// ended.
fn config(plan: &TrialPlan, profile: &LoadProfile) -> serde_json::Value {
    let mut config = serde_json::to_value(profile).expect("profiles serialize");
    let shaped = plan.shape.is_some() || profile.stages.is_some();
    if let (true, Some(fields)) = (shaped, config.as_object_mut()) {
        for unused in ["users", "hatch_rate"] {
            fields.insert(unused.to_owned(), serde_json::Value::Null);
        }
        if profile.stages.is_none() && plan.shape.is_some() {
            let name = plan.shape_name.unwrap_or("custom");
            fields.insert("shape".to_owned(), serde_json::Value::from(name));
            if !profile.duration_set {
                fields.insert("duration".to_owned(), serde_json::Value::Null);
            }
        }
    }
    config
}
