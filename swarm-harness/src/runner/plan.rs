//! What one trial runs: its tasks with weights, hooks and resolved load profile.

use crate::scenario::trials::TaskSpec;
use crate::scenario::{HookFn, ShapeFn};
use crate::settings::LoadProfile;
use crate::threshold::Thresholds;
use crate::user::user_client::ClientHook;

/// Everything needed to run one trial.
#[derive(Clone)]
pub(crate) struct TrialPlan {
    pub name: String,
    pub scenario: String,
    pub param: Option<&'static str>,
    pub tasks: Vec<TaskSpec>,
    pub on_start: Option<HookFn>,
    pub on_stop: Option<HookFn>,
    pub thresholds: Thresholds,
    pub shape: Option<ShapeFn>,
    /// This process's shard, whose slice of the profile `profile` already is.
    pub shard: Option<crate::shard::ShardId>,
    pub profile: LoadProfile,
}

impl TrialPlan {
    /// The clients its tasks take, each type once, in task order.
    pub(crate) fn clients(&self) -> Vec<ClientHook> {
        let mut clients: Vec<ClientHook> = Vec::new();
        for client in self.tasks.iter().filter_map(|task| task.client) {
            if !clients
                .iter()
                .any(|seen| (seen.type_id)() == (client.type_id)())
            {
                clients.push(client);
            }
        }
        clients
    }
}

/// What every way of starting users needs: the plan, the trial's context, the gauge of active
/// users, the tracker their tasks go on, and the trial's start.
#[derive(Clone)]
pub(super) struct Launch {
    pub plan: std::sync::Arc<TrialPlan>,
    pub ctx: std::sync::Arc<crate::user::TrialContext>,
    pub active: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pub users: tokio_util::task::TaskTracker,
    pub started: std::time::Instant,
}
