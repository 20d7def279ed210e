//! Where a process keeps its feeders' rows: loaded once per process (checked before any load
//! when the harness was told of the feeder, else at its first use), this process's part cut
//! out (its shard's, its Locust worker's), and handed out by one atomic counter per feeder so
//! no two users ever take the same unique row. Also a trial's notes about its feeders, which
//! become its report's warnings.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use super::error::Problem;
use super::read::{self, Format, MAX_KEPT};
use super::{Feeder, Source};
use crate::shard::ShardId;

/// What decides a process's part of every feeder's rows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Setup {
    /// `PT_DATA_DIR`: where relative paths are read from; the working directory when unset.
    pub data_dir: Option<PathBuf>,
    /// `PT_SHARD`.
    pub shard: Option<ShardId>,
    /// A Locust worker's slot, once the master told it (`None`: not a worker).
    pub worker: Option<WorkerSlot>,
}

/// A Locust worker's place among the master's workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkerSlot {
    /// The master has not said yet.
    Waiting,
    /// The master's `ack` index (0-based) and its `--expect-workers`.
    #[cfg_attr(
        not(feature = "locust"),
        allow(dead_code, reason = "only the Locust worker learns its slot")
    )]
    Known { index: u64, count: u64 },
}

/// A feeder as the harness keeps it when told of it (`Harness::feeder`): its type erased.
pub(crate) trait Declared: Send + Sync {
    /// Its name.
    fn name(&self) -> &'static str;
    /// What it reads, for messages.
    fn describe(&self) -> String;
    /// Reads and checks it into `store` before any load.
    fn prepare(&self, store: &FeedStore) -> Result<(), Problem>;
}

impl<T: DeserializeOwned + Send + Sync + 'static> Declared for Feeder<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn describe(&self) -> String {
        self.source.describe()
    }
    fn prepare(&self, store: &FeedStore) -> Result<(), Problem> {
        store.prepare(*self)
    }
}

/// One feeder's rows in this process.
pub(crate) struct Loaded<T> {
    rows: Rows<T>,
    /// Rows handed out so far: the next unique row is `mine.start + taken`.
    taken: AtomicU64,
    /// Rows of the whole file (or generator), every process's together.
    total: u64,
    /// This process's rows, as indices into the whole.
    pub(super) mine: Range<u64>,
    /// The custom counter its rows are counted under: `feeder NAME`.
    pub(super) counter: String,
}

enum Rows<T> {
    /// The rows of `first..first + rows.len()`, read from a file.
    Kept { first: u64, rows: Vec<Arc<T>> },
    /// Made on demand from their index.
    Made(fn(u64) -> T),
}

/// A row taken, or why none was.
pub(crate) enum Take<T> {
    Row(Arc<T>),
    /// A row again, after every one had been handed out (recycle).
    Again(Arc<T>),
    /// Every unique row has been handed out.
    Exhausted,
}

impl<T> Loaded<T> {
    /// The next row: a unique one of this process's part, or, when `cycle`, the next of the
    /// whole file from this part's start on, wrapping. `again` hands this part out once more
    /// when it is used up.
    pub(crate) fn take(&self, cycle: bool, again: bool) -> Take<T> {
        let n = self.taken.fetch_add(1, Ordering::Relaxed);
        if cycle {
            return Take::Row(self.row((self.mine.start + n) % self.total));
        }
        let held = self.held();
        match n.checked_sub(held) {
            None => Take::Row(self.row(self.mine.start + n)),
            Some(_) if again && held > 0 => Take::Again(self.row(self.mine.start + n % held)),
            Some(_) => Take::Exhausted,
        }
    }

    /// The unique rows this process holds.
    pub(crate) fn held(&self) -> u64 {
        self.mine.end - self.mine.start
    }

    fn row(&self, index: u64) -> Arc<T> {
        match &self.rows {
            Rows::Kept { first, rows } => rows[(index - first) as usize].clone(),
            Rows::Made(make) => Arc::new(make(index)),
        }
    }
}

/// A feeder's rows, or why they could not be had, with what tells feeders of one name apart.
struct Entry {
    type_id: TypeId,
    source: String,
    /// The source's fingerprint: the same feeder is recognised without building its text.
    fingerprint: (usize, u64),
    loaded: Result<Arc<dyn Any + Send + Sync>, Problem>,
}

/// The feeders of one process, by name.
#[derive(Default)]
pub(crate) struct FeedStore {
    setup: Mutex<Setup>,
    cells: Mutex<HashMap<&'static str, Arc<OnceCell<Entry>>>>,
    /// Names the harness was told of (checked before any load).
    declared: Mutex<Vec<&'static str>>,
}

