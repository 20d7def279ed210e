//! A stress target whose embedded target is a typed test app, as a team's `spawn_app()`
//! builds it: scenarios, a fixture and `on_finish_app` reach it with `user.target::<TestApp>()`,
//! and `on_finish_app` checks the report against the app's own counter. `E2E_STARTED` names a
//! file the app's start creates (so a test can see that `--list` starts nothing);
//! `E2E_FINISH` chooses what `on_finish_app` does: `ok`, `fail`, or `wrong-type`.

use std::process::ExitCode;
use std::sync::Arc;

use swarm_harness::{Fixture, Harness, User, stress_test};
use swarm_harness_e2e::CountingServer;

/// The team's test app: its server, and what its tests look at.
struct TestApp {
    address: String,
    server: CountingServer,
}

/// Something else, for the mismatched `on_finish_app`.
struct OtherApp;

/// A fixture that needs the app (its address) while it is set up.
struct Seen(String);

impl Fixture for Seen {
    async fn setup(user: &mut User) -> anyhow::Result<Self> {
        Ok(Seen(user.target::<TestApp>()?.address.clone()))
    }
}

#[stress_test(users = 2, wait = constant(10ms))]
async fn hit(user: &mut User) -> anyhow::Result<()> {
    let app = user.target::<TestApp>()?;
    anyhow::ensure!(user.fixture::<Seen>().await?.0 == app.address);
    user.get(format!("{}/hit", app.address)).send().await?;
    Ok(())
}

fn main() -> ExitCode {
    let harness = Harness::new().embedded_app(
        || async {
            if let Ok(path) = std::env::var("E2E_STARTED") {
                std::fs::write(path, "started")?;
            }
            let server = CountingServer::start().await;
            Ok(TestApp {
                address: server.url.clone(),
                server,
            })
        },
        |app: &TestApp| app.address.clone(),
    );
    match std::env::var("E2E_FINISH").as_deref() {
        Ok("fail") => harness.on_finish_app(|_: Arc<TestApp>| async {
            anyhow::bail!("the app's rows do not match the report")
        }),
        Ok("wrong-type") => harness.on_finish_app(|_: Arc<OtherApp>| async { Ok(None) }),
        _ => harness.on_finish_app(|app: Arc<TestApp>| async move {
            Ok(Some(format!(
                "test app counted {} hits",
                app.server.requests("GET /hit")
            )))
        }),
    }
    .run()
}
