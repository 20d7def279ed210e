//! The users of a closed-model trial, newest last: start one more, or stop the newest, each
//! with a stop token of its own so a lower target stops users without touching the others.
//! Users told to stop finish their task and `on_stop` first; until they are gone they are
//! *leaving*, and count against a target that rises again, so the swarm never holds more
//! users than asked.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::plan::{Dispatch, Launch};
use super::user_loop::{ActiveGuard, new_user, run_user_with, supervised};

/// One started user: its stop token, and a handle whose count says whether it still runs.
struct Member {
    stop: CancellationToken,
    alive: Arc<()>,
}

impl Member {
    fn is_alive(&self) -> bool {
        Arc::strong_count(&self.alive) > 1
    }
}

pub(super) struct Crew {
    launch: Launch,
    running: Vec<Member>,
    leaving: Vec<Member>,
    next_id: usize,
    dispatch: Dispatch,
}

impl Crew {
    pub(super) fn new(launch: Launch) -> Self {
        Crew {
            dispatch: Dispatch::new(&launch.plan),
            launch,
            running: Vec::new(),
            leaving: Vec::new(),
            next_id: 0,
        }
    }

    /// Users started and not told to stop (a user whose `on_start` failed left by itself and
    /// keeps its place: it is not replaced).
    pub(super) fn len(&self) -> usize {
        self.running.len()
    }

    /// Users told to stop that are still finishing.
    pub(super) fn leaving(&mut self) -> usize {
        self.leaving.retain(Member::is_alive);
        self.leaving.len()
    }

    /// How many users may start now towards `target`: the missing ones, less those still
    /// leaving.
    pub(super) fn room(&mut self, target: usize) -> usize {
        let leaving = self.leaving();
        target.saturating_sub(self.running.len() + leaving)
    }

    /// Starts one user: `on_start`, then tasks until its token or the trial's stop.
    pub(super) fn start_one(&mut self) {
        let Launch {
            plan,
            ctx,
            active,
            users,
            ..
        } = &self.launch;
        let stop = ctx.stop.child_token();
        let alive = Arc::new(());
        // Its place among the users: a ramp down gives places back from the newest.
        let class = self.dispatch.class_of(self.running.len());
        self.running.push(Member {
            stop: stop.clone(),
            alive: alive.clone(),
        });
        let (plan, ctx, active) = (plan.clone(), ctx.clone(), active.clone());
        let id = self.next_id;
        self.next_id += 1;
        let supervisor = ctx.clone();
        users.spawn(supervised(supervisor, async move {
            let _alive = alive;
            let _active = ActiveGuard::new(active);
            let mut user = new_user(id, &plan, &ctx);
            user.set_stop(stop);
            run_user_with(&mut user, &plan.classes[class], &ctx).await;
        }));
    }

    /// Tells users to stop until at most `target` remain: first those that already left by
    /// themselves, then the newest.
    pub(super) fn stop_down_to(&mut self, target: usize) {
        if self.running.len() <= target {
            return;
        }
        let mut excess = self.running.len() - target;
        self.running.retain(|member| {
            let keep = excess == 0 || member.is_alive();
            if !keep {
                excess -= 1;
            }
            keep
        });
        while self.running.len() > target {
            if let Some(member) = self.running.pop() {
                member.stop.cancel();
                self.leaving.push(member);
            }
        }
    }
}
