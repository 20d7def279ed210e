//! Feeders: test data handed to users (Gatling's feeders, k6's `SharedArray` with its data
//! segmentation), declared once as a `static` and taken from any task or hook with
//! `user.feed(&ACCOUNTS).await?`. The map of this folder:
//!
//! - `mod.rs` (here): [`Feeder`], its policies, and [`User::feed`], which keeps a user's row
//!   for as long as the policy says, counts every row handed out (the custom counter
//!   `feeder NAME`) and applies the exhaustion policy;
//! - `store.rs`: a process's rows per feeder, loaded once, cut to this shard's or Locust
//!   worker's part, handed out by one atomic counter; a trial's notes for its report;
//! - `read.rs`: CSV and JSON lines read as a stream of typed rows, with bounded memory;
//! - `error.rs`: [`FeedError`], one message naming the file, the line and the field.
//!
//! A row kept in memory costs its value (`size_of::<T>()` plus the heap its strings take)
//! and about 24 bytes more (its `Arc` and its slot); a generated row costs nothing until it
//! is handed out.

mod error;
mod read;
mod store;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::user::User;
pub use error::FeedError;
pub(crate) use error::Problem;
use read::Format;
pub(crate) use store::{Declared, FeedStore, Setup, TrialFeeds, WorkerSlot};
use store::{Loaded, Take};

/// Rows of test data handed to users: from a CSV file (its header line names the fields), a
/// JSON-lines file, or a generator function, each row deserialized into `T` with serde.
///
/// Declare it once as a `static` and take rows from any task or hook with [`User::feed`]:
///
/// ```no_run
/// use std::sync::Arc;
/// use swarm_harness::{Feeder, Harness, User, stress_test};
///
/// #[derive(serde::Deserialize)]
/// struct Account {
///     email: String,
///     password: String,
/// }
///
/// /// One account per user, for its whole life.
/// static ACCOUNTS: Feeder<Account> = Feeder::csv("tests/data/accounts.csv").per_user();
///
/// #[stress_test]
/// async fn log_in(user: &mut User) -> anyhow::Result<()> {
///     let account: Arc<Account> = user.feed(&ACCOUNTS).await?;
///     let form = [("email", &account.email), ("password", &account.password)];
///     user.post("/login").form(&form).send().await?;
///     Ok(())
/// }
///
/// fn main() -> std::process::ExitCode {
///     // Told of it, the harness reads and checks the file before any load.
///     Harness::new().feeder(&ACCOUNTS).run()
/// }
/// ```
///
/// - **Which calls share a row**: by default each iteration of a user takes a fresh row
///   (calls within one task get the same one); [`per_user`](Feeder::per_user) gives each user
///   its own row for its whole life.
/// - **Unique or cycling**: by default no row is handed out twice, across users, trials,
///   shards (`PT_SHARD=i/n`: this shard keeps only its part of the rows, cut as users are)
///   and Locust workers (cut by the master's worker index and `--expect-workers`);
///   [`cycle`](Feeder::cycle) wraps around instead, the one policy where rows repeat.
/// - **At exhaustion** (unique rows all handed out): [`WhenExhausted`], stop the trial by
///   default.
///
/// A relative path is read from `PT_DATA_DIR`, else the working directory (the package's
/// root under `cargo test`). A line may take at most [`Feeder::MAX_LINE`] bytes (1 MiB), and
/// a process keeps at most [`Feeder::MAX_KEPT`] rows of one feeder.
pub struct Feeder<T: 'static> {
    name: &'static str,
    source: Source<T>,
    per_user: bool,
    cycle: bool,
    exhausted: WhenExhausted,
}

// By hand: a derive would ask `T: Clone`, and a feeder holds no `T`.
impl<T> Clone for Feeder<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Feeder<T> {}

impl<T> std::fmt::Debug for Feeder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feeder")
            .field("name", &self.name)
            .field("source", &self.source.describe())
            .field("per_user", &self.per_user)
            .field("cycle", &self.cycle)
            .field("exhausted", &self.exhausted)
            .finish()
    }
}

/// Where a feeder's rows come from.
enum Source<T: 'static> {
    File { path: &'static str, format: Format },
    Generated { count: u64, make: fn(u64) -> T },
}

impl<T> Clone for Source<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Source<T> {}

