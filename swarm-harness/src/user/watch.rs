//! A task that blocks its worker thread (a `std::thread::sleep`, a blocking client, a long
//! computation) stalls every user on that thread and gives silently wrong numbers: the
//! harness times each poll of a task and, when one poll takes longer than
//! [`BLOCKING_POLL`], names the task in a warning of the trial's report (once per task, with
//! the longest poll seen).
//!
//! Two clock reads a poll (a task polls two or three times for a request): about 40 ns on
//! the vDSO clock, next to the microseconds a request costs.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A poll longer than this is a task blocking its thread: no async work holds a thread for a
/// tenth of a second between two awaits.
pub(crate) const BLOCKING_POLL: Duration = Duration::from_millis(100);

/// The tasks of a trial seen blocking, each with its longest poll.
#[derive(Debug, Default)]
pub(crate) struct Blocked(Mutex<Vec<(String, Duration)>>);

impl Blocked {
    fn note(&self, task: &str, poll: Duration) {
        let mut seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match seen.iter_mut().find(|(name, _)| name == task) {
            Some((_, longest)) => *longest = (*longest).max(poll),
            None => {
                crate::logging::warning!(
                    "task {task} blocked its worker thread for {poll:.1?} in one poll: \
                     use user.sleep, not std::thread::sleep, and tokio::task::spawn_blocking \
                     for blocking calls"
                );
                seen.push((task.to_owned(), poll));
            }
        }
    }

    /// The report's warnings, one per task.
    pub(crate) fn warnings(&self) -> Vec<String> {
        let seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.iter()
            .map(|(task, longest)| {
                format!(
                    "task {task} blocked its worker thread (up to {longest:.1?} in one poll, a \
                     std::thread::sleep or a blocking call?): the users on that thread waited, \
                     so the figures are not the target's; use user.sleep and \
                     tokio::task::spawn_blocking"
                )
            })
            .collect()
    }
}

pin_project_lite::pin_project! {
    /// `inner`, each of its polls timed.
    pub(crate) struct Watched<'a, F> {
        #[pin]
        inner: F,
        task: &'a str,
        blocked: &'a Blocked,
    }
}

impl<'a, F> Watched<'a, F> {
    pub(crate) fn new(inner: F, task: &'a str, blocked: &'a Blocked) -> Self {
        Watched {
            inner,
            task,
            blocked,
        }
    }
}

impl<F: Future> Future for Watched<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let started = Instant::now();
        let poll = this.inner.poll(cx);
        let took = started.elapsed();
        if took > BLOCKING_POLL {
            this.blocked.note(this.task, took);
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_blocking_poll_is_named_once_and_an_awaiting_one_not_at_all() {
        let blocked = Blocked::default();
        let sleepy = async {
            std::thread::sleep(BLOCKING_POLL + Duration::from_millis(20));
        };
        Watched::new(sleepy, "sleepy", &blocked).await;
        Watched::new(
            async { std::thread::sleep(BLOCKING_POLL * 2) },
            "sleepy",
            &blocked,
        )
        .await;
        let awaiting = tokio::time::sleep(BLOCKING_POLL * 2);
        Watched::new(awaiting, "awaiting", &blocked).await;
        let warnings = blocked.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("task sleepy blocked"),
            "{warnings:?}"
        );
    }
}
