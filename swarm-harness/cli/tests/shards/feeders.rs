//! Feeders against the loopback server's `/signup`, which counts every e-mail it receives:
//! unique e-mails from a CSV file the test writes are never sent twice, by the users of one
//! process or by three shard processes (whose union is exactly the rows they handed out); a
//! feeder with fewer rows than iterations stops its trial and says so; a bad row is one
//! error before any load, exit 2.

use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode};
use std::sync::atomic::Ordering;

use swarm_harness::Harness;
use swarm_harness_test_support::signup::{self, SIGNUP_EMAILS, SIGNUP_OR_FAIL};

use super::{common, finish, shard_command};

/// The custom counter `name` of a report: rows a feeder handed out.
fn counter(report: &serde_json::Value, name: &str) -> u64 {
    let counters = report["metrics"]["counters"].as_array().unwrap();
    counters
        .iter()
        .find(|c| c["name"] == name)
        .map_or(0, |c| c["value"].as_u64().unwrap())
}

fn warnings(report: &serde_json::Value) -> Vec<String> {
    let list = report["warnings"].as_array().unwrap();
    list.iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect()
}

/// A shard process of `signup` whose harness is told of the sign-up feeders.
fn feeding_shard(url: &str, reports: &Path, shard: &str, extra: &[&str]) -> Child {
    let mut command = shard_command("signup", url, reports, shard, extra);
    command.env("FEED_SIGNUP", "1").spawn().unwrap()
}

/// A run in this process of `trial` with its data in `data` and its reports in `reports`.
fn run_here(trial: &str, url: &str, data: &Path, reports: &Path, extra: &[&str]) -> ExitCode {
    let harness = Harness::new()
        .feeder(&SIGNUP_EMAILS)
        .feeder(&SIGNUP_OR_FAIL);
    let mut args = vec!["--data-dir", data.to_str().unwrap()];
    args.extend_from_slice(extra);
    common::run_with(harness, trial, url, reports, &args)
}

pub(super) fn users_of_one_process_never_send_one_email_twice() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let emails = signup::write_emails(dir.path(), 100_000);
    let reports = dir.path().join("reports");
    let code = run_here(
        "signup",
        &server.url,
        dir.path(),
        &reports,
        &["--num-clients", "8", "--duration", "1s"],
    );
    assert_eq!(code, ExitCode::SUCCESS);
    let seen = server.signups.seen();
    assert!(seen.len() > 100, "the users signed up: {}", seen.len());
    assert_eq!(server.signups.twice(), Vec::<String>::new());
    // The first rows, in order, each once: what the report counted.
    let report = common::read_json(&reports, "signup");
    assert_eq!(counter(&report, "feeder signup emails"), seen.len() as u64);
    assert!(seen.keys().all(|email| emails.contains(email)));
    assert_eq!(report["outcome"], "completed");
    assert!(
        !warnings(&report).iter().any(|w| w.contains("feeder")),
        "{report}"
    );
}

pub(super) fn three_shards_never_send_one_email_twice() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    // Fewer rows than the shards' iterations: each shard hands out its whole slice.
    let emails = signup::write_emails(dir.path(), 301);
    let start = time::OffsetDateTime::now_utc() + std::time::Duration::from_secs(2);
    let start = start.unix_timestamp().to_string();
    let dirs: Vec<PathBuf> = (1..=3)
        .map(|i| dir.path().join(format!("shard-{i}")))
        .collect();
    let data = dir.path().to_str().unwrap();
    let children: Vec<Child> = (1..=3)
        .map(|i| {
            let extra = [
                "--run-id",
                "feed-1",
                "--start-at",
                &start,
                "--data-dir",
                data,
            ];
            feeding_shard(&server.url, &dirs[i - 1], &format!("{i}/3"), &extra)
        })
        .collect();
    let mut used = 0;
    for (i, (child, reports)) in children.into_iter().zip(&dirs).enumerate() {
        let output = finish(child);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            common::text(&output.stderr)
        );
        let report = common::read_json(reports, "signup");
        // floor(301·i/3): 100, 100 and 101 rows.
        let part = [100, 100, 101][i];
        assert_eq!(counter(&report, "feeder signup emails"), part);
        let said = format!("data exhausted: feeder signup emails handed out all {part} rows");
        assert!(
            warnings(&report).iter().any(|w| w.starts_with(&said)),
            "{report}"
        );
        assert_eq!(report["outcome"], "completed");
        used += part;
    }
    assert_eq!(server.signups.twice(), Vec::<String>::new());
    let seen: Vec<String> = server.signups.seen().into_keys().collect();
    assert_eq!(
        seen.len() as u64,
        used,
        "the union is exactly the rows handed out"
    );
    let mut all = emails.clone();
    all.sort();
    assert_eq!(seen, all);
}