impl std::fmt::Debug for FeedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedStore").finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FeedStore {
    /// Sets where files are read from and which part of them is this process's.
    pub(crate) fn configure(&self, setup: Setup) {
        *lock(&self.setup) = setup;
    }

    /// A Locust worker learned its slot from the master; the first one stays (rows already
    /// cut by it must not be cut again another way), a different later one is warned about.
    #[cfg_attr(
        not(feature = "locust"),
        allow(dead_code, reason = "only the Locust worker learns its slot")
    )]
    pub(crate) fn set_worker(&self, index: u64, count: u64) {
        let mut setup = lock(&self.setup);
        match setup.worker {
            Some(WorkerSlot::Known { index: i, count: c }) if (i, c) != (index, count) => {
                crate::logging::warning!(
                    "feeders keep this worker's first slot (index {i} of {c}); the master now \
                     says index {index} of {count}: unique rows may overlap another worker's"
                );
            }
            Some(WorkerSlot::Known { .. }) => {}
            _ => setup.worker = Some(WorkerSlot::Known { index, count }),
        }
    }

    /// Checks the feeders the harness was told of, before any load: each file read whole
    /// (streamed), and this process's rows kept; a worker, whose part the master decides
    /// later, only checks them.
    pub(crate) fn prepare_all(&self, feeders: &[&'static dyn Declared]) -> Result<(), Problem> {
        let mut named: HashMap<&str, String> = HashMap::new();
        for feeder in feeders {
            let source = feeder.describe();
            match named.get(feeder.name()) {
                Some(first) if *first != source => {
                    return Err(Problem::NameClash {
                        name: feeder.name().to_owned(),
                        first: first.clone(),
                        second: source,
                    });
                }
                Some(_) => continue,
                None => named.insert(feeder.name(), source),
            };
            feeder.prepare(self)?;
            lock(&self.declared).push(feeder.name());
        }
        Ok(())
    }

    fn prepare<T: DeserializeOwned + Send + Sync + 'static>(
        &self,
        feeder: Feeder<T>,
    ) -> Result<(), Problem> {
        let setup = lock(&self.setup).clone();
        if setup.worker.is_some() {
            return check(&feeder, &setup);
        }
        let entry = entry(&feeder, load(feeder, &setup));
        if let Err(problem) = &entry.loaded {
            return Err(problem.clone());
        }
        lock(&self.cells).insert(feeder.name, Arc::new(OnceCell::new_with(Some(entry))));
        Ok(())
    }

    /// Whether the harness checked `name` before the load.
    pub(crate) fn was_declared(&self, name: &str) -> bool {
        lock(&self.declared).contains(&name)
    }

    /// The rows of `feeder`, read on its first use (off the runtime's threads) when the
    /// harness did not read them before the load; `true` beside them when this call read them.
    pub(crate) async fn get<T: DeserializeOwned + Send + Sync + 'static>(
        &self,
        feeder: &Feeder<T>,
    ) -> Result<(Arc<Loaded<T>>, bool), Problem> {
        let cell = lock(&self.cells).entry(feeder.name).or_default().clone();
        let mut read_now = false;
        let entry = cell
            .get_or_init(|| async {
                read_now = true;
                let (feeder, setup) = (*feeder, lock(&self.setup).clone());
                let loaded = tokio::task::spawn_blocking(move || load(feeder, &setup))
                    .await
                    .unwrap_or_else(|panic| {
                        Err(Problem::Read {
                            path: feeder.source.describe(),
                            line: 0,
                            reason: format!("the read panicked: {panic}"),
                        })
                    });
                entry(&feeder, loaded)
            })
            .await;
        // The text only when the fingerprints differ: a call per iteration builds no string.
        let same_source = entry.fingerprint == feeder.source.fingerprint()
            || entry.source == feeder.source.describe();
        if entry.type_id != TypeId::of::<T>() || !same_source {
            return Err(Problem::NameClash {
                name: feeder.name.to_owned(),
                first: entry.source.clone(),
                second: format!(
                    "{} of {}",
                    feeder.source.describe(),
                    std::any::type_name::<T>()
                ),
            });
        }
        let loaded = entry.loaded.clone()?;
        let loaded = loaded
            .downcast::<Loaded<T>>()
            .expect("entries of one type id hold that type");
        Ok((loaded, read_now))
    }
}

fn entry<T: Send + Sync + 'static>(
    feeder: &Feeder<T>,
    loaded: Result<Loaded<T>, Problem>,
) -> Entry {
    Entry {
        type_id: TypeId::of::<T>(),
        source: feeder.source.describe(),
        fingerprint: feeder.source.fingerprint(),
        loaded: loaded.map(|loaded| Arc::new(loaded) as Arc<dyn Any + Send + Sync>),
    }
}

/// This process's rows of `total`: its shard's part, then its worker's part of that, cut as
/// `ShardId::range` cuts users.
pub(super) fn part(total: u64, setup: &Setup, name: &str) -> Result<Range<u64>, Problem> {
    let mut part = 0..total;
    if let Some(shard) = setup.shard {
        part = shard.range(total);
    }
    match setup.worker {
        None => {}
        Some(WorkerSlot::Waiting) => {
            return Err(Problem::NoWorkerSlot {
                name: name.to_owned(),
            });
        }
        Some(WorkerSlot::Known { index, count }) => {
            let (Ok(i), Ok(n)) = (u32::try_from(index), u32::try_from(count)) else {
                return Err(Problem::WorkerBeyond {
                    name: name.to_owned(),
                    index,
                    count,
                });
            };
            if i >= n {
                return Err(Problem::WorkerBeyond {
                    name: name.to_owned(),
                    index,
                    count,
                });
            }
            let within = ShardId {
                index: i + 1,
                count: n,
            }
            .range(part.end - part.start);
            part = part.start + within.start..part.start + within.end;
        }
    }
    Ok(part)
}