impl<T> Source<T> {
    /// What tells two sources apart without a word of text: a held row is checked against
    /// it on every call, so a feeder of a clashing name cannot hand out another's row.
    fn fingerprint(&self) -> (usize, u64) {
        match self {
            Source::File { path, .. } => (path.as_ptr() as usize, path.len() as u64),
            Source::Generated { count, make } => (*make as usize, *count),
        }
    }

    /// What it reads, for messages (and to tell two feeders of one name apart).
    fn describe(&self) -> String {
        match self {
            Source::File { path, .. } => (*path).to_owned(),
            Source::Generated { count, .. } => format!("a generator of {count} rows"),
        }
    }
}

/// What a unique feeder does once it has handed out every row this process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenExhausted {
    /// Stop the trial as its duration would: no new iteration starts, the call that found
    /// no row ends its task unrecorded (in the closed model its user's `on_stop` still runs,
    /// as at the request limit), and the report's
    /// warnings say `data exhausted: feeder NAME handed out all N rows`. The outcome stays
    /// what the trial's would be (completed). Outside a trial (a standalone user) the call
    /// fails as [`Fail`](WhenExhausted::Fail) does.
    #[default]
    Stop,
    /// Start over from this process's first row, so rows are handed out again; the report's
    /// warnings say so.
    Recycle,
    /// Fail the call with `feeder NAME exhausted: ...`, a task failure of the iteration that
    /// asked (the report's warnings say from when), and go on.
    Fail,
}

impl<T> Feeder<T> {
    /// The most bytes one line of a feeder's file may take (a CSV record with its quoted line
    /// breaks): 1 MiB. A longer one is an error naming the line, so a file that is not data
    /// (one 1 GB line, `/dev/zero`) never fills memory.
    pub const MAX_LINE: usize = read::MAX_LINE;

    /// The most rows of one feeder a process keeps in memory: 10 million (its shard's or
    /// worker's part of the file; more is an error before any load).
    pub const MAX_KEPT: u64 = read::MAX_KEPT;

    /// The rows of the CSV file at `path`, one per line after a header line whose names are
    /// `T`'s fields. Its name in reports is `path` unless [`named`](Feeder::named).
    pub const fn csv(path: &'static str) -> Self {
        Self::file(path, Format::Csv)
    }

    /// The rows of the JSON-lines file at `path`: one JSON value per line (blank lines are
    /// skipped).
    pub const fn json_lines(path: &'static str) -> Self {
        Self::file(path, Format::JsonLines)
    }

    const fn file(path: &'static str, format: Format) -> Self {
        Feeder {
            name: path,
            source: Source::File { path, format },
            per_user: false,
            cycle: false,
            exhausted: WhenExhausted::Stop,
        }
    }

    /// `count` rows made by `make` from their index (`0..count`) as they are handed out:
    /// nothing is read or kept. Shards and workers cut the indices as they cut a file's rows.
    pub const fn generate(name: &'static str, count: u64, make: fn(u64) -> T) -> Self {
        Feeder {
            name,
            source: Source::Generated { count, make },
            per_user: false,
            cycle: false,
            exhausted: WhenExhausted::Stop,
        }
    }

    /// Its name in reports and messages (`feeder NAME`), instead of its path.
    pub const fn named(self, name: &'static str) -> Self {
        Feeder { name, ..self }
    }

    /// Each user takes its own row at its first call and gets that same row on every call
    /// for its whole life.
    pub const fn per_user(self) -> Self {
        Feeder {
            per_user: true,
            ..self
        }
    }

    /// Each iteration of a user takes a fresh row (calls within one task get the same one);
    /// the default.
    pub const fn per_iteration(self) -> Self {
        Feeder {
            per_user: false,
            ..self
        }
    }

    /// Hand the rows out in turn and wrap around: rows repeat, across users, shards and
    /// workers (each process starts at its own part of the rows, so they spread), and the
    /// feeder never runs out. Every process keeps the whole file.
    pub const fn cycle(self) -> Self {
        Feeder {
            cycle: true,
            ..self
        }
    }

    /// What to do once every unique row has been handed out; [`WhenExhausted::Stop`] unless
    /// set.
    pub const fn when_exhausted(self, policy: WhenExhausted) -> Self {
        Feeder {
            exhausted: policy,
            ..self
        }
    }

