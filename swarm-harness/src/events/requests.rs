//! Request sinks: every request of a trial, one [`RequestRecord`] each, for consumers that
//! want each request rather than statistics (Locust's `events.request` listeners, the
//! request log).
//!
//! Why a trait of its own rather than one more [`RunEvent`](super::RunEvent): run events are
//! rare, delivered in order on the publisher's thread and never lost, so a [`Sink`](super::Sink)
//! can write report files before libtest hears of a trial's end. Requests are the opposite:
//! thousands a second, recorded on the users' threads, and better dropped (and counted) than
//! allowed to slow the load. Kept apart, neither contract bends: a `Sink` matches every event
//! with no request variant to skip, and a trial with no request sink has no queue at all (its
//! users check one `None`).
//!
//! How requests travel: users push each record into a bounded queue
//! ([`REQUEST_QUEUE_CAPACITY`](crate::events::REQUEST_QUEUE_CAPACITY) records a trial) and
//! never wait; one that does not fit is counted as dropped and the trial's report warns of
//! it. A thread of the trial's (`swarm-requests`) takes them in batches and calls the sinks,
//! so a sink may do blocking I/O. When the trial's users have all ended, the thread hands
//! the last batch over and calls [`RequestSink::trial_ended`]; the report is built after, with
//! the warnings the sinks return.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};

use super::TrialInfo;
use crate::stats::{REQUEST_QUEUE_CAPACITY, RequestRecord, RequestTap, TapMessage};

/// The most records a sink is handed at once.
const BATCH: usize = 1024;

/// A consumer of every request of a run (registered with
/// [`Harness::request_sink`](crate::Harness::request_sink)).
///
/// Its calls come from a thread of their own, one trial after another: `trial_started`, then
/// batches of `requests` in the order they were recorded, then `trial_ended`.
///
/// ```
/// use swarm_harness::events::{RequestRecord, RequestSink};
///
/// /// Counts the requests slower than a second.
/// #[derive(Default)]
/// struct Slow(u64);
///
/// impl RequestSink for Slow {
///     fn requests(&mut self, batch: &[RequestRecord]) {
///         self.0 += batch.iter().filter(|r| r.duration_us > 1_000_000).count() as u64;
///     }
///
///     fn trial_ended(&mut self) -> Vec<String> {
///         let slow = std::mem::take(&mut self.0);
///         (slow > 0).then(|| format!("{slow} requests took over 1s")).into_iter().collect()
///     }
/// }
///
/// let harness = swarm_harness::Harness::new().request_sink(Slow::default());
/// # drop(harness);
/// ```
pub trait RequestSink: Send {
    /// A trial starts sending load; its requests follow.
    fn trial_started(&mut self, trial: &TrialInfo) {
        let _ = trial;
    }

    /// Requests recorded, a batch at a time, in the order they were recorded.
    fn requests(&mut self, batch: &[RequestRecord]);

    /// The trial's requests have all been handed over (its report is built next): what the
    /// report's warnings should say, if anything (lines a log left out, a file it could not
    /// write). A sink's trouble is a warning, not a failed trial.
    fn trial_ended(&mut self) -> Vec<String> {
        Vec::new()
    }
}

/// The run's request sinks, and what opens each trial's queue to them.
pub(crate) struct RequestStream {
    sinks: Arc<Mutex<Vec<Box<dyn RequestSink>>>>,
}

impl std::fmt::Debug for RequestStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestStream").finish_non_exhaustive()
    }
}

/// How a trial's requests end: awaited once its users have all ended.
#[derive(Debug, Default)]
pub(crate) struct Delivery {
    /// The warnings the drain thread hands back once it has called `trial_ended`; `None`
    /// when no sink asked for requests.
    warnings: Option<oneshot::Receiver<Vec<String>>>,
}

impl RequestStream {
    /// A stream to `sinks`; `None` when there are none, so trials have no tap.
    pub(crate) fn new(sinks: Vec<Box<dyn RequestSink>>) -> Option<Arc<Self>> {
        (!sinks.is_empty()).then(|| {
            Arc::new(RequestStream {
                sinks: Arc::new(Mutex::new(sinks)),
            })
        })
    }

    /// The queue of the trial `trial` (its users' end), and its delivery: a thread that
    /// drains the queue into the sinks until the tap says the trial ended. No tap when the
    /// thread could not start (the trial runs without its request sinks, warned).
    pub(crate) fn open(&self, trial: &TrialInfo) -> (Option<RequestTap>, Delivery) {
        let (tap, receiver) = RequestTap::new(REQUEST_QUEUE_CAPACITY);
        let (done, warnings) = oneshot::channel();
        let sinks = self.sinks.clone();
        let trial = trial.clone();
        let spawned = std::thread::Builder::new()
            .name("swarm-requests".to_owned())
            .spawn(move || {
                let _ = done.send(drain(&sinks, &trial, receiver));
            });
        match spawned {
            Ok(_) => (
                Some(tap),
                Delivery {
                    warnings: Some(warnings),
                },
            ),
            Err(error) => {
                crate::logging::warning!("request sinks left out of this trial: {error}");
                (None, Delivery::default())
            }
        }
    }
}

