//! The closed model without a shape: `users` users started at the hatch rate, user `i` at
//! `i / rate` (the schedule of [`spawn_offsets`](super::spawn_offsets)), then held. A steering
//! command (the web UI, `POST /swarm`) sets a new target and rate at any moment: missing users
//! start at the new rate from then on, extra ones (the newest first) finish their task, run
//! `on_stop` and leave.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::crew::Crew;
use super::plan::Launch;

/// Users started between two yields to the runtime when they are overdue.
const SPAWN_BATCH: u64 = 256;

/// The users a closed-model trial should run, and how fast to start missing ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub users: u32,
    /// Users per second.
    pub rate: f64,
}

pub async fn drive(launch: Launch, mut steer: watch::Receiver<Target>) {
    let ctx = launch.ctx.clone();
    let mut base = launch.started;
    let mut crew = Crew::new(launch);
    let mut target = *steer.borrow_and_update();
    let mut steerable = true;
    // Users started since `base`: the next one is due at `base + started / rate`.
    let mut started: u64 = 0;
    loop {
        crew.stop_down_to(target.users as usize);
        let due = (crew.len() < target.users as usize)
            .then(|| {
                let offset = Duration::try_from_secs_f64(started as f64 / target.rate).ok()?;
                base.checked_add(offset)
            })
            .flatten();
        if let Some(at) = due
            && at <= Instant::now()
        {
            crew.start_one();
            started += 1;
            if started.is_multiple_of(SPAWN_BATCH) {
                tokio::task::yield_now().await;
            }
            if ctx.stop.is_cancelled() {
                return;
            }
            continue;
        }
        tokio::select! {
            _ = sleep_until(due) => {
                crew.start_one();
                started += 1;
            }
            changed = steer.changed(), if steerable => match changed {
                Ok(()) => {
                    target = *steer.borrow_and_update();
                    base = Instant::now();
                    started = 0;
                }
                // Nobody steers any more: keep the target.
                Err(_) => steerable = false,
            },
            _ = ctx.stop.cancelled() => return,
        }
    }
}

/// Sleeps until `at`; forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
