//! Feeders against hostile files (each a clear error, bounded memory, never a panic), the
//! slicing across shards and workers, the policies, and `User::feed` itself.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use serde::Deserialize;

use super::read::{self, Format, MAX_LINE};
use super::store::{Setup, Take, WorkerSlot, load, part};
use super::{Feeder, Problem, WhenExhausted};
use crate::shard::ShardId;
use crate::user::User;

#[derive(Debug, Deserialize, PartialEq)]
struct Account {
    email: String,
    age: u32,
}

/// A path that lives as long as the test process (feeders take `&'static str`).
fn leak(path: &Path) -> &'static str {
    Box::leak(path.display().to_string().into_boxed_str())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> &'static str {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    leak(&path)
}

fn csv_rows(bytes: &[u8]) -> Result<Vec<Account>, Problem> {
    rows_of(Format::Csv, bytes)
}

fn rows_of<T: serde::de::DeserializeOwned>(
    format: Format,
    bytes: &[u8],
) -> Result<Vec<T>, Problem> {
    let mut rows = Vec::new();
    read::rows(format, bytes, "data", 0..u64::MAX, |row| rows.push(row))?;
    Ok(rows)
}

fn error(result: Result<impl std::fmt::Debug, Problem>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn csv_rows_are_typed_by_their_header() {
    let rows = csv_rows(b"email,age\na@x.test,3\r\nb@x.test,4").unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[1],
        Account {
            email: "b@x.test".into(),
            age: 4
        }
    );
    // The header, not the order, says which column is which.
    let rows = csv_rows(b"age,email\n5,c@x.test\n").unwrap();
    assert_eq!(rows[0].email, "c@x.test");
}

#[test]
fn a_bad_row_names_the_file_the_line_and_the_field() {
    let message = error(csv_rows(b"email,age\na@x,3\nb@x,old\n"));
    assert!(message.starts_with("data:3: field `age`: "), "{message}");
    assert!(message.contains("invalid digit"), "{message}");
    let message = error(csv_rows(b"email,age\na@x,3,9\n"));
    assert_eq!(message, "data:2: 3 fields, where the header names 2");
    let message = error(csv_rows(b"email\na@x\n"));
    assert!(
        message.starts_with("data:2: ") && message.contains("missing field `age`"),
        "{message}"
    );
    let message = error(csv_rows(b"email,age\n\xff\xfe,1\n"));
    assert!(
        message.starts_with("data:2: field `email`: not UTF-8"),
        "{message}"
    );
    let message = error(rows_of::<Account>(
        Format::JsonLines,
        b"{\"email\":\"a\",\"age\":1}\n\n{\"email\":\"b\",\"age\":-1}\n",
    ));
    assert!(
        message.starts_with("data:3: field `age`: invalid value"),
        "{message}"
    );
    let message = error(rows_of::<Account>(
        Format::JsonLines,
        b"{\"email\":\"a\",\"age\":1} x\n",
    ));
    assert!(
        message.starts_with("data:1: trailing characters at column"),
        "{message}"
    );
}

#[test]
fn hostile_headers_and_bytes_are_one_clear_error() {
    let message = error(csv_rows(b"email,age,email\na,1,b\n"));
    assert_eq!(
        message,
        "data:1: the header names `email` twice (columns 1 and 3)"
    );
    assert_eq!(
        error(csv_rows(b"")),
        "data has no rows (a header line, then one line per row)"
    );
    assert_eq!(
        error(csv_rows(b"email,age\n")),
        "data has no rows (a header line, then one line per row)"
    );
    assert_eq!(
        error(rows_of::<Account>(Format::JsonLines, b"\n\n")),
        "data has no rows"
    );
    let message = error(csv_rows(b"email,age\na,1\nb,\0\n"));
    assert!(message.starts_with("data:3: a NUL byte"), "{message}");
    let message = error(rows_of::<serde_json::Value>(Format::JsonLines, b"{}\n\0"));
    assert!(message.starts_with("data:2: a NUL byte"), "{message}");
    let message = error(rows_of::<serde_json::Value>(Format::JsonLines, b"\xff\n"));
    assert!(message.starts_with("data:1: not UTF-8"), "{message}");
}

#[test]
fn a_gigabyte_line_stops_at_the_line_limit_without_filling_memory() {
    // 1 GB streamed, never written: each read is refused once the record passes 1 MiB.
    let gigabyte = || std::io::repeat(b'a').take(1 << 30);
    for format in [Format::Csv, Format::JsonLines] {
        let started = std::time::Instant::now();
        let message = error(read::rows::<Account>(
            format,
            gigabyte(),
            "big",
            0..0,
            |_| {},
        ));
        assert_eq!(
            message,
            format!(
                "big:1: the line is longer than {MAX_LINE} bytes, the most one row may take (is this a data file?)"
            )
        );
        assert!(
            started.elapsed().as_secs() < 20,
            "read only the first MiB or so"
        );
    }
    // A header, then a quote left open over many short lines: one record past the limit.
    let open_quote = b"email,age\n\""
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b"ab\n".iter().copied(), 600_000).flatten());
    let bytes: Vec<u8> = open_quote.collect();
    let message = error(csv_rows(&bytes));
    assert!(
        message.starts_with("data:2: the line is longer"),
        "{message}"
    );
}

