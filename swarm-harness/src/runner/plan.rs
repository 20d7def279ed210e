//! What one trial runs: its user classes (tasks with weights, hooks, wait time), which class
//! each new user joins, and the resolved load profile.

use crate::scenario::ShapeFn;
use crate::scenario::trials::ClassSpec;
use crate::settings::LoadProfile;
use crate::threshold::Thresholds;
use crate::user::user_client::ClientHook;

/// Everything needed to run one trial.
#[derive(Clone)]
pub(crate) struct TrialPlan {
    pub name: String,
    pub scenario: String,
    pub param: Option<&'static str>,
    /// Its user classes, each wait time resolved (`None`: no wait).
    pub classes: Vec<ClassSpec>,
    pub thresholds: Thresholds,
    pub shape: Option<ShapeFn>,
    /// The shape's path as written, for the report's `config`.
    pub shape_name: Option<&'static str>,
    /// This process's shard, whose slice of the profile `profile` already is.
    pub shard: Option<crate::shard::ShardId>,
    pub profile: LoadProfile,
}

/// The clients the tasks of `class` take, each type once, in task order.
pub(crate) fn clients(class: &ClassSpec) -> Vec<ClientHook> {
    {
        let mut clients: Vec<ClientHook> = Vec::new();
        for client in class.tasks.iter().filter_map(|task| task.client) {
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

/// Which class each new user of a trial joins (Locust's dispatch of user classes): first the
/// classes with a fixed count until they have it (this shard's part of it), then the others
/// by weight, the one furthest below its share next, so the split holds at every user count
/// of a ramp. Users that leave give their place back.
pub(super) struct Dispatch {
    fixed: Vec<Option<u64>>,
    weights: Vec<u64>,
    live: Vec<u64>,
}

impl Dispatch {
    pub(super) fn new(plan: &TrialPlan) -> Self {
        let fixed = plan
            .classes
            .iter()
            .map(|class| {
                let count = class.fixed_count.map(u64::from);
                count.map(|n| plan.shard.map_or(n, |shard| shard.part(n)))
            })
            .collect();
        Dispatch {
            fixed,
            weights: plan.classes.iter().map(|c| u64::from(c.weight)).collect(),
            live: vec![0; plan.classes.len()],
        }
    }

    /// The class of the next user.
    pub(super) fn next(&mut self) -> usize {
        let class = (0..self.live.len())
            .find(|&i| self.fixed[i].is_some_and(|count| self.live[i] < count))
            .unwrap_or_else(|| self.by_share());
        self.live[class] += 1;
        class
    }

    /// The class furthest below its share: among the weighted classes, or, when every class
    /// has a fixed count (and all are full), in proportion to those counts.
    fn by_share(&self) -> usize {
        let weighted = self.fixed.iter().any(Option::is_none);
        let share = |i: usize| match (weighted, self.fixed[i]) {
            (true, Some(_)) => None,
            (true, None) => Some(self.weights[i].max(1)),
            (false, count) => Some(count.unwrap_or(1).max(1)),
        };
        let mut best: Option<(usize, u64)> = None;
        for i in 0..self.live.len() {
            let Some(weight) = share(i) else { continue };
            // (live_i + 1) / weight_i < (live_best + 1) / weight_best, in integers.
            let better = best.is_none_or(|(b, wb)| {
                u128::from(self.live[i] + 1) * u128::from(wb)
                    < u128::from(self.live[b] + 1) * u128::from(weight)
            });
            if better {
                best = Some((i, weight));
            }
        }
        best.map_or(0, |(i, _)| i)
    }

    /// A user of `class` left.
    pub(super) fn release(&mut self, class: usize) {
        self.live[class] = self.live[class].saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dispatch(fixed: &[Option<u64>], weights: &[u64]) -> Dispatch {
        Dispatch {
            fixed: fixed.to_vec(),
            weights: weights.to_vec(),
            live: vec![0; weights.len()],
        }
    }

    #[test]
    fn users_split_by_weight_at_every_count_after_the_fixed_ones() {
        // Locust's response_validations: BadUser weight 1, GoodUser weight 3.
        let mut split = dispatch(&[None, None], &[1, 3]);
        let first: Vec<usize> = (0..8).map(|_| split.next()).collect();
        assert_eq!(first, [1, 1, 0, 1, 1, 1, 0, 1], "1:3 at 4 and at 8 users");
        // A fixed count is met first, then the weights share the rest.
        let mut split = dispatch(&[Some(2), None, None], &[1, 1, 1]);
        let classes: Vec<usize> = (0..6).map(|_| split.next()).collect();
        assert_eq!(classes, [0, 0, 1, 2, 1, 2]);
        split.release(1);
        assert_eq!(split.next(), 1, "a place given back is taken again");
        // Only fixed counts: users beyond them follow the counts.
        let mut split = dispatch(&[Some(1), Some(3)], &[1, 1]);
        let classes: Vec<usize> = (0..8).map(|_| split.next()).collect();
        assert_eq!(
            classes.iter().filter(|&&c| c == 1).count(),
            6,
            "{classes:?}"
        );
    }
}
