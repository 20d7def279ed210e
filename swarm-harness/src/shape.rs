//! Load shapes: what the runner aims for at each moment, users in the closed model or
//! iterations per second in the open model. Stages are one shape; users can write their own
//! (Locust's `LoadTestShape`).

use std::time::Duration;

pub use swarm_harness_syntax::stages::{Stage, Stages, StagesError};

/// A programmable load shape, asked for its target every 100 ms (closed model) or before every
/// iteration (open model).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use swarm_harness::LoadShape;
///
/// /// 5 users for 10 s, then 20 users for 10 s, then the trial ends.
/// struct Step;
///
/// impl LoadShape for Step {
///     fn tick(&mut self, elapsed: Duration) -> Option<f64> {
///         match elapsed.as_secs() {
///             0..10 => Some(5.0),
///             10..20 => Some(20.0),
///             _ => None,
///         }
///     }
/// }
/// ```
pub trait LoadShape: Send + 'static {
    /// The target `elapsed` after the trial started; `None` ends the trial.
    fn tick(&mut self, elapsed: Duration) -> Option<f64>;

    /// Closed model: how many users a second to start (or stop) on the way to the target
    /// of the last [`tick`](LoadShape::tick), Locust's `spawn_rate` in
    /// `tick() -> (user_count, spawn_rate)`; asked right after each `tick`. `None`, the
    /// default: at once. Not asked in the open model, whose target is a rate already.
    ///
    /// ```
    /// use std::time::Duration;
    /// use swarm_harness::LoadShape;
    ///
    /// /// Locust's `custom_shape/stages.py`: (until, users, spawn rate) steps.
    /// struct Steps;
    /// const STEPS: [(u64, f64, f64); 3] = [(10, 10.0, 10.0), (20, 50.0, 10.0), (30, 10.0, 5.0)];
    ///
    /// impl LoadShape for Steps {
    ///     fn tick(&mut self, elapsed: Duration) -> Option<f64> {
    ///         STEPS.iter().find(|s| elapsed.as_secs() < s.0).map(|s| s.1)
    ///     }
    ///     fn spawn_rate(&mut self, elapsed: Duration) -> Option<f64> {
    ///         STEPS.iter().find(|s| elapsed.as_secs() < s.0).map(|s| s.2)
    ///     }
    /// }
    /// ```
    fn spawn_rate(&mut self, elapsed: Duration) -> Option<f64> {
        let _ = elapsed;
        None
    }
}

impl LoadShape for Stages {
    fn tick(&mut self, elapsed: Duration) -> Option<f64> {
        self.target_at(elapsed, 0.0)
    }
}

/// A constant target for a duration (the open model without stages).
#[derive(Debug, Clone, Copy)]
pub struct Constant {
    /// The target throughout: users in the closed model, iterations per second in the open
    /// model.
    pub target: f64,
    /// How long it holds; the trial ends after it.
    pub duration: Duration,
}

impl LoadShape for Constant {
    fn tick(&mut self, elapsed: Duration) -> Option<f64> {
        (elapsed < self.duration).then_some(self.target)
    }
}

/// The starts (or stops) a spawn rate allows, tick by tick: whole users as the rate's credit
/// adds up, none banked beyond one tick's worth (a rate that was idle does not burst later).
#[derive(Debug, Default)]
pub(crate) struct RateLimit {
    credit: f64,
}

impl RateLimit {
    /// How many of `wanted` moves `rate` (users per second, `None`: no limit) allows after
    /// `elapsed` since the last call.
    pub(crate) fn allow(&mut self, wanted: usize, rate: Option<f64>, elapsed: Duration) -> usize {
        let Some(rate) = rate.filter(|r| r.is_finite() && *r > 0.0) else {
            self.credit = 0.0;
            return wanted;
        };
        let tick = rate * elapsed.as_secs_f64();
        self.credit = (self.credit + tick).min(tick.max(1.0));
        let allowed = (self.credit.floor() as usize).min(wanted);
        self.credit -= allowed as f64;
        allowed
    }
}

/// How many users to start and stop to go from `running` to `target` (rounded down).
pub(crate) fn adjust(running: usize, target: f64) -> (usize, usize) {
    let target = target.max(0.0).floor() as usize;
    (
        target.saturating_sub(running),
        running.saturating_sub(target),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjustments() {
        assert_eq!(adjust(0, 3.7), (3, 0));
        assert_eq!(adjust(5, 2.0), (0, 3));
        assert_eq!(adjust(4, 4.2), (0, 0));
        assert_eq!(adjust(1, -1.0), (0, 1));
    }

    #[test]
    fn a_spawn_rate_paces_the_moves_and_banks_nothing() {
        let tick = Duration::from_millis(100);
        let mut limit = RateLimit::default();
        // 10 users a second: one a tick.
        let moves: Vec<usize> = (0..5).map(|_| limit.allow(50, Some(10.0), tick)).collect();
        assert_eq!(moves, [1, 1, 1, 1, 1]);
        // 2.5 a second: one every fourth tick.
        let mut limit = RateLimit::default();
        let moves: usize = (0..40).map(|_| limit.allow(50, Some(2.5), tick)).sum();
        assert_eq!(moves, 10);
        // Idle ticks bank at most one tick's worth.
        let mut limit = RateLimit::default();
        (0..30).for_each(|_| assert_eq!(limit.allow(0, Some(100.0), tick), 0));
        assert_eq!(limit.allow(500, Some(100.0), tick), 10);
        assert_eq!(limit.allow(7, None, tick), 7, "no rate: at once");
        assert_eq!(limit.allow(7, Some(f64::NAN), tick), 7);
    }

    #[test]
    fn a_zero_ten_zero_ramp() {
        let mut stages = Stages::parse("3s:10,3s:0").unwrap();
        let targets: Vec<Option<f64>> = [0, 1500, 3000, 4500, 5999, 6000]
            .iter()
            .map(|ms| stages.tick(Duration::from_millis(*ms)))
            .collect();
        assert_eq!(targets[0], Some(0.0));
        assert_eq!(targets[1], Some(5.0));
        assert_eq!(targets[2], Some(10.0));
        assert_eq!(targets[3], Some(5.0));
        assert!(targets[4].unwrap() < 0.01);
        assert_eq!(targets[5], None);
    }
}
