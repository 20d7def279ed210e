//! The request tap: every request a trial records, as a [`RequestRecord`], for the request
//! sinks (`events::RequestSink`, the request log). A trial has a tap only when a sink asks,
//! so without one the hot path pays a `None` check and nothing else.
//!
//! The queue is bounded ([`REQUEST_QUEUE_CAPACITY`]) and never waited on: a request that
//! finds it full is counted as dropped (the report's warnings say how many), so a slow sink
//! can neither block a user nor grow memory. A thread of the events part drains it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::mpsc;

use super::Tag;

/// The most requests a trial's queue holds for its request sinks; beyond, requests are
/// dropped (counted) until the sinks catch up. At 100,000 requests a second this is over half
/// a second of slack.
pub const REQUEST_QUEUE_CAPACITY: usize = 65_536;

/// The longest error text a record carries, in bytes; longer ones are cut at a character
/// boundary, so a queue of records stays small whatever a task's errors say.
pub const MAX_RECORD_ERROR_LEN: usize = 1024;

/// One request as it was recorded: what Locust's `events.request` hands its listeners, and
/// a line of the request log. Only requests the report counts become records (HTTP requests
/// and operations timed with `User::measure`; not transactions, not requests cut off).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestRecord {
    /// The HTTP method, or the kind given to `User::measure`.
    pub kind: String,
    /// The name the request is reported under.
    pub name: String,
    /// When it started, in µs since the Unix epoch.
    pub start_us: u64,
    /// When its task was due to start (the open model, pacing wait times), in µs since the
    /// Unix epoch; `None` when its task had no scheduled start (or in a hook).
    pub intended_start_us: Option<u64>,
    /// How long it took, in µs, as the report records it.
    pub duration_us: u64,
    /// Response body bytes received (0 without a response).
    pub bytes: u64,
    /// The response's status; `None` without a response (a transport failure, a measured
    /// operation).
    pub status: Option<u16>,
    /// Why it failed, as recorded (cut to [`MAX_RECORD_ERROR_LEN`] bytes); `None` when it
    /// succeeded.
    pub error: Option<String>,
    /// The user's number within its trial ([`User::id`](crate::User::id)).
    pub user: usize,
    /// The user's iteration ([`User::iteration`](crate::User::iteration)): 0 in `on_start`.
    pub iteration: u64,
    /// Its tags, as given to `Request::tag`.
    pub tags: Vec<Tag>,
}

/// What travels the queue: a request, or the end of the trial's requests.
#[derive(Debug)]
pub enum TapMessage {
    /// A request recorded.
    Request(RequestRecord),
    /// The trial's users have all ended: nothing follows.
    End,
}

/// Which user sent a request, and in which iteration.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    /// The user's number within its trial.
    pub user: usize,
    /// The user's iteration.
    pub iteration: u64,
    /// When the user's current task was due to start, if it was scheduled.
    pub intended: Option<Instant>,
}

/// One request about to be tapped, borrowed from where it is recorded.
#[derive(Debug, Clone, Copy)]
pub struct Tapped<'a> {
    /// The HTTP method or measured kind.
    pub kind: &'a str,
    /// The name it is recorded under.
    pub name: &'a str,
    /// When it started.
    pub started: Instant,
    /// How long it took, in µs.
    pub micros: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// The response's status, when there was a response.
    pub status: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<&'a str>,
    /// Its tags.
    pub tags: &'a [Tag],
}

/// A trial's end of the queue: users push into it, the events part drains the other end.
#[derive(Debug)]
pub struct RequestTap {
    queue: mpsc::Sender<TapMessage>,
    dropped: AtomicU64,
    /// The trial's clock at one instant, and the wall clock then: starts are converted with
    /// it (one reading of the wall clock a trial, never one a request).
    anchor: Instant,
    anchor_us: u64,
}

