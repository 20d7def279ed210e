//! A task's ways to end other than success or failure, Locust's `RescheduleTask` and
//! `StopUser`: returned as the task's error (`return Err(RescheduleTask.into())`, or
//! `.map_err(|_| RescheduleTask)?`), they end the iteration, or the user, without a task
//! failure. A request that failed before is still recorded, once, as the request's failure.

/// Ends the current iteration early without a task failure; the user waits its wait time
/// and picks its next task (Locust's `RescheduleTask`). The task's run is recorded, as a
/// success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, thiserror::Error)]
#[error("task rescheduled (RescheduleTask)")]
pub struct RescheduleTask;

/// Ends this user without a task failure: its `on_stop` runs and it leaves the swarm (Locust's
/// `StopUser`); in the closed model the trial then runs one user fewer. From `on_start`, the
/// user leaves before its first task, with no failure recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, thiserror::Error)]
#[error("user stopped (StopUser)")]
pub struct StopUser;

/// What a task's error asks of the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// A failure: record it.
    Failed,
    /// [`RescheduleTask`]: the iteration ends, no failure.
    Rescheduled,
    /// [`StopUser`]: the user ends, no failure.
    UserStopped,
}

/// How the error `error` ends a task.
pub(crate) fn ending(error: &anyhow::Error) -> Ending {
    if error.is::<RescheduleTask>() {
        Ending::Rescheduled
    } else if error.is::<StopUser>() {
        Ending::UserStopped
    } else {
        Ending::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_are_told_apart_through_context() {
        use anyhow::Context;
        let plain = anyhow::anyhow!("HTTP 500");
        assert_eq!(ending(&plain), Ending::Failed);
        assert_eq!(ending(&RescheduleTask.into()), Ending::Rescheduled);
        let stopped: anyhow::Error = Err::<(), _>(StopUser).context("cart empty").unwrap_err();
        // `is` sees through `context`, so a task may explain why it stopped.
        assert_eq!(ending(&stopped), Ending::UserStopped);
    }
}