#[test]
fn json_nested_ten_thousand_deep_is_an_error_not_a_stack_overflow() {
    let deep = format!(
        "{{\"email\":{}{},\"age\":1}}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    // On a small stack, as a runtime's blocking thread may have.
    let message = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || error(rows_of::<Account>(Format::JsonLines, deep.as_bytes())))
        .unwrap()
        .join()
        .unwrap();
    assert!(message.starts_with("data:1: field `email`: "), "{message}");
    let deep = "[".repeat(10_000);
    let message = error(rows_of::<serde_json::Value>(
        Format::JsonLines,
        deep.as_bytes(),
    ));
    assert!(message.contains("recursion limit exceeded"), "{message}");
}

#[test]
fn missing_files_directories_and_devices_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup {
        data_dir: Some(dir.path().to_owned()),
        ..Setup::default()
    };
    let missing = load(Feeder::<Account>::csv("nowhere.csv"), &setup)
        .err()
        .unwrap()
        .to_string();
    let expected = format!(
        "feeder file {} cannot be opened: ",
        dir.path().join("nowhere.csv").display()
    );
    assert!(missing.starts_with(&expected), "{missing}");
    assert!(
        missing.ends_with(&format!(
            "(relative paths are read from PT_DATA_DIR {})",
            dir.path().display()
        )),
        "{missing}"
    );
    let here = load(Feeder::<Account>::csv("nowhere.csv"), &Setup::default())
        .err()
        .unwrap()
        .to_string();
    let cwd = std::env::current_dir().unwrap();
    assert!(
        here.contains(&format!("the working directory {}", cwd.display())),
        "{here}"
    );
    let directory = load(Feeder::<Account>::csv(leak(dir.path())), &setup)
        .err()
        .unwrap()
        .to_string();
    assert!(
        directory.ends_with("is a directory, not a file of rows"),
        "{directory}"
    );
    #[cfg(unix)]
    for feeder in [
        Feeder::<Account>::csv("/dev/zero"),
        Feeder::json_lines("/dev/zero"),
    ] {
        let zero = load(feeder, &setup).err().unwrap().to_string();
        assert!(zero.starts_with("/dev/zero:1: a NUL byte"), "{zero}");
    }
}

fn emails(count: u64) -> Vec<u8> {
    let mut text = String::from("email,age\n");
    for i in 0..count {
        text.push_str(&format!("u{i}@x.test,{i}\n"));
    }
    text.into_bytes()
}

/// Every row `feeder` hands out under `setup`, until it runs out.
fn drain(feeder: Feeder<Account>, setup: &Setup) -> Vec<u32> {
    let loaded = load(feeder, setup).unwrap();
    std::iter::from_fn(|| match loaded.take(false, false) {
        Take::Row(row) => Some(row.age),
        Take::Again(_) | Take::Exhausted => None,
    })
    .collect()
}

#[test]
fn shards_keep_disjoint_slices_that_tile_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "ten.csv", &emails(10));
    let mut all = Vec::new();
    for index in 1..=3 {
        let setup = Setup {
            shard: Some(ShardId { index, count: 3 }),
            ..Setup::default()
        };
        let slice = drain(Feeder::csv(path), &setup);
        // floor(10·i/3): 0..3, 3..6, 6..10, as users are cut.
        let wanted: Vec<u32> = (ShardId { index, count: 3 }.range(10))
            .map(|i| i as u32)
            .collect();
        assert_eq!(slice, wanted);
        all.extend(slice);
    }
    assert_eq!(all, (0..10).collect::<Vec<_>>());
}

#[test]
fn workers_cut_their_shards_slice_again() {
    let slot = |index, count| Setup {
        shard: Some(ShardId { index: 2, count: 2 }),
        worker: Some(WorkerSlot::Known { index, count }),
        ..Setup::default()
    };
    // Shard 2/2 of 20 rows is 10..20; its two workers take 10..15 and 15..20.
    assert_eq!(part(20, &slot(0, 2), "f").unwrap(), 10..15);
    assert_eq!(part(20, &slot(1, 2), "f").unwrap(), 15..20);
    let beyond = part(20, &slot(2, 2), "emails").unwrap_err().to_string();
    assert!(beyond.starts_with("feeder emails: this Locust worker has index 2, not below the master's --expect-workers 2"), "{beyond}");
    let waiting = Setup {
        worker: Some(WorkerSlot::Waiting),
        ..Setup::default()
    };
    assert!(
        part(20, &waiting, "f")
            .unwrap_err()
            .to_string()
            .contains("has not told this worker its place")
    );
}