impl RequestTap {
    /// A tap with a queue of `capacity` requests, and the receiving end to drain.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<TapMessage>) {
        let (queue, receiver) = mpsc::channel(capacity.max(1));
        let tap = RequestTap {
            queue,
            dropped: AtomicU64::new(0),
            anchor: Instant::now(),
            anchor_us: super::custom::unix_micros(),
        };
        (tap, receiver)
    }

    /// Queues `request`, or counts it as dropped when the queue is full; never waits.
    pub fn push(&self, origin: Origin, request: Tapped<'_>) {
        let record = RequestRecord {
            kind: request.kind.to_owned(),
            name: request.name.to_owned(),
            start_us: self.unix_micros(request.started),
            intended_start_us: origin.intended.map(|at| self.unix_micros(at)),
            duration_us: request.micros,
            bytes: request.bytes,
            status: request.status,
            error: request.error.map(bounded_error),
            user: origin.user,
            iteration: origin.iteration,
            tags: request.tags.to_vec(),
        };
        if let Err(mpsc::error::TrySendError::Full(_)) =
            self.queue.try_send(TapMessage::Request(record))
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        // Closed: the trial's requests were all delivered; one recorded after (by work that
        // outlived its trial) is in no report either.
    }

    /// Requests dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Says that the trial's requests are all pushed, waiting for room if the queue is full
    /// (the sinks are behind): every request queued before is delivered before it.
    pub async fn end(&self) {
        let _ = self.queue.send(TapMessage::End).await;
    }

    /// `at` in µs since the Unix epoch, by the trial's anchor.
    fn unix_micros(&self, at: Instant) -> u64 {
        let micros = |d: std::time::Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        match at.checked_duration_since(self.anchor) {
            Some(after) => self.anchor_us.saturating_add(micros(after)),
            None => self
                .anchor_us
                .saturating_sub(micros(self.anchor.duration_since(at))),
        }
    }
}

/// `error` cut to [`MAX_RECORD_ERROR_LEN`] bytes at a character boundary.
fn bounded_error(error: &str) -> String {
    let mut end = error.len().min(MAX_RECORD_ERROR_LEN);
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    error[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tapped(started: Instant) -> Tapped<'static> {
        Tapped {
            kind: "GET",
            name: "/x",
            started,
            micros: 5,
            bytes: 2,
            status: Some(200),
            error: None,
            tags: &[],
        }
    }

    const ORIGIN: Origin = Origin {
        user: 1,
        iteration: 2,
        intended: None,
    };

    #[test]
    fn a_full_queue_drops_and_counts_and_the_end_follows_what_was_queued() {
        let (tap, mut receiver) = RequestTap::new(2);
        let now = Instant::now();
        for _ in 0..5 {
            tap.push(ORIGIN, tapped(now));
        }
        assert_eq!(tap.dropped(), 3);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let first = receiver.try_recv().unwrap();
        runtime.block_on(tap.end());
        assert!(matches!(first, TapMessage::Request(ref r) if r.user == 1 && r.iteration == 2));
        assert!(matches!(receiver.try_recv(), Ok(TapMessage::Request(_))));
        assert!(matches!(receiver.try_recv(), Ok(TapMessage::End)));
    }

    #[test]
    fn starts_are_wall_clock_micros_and_errors_are_bounded() {
        let (tap, mut receiver) = RequestTap::new(4);
        let before = super::super::custom::unix_micros();
        let started = Instant::now();
        let long = "é".repeat(MAX_RECORD_ERROR_LEN);
        let origin = Origin {
            intended: Some(started - std::time::Duration::from_millis(3)),
            ..ORIGIN
        };
        tap.push(
            origin,
            Tapped {
                error: Some(&long),
                ..tapped(started)
            },
        );
        let Ok(TapMessage::Request(record)) = receiver.try_recv() else {
            panic!("a record");
        };
        let after = super::super::custom::unix_micros();
        assert!((before.saturating_sub(1_000)..=after + 1_000).contains(&record.start_us));
        let intended = record.intended_start_us.unwrap();
        assert!((2_000..=4_000).contains(&(record.start_us - intended)));
        let error = record.error.unwrap();
        assert!(error.len() <= MAX_RECORD_ERROR_LEN && error.chars().all(|c| c == 'é'));
    }
}
