//! Whether a trial's target stopped answering: the rule that turns "the users spent the end of
//! the trial stuck in requests that never completed" into the `stalled` outcome, which fails
//! the trial.
//!
//! Without it, a target that answers a few requests and then hangs passes: the hanging requests
//! are cut off at the end (counted under `cancelled`, never failures), and the handful that
//! completed look healthy. The rule, all four conditions together, with the window being
//! `PT_STALL_TIMEOUT` (10 s), or half of a shorter trial (but never less than the grace period
//! `PT_STOP_TIMEOUT`, so a trial stopped early is not judged on a sliver):
//! - requests were still in flight when the grace period ran out;
//! - the oldest of them had been waiting for at least the window (a request a user started
//!   just before the stop, after a long wait time, is not a stall);
//! - no request completed (successfully or not) during the window before the users were
//!   cancelled;
//! - that silence is longer than the slowest request that did complete, so a target that is
//!   merely slow (a 6 s report endpoint, say) is not taken for a dead one.
//!
//! A request timeout (`PT_REQUEST_TIMEOUT`, 60 s) shorter than the trial turns hanging requests
//! into failures anyway; the rule covers the trials too short for that.

use crate::report::Stall;
use std::time::Duration;

/// What the end of a trial looked like, as the rule needs it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ending {
    /// Requests cut off in flight when the grace period ran out.
    pub in_flight: u64,
    /// How long the oldest of them had been waiting.
    pub oldest: Duration,
    /// How long no request had completed when the users were cancelled.
    pub silence: Duration,
    /// From the trial's start to its stop (duration, `/stop`, request limit).
    pub run_time: Duration,
    /// The grace period (`PT_STOP_TIMEOUT`).
    pub grace: Duration,
    /// The slowest request that completed, in µs (0 when none did).
    pub slowest_us: u64,
}

/// Applies the rule; `timeout` is `PT_STALL_TIMEOUT` (`None`: off).
pub(super) fn judge(ending: Ending, timeout: Option<Duration>) -> Option<Stall> {
    let timeout = timeout?;
    let window = timeout.min((ending.run_time / 2).max(ending.grace));
    let slowest = Duration::from_micros(ending.slowest_us);
    let stalled = ending.in_flight > 0
        && !window.is_zero()
        && ending.oldest >= window
        && ending.silence >= window
        && ending.silence > slowest;
    stalled.then(|| Stall {
        in_flight: ending.in_flight,
        silent_s: tenths(ending.silence),
        window_s: tenths(window),
    })
}

fn tenths(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The oldest request cut off has waited as long as the silence (the target hung).
    fn ending(in_flight: u64, silence_s: u64, run_s: u64, slowest_ms: u64) -> Ending {
        Ending {
            in_flight,
            oldest: Duration::from_secs(silence_s),
            silence: Duration::from_secs(silence_s),
            run_time: Duration::from_secs(run_s),
            grace: Duration::from_secs(2),
            slowest_us: slowest_ms * 1000,
        }
    }

    const ON: Option<Duration> = Some(crate::settings::DEFAULT_STALL_TIMEOUT);

    #[test]
    fn a_target_that_hangs_stalls_the_trial() {
        // Answered for a second, then nothing for the rest of a 30 s trial and its grace.
        let stall = judge(ending(20, 31, 30, 5), ON).unwrap();
        assert_eq!(stall.in_flight, 20);
        assert_eq!(stall.window_s, 10.0);
        assert!(stall.message().contains("20 requests were still waiting"));
        // A short trial: half of it is the window.
        assert_eq!(judge(ending(5, 5, 5, 5), ON).unwrap().window_s, 2.5);
    }

    #[test]
    fn nothing_in_flight_is_no_stall() {
        // Users that went quiet by themselves (long waits) leave nothing waiting.
        assert_eq!(judge(ending(0, 60, 60, 5), ON), None);
    }

    #[test]
    fn recent_progress_is_no_stall() {
        assert_eq!(judge(ending(20, 3, 60, 5), ON), None);
    }

    #[test]
    fn a_slow_target_is_not_a_dead_one() {
        // Every request takes 8 s: 7 s of silence at the end is one more of them.
        assert_eq!(judge(ending(1, 7, 10, 8_000), ON), None);
        // Silent longer than any request ever took: stalled.
        assert!(judge(ending(1, 12, 30, 8_000), ON).is_some());
    }

    #[test]
    fn a_request_started_just_before_the_stop_is_no_stall() {
        // One user with long waits: its last request began 4 s before it was cut off, though
        // nothing had completed for 32 s.
        let late = Ending {
            oldest: Duration::from_secs(4),
            ..ending(1, 32, 70, 5_000)
        };
        assert_eq!(judge(late, ON), None);
    }

    #[test]
    fn a_trial_stopped_early_is_judged_on_at_least_the_grace_period() {
        // Stopped after 1 s: the window is the 2 s grace, not half a second.
        let early = Ending {
            oldest: Duration::from_millis(1_500),
            silence: Duration::from_millis(1_500),
            ..ending(1, 0, 1, 5)
        };
        assert_eq!(judge(early, ON), None);
        assert_eq!(judge(ending(1, 3, 1, 5), ON).unwrap().window_s, 2.0);
    }

    #[test]
    fn off_is_off() {
        assert_eq!(judge(ending(20, 600, 600, 5), None), None);
    }
}
