//! The request log (`PT_REQUEST_LOG=DIR`): a built-in [`RequestSink`] that writes one NDJSON
//! line per request, one file per trial (`DIR/{trial}.ndjson`; under `PT_SHARD=i/n`,
//! `DIR/{trial}.shard-{i}-of-{n}.ndjson`, so shards sharing a directory never collide).
//!
//! A line is written where the report counts the request (see `stats::tap`), so the file of
//! a trial has exactly as many lines as its report has requests, unless a warning says some
//! were left out. Its size is bounded (`PT_REQUEST_LOG_MAX`, 1 GiB by default): the first line
//! that would pass the bound, and every line after it, is left out, counted, and named in the
//! report's warnings; the file only ever holds whole lines.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::ser::{SerializeMap, Serializer};

use super::TrialInfo;
use super::requests::RequestSink;
use crate::shard::ShardId;
use crate::stats::{RequestRecord, Tag};

/// What a trial's log file is buffered with: few large writes, whatever the request rate.
const BUFFER: usize = 256 * 1024;

/// The request log of a run: where its files go, their bound, the trial being written.
pub(crate) struct RequestLog {
    dir: PathBuf,
    max_bytes: u64,
    shard: Option<ShardId>,
    trial: Option<TrialFile>,
}

/// The file of the running trial.
struct TrialFile {
    path: PathBuf,
    /// `None` once writing stopped (the bound reached, or an error).
    file: Option<BufWriter<File>>,
    written: u64,
    lines: u64,
    left_out: u64,
    /// Why writing stopped, when it was not the bound.
    failed: Option<String>,
    line: Vec<u8>,
}

impl RequestLog {
    /// A log writing into `dir` (checked writable before any load), at most `max_bytes` a
    /// file, named for `shard` when the process is one.
    pub(crate) fn new(dir: PathBuf, max_bytes: u64, shard: Option<ShardId>) -> Self {
        RequestLog {
            dir,
            max_bytes,
            shard,
            trial: None,
        }
    }

    /// The file of the trial `name` in `dir`.
    pub(crate) fn path(dir: &Path, name: &str, shard: Option<ShardId>) -> PathBuf {
        let stem = crate::report::file_stem(name);
        match shard {
            Some(shard) => dir.join(format!(
                "{stem}.shard-{}-of-{}.ndjson",
                shard.index, shard.count
            )),
            None => dir.join(format!("{stem}.ndjson")),
        }
    }
}

impl RequestSink for RequestLog {
    fn trial_started(&mut self, trial: &TrialInfo) {
        let path = Self::path(&self.dir, &trial.name, self.shard);
        let (file, failed) = match File::create(&path) {
            Ok(file) => (Some(BufWriter::with_capacity(BUFFER, file)), None),
            Err(error) => (None, Some(format!("it could not be created: {error}"))),
        };
        self.trial = Some(TrialFile {
            path,
            file,
            written: 0,
            lines: 0,
            left_out: 0,
            failed,
            line: Vec::with_capacity(512),
        });
    }

    fn requests(&mut self, batch: &[RequestRecord]) {
        let Some(trial) = &mut self.trial else {
            return;
        };
        for record in batch {
            trial.write(record, self.max_bytes);
        }
    }

    fn trial_ended(&mut self) -> Vec<String> {
        let Some(mut trial) = self.trial.take() else {
            return Vec::new();
        };
        if let Some(mut file) = trial.file.take()
            && let Err(error) = file.flush()
        {
            trial.failed = Some(format!("writing it failed: {error}"));
        }
        trial.warning(self.max_bytes).into_iter().collect()
    }
}

impl TrialFile {
    /// Writes `record`'s line whole, or leaves it out (and every later one) when it would
    /// pass `max_bytes` or writing failed.
    fn write(&mut self, record: &RequestRecord, max_bytes: u64) {
        let Some(file) = &mut self.file else {
            self.left_out += 1;
            return;
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &Line(record)).expect("a record serializes");
        self.line.push(b'\n');
        let length = self.line.len() as u64;
        if self.written + length > max_bytes {
            // Stop here rather than skip to a shorter line: the file is the log's first
            // lines, in order, with nothing missing among them.
            self.file = None;
            self.left_out += 1;
            return;
        }
        // A line that fails to write may be partly buffered: the file is cut there, and the
        // warning says the log is incomplete.
        if let Err(error) = file.write_all(&self.line) {
            self.failed = Some(format!("writing it failed: {error}"));
            self.file = None;
            self.left_out += 1;
            return;
        }
        self.written += length;
        self.lines += 1;
    }

    /// What the report should say of this file, if anything.
    fn warning(&self, max_bytes: u64) -> Option<String> {
        let path = self.path.display();
        let (lines, left_out) = (self.lines, self.left_out);
        match &self.failed {
            Some(why) => Some(format!(
                "request log {path}: {why}; it holds {lines} lines, {left_out} requests left out"
            )),
            None if left_out > 0 => Some(format!(
                "request log {path} reached PT_REQUEST_LOG_MAX ({max_bytes} bytes) after \
                 {lines} lines: the {left_out} requests after them were left out"
            )),
            None => None,
        }
    }
}

/// A record as a line of the log: the field names and forms docs/src/request-log.md gives.
struct Line<'a>(&'a RequestRecord);

impl serde::Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let record = self.0;
        let mut map = serializer.serialize_map(Some(11))?;
        map.serialize_entry("intended_start", &record.intended_start_us)?;
        map.serialize_entry("start", &record.start_us)?;
        map.serialize_entry("duration_us", &record.duration_us)?;
        map.serialize_entry("status", &record.status)?;
        map.serialize_entry("bytes", &record.bytes)?;
        map.serialize_entry("kind", &record.kind)?;
        map.serialize_entry("name", &record.name)?;
        map.serialize_entry("user", &record.user)?;
        map.serialize_entry("iteration", &record.iteration)?;
        map.serialize_entry("error", &record.error)?;
        map.serialize_entry("tags", &Tags(&record.tags))?;
        map.end()
    }
}

/// Tags as one object, `{"route": "flaky"}` (a request's keys are distinct).
struct Tags<'a>(&'a [Tag]);

impl serde::Serialize for Tags<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
pub(super) mod tests;
