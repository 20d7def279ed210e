//! Load stages: `30s:10,1m:50,30s:0` ramps linearly from the previous target to each stage's
//! target over the stage's duration (k6's ramping executors), starting from 0. A target is a
//! number of users (closed model) or iterations per second (open model).

use std::time::Duration;

use crate::duration::{DurationUnit, parse_duration};

/// One stage of a ramp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: f64,
}

/// A ramp made of stages.
#[derive(Debug, Clone, PartialEq)]
pub struct Stages(pub Vec<Stage>);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "invalid stage {stage:?}: {message}; expected `DURATION:TARGET,...` such as \"30s:10,1m:50,30s:0\""
)]
pub struct StagesError {
    pub stage: String,
    pub message: &'static str,
}

impl Stages {
    /// Parses `DURATION:TARGET` pairs separated by commas.
    ///
    /// # Errors
    /// When a stage is not `DURATION:TARGET` with a valid duration and a target of at least 0,
    /// or there is no stage at all.
    pub fn parse(text: &str) -> Result<Self, StagesError> {
        let mut stages = Vec::new();
        for part in text.split(',').map(str::trim) {
            let error = |message| StagesError {
                stage: part.to_owned(),
                message,
            };
            if part.is_empty() {
                return Err(error("empty stage"));
            }
            let (duration, target) = part.split_once(':').ok_or_else(|| error("missing `:`"))?;
            let duration = parse_duration(duration, DurationUnit::Seconds)
                .ok_or_else(|| error("the duration is not like 30s, 500ms or 1m"))?;
            let target: f64 = target
                .trim()
                .parse()
                .ok()
                .filter(|t: &f64| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| error("the target is not a number of at least 0"))?;
            if target > f64::from(crate::limits::MAX_USERS) {
                return Err(error("the target is over 1000000 (users or iterations/s)"));
            }
            stages.push(Stage { duration, target });
        }
        Ok(Stages(stages))
    }

    /// How long the whole ramp lasts.
    pub fn total(&self) -> Duration {
        self.0.iter().map(|stage| stage.duration).sum()
    }

    /// The target `elapsed` after the start: linear within each stage, from `start` before
    /// the first; `None` once the ramp is over.
    pub fn target_at(&self, elapsed: Duration, start: f64) -> Option<f64> {
        let mut from = start;
        let mut stage_start = Duration::ZERO;
        for stage in &self.0 {
            let stage_end = stage_start + stage.duration;
            if elapsed < stage_end {
                let progress = if stage.duration.is_zero() {
                    1.0
                } else {
                    (elapsed - stage_start).as_secs_f64() / stage.duration.as_secs_f64()
                };
                return Some(from + (stage.target - from) * progress);
            }
            from = stage.target;
            stage_start = stage_end;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_ramps_linearly() {
        let stages = Stages::parse("30s:10, 1m:50,30s:0").unwrap();
        assert_eq!(stages.0.len(), 3);
        assert_eq!(stages.total(), Duration::from_secs(120));
        let at = |s: u64| stages.target_at(Duration::from_secs(s), 0.0);
        assert_eq!(at(0), Some(0.0));
        assert_eq!(at(15), Some(5.0));
        assert_eq!(at(30), Some(10.0));
        assert_eq!(at(60), Some(30.0));
        assert_eq!(at(105), Some(25.0));
        assert_eq!(at(120), None);
    }

    #[test]
    fn rejects_malformed_stages() {
        for bad in ["", "30s", "30x:1", "30s:-1", "30s:ten", "10s:1,,5s:2"] {
            assert!(Stages::parse(bad).is_err(), "{bad}");
        }
        let error = Stages::parse("30s:10,1q:5").unwrap_err();
        assert_eq!(error.stage, "1q:5");
    }
}
