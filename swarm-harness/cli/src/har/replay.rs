//! `swarm har replay`: a recording run as a load test without generating code. The plan is a
//! run fixture of the replaying process; each user keeps its captured values in its state,
//! logs in once (`on_start`), repeats the task steps and logs out once (`on_stop`), exactly
//! as the generated scenario does.
//!
//! Credentials: replay runs the recording the user holds, so each credential is the value of
//! its `HAR_*` variable when that is set and the recorded one otherwise. Either stays in
//! memory: no message, failure or report carries it (the capture errors name places only).

use std::sync::Arc;

use swarm_harness::__private::{HookFn, Runner, Scenario, ScenarioFuture};
use swarm_harness::har as extract;
use swarm_harness::{Fixture, Harness, Response, User};

use super::plan::{Body, Phase, Plan, Source, Step};

/// The plan being replayed and the credential values it sends, preset by [`harness`].
struct ReplayPlan {
    plan: Plan,
    secrets: Vec<String>,
}

impl Fixture for ReplayPlan {
    async fn setup(_user: &mut User) -> anyhow::Result<Self> {
        anyhow::bail!("the replay plan is given by `swarm har replay`, not set up")
    }
}

/// One user's captured values, by variable.
#[derive(Default)]
struct Values(Vec<String>);

fn log_in(user: &mut User) -> ScenarioFuture<'_> {
    Box::pin(run_phase(user, Phase::Login))
}

fn task(user: &mut User) -> ScenarioFuture<'_> {
    Box::pin(run_phase(user, Phase::Task))
}

fn log_out(user: &mut User) -> ScenarioFuture<'_> {
    Box::pin(run_phase(user, Phase::Logout))
}

/// Each credential of `plan`: its variable's value when set, else the recorded one; and
/// which variables were set (for a message naming variables, never values).
pub fn credentials(plan: &Plan) -> (Vec<String>, Vec<&str>) {
    let mut set = Vec::new();
    let values = plan
        .secrets
        .iter()
        .map(|secret| match extract::secret(&secret.variable) {
            Ok(value) => {
                set.push(secret.variable.as_str());
                value
            }
            Err(_) => secret.recorded.clone(),
        })
        .collect();
    (values, set)
}

/// A harness that replays `plan` as the trial `replay_<origin>`, sending `secrets` (one per
/// `plan.secrets`).
pub fn harness(plan: Plan, secrets: Vec<String>) -> Harness {
    let name: &'static str = Box::leak(super::codegen::scenario_name(&plan).into_boxed_str());
    let scenario: &'static Scenario = Box::leak(Box::new(Scenario {
        name,
        function: name,
        module: "swarm_harness_cli::har::replay",
        file: file!(),
        line: line!(),
        params: &[],
        weight: 1,
        group: None,
        trial: None,
        run: None,
        user_weight: None,
        fixed_count: None,
        ignore: false,
        wait: None,
        users: None,
        hatch_rate: None,
        duration: None,
        thresholds: &[],
        on_start: (plan.login > 0).then_some(log_in as HookFn),
        on_start_name: (plan.login > 0).then_some("log_in"),
        on_stop: (plan.logout < plan.steps.len()).then_some(log_out as HookFn),
        on_stop_name: (plan.logout < plan.steps.len()).then_some("log_out"),
        arrival_rate: None,
        max_users: None,
        stages: None,
        shape: None,
        shape_name: None,
        client: None,
        http: None,
        runner: Runner::Plain(task),
    }));
    swarm_harness::__private::harness_with(vec![scenario], ReplayPlan { plan, secrets })
}

async fn run_phase(user: &mut User, phase: Phase) -> anyhow::Result<()> {
    let replay: Arc<ReplayPlan> = user.fixture().await?;
    let mut values = std::mem::take(&mut user.state_mut::<Values>().0);
    values.resize(replay.plan.vars.len(), String::new());
    let result = run_steps(user, &replay, phase, &mut values).await;
    user.state_mut::<Values>().0 = values;
    result
}

async fn run_steps(
    user: &mut User,
    replay: &ReplayPlan,
    phase: Phase,
    values: &mut [String],
) -> anyhow::Result<()> {
    let plan = &replay.plan;
    let secrets = replay.secrets.as_slice();
    let origin = extract::origin(user);
    for k in plan.steps_of(phase) {
        let step = &plan.steps[k];
        if step.think_ms > 0 {
            user.sleep_ms(step.think_ms).await;
        }
        let response = match &step.poll {
            None => send(user, step, values, secrets, &origin).await?,
            Some(poll) => {
                let mut polls = 0;
                loop {
                    let response = send(user, step, values, secrets, &origin).await?;
                    if extract::json(&response, &poll.pointer)? == poll.until {
                        break response;
                    }
                    polls += 1;
                    anyhow::ensure!(
                        polls < poll.limit,
                        "{} did not reach the recorded value after {} polls (the recording \
                         polled {} times)",
                        poll.pointer,
                        poll.limit,
                        poll.recorded
                    );
                    user.sleep_ms(poll.interval_ms).await;
                }
            }
        };
        for (index, var) in plan.vars.iter().enumerate().filter(|(_, v)| v.step == k) {
            values[index] = match &var.source {
                Source::Json { pointer } => extract::json(&response, pointer)?,
                Source::Cookie { name } => extract::cookie(user, name)?,
                Source::Between {
                    header,
                    left,
                    right,
                } => extract::between(&response, header.as_deref(), left, right)?,
            };
        }
    }
    Ok(())
}

/// Sends one step as the generated code does: an error status fails the task unless the
/// recording got the same.
async fn send(
    user: &User,
    step: &Step,
    values: &[String],
    secrets: &[String],
    origin: &str,
) -> anyhow::Result<Response> {
    let target = step.target.render(values, secrets, origin);
    let mut request = user.request(step.method.parse()?, target);
    if let Some(name) = &step.name {
        request = request.name(name.clone());
    }
    for (name, template) in &step.headers {
        request = request.header(name.as_str(), template.render(values, secrets, origin));
    }
    match &step.body {
        Some(Body::Text(template)) => {
            request = request.body(template.render(values, secrets, origin));
        }
        Some(Body::Bytes(bytes)) => request = request.body(bytes.clone()),
        None => {}
    }
    Ok(if step.status >= 400 {
        extract::expect_status(request.catch_response().await?, step.status)
    } else {
        request.send().await?.error_for_status()?
    })
}
