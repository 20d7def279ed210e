//! Steering a run from outside (the web UI and Locust's HTTP API): start a swarm, change its
//! user count, stop it, reset its statistics. Commands go to the trial that is running or
//! waiting for a start; each gets an answer, so the caller learns whether it was applied.
//! This is the one path back into the runner; everything else flows out as events.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

/// How long a caller waits for the runner to take a command (between two trials nobody
/// takes them; a report being written takes well under this).
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Commands that may wait at once; more are refused as busy.
const QUEUE: usize = 16;

/// A swarm to start, or the new load of the running one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Swarm {
    /// Users to run (the closed model's target).
    pub users: u32,
    /// Users started per second on the way there.
    pub rate: f64,
    /// Stop after this long (from now); `None` keeps the trial's duration.
    pub run_time: Option<Duration>,
    /// The target's base URL, only when starting.
    pub host: Option<url::Url>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    Swarm(Swarm),
    Stop,
    ResetStats,
}

/// What an applied command answers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Applied {
    pub message: String,
    /// The target of the trial it applied to, its password redacted.
    pub host: Option<String>,
}

impl Applied {
    pub(crate) fn new(message: impl Into<String>, host: Option<String>) -> Self {
        Applied {
            message: message.into(),
            host,
        }
    }
}

/// A command with the way to answer it.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub command: Command,
    /// The trial (its position in the run) the sender saw running or waiting: a command meant
    /// for a trial that has ended is refused, never applied to the next one.
    pub trial: usize,
    pub answer: oneshot::Sender<Result<Applied, String>>,
}

impl Envelope {
    /// Whether the sender gave up waiting for the answer.
    pub(crate) fn is_stale(&self) -> bool {
        self.answer.is_closed()
    }

    pub(crate) fn reply(self, result: Result<Applied, String>) {
        // The caller may have given up waiting; then nobody needs the answer.
        let _ = self.answer.send(result);
    }
}

/// The sending side, held by the web server.
#[derive(Debug, Clone)]
pub(crate) struct Controller {
    tx: mpsc::Sender<Envelope>,
}

/// The receiving side, lent to one trial at a time.
pub(crate) type Commands = mpsc::Receiver<Envelope>;

pub(crate) fn channel() -> (Controller, Commands) {
    let (tx, rx) = mpsc::channel(QUEUE);
    (Controller { tx }, rx)
}

impl Controller {
    /// Passes `envelope` on as it came (a run group's router hands each trial its own); when
    /// this trial's queue is full or it has ended, answers it with `refusal` instead.
    pub(crate) fn forward(&self, envelope: Envelope, refusal: &str) {
        if let Err(error) = self.tx.try_send(envelope) {
            error.into_inner().reply(Err(refusal.to_owned()));
        }
    }

    /// Sends `command` for the `trial`th trial and waits for its answer, at most
    /// [`ANSWER_TIMEOUT`].
    ///
    /// # Errors
    /// The runner's refusal, or that nobody took the command in time.
    pub(crate) async fn send(&self, command: Command, trial: usize) -> Result<Applied, String> {
        let (answer, answered) = oneshot::channel();
        self.tx
            .try_send(Envelope {
                command,
                trial,
                answer,
            })
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => {
                    "busy: too many commands are waiting; try again".to_owned()
                }
                mpsc::error::TrySendError::Closed(_) => "the run has finished".to_owned(),
            })?;
        match tokio::time::timeout(ANSWER_TIMEOUT, answered).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the trial ended before it took the command".to_owned()),
            Err(_) => Err(format!(
                "no trial took the command within {}s (between two trials?); try again",
                ANSWER_TIMEOUT.as_secs()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_command_is_answered_by_its_receiver() {
        let (controller, mut commands) = channel();
        let runner = tokio::spawn(async move {
            let envelope = commands.recv().await.unwrap();
            assert_eq!(envelope.command, Command::Stop);
            assert_eq!(envelope.trial, 3);
            envelope.reply(Ok(Applied::new("stopped", None)));
        });
        assert_eq!(
            controller.send(Command::Stop, 3).await,
            Ok(Applied::new("stopped", None))
        );
        runner.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn nobody_listening_is_an_error_after_the_timeout() {
        let (controller, mut commands) = channel();
        let error = controller.send(Command::ResetStats, 0).await.unwrap_err();
        assert!(error.contains("no trial took the command"), "{error}");
        // The command its sender gave up on is known as stale: a later trial skips it.
        assert!(commands.try_recv().unwrap().is_stale());
        drop(commands);
        let error = controller.send(Command::ResetStats, 0).await.unwrap_err();
        assert_eq!(error, "the run has finished");
    }
}