pub(super) fn fewer_rows_than_iterations_stop_the_trial_or_fail_as_chosen() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    signup::write_emails(dir.path(), 10);
    let reports = dir.path().join("stop");
    let extra = ["--num-clients", "4", "--duration", "20s"];
    let code = run_here("signup", &server.url, dir.path(), &reports, &extra);
    assert_eq!(code, ExitCode::SUCCESS, "running out is not a failure");
    let report = common::read_json(&reports, "signup");
    assert!(
        report["duration_s"].as_f64().unwrap() < 10.0,
        "the trial stopped early"
    );
    assert_eq!(report["outcome"], "completed");
    let said = "data exhausted: feeder signup emails handed out all 10 rows";
    assert!(
        warnings(&report).iter().any(|w| w.starts_with(said)),
        "{report}"
    );
    assert_eq!(counter(&report, "feeder signup emails"), 10);
    assert_eq!(server.signups.seen().len(), 10);
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        0,
        "only /signup was asked"
    );
    // A run whose feeder fails the iterations past its rows: they are task failures.
    let failing = dir.path().join("fail");
    let extra = ["--num-clients", "2", "--duration", "1s"];
    run_here("signup_or_fail", &server.url, dir.path(), &failing, &extra);
    let report = common::read_json(&failing, "signup_or_fail");
    // Numbers in failure groups are normalised (`{n}`).
    let failure = "feeder signup emails or fail exhausted: it handed out all {n} rows";
    let failures = report["failures"].as_array().unwrap();
    assert!(
        failures
            .iter()
            .any(|f| f["error"].as_str().unwrap().contains(failure)),
        "{report}"
    );
    assert!(
        warnings(&report)
            .iter()
            .any(|w| w.contains("ran out of rows after all 10"))
    );
    assert_eq!(
        server.signups.twice().len(),
        10,
        "its own rows: each e-mail a second time"
    );
}

pub(super) fn a_bad_row_is_one_error_before_any_load() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(signup::FILE),
        "email\na@x.test\nb@x.test,extra\n",
    )
    .unwrap();
    let data = dir.path().to_str().unwrap();
    let child = feeding_shard(
        &server.url,
        &dir.path().join("r"),
        "1/1",
        &["--data-dir", data],
    );
    let output = finish(child);
    assert_eq!(output.status.code(), Some(2));
    let stderr = common::text(&output.stderr);
    let file = dir.path().join(signup::FILE);
    let said = format!(
        "error: {}:3: 2 fields, where the header names 1",
        file.display()
    );
    assert!(stderr.contains(&said), "{stderr}");
    assert!(server.signups.seen().is_empty(), "no load");
    std::fs::remove_file(&file).unwrap();
    let output = finish(feeding_shard(
        &server.url,
        &dir.path().join("r"),
        "1/1",
        &["--data-dir", data],
    ));
    let stderr = common::text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot be opened") && stderr.contains(&format!("PT_DATA_DIR {data}")),
        "{stderr}"
    );
}
