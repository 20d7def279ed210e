//! Sign-ups fed unique e-mails: the `signup` scenario posts one e-mail of a CSV file the test
//! writes (`signup-emails.csv` in `--data-dir`) per iteration, and the server's `/signup`
//! records each e-mail it receives, counting duplicates, so a test can prove that no e-mail
//! was handed out twice, across users, shards or Locust workers.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use swarm_harness::{Feeder, User, WhenExhausted, stress_test};

/// One row of `signup-emails.csv`.
#[derive(Debug, serde::Deserialize)]
pub struct Signup {
    pub email: String,
}

/// The e-mails, one per iteration, never one twice; the trial stops when they run out.
pub static SIGNUP_EMAILS: Feeder<Signup> = Feeder::csv(FILE).named("signup emails");

/// The same file, failing the iterations that find it used up.
pub static SIGNUP_OR_FAIL: Feeder<Signup> = Feeder::csv(FILE)
    .named("signup emails or fail")
    .when_exhausted(WhenExhausted::Fail);

/// The file's name in the data directory.
pub const FILE: &str = "signup-emails.csv";

/// Writes `count` e-mails (`user{i}@signup.test`) into `dir`'s `signup-emails.csv`; them.
pub fn write_emails(dir: &Path, count: usize) -> Vec<String> {
    let emails: Vec<String> = (0..count).map(|i| format!("user{i}@signup.test")).collect();
    let mut text = String::from("email\n");
    for email in &emails {
        text.push_str(email);
        text.push('\n');
    }
    std::fs::write(dir.join(FILE), text).unwrap();
    emails
}

#[stress_test(wait = constant(1ms))]
async fn signup(user: &mut User) -> anyhow::Result<()> {
    let row = user.feed(&SIGNUP_EMAILS).await?;
    user.post("/signup")
        .body(row.email.clone())
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

#[stress_test(wait = constant(1ms))]
async fn signup_or_fail(user: &mut User) -> anyhow::Result<()> {
    let row = user.feed(&SIGNUP_OR_FAIL).await?;
    user.post("/signup").body(row.email.clone()).send().await?;
    Ok(())
}

/// What `/signup` received: each e-mail with its count.
#[derive(Clone, Default)]
pub struct Signups(Arc<Mutex<BTreeMap<String, u64>>>);

impl Signups {
    /// Records one sign-up; `201`, or `409` for an e-mail seen before (as a real sign-up
    /// would answer).
    pub fn record(&self, email: String) -> axum::http::StatusCode {
        let mut seen = self.0.lock().unwrap();
        let count = seen.entry(email).or_default();
        *count += 1;
        if *count == 1 {
            axum::http::StatusCode::CREATED
        } else {
            axum::http::StatusCode::CONFLICT
        }
    }

    /// Every e-mail received, with how many times.
    pub fn seen(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap().clone()
    }

    /// The e-mails received more than once.
    pub fn twice(&self) -> Vec<String> {
        let seen = self.seen();
        seen.into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(e, _)| e)
            .collect()
    }
}

/// The harness of a child process: told of the sign-up feeders when the test that started
/// it sets `FEED_SIGNUP` (other children have no e-mail file to check).
pub fn child_harness() -> swarm_harness::Harness {
    let harness = swarm_harness::Harness::new();
    if std::env::var_os("FEED_SIGNUP").is_some() {
        harness.feeder(&SIGNUP_EMAILS).feeder(&SIGNUP_OR_FAIL)
    } else {
        harness
    }
}
