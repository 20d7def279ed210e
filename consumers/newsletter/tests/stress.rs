//! The service's flows as a stress test, on the integration tests' own helpers: `spawn_app()`
//! (server, database, mail mock, the tests' logging) is the embedded target, started once per
//! run; every scenario reaches the typed `TestApp`; at the end the report's counts are checked
//! against the database's rows and the mail mock's deliveries, and a mismatch fails the run.
//!
//! `PT_NUM_CLIENTS=20 PT_DURATION=10s cargo test --test stress`

#[path = "api/helpers.rs"]
#[allow(
    dead_code,
    reason = "the integration tests' helpers, of which these use a few"
)]
mod helpers;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use helpers::{TestApp, spawn_app};
use swarm_harness::events::{RunEvent, Sink};
use swarm_harness::{Harness, User, stress_test};

/// A fresh address no other user sends, and the sign-up form for it.
fn form(user: &User) -> (String, String) {
    let email = format!("{}@example.test", user.unique("reader-"));
    let form = format!("name=le%20guin&email={}", email.replace('@', "%40"));
    (email, form)
}

/// The sign-up, as the tests' `post_subscriptions` sends it, timed per request; the address
/// it signed up.
async fn subscribe(user: &User, app: &TestApp) -> anyhow::Result<String> {
    let (email, form) = form(user);
    let request = app
        .api_client
        .post(format!("{}/subscriptions", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form);
    user.send(request)
        .name("/subscriptions")
        .await?
        .error_for_status()?;
    Ok(email)
}

#[stress_test(user = "Reader", weight = 3, wait = between(5ms, 20ms))]
async fn sign_up(user: &mut User) -> anyhow::Result<()> {
    let app = user.target::<TestApp>()?;
    subscribe(user, &app).await?;
    Ok(())
}

/// The whole journey: sign up, find the e-mail the mock received, follow its link.
#[stress_test(user = "Reader", weight = 1, wait = between(5ms, 20ms))]
async fn sign_up_and_confirm(user: &mut User) -> anyhow::Result<()> {
    let app = user.target::<TestApp>()?;
    let to = subscribe(user, &app).await?;
    let delivery = app
        .mail
        .deliveries()
        .into_iter()
        .rev()
        .find(|mail| mail["to"] == to.as_str())
        .ok_or_else(|| anyhow::anyhow!("no confirmation e-mail to {to}"))?;
    let link = app.confirmation_link(&delivery);
    user.send(app.api_client.get(link))
        .name("/subscriptions/confirm")
        .await?
        .error_for_status()?;
    Ok(())
}

/// The tests' helper, unchanged: its request is timed as the task.
#[stress_test(user = "Reader", weight = 1, wait = between(5ms, 20ms))]
async fn sign_up_through_the_helper(user: &mut User) -> anyhow::Result<()> {
    let app = user.target::<TestApp>()?;
    let response = app.post_subscriptions(form(user).1).await;
    anyhow::ensure!(response.status() == 200, "answered {}", response.status());
    Ok(())
}

/// What the report counted, kept for the check at the end.
#[derive(Default, Clone, Copy, Debug, PartialEq)]
struct Counted {
    subscribed: u64,
    confirmed: u64,
}

/// Listens for the trial's report.
struct Counts(Arc<Mutex<Counted>>);

impl Sink for Counts {
    fn on_event(&mut self, event: &RunEvent) -> Result<(), String> {
        if let RunEvent::TrialEnded { report, .. } = event {
            let ok = |rows: &[swarm_harness::events::EntryReport], kind: &str, name: &str| {
                rows.iter()
                    .filter(|row| row.kind == kind && row.name == name)
                    .map(|row| row.count - row.failures)
                    .sum::<u64>()
            };
            let mut counted = self.0.lock().unwrap();
            counted.subscribed += ok(&report.requests, "POST", "/subscriptions")
                + ok(&report.tasks, "task", "sign_up_through_the_helper");
            counted.confirmed += ok(&report.requests, "GET", "/subscriptions/confirm");
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let counted = Arc::new(Mutex::new(Counted::default()));
    let at_end = counted.clone();
    Harness::new()
        .embedded_app(
            || async { Ok(spawn_app().await) },
            |app: &TestApp| app.address.clone(),
        )
        .sink(Counts(counted))
        .on_finish_app(move |app: Arc<TestApp>| async move {
            let counted = *at_end.lock().unwrap();
            let (rows, confirmed) = app.subscription_rows();
            let mails = app.mail.count() as u64;
            anyhow::ensure!(
                rows == counted.subscribed && confirmed == counted.confirmed && mails == rows,
                "the report counted {counted:?}; the database holds {rows} subscriptions \
                 ({confirmed} confirmed) and the mail mock received {mails} e-mails"
            );
            Ok(Some(format!(
                "ground truth: {rows} subscriptions ({confirmed} confirmed) and {mails} e-mails, \
                 as the report counted"
            )))
        })
        .run()
}
