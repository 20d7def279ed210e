//! A stress target whose embedded target installs its own logger with `.expect(..)`, as a
//! team's `spawn_app()` does with `LogTracer::init().expect(..)`: the harness must neither
//! break the app's logger nor go silent (its warnings then reach stderr through it).

use std::process::ExitCode;

use swarm_harness::{Harness, User, stress_test};

/// The app's logger: every line it writes says whose it is.
struct AppLogger;

impl log::Log for AppLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("app logger: {} {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

/// Two request names: with `PT_MAX_NAMES=1` the harness warns about the second.
#[stress_test(users = 1, wait = constant(10ms))]
async fn two_names(user: &mut User) -> anyhow::Result<()> {
    user.get("/a").send().await?;
    user.get("/b").send().await?;
    Ok(())
}

fn main() -> ExitCode {
    Harness::new()
        .embedded_target(|| async {
            log::set_boxed_logger(Box::new(AppLogger))
                .expect("the app's test setup installs its logger once");
            log::set_max_level(log::LevelFilter::Warn);
            Ok(swarm_harness_e2e::CountingServer::start().await.url)
        })
        .run()
}