    /// Its name in reports and messages.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

/// A row a user holds, by feeder name, with the iteration it was taken in.
#[derive(Clone)]
pub(crate) struct Held {
    name: &'static str,
    source: (usize, u64),
    iteration: u64,
    row: Arc<dyn Any + Send + Sync>,
}

impl User {
    /// A row of `feeder`: this user's own (`per_user`), this iteration's, or the next in turn
    /// (`cycle`), as the feeder's policy says. The first call in the process reads the
    /// feeder's file, unless [`Harness::feeder`](crate::Harness::feeder) read it before the
    /// load. Every row handed out is counted under the custom counter `feeder NAME`.
    ///
    /// # Errors
    /// The feeder's file could not be read or holds a bad row (when the harness was not told
    /// of it: it fails the trial too), or it ran out under [`WhenExhausted::Fail`].
    pub async fn feed<T>(&mut self, feeder: &Feeder<T>) -> Result<Arc<T>, FeedError>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        if let Some(row) = self.held_row(feeder) {
            return Ok(row);
        }
        let ctx = self.ctx.clone();
        let (loaded, read_now) = match ctx.fixtures.feeds.get(feeder).await {
            Ok(got) => got,
            Err(problem) => {
                if !ctx.feeds.detached && ctx.feeds.first_error(&problem.to_string()) {
                    ctx.error(problem.to_string());
                }
                return Err(problem.into());
            }
        };
        let name = feeder.name;
        if read_now
            && matches!(feeder.source, Source::File { .. })
            && !ctx.fixtures.feeds.was_declared(name)
        {
            ctx.feeds.note(format!(
                "feeder {name} was not declared with Harness::feeder: its file was read at its \
                 first use, during the load, instead of checked before it"
            ));
        }
        let again = feeder.exhausted == WhenExhausted::Recycle;
        let row = match loaded.take(feeder.cycle, again) {
            Take::Row(row) => row,
            Take::Again(row) => {
                ctx.feeds.note(format!(
                    "feeder {name} handed out all {} rows and started over: rows were handed \
                     out again (WhenExhausted::Recycle)",
                    loaded.held()
                ));
                row
            }
            Take::Exhausted => return Err(self.exhausted(feeder, &loaded).await),
        };
        ctx.recorder.counter(self.shard(), &loaded.counter, 1);
        self.hold(feeder, row.clone());
        Ok(row)
    }

    /// The row this user holds of `feeder` and may use again, if any.
    fn held_row<T: Send + Sync + 'static>(&self, feeder: &Feeder<T>) -> Option<Arc<T>> {
        let held = self.fed.iter().find(|held| held.name == feeder.name)?;
        let same = held.source == feeder.source.fingerprint();
        if !same || (!feeder.per_user && held.iteration != self.iterations) {
            return None;
        }
        held.row.clone().downcast::<T>().ok()
    }

    fn hold<T: Send + Sync + 'static>(&mut self, feeder: &Feeder<T>, row: Arc<T>) {
        let name = feeder.name;
        let held = Held {
            name,
            source: feeder.source.fingerprint(),
            iteration: self.iterations,
            row,
        };
        match self.fed.iter_mut().find(|held| held.name == name) {
            Some(slot) => *slot = held,
            None => self.fed.push(held),
        }
    }

    /// What a call that found every unique row handed out ends in: the trial stopped (the
    /// call never returns: the runner ends its task, unrecorded, as at the request limit), or
    /// the error.
    async fn exhausted<T>(&mut self, feeder: &Feeder<T>, loaded: &Loaded<T>) -> FeedError {
        let (name, rows) = (feeder.name, loaded.held());
        let ctx = self.ctx.clone();
        match feeder.exhausted {
            WhenExhausted::Stop if !ctx.feeds.detached => {
                ctx.feeds.note(format!(
                    "data exhausted: feeder {name} handed out all {rows} rows; no new iteration \
                     was started after that"
                ));
                ctx.stop.cancel();
                self.parked.cancel();
                std::future::pending().await
            }
            WhenExhausted::Fail if !ctx.feeds.detached => {
                ctx.feeds.note(format!(
                    "feeder {name} ran out of rows after all {rows}: the iterations that asked \
                     for more failed (`feeder {name} exhausted`)"
                ));
            }
            _ => {}
        }
        Problem::Exhausted {
            name: name.to_owned(),
            rows,
        }
        .into()
    }
}
