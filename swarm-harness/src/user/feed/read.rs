//! Reading a feeder's file as a stream of typed rows: CSV through the `csv` crate's reader,
//! JSON lines through a buffered reader line by line. Every row is deserialized (so a bad row
//! anywhere is found before any load); only the rows asked for are kept. Memory is bounded
//! whatever the file holds: a line (a CSV record) may take [`MAX_LINE`] bytes, a NUL byte ends
//! the read at once (binary data, `/dev/zero`), and JSON nests at most serde_json's 128 levels.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::path::Path;
use std::rc::Rc;

use serde::de::DeserializeOwned;

use super::error::Problem;

/// The most bytes one line (one CSV record, its quoted line breaks included) may take: 1 MiB.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// The most rows one feeder keeps in a process (its shard's or worker's part of the file).
pub(crate) const MAX_KEPT: u64 = 10_000_000;

/// How a file's rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// A header line naming the fields, then one record per row.
    Csv,
    /// One JSON value per line; blank lines are skipped.
    JsonLines,
}

/// Opens `path` (shown as `shown`) for reading: a missing file names the directory relative
/// paths are read from (`dir`), a directory is refused before it is read.
pub(crate) fn open(path: &Path, dir: &str) -> Result<File, Problem> {
    let shown = path.display().to_string();
    let unopened = |error: std::io::Error| Problem::Open {
        path: shown.clone(),
        reason: error.to_string(),
        dir: dir.to_owned(),
    };
    let metadata = std::fs::metadata(path).map_err(unopened)?;
    if metadata.is_dir() {
        return Err(Problem::Directory { path: shown });
    }
    File::open(path).map_err(unopened)
}

/// Reads every row of `file` (named `path` in errors; a file, or any stream), handing the rows whose index is in
/// `keep` to `kept`; the number of rows.
pub(crate) fn rows<T: DeserializeOwned>(
    format: Format,
    file: impl Read,
    path: &str,
    keep: Range<u64>,
    kept: impl FnMut(T),
) -> Result<u64, Problem> {
    let count = match format {
        Format::Csv => csv_rows(file, path, keep, kept)?,
        Format::JsonLines => json_rows(file, path, keep, kept)?,
    };
    if count == 0 {
        return Err(Problem::NoRows {
            path: path.to_owned(),
            csv: format == Format::Csv,
        });
    }
    Ok(count)
}

/// What the guard of a CSV read knows: bytes read, where the current record began, lines.
#[derive(Default)]
struct Gauge {
    read: Cell<u64>,
    record_start: Cell<u64>,
    /// The line the current record starts on, 1-based.
    record_line: Cell<u64>,
    /// Line breaks read so far.
    breaks: Cell<u64>,
    /// Why the guard stopped the read, when it did.
    stopped: Cell<Option<Stop>>,
}

#[derive(Debug, Clone, Copy)]
enum Stop {
    TooLong { line: u64 },
    Nul { line: u64 },
}

