//! The users of a closed-model trial, newest last: start one more, or stop the newest, each
//! with a stop token of its own so a lower target stops users without touching the others.

use tokio_util::sync::CancellationToken;

use super::plan::Launch;
use super::user_loop::{ActiveGuard, new_user, run_user_with, supervised};

pub struct Crew {
    launch: Launch,
    running: Vec<CancellationToken>,
    next_id: usize,
}

impl Crew {
    pub fn new(launch: Launch) -> Self {
        Crew {
            launch,
            running: Vec::new(),
            next_id: 0,
        }
    }

    /// Users started and not yet told to stop.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// Starts one user: `on_start`, then tasks until its token or the trial's stop.
    pub fn start_one(&mut self) {
        let Launch {
            plan,
            ctx,
            active,
            users,
            ..
        } = &self.launch;
        let token = ctx.stop.child_token();
        self.running.push(token.clone());
        let (plan, ctx, active) = (plan.clone(), ctx.clone(), active.clone());
        let id = self.next_id;
        self.next_id += 1;
        let supervisor = ctx.clone();
        users.spawn(supervised(supervisor, async move {
            let _active = ActiveGuard::new(active);
            let mut user = new_user(id, &plan, &ctx);
            user.set_stop(token);
            run_user_with(&mut user, &plan, &ctx).await;
        }));
    }

    /// Tells the newest users to stop (they finish their task and run `on_stop`) until at
    /// most `target` remain.
    pub fn stop_down_to(&mut self, target: usize) {
        while self.running.len() > target {
            if let Some(token) = self.running.pop() {
                token.cancel();
            }
        }
    }
}
