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
pub(super) struct Target {
    pub users: u32,
    /// Users per second.
    pub rate: f64,
}

pub(super) async fn drive(launch: Launch, mut steer: watch::Receiver<Target>) {
    let ctx = launch.ctx.clone();
    let mut base = launch.started;
    let mut crew = Crew::new(launch);
    let mut target = *steer.borrow_and_update();
    let mut steerable = true;
    // Users started since `base`: the next one is due at `base + started / rate`.
    let mut started: u64 = 0;
    let mut last_start: Option<Instant> = None;
    loop {
        crew.stop_down_to(target.users as usize);
        let room = crew.room(target.users as usize);
        let missing = crew.len() < target.users as usize;
        let due = (room > 0)
            .then(|| {
                let offset = Duration::try_from_secs_f64(started as f64 / target.rate).ok()?;
                base.checked_add(offset)
            })
            .flatten();
        // Overdue users start at once (a burst rate), yielding now and then and looking at
        // the steering between batches.
        if let Some(at) = due
            && at <= Instant::now()
            && !(steerable && steer.has_changed().unwrap_or(false))
        {
            crew.start_one();
            started += 1;
            last_start = Some(Instant::now());
            if started.is_multiple_of(SPAWN_BATCH) {
                tokio::task::yield_now().await;
            }
            if ctx.stop.is_cancelled() {
                return;
            }
            continue;
        }
        // Missing users held back only by users still leaving: look again shortly.
        let recheck = (missing && room == 0).then(|| Instant::now() + LEAVING_POLL);
        tokio::select! {
            _ = sleep_until(due.or(recheck)) => {
                if due.is_some() {
                    crew.start_one();
                    started += 1;
                    last_start = Some(Instant::now());
                }
            }
            changed = steer.changed(), if steerable => match changed {
                Ok(()) => {
                    target = *steer.borrow_and_update();
                    // The new rate holds from the last start: sending the same command again
                    // does not start a user early.
                    let interval = Duration::try_from_secs_f64(1.0 / target.rate)
                        .unwrap_or(Duration::MAX);
                    let now = Instant::now();
                    let earliest = now.checked_sub(interval).unwrap_or(now);
                    base = last_start.map_or(earliest, |last| last.max(earliest));
                    started = 1;
                }
                // Nobody steers any more: keep the target.
                Err(_) => steerable = false,
            },
            _ = ctx.stop.cancelled() => return,
        }
    }
}

/// How often to look again while missing users wait for leaving ones.
const LEAVING_POLL: Duration = Duration::from_millis(50);

/// Sleeps until `at`; forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
