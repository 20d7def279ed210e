//! What a feeder can fail with: one message naming the file, the line and the field (for a
//! bad row), or the feeder and its rows (at exhaustion). Cloned, not shared: a file that failed
//! to load fails every later feed of it with the same message.

/// A feeder that could not hand out a row: its file could not be read or holds a bad row (a
/// usage error before any load, exit 2, when the harness checked it), or it ran out of rows
/// under [`WhenExhausted::Fail`](crate::WhenExhausted::Fail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct FeedError(pub(crate) Problem);

impl FeedError {
    /// Whether the feeder ran out of rows (rather than failing to read them).
    pub fn is_exhausted(&self) -> bool {
        matches!(self.0, Problem::Exhausted { .. })
    }
}

impl From<Problem> for FeedError {
    fn from(problem: Problem) -> Self {
        FeedError(problem)
    }
}

/// The problems, each with what the message needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Problem {
    #[error("feeder file {path} cannot be opened: {reason} (relative paths are read from {dir})")]
    Open {
        path: String,
        reason: String,
        dir: String,
    },
    #[error("feeder file {path} is a directory, not a file of rows")]
    Directory { path: String },
    #[error("{path}:{line}: reading failed: {reason}")]
    Read {
        path: String,
        line: u64,
        reason: String,
    },
    #[error(
        "{path}:{line}: the line is longer than {max} bytes, the most one row may take \
         (is this a data file?)"
    )]
    TooLong { path: String, line: u64, max: usize },
    #[error("{path}:{line}: a NUL byte: a feeder file is text (CSV or JSON lines), not binary")]
    Nul { path: String, line: u64 },
    #[error("{path}:{line}: {}{message}", field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
    Row {
        path: String,
        line: u64,
        field: Option<String>,
        message: String,
    },
    #[error("{path}:1: the header names `{name}` twice (columns {first} and {second})")]
    DuplicateHeader {
        path: String,
        name: String,
        first: usize,
        second: usize,
    },
    #[error("{path} has no rows{}", if *csv { " (a header line, then one line per row)" } else { "" })]
    NoRows { path: String, csv: bool },
    #[error(
        "{path}: more than {max} rows for this process, the most a feeder keeps in memory; \
         split the load over shards (PT_SHARD) or make the rows with Feeder::generate"
    )]
    TooMany { path: String, max: u64 },
    #[error("{path} changed while it was read: {before} rows, then {after}")]
    Changed {
        path: String,
        before: u64,
        after: u64,
    },
    #[error(
        "two feeders are named {name:?} ({first} and {second}): rows are kept by name; give \
         one of them `.named(..)`"
    )]
    NameClash {
        name: String,
        first: String,
        second: String,
    },
    #[error("feeder {name} exhausted: it handed out all {rows} rows")]
    Exhausted { name: String, rows: u64 },
    #[error(
        "feeder {name}: this Locust worker has index {index}, not below the master's \
         --expect-workers {count}: unique rows are cut by the worker count, so start the \
         master with --expect-workers set to the number of workers"
    )]
    WorkerBeyond {
        name: String,
        index: u64,
        count: u64,
    },
    #[error(
        "feeder {name}: the Locust master has not told this worker its place (the index of \
         its ack and --expect-workers in its spawn, as Locust 2.x sends them), so which \
         unique rows are this worker's is unknown"
    )]
    NoWorkerSlot { name: String },
}