/// The reader under the CSV parser: it refuses a NUL byte and a record past [`MAX_LINE`]
/// (the parser would grow its record buffer for as long as a quote stays open).
struct Guarded<R> {
    inner: R,
    gauge: Rc<Gauge>,
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let gauge = &self.gauge;
        // The parser reads ahead by its buffer (8 KiB), so a record is cut at most that late.
        if gauge.read.get() - gauge.record_start.get() > MAX_LINE as u64 {
            gauge.stopped.set(Some(Stop::TooLong {
                line: gauge.record_line.get(),
            }));
            return Err(std::io::Error::other("line too long"));
        }
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        if let Some(at) = chunk.iter().position(|&b| b == 0) {
            let line = gauge.breaks.get() + newlines(&chunk[..at]) + 1;
            gauge.stopped.set(Some(Stop::Nul { line }));
            return Err(std::io::Error::other("NUL byte"));
        }
        gauge.breaks.set(gauge.breaks.get() + newlines(chunk));
        gauge.read.set(gauge.read.get() + n as u64);
        Ok(n)
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

fn csv_rows<T: DeserializeOwned, R: Read>(
    file: R,
    path: &str,
    keep: Range<u64>,
    mut kept: impl FnMut(T),
) -> Result<u64, Problem> {
    let gauge = Rc::new(Gauge::default());
    gauge.record_line.set(1);
    let guarded = Guarded {
        inner: file,
        gauge: gauge.clone(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(guarded);
    let fail = |error: csv::Error, headers: Option<&csv::StringRecord>| {
        csv_problem(error, headers, path, &gauge)
    };
    let headers = reader.headers().map_err(|e| fail(e, None))?.clone();
    check_headers(&headers, path)?;
    let mark = |reader: &csv::Reader<Guarded<R>>| {
        gauge.record_start.set(reader.position().byte());
        gauge.record_line.set(reader.position().line());
    };
    mark(&reader);
    let mut record = csv::StringRecord::new();
    let mut count = 0_u64;
    while reader
        .read_record(&mut record)
        .map_err(|e| fail(e, Some(&headers)))?
    {
        let line = record.position().map_or(0, csv::Position::line);
        mark(&reader);
        let row: T = record.deserialize(Some(&headers)).map_err(|e| {
            let mut problem = fail(e, Some(&headers));
            if let Problem::Row { line: at, .. } = &mut problem {
                *at = line;
            }
            problem
        })?;
        if keep.contains(&count) {
            kept(row);
        }
        count += 1;
    }
    Ok(count)
}

/// A header that names a field twice would leave which column a field takes to chance.
fn check_headers(headers: &csv::StringRecord, path: &str) -> Result<(), Problem> {
    let mut seen = std::collections::HashMap::new();
    for (column, name) in headers.iter().enumerate() {
        if let Some(first) = seen.insert(name, column + 1) {
            return Err(Problem::DuplicateHeader {
                path: path.to_owned(),
                name: name.to_owned(),
                first,
                second: column + 1,
            });
        }
    }
    Ok(())
}

/// The one message a CSV error becomes: the line, and the field by its header name.
fn csv_problem(
    error: csv::Error,
    headers: Option<&csv::StringRecord>,
    path: &str,
    gauge: &Gauge,
) -> Problem {
    let path = path.to_owned();
    let field_name = |index: Option<u64>| {
        index.map(|i| {
            headers
                .and_then(|h| h.get(i as usize))
                .map_or_else(|| format!("#{}", i + 1), str::to_owned)
        })
    };
    let line_of = |position: Option<&csv::Position>| position.map_or(0, csv::Position::line);
    match error.into_kind() {
        csv::ErrorKind::Io(error) => match gauge.stopped.get() {
            Some(Stop::TooLong { line }) => Problem::TooLong {
                path,
                line,
                max: MAX_LINE,
            },
            Some(Stop::Nul { line }) => Problem::Nul { path, line },
            None => Problem::Read {
                path,
                line: gauge.breaks.get() + 1,
                reason: error.to_string(),
            },
        },
        csv::ErrorKind::Utf8 { pos, err } => Problem::Row {
            path,
            line: line_of(pos.as_ref()),
            field: field_name(Some(err.field() as u64)),
            message: format!(
                "not UTF-8 text (a bad byte after {} bytes)",
                err.valid_up_to()
            ),
        },
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => Problem::Row {
            path,
            line: line_of(pos.as_ref()),
            field: None,
            message: format!("{len} fields, where the header names {expected_len}"),
        },
        csv::ErrorKind::Deserialize { pos, err } => Problem::Row {
            path,
            line: line_of(pos.as_ref()),
            field: field_name(err.field()),
            message: err.kind().to_string(),
        },
        other => Problem::Read {
            path,
            line: gauge.record_line.get(),
            reason: format!("{other:?}"),
        },
    }
}

fn json_rows<T: DeserializeOwned>(
    file: impl Read,
    path: &str,
    keep: Range<u64>,
    mut kept: impl FnMut(T),
) -> Result<u64, Problem> {
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut buffer = Vec::new();
    let (mut line, mut count) = (0_u64, 0_u64);
    loop {
        buffer.clear();
        // One byte past the limit tells a line at the limit from a longer one.
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buffer)
            .map_err(|error| Problem::Read {
                path: path.to_owned(),
                line: line + 1,
                reason: error.to_string(),
            })?;
        if read == 0 {
            return Ok(count);
        }
        line += 1;
        let text = json_line(&buffer, path, line)?;
        if text.trim().is_empty() {
            continue;
        }
        let row: T = json_row(text, path, line)?;
        if keep.contains(&count) {
            kept(row);
        }
        count += 1;
    }
}

/// A line's text without its line break, once it is known to be a line of text.
fn json_line<'a>(bytes: &'a [u8], path: &str, line: u64) -> Result<&'a str, Problem> {
    if bytes.contains(&0) {
        return Err(Problem::Nul {
            path: path.to_owned(),
            line,
        });
    }
    let bytes = match bytes.strip_suffix(b"\n") {
        Some(bytes) => bytes.strip_suffix(b"\r").unwrap_or(bytes),
        None if bytes.len() > MAX_LINE => {
            return Err(Problem::TooLong {
                path: path.to_owned(),
                line,
                max: MAX_LINE,
            });
        }
        None => bytes,
    };
    std::str::from_utf8(bytes).map_err(|error| Problem::Row {
        path: path.to_owned(),
        line,
        field: None,
        message: format!(
            "not UTF-8 text (a bad byte after {} bytes)",
            error.valid_up_to()
        ),
    })
}

/// One JSON line as a row; a field that does not fit is named by its path (`address.city`).
fn json_row<T: DeserializeOwned>(text: &str, path: &str, line: u64) -> Result<T, Problem> {
    let problem = |field: Option<String>, error: &serde_json::Error| Problem::Row {
        path: path.to_owned(),
        line,
        field,
        // serde_json counts lines within the one it was given: the column is what tells.
        message: error
            .to_string()
            .replace(" at line 1 column ", " at column "),
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let row = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = error.path().to_string();
        let field = (field != ".").then_some(field);
        problem(field, error.inner())
    })?;
    deserializer.end().map_err(|error| problem(None, &error))?;
    Ok(row)
}