/// Calls the sinks with everything `receiver` brings until the trial's end; their warnings.
fn drain(
    sinks: &Mutex<Vec<Box<dyn RequestSink>>>,
    trial: &TrialInfo,
    mut receiver: mpsc::Receiver<TapMessage>,
) -> Vec<String> {
    let mut sinks = sinks.lock().unwrap_or_else(PoisonError::into_inner);
    // A sink that panics is left out from then on, and said so: the queue keeps draining, so
    // users never wait on it and the other sinks still get every request.
    let mut failed: Vec<Option<String>> = vec![None; sinks.len()];
    let mut call = |index: usize,
                    sink: &mut Box<dyn RequestSink>,
                    f: &mut dyn FnMut(&mut dyn RequestSink)| {
        if failed[index].is_some() {
            return;
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(sink.as_mut())));
        if let Err(panic) = outcome {
            failed[index] = Some(crate::stats::panic_message(&*panic));
        }
    };
    for (index, sink) in sinks.iter_mut().enumerate() {
        call(index, sink, &mut |sink| sink.trial_started(trial));
    }
    let (mut messages, mut batch) = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH));
    let mut ended = false;
    while !ended && receiver.blocking_recv_many(&mut messages, BATCH) > 0 {
        for message in messages.drain(..) {
            match message {
                TapMessage::Request(record) => batch.push(record),
                TapMessage::End => ended = true,
            }
        }
        for (index, sink) in sinks.iter_mut().enumerate() {
            call(index, sink, &mut |sink| sink.requests(&batch));
        }
        batch.clear();
    }
    let mut warnings = Vec::new();
    for (index, sink) in sinks.iter_mut().enumerate() {
        call(index, sink, &mut |sink| warnings.extend(sink.trial_ended()));
    }
    warnings.extend(failed.into_iter().flatten().map(|panic| {
        format!("a request sink {panic}: the requests after it were not handed to it")
    }));
    warnings
}

impl Delivery {
    /// Ends the trial's requests on `tap` (every user has ended) and waits until the sinks
    /// have had them all; the warnings for the report: requests dropped, and the sinks' own.
    pub(crate) async fn finish(self, tap: Option<&RequestTap>) -> Vec<String> {
        let (Some(warnings), Some(tap)) = (self.warnings, tap) else {
            return Vec::new();
        };
        tap.end().await;
        let mut said = Vec::new();
        let dropped = tap.dropped();
        if dropped > 0 {
            said.push(format!(
                "{dropped} requests were not handed to the request sinks (the request log, \
                 say): they fell behind and the queue of {REQUEST_QUEUE_CAPACITY} was full"
            ));
        }
        match warnings.await {
            Ok(theirs) => said.extend(theirs),
            Err(_) => said.push(
                "the request sinks' thread ended before the trial's requests did: some were not \
                 handed to them"
                    .to_owned(),
            ),
        }
        said
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting(std::sync::Arc<std::sync::atomic::AtomicUsize>);
    impl RequestSink for Counting {
        fn requests(&mut self, batch: &[RequestRecord]) {
            self.0
                .fetch_add(batch.len(), std::sync::atomic::Ordering::Relaxed);
        }
    }

    struct Panicking;
    impl RequestSink for Panicking {
        fn requests(&mut self, _batch: &[RequestRecord]) {
            panic!("sink bug");
        }
    }

    fn record() -> RequestRecord {
        RequestRecord {
            kind: "GET".into(),
            name: "/".into(),
            start_us: 1,
            intended_start_us: None,
            duration_us: 2,
            bytes: 0,
            status: Some(200),
            error: None,
            user: 0,
            iteration: 1,
            tags: Vec::new(),
        }
    }

    #[test]
    fn a_panicking_sink_is_left_out_and_named_while_the_others_get_every_request() {
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let sinks: Mutex<Vec<Box<dyn RequestSink>>> =
            Mutex::new(vec![Box::new(Panicking), Box::new(Counting(seen.clone()))]);
        let (sender, receiver) = mpsc::channel(16);
        for _ in 0..3 {
            sender.try_send(TapMessage::Request(record())).unwrap();
        }
        sender.try_send(TapMessage::End).unwrap();
        let warnings = drain(
            &sinks,
            &crate::events::request_log::tests::info("t"),
            receiver,
        );
        assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 3);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("sink bug"), "{warnings:?}");
    }
}