#[test]
fn cycling_wraps_from_this_shards_start_and_recycling_restarts_its_slice() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "four.csv", &emails(4));
    let setup = Setup {
        shard: Some(ShardId { index: 2, count: 2 }),
        ..Setup::default()
    };
    let loaded = load(Feeder::<Account>::csv(path).cycle(), &setup).unwrap();
    let ages: Vec<u32> = (0..6)
        .map(|_| match loaded.take(true, false) {
            Take::Row(row) => row.age,
            _ => panic!("a cycling feeder never runs out"),
        })
        .collect();
    assert_eq!(ages, [2, 3, 0, 1, 2, 3]);
    let loaded = load(Feeder::<Account>::csv(path), &setup).unwrap();
    let taken: Vec<(bool, u32)> = (0..5)
        .map(|_| match loaded.take(false, true) {
            Take::Row(row) => (false, row.age),
            Take::Again(row) => (true, row.age),
            Take::Exhausted => panic!("recycling never runs out"),
        })
        .collect();
    assert_eq!(
        taken,
        [(false, 2), (false, 3), (true, 2), (true, 3), (true, 2)]
    );
}

#[test]
fn generated_rows_are_cut_like_a_files() {
    static MADE: Feeder<u64> = Feeder::generate("ids", 7, |i| i * 10);
    let setup = Setup {
        shard: Some(ShardId { index: 3, count: 3 }),
        ..Setup::default()
    };
    let loaded = load(MADE, &setup).unwrap();
    let made: Vec<u64> = std::iter::from_fn(|| match loaded.take(false, false) {
        Take::Row(row) => Some(*row),
        _ => None,
    })
    .collect();
    assert_eq!(made, [40, 50, 60]);
    let none = load(Feeder::<u64>::generate("none", 0, |i| i), &Setup::default());
    assert_eq!(error(none.map(|_| ())), "none has no rows");
}

#[tokio::test]
async fn users_hold_rows_as_the_policy_says_and_never_share_unique_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "accounts.csv", &emails(3));
    let per_user: &'static Feeder<Account> =
        Box::leak(Box::new(Feeder::csv(path).named("per user").per_user()));
    let mut a = User::standalone("http://h:1/").await;
    // Users of one run share one store, as a trial's do.
    let ctx = crate::user::TrialContext::detached(
        a.base_url().cloned(),
        a.ctx.clients.clone(),
        a.ctx.fixtures.clone(),
    );
    let mut b = User::new(1, ctx, None);
    let first = a.feed(per_user).await.unwrap();
    a.iterations += 1;
    assert!(
        Arc::ptr_eq(&first, &a.feed(per_user).await.unwrap()),
        "the same row for life"
    );
    let other = b.feed(per_user).await.unwrap();
    assert_ne!(first.email, other.email);
    let per_iteration: &'static Feeder<Account> =
        Box::leak(Box::new(Feeder::csv(path).named("per iteration")));
    let one = b.feed(per_iteration).await.unwrap();
    assert!(
        Arc::ptr_eq(&one, &b.feed(per_iteration).await.unwrap()),
        "one row per iteration"
    );
    b.iterations += 1;
    assert_ne!(one.email, b.feed(per_iteration).await.unwrap().email);
    b.iterations += 1;
    b.feed(per_iteration).await.unwrap();
    // Outside a trial, a feeder that would stop it fails the call instead.
    b.iterations += 1;
    let exhausted = b.feed(per_iteration).await.unwrap_err();
    assert!(exhausted.is_exhausted());
    assert_eq!(
        exhausted.to_string(),
        "feeder per iteration exhausted: it handed out all 3 rows"
    );
    let counters = a.ctx.recorder.take().metrics.counters;
    assert_eq!(counters.get("feeder per user"), Some(&1));
}

#[tokio::test]
async fn two_feeders_of_one_name_are_refused() {
    static ONE: Feeder<u64> = Feeder::generate("ids", 3, |i| i);
    static TWO: Feeder<u64> = Feeder::generate("ids", 4, |i| i);
    let mut user = User::standalone("http://h:1/").await;
    user.feed(&ONE).await.unwrap();
    let clash = user.feed(&TWO).await.unwrap_err().to_string();
    assert!(
        clash.starts_with("two feeders are named \"ids\""),
        "{clash}"
    );
    let _ = WhenExhausted::default();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Any bytes are rows or one error, never a panic, in either format.
    #[test]
    fn any_bytes_give_rows_or_one_error(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut header = b"email,age\n".to_vec();
        header.extend_from_slice(&bytes);
        for input in [&bytes[..], &header[..]] {
            match csv_rows(input) {
                Ok(rows) => prop_assert!(!rows.is_empty()),
                Err(problem) => prop_assert!(problem.to_string().starts_with("data")),
            }
            if let Err(problem) = rows_of::<serde_json::Value>(Format::JsonLines, input) {
                prop_assert!(problem.to_string().starts_with("data"));
            }
        }
    }
}
