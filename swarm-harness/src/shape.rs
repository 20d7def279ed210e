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
