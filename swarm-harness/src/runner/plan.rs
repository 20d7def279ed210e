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

/// Which class each user of a trial belongs to (Locust's dispatch of user classes), by the
/// user's number in the whole trial: the first numbers go to the classes with a fixed count
/// (each its count, in order), the rest to the weighted classes in the order a divisor
/// method gives (the class furthest below its share next), which repeats every sum of the
/// weights, so the split holds at every user count of a ramp.
///
/// Shards number their users interleaved (shard `i` of `n` runs the trial's users
/// `i - 1, i - 1 + n, ...`), so each shard runs its share of every class and the shards
/// together run the trial's split; a user's number is its place among its shard's users,
/// which a ramp down gives back from the newest.
pub(super) struct Dispatch {
    /// Each fixed-count class, with the end of its numbers.
    fixed: Vec<(u64, usize)>,
    /// The weighted classes over one period of their weights.
    cycle: Vec<usize>,
    /// This process's `k`th user is the trial's number `k * stride + first`.
    stride: u64,
    first: u64,
}

/// The longest period kept: weights whose sum is larger are scaled down to it.
const MAX_PERIOD: u64 = 1 << 16;

impl Dispatch {
    pub(super) fn new(plan: &TrialPlan) -> Self {
        let mut fixed = Vec::new();
        let mut end = 0_u64;
        for (class, spec) in plan.classes.iter().enumerate() {
            if let Some(count) = spec.fixed_count {
                end += u64::from(count);
                fixed.push((end, class));
            }
        }
        let weighted: Vec<(usize, u64)> = plan
            .classes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.fixed_count.is_none())
            .map(|(i, c)| (i, u64::from(c.weight)))
            .collect();
        // Without a weighted class, users beyond the fixed counts follow the fixed counts.
        let weights = match weighted.is_empty() {
            true => plan
                .classes
                .iter()
                .enumerate()
                .map(|(i, c)| (i, u64::from(c.fixed_count.unwrap_or(1))))
                .collect(),
            false => weighted,
        };
        let (stride, first) = plan
            .shard
            .map_or((1, 0), |s| (u64::from(s.count), u64::from(s.index - 1)));
        Dispatch {
            fixed,
            cycle: cycle(&weights),
            stride,
            first,
        }
    }

    /// The class of this process's user at `position` (0 for its first).
    pub(super) fn class_of(&self, position: usize) -> usize {
        let number = (position as u64)
            .saturating_mul(self.stride)
            .saturating_add(self.first);
        if let Some(&(_, class)) = self.fixed.iter().find(|(end, _)| number < *end) {
            return class;
        }
        let past_fixed = number - self.fixed.last().map_or(0, |&(end, _)| end);
        self.cycle[(past_fixed % self.cycle.len() as u64) as usize]
    }
}

/// One period of the divisor method over `weights` (class, weight): the next user goes to the
/// class with the least (users + 1) / weight, ties to the first; after the sum of the weights
/// every class has exactly its weight, and the order starts over.
fn cycle(weights: &[(usize, u64)]) -> Vec<usize> {
    let sum: u64 = weights.iter().map(|&(_, w)| w.max(1)).sum::<u64>().max(1);
    // Huge weights keep their proportions over a period of at most MAX_PERIOD.
    let scale = |w: u64| match sum > MAX_PERIOD {
        true => (u128::from(w.max(1)) * u128::from(MAX_PERIOD) / u128::from(sum)).max(1) as u64,
        false => w.max(1),
    };
    let weights: Vec<(usize, u64)> = weights.iter().map(|&(c, w)| (c, scale(w))).collect();
    let period: u64 = weights.iter().map(|&(_, w)| w).sum();
    let mut live = vec![0_u64; weights.len()];
    (0..period)
        .map(|_| {
            let mut best = 0;
            for i in 1..weights.len() {
                // (live_i + 1) / w_i < (live_best + 1) / w_best, in integers.
                let left = u128::from(live[i] + 1) * u128::from(weights[best].1);
                if left < u128::from(live[best] + 1) * u128::from(weights[i].1) {
                    best = i;
                }
            }
            live[best] += 1;
            weights[best].0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dispatch(fixed: &[(u64, usize)], weights: &[(usize, u64)], shard: (u64, u64)) -> Dispatch {
        Dispatch {
            fixed: fixed.to_vec(),
            cycle: cycle(weights),
            stride: shard.0,
            first: shard.1,
        }
    }

    fn classes(dispatch: &Dispatch, users: usize) -> Vec<usize> {
        (0..users).map(|k| dispatch.class_of(k)).collect()
    }

    #[test]
    fn users_split_by_weight_at_every_count_after_the_fixed_ones() {
        // Locust's response_validations: BadUser weight 1, GoodUser weight 3.
        let split = dispatch(&[], &[(0, 1), (1, 3)], (1, 0));
        assert_eq!(
            classes(&split, 8),
            [1, 1, 0, 1, 1, 1, 0, 1],
            "1:3 at 4 and at 8 users"
        );
        // Fixed counts are met first, then the weights share the rest.
        let split = dispatch(&[(2, 0)], &[(1, 1), (2, 1)], (1, 0));
        assert_eq!(classes(&split, 6), [0, 0, 1, 2, 1, 2]);
        // Only fixed counts: users beyond them follow the counts.
        let split = dispatch(&[(1, 0), (4, 1)], &[(0, 1), (1, 3)], (1, 0));
        let beyond = classes(&split, 8);
        assert_eq!(beyond.iter().filter(|&&c| c == 1).count(), 6, "{beyond:?}");
    }

    #[test]
    fn shards_together_run_the_trials_split() {
        // 1:3 over 4 users in two shards: shard 1 runs numbers 0 and 2, shard 2 numbers 1
        // and 3; together one of the first class and three of the second, as one process.
        let weights = [(0, 1), (1, 3)];
        let whole = classes(&dispatch(&[], &weights, (1, 0)), 4);
        let mut shards: Vec<usize> = (0..2)
            .flat_map(|i| classes(&dispatch(&[], &weights, (2, i)), 2))
            .collect();
        shards.sort_unstable();
        let mut sorted = whole.clone();
        sorted.sort_unstable();
        assert_eq!(shards, sorted);
        // Two classes of one fixed user each, over two shards: each shard runs one of them.
        let fixed = [(1, 0), (2, 1)];
        let one = dispatch(&fixed, &[(0, 1), (1, 1)], (2, 0)).class_of(0);
        let two = dispatch(&fixed, &[(0, 1), (1, 1)], (2, 1)).class_of(0);
        assert_eq!((one, two), (0, 1));
    }

    #[test]
    fn a_period_gives_each_class_exactly_its_weight_even_for_huge_weights() {
        let order = cycle(&[(0, 2), (1, 5), (2, 3)]);
        assert_eq!(order.len(), 10);
        for (class, weight) in [(0, 2), (1, 5), (2, 3)] {
            assert_eq!(order.iter().filter(|&&c| c == class).count(), weight);
        }
        let huge = cycle(&[(0, u64::from(u32::MAX)), (1, u64::from(u32::MAX))]);
        assert!(huge.len() as u64 <= MAX_PERIOD + 2 && huge.len() > 1000);
    }
}