/// Where a relative `path` is read from, and that place as a message says it.
fn resolve(path: &str, setup: &Setup) -> (PathBuf, String) {
    let dir = match &setup.data_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().unwrap_or_default(),
    };
    let shown = match &setup.data_dir {
        Some(_) => format!("PT_DATA_DIR {}", dir.display()),
        None => format!("the working directory {}", dir.display()),
    };
    (dir.join(Path::new(path)), shown)
}

/// Reads and checks a file feeder's rows without keeping any (a worker before its slot).
fn check<T: DeserializeOwned>(feeder: &Feeder<T>, setup: &Setup) -> Result<(), Problem> {
    match feeder.source {
        Source::Generated { count: 0, .. } => Err(Problem::NoRows {
            path: feeder.name.to_owned(),
            csv: false,
        }),
        Source::Generated { .. } => Ok(()),
        Source::File { path, format } => {
            count_rows::<T>(path, format, setup, 0..0, |_| {}).map(|_| ())
        }
    }
}

/// Reads the file at `path`, handing the rows of `keep` to `kept`; the number of rows.
fn count_rows<T: DeserializeOwned>(
    path: &str,
    format: Format,
    setup: &Setup,
    keep: Range<u64>,
    kept: impl FnMut(T),
) -> Result<u64, Problem> {
    let (full, dir) = resolve(path, setup);
    let file = read::open(&full, &dir)?;
    read::rows(format, file, &full.display().to_string(), keep, kept)
}

/// Loads `feeder`'s rows for this process: all of them for a cycling feeder or a process
/// that has the whole, else (after a first pass that counts and checks every row) its part.
pub(super) fn load<T: DeserializeOwned>(
    feeder: Feeder<T>,
    setup: &Setup,
) -> Result<Loaded<T>, Problem> {
    let counter = format!("feeder {}", feeder.name);
    let (path, format) = match feeder.source {
        Source::Generated { count, make } => {
            if count == 0 {
                return Err(Problem::NoRows {
                    path: feeder.name.to_owned(),
                    csv: false,
                });
            }
            return Ok(Loaded {
                rows: Rows::Made(make),
                taken: AtomicU64::new(0),
                total: count,
                mine: part(count, setup, feeder.name)?,
                counter,
            });
        }
        Source::File { path, format } => (path, format),
    };
    let whole = feeder.cycle || (setup.shard.is_none() && setup.worker.is_none());
    let (keep, counted) = if whole {
        (0..u64::MAX, None)
    } else {
        let total = count_rows::<T>(path, format, setup, 0..0, |_| {})?;
        (part(total, setup, feeder.name)?, Some(total))
    };
    let mut rows = Vec::new();
    let mut over = false;
    let total = count_rows(path, format, setup, keep.clone(), |row| {
        if (rows.len() as u64) < MAX_KEPT {
            rows.push(Arc::new(row));
        } else {
            over = true;
        }
    })?;
    let shown = resolve(path, setup).0.display().to_string();
    if over {
        return Err(Problem::TooMany {
            path: shown,
            max: MAX_KEPT,
        });
    }
    let (first, mine) = match counted {
        None => (0, part(total, setup, feeder.name)?),
        Some(before) if before != total => {
            return Err(Problem::Changed {
                path: shown,
                before,
                after: total,
            });
        }
        Some(_) => (keep.start, keep),
    };
    rows.shrink_to_fit();
    Ok(Loaded {
        rows: Rows::Kept { first, rows },
        taken: AtomicU64::new(0),
        total,
        mine,
        counter,
    })
}

/// A trial's notes about its feeders (exhaustion, reuse, a file read during the load),
/// each said once, for its report's warnings.
#[derive(Debug, Default)]
pub(crate) struct TrialFeeds {
    /// No runner watches this context (a standalone user, a fixture's set-up): a feeder that
    /// would stop the trial fails the call instead.
    pub(crate) detached: bool,
    notes: Mutex<Vec<String>>,
    /// Errors already made the trial's, so a bad file fails it once, not once per call.
    errors: Mutex<Vec<String>>,
}

impl TrialFeeds {
    /// The notes of a context no runner watches.
    pub(crate) fn detached() -> Self {
        TrialFeeds {
            detached: true,
            ..Self::default()
        }
    }

    /// Adds `note` unless it is there; `true` when it was new.
    pub(crate) fn note(&self, note: String) -> bool {
        let mut notes = lock(&self.notes);
        if notes.contains(&note) {
            return false;
        }
        notes.push(note);
        true
    }

    /// Whether `error` is new to this trial (and now known).
    pub(crate) fn first_error(&self, error: &str) -> bool {
        let mut errors = lock(&self.errors);
        if errors.iter().any(|e| e == error) {
            return false;
        }
        errors.push(error.to_owned());
        true
    }

    /// The notes, for the report's warnings.
    pub(crate) fn warnings(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.notes))
    }
}
