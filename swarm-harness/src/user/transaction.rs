//! A timer for a multi-step flow (seed 002: "create, then poll until ACTIVE"), recorded as one
//! entry of kind `transaction` when it is marked done.

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::User;
use crate::stats::{Recorder, Sample};
use crate::user::elapsed_micros;

/// The error a failed transaction returns, so `?` and `return flow.failure(..)` end the task.
#[derive(Debug, thiserror::Error)]
#[error("transaction {name:?} failed: {message}")]
pub struct TransactionFailed {
    /// The transaction's name, as given to [`User::transaction`].
    pub name: String,
    /// The message given to [`Transaction::failure`], also its failure group's error.
    pub message: String,
}

/// A running transaction; see [`User::transaction`].
#[must_use = "mark the transaction success() or failure()"]
pub struct Transaction {
    recorder: Arc<Recorder>,
    kill: CancellationToken,
    shard: usize,
    name: String,
    started: Instant,
    done: bool,
    /// Where a flow left unmarked waits for the error that ended its task.
    abandoned: Abandoned,
}

/// Transactions dropped unmarked, kept until their task's end says why: dropped by `?`, the
/// flow failed with that error, which is what the failure group should name. Closed (`None`)
/// when no task end will come: a fork's background work, or a user that is gone (a flow moved
/// into `user.spawn(..)` outlives it); a flow dropped then is recorded at once.
#[derive(Clone)]
pub(crate) struct Abandoned(Arc<std::sync::Mutex<Option<Vec<Flow>>>>);

/// A flow dropped unmarked: its name and how long it ran (µs).
type Flow = (String, u64);

impl Default for Abandoned {
    fn default() -> Self {
        Abandoned(Arc::new(std::sync::Mutex::new(Some(Vec::new()))))
    }
}

impl Abandoned {
    /// For a user whose flows no task end will settle (a fork).
    pub(crate) fn closed() -> Self {
        Abandoned(Arc::new(std::sync::Mutex::new(None)))
    }

    /// Keeps a flow dropped unmarked; `false` when closed (record it now instead).
    fn keep(&self, name: String, micros: u64) -> Result<(), (String, u64)> {
        match &mut *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some(flows) => {
                flows.push((name, micros));
                Ok(())
            }
            None => Err((name, micros)),
        }
    }

    /// Forgets the flows of a task that did not end by itself (cut off at the stop, parked
    /// at the request limit): neither is a failure of the flow.
    pub(crate) fn discard(&self) {
        if let Some(flows) = &mut *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            flows.clear();
        }
    }

    /// Settles what is left and closes: the user is gone.
    pub(crate) fn close(&self, recorder: &Recorder, shard: usize) {
        self.settle(recorder, shard, None);
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// Records the flows left unmarked by the task that just ended with `error` (`None`: it
    /// returned `Ok`, or this user's life ended).
    pub(crate) fn settle(&self, recorder: &Recorder, shard: usize, error: Option<&str>) {
        let flows = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        for (name, micros) in flows {
            let message = match error {
                Some(error) => format!("ended by the task's error: {error}"),
                None => "ended without success() or failure()".to_owned(),
            };
            let sample = Sample {
                kind: KIND,
                name: &name,
                micros,
                content_bytes: 0,
            };
            recorder.failure(shard, sample, message, None);
        }
    }
}

pub(crate) const KIND: &str = crate::stats::TRANSACTION_KIND;

impl Transaction {
    pub(crate) fn start(user: &User, name: String) -> Self {
        Transaction {
            recorder: user.ctx.recorder.clone(),
            kill: user.ctx.kill.clone(),
            shard: user.shard(),
            name,
            started: Instant::now(),
            done: false,
            abandoned: user.abandoned.clone(),
        }
    }

    /// Records the flow as a success, timed from its start until now.
    ///
    /// # Errors
    /// Never; returns `Result` so a task can end with `return flow.success()`.
    pub fn success(mut self) -> anyhow::Result<()> {
        self.record(None);
        Ok(())
    }

    /// Records the flow as a failure with `message`.
    ///
    /// # Errors
    /// Always: [`TransactionFailed`], so the task that ran the flow fails too (generic in `T`
    /// so it fits any task's return type).
    pub fn failure<T>(mut self, message: impl Into<String>) -> anyhow::Result<T> {
        let message = message.into();
        self.record(Some(message.clone()));
        Err(TransactionFailed {
            name: self.name.clone(),
            message,
        }
        .into())
    }

    fn record(&mut self, error: Option<String>) {
        self.done = true;
        let sample = Sample {
            kind: KIND,
            name: &self.name,
            micros: elapsed_micros(self.started),
            content_bytes: 0,
        };
        match error {
            None => self.recorder.success(self.shard, sample),
            Some(error) => self.recorder.failure(self.shard, sample, error, None),
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // A flow cut short by the end of the trial is not a failure of the system under test.
        if !self.done && !self.kill.is_cancelled() {
            let flow = (std::mem::take(&mut self.name), elapsed_micros(self.started));
            if let Err((name, _)) = self.abandoned.keep(flow.0, flow.1) {
                self.name = name;
                self.record(Some("ended without success() or failure()".to_owned()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::User;

    #[tokio::test]
    async fn a_flow_that_outlives_its_user_or_runs_in_a_fork_is_still_recorded() {
        let user = User::standalone("http://h:1/").await;
        let recorder = user.ctx.recorder.clone();
        // Moved into background work, dropped after its user is gone.
        let late = user.transaction("late");
        // A fork's flows have no task end to wait for: recorded as they drop.
        let fork = user.fork();
        drop(fork.transaction("background"));
        assert_eq!(recorder.take().failures.total(), 1);
        drop(user);
        drop(late);
        let failures = recorder.take().failures;
        assert_eq!(failures.total(), 1);
        assert!(
            failures.sorted().iter().any(|(key, _)| key.name == "late"
                && key.error == "ended without success() or failure()")
        );
    }
}
