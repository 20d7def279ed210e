//! Locust worker mode against a real, unmodified Locust master from PyPI (installed into
//! `~/.cache/swarm-harness/locust-venv` by `scripts/install-deps.sh`; `LOCUST` names another
//! `locust` executable): two of our workers under `locust --master --headless`, a loopback
//! server that counts requests, and the master's own CSV as the judge. Then a master stopped
//! mid-run (its workers stop cleanly and write their reports), a worker killed mid-run (the
//! master marks it missing while the other goes on), the errors for an unreachable master,
//! and two workers fed unique e-mails (each its half of the file, by the master's index).
//!
//! This target has no libtest harness of its own: the same binary is the test and, with
//! `WORKER_CHILD=1`, the stress target run as a worker.

use swarm_harness_test_support as common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    // Each test runs a Locust master and workers: one at a time keeps them on time.
    common::test_or_child(
        "WORKER_CHILD",
        &[
            (
                "two_workers_under_a_real_master_count_what_the_server_counted",
                two_workers_under_a_real_master_count_what_the_server_counted,
            ),
            (
                "a_master_stopped_mid_run_stops_its_workers_with_their_reports",
                a_master_stopped_mid_run_stops_its_workers_with_their_reports,
            ),
            (
                "a_killed_worker_is_marked_missing_and_the_other_goes_on",
                a_killed_worker_is_marked_missing_and_the_other_goes_on,
            ),
            (
                "a_restarted_master_gets_its_worker_back",
                a_restarted_master_gets_its_worker_back,
            ),
            (
                "an_unreachable_master_is_a_clear_error_and_no_load",
                an_unreachable_master_is_a_clear_error_and_no_load,
            ),
            (
                "two_workers_never_send_one_email_twice",
                two_workers_never_send_one_email_twice,
            ),
        ],
        Some(1),
    )
}

fn locust() -> PathBuf {
    if let Some(path) = std::env::var_os("LOCUST") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let path = Path::new(&home).join(".cache/swarm-harness/locust-venv/bin/locust");
    assert!(
        path.is_file(),
        "{} is missing: scripts/install-deps.sh installs Locust there",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The locustfile our `--locustfile` writes for `trial`.
fn locustfile_of(dir: &Path, trial: &str) -> PathBuf {
    let output = Command::new(std::env::current_exe().unwrap())
        .env("WORKER_CHILD", "1")
        .args(["--locustfile", "--exact", trial])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::text(&output.stderr));
    let path = dir.join("locustfile.py");
    std::fs::write(&path, &output.stdout).unwrap();
    path
}

/// `locust --master --headless` with `extra` arguments, its output in `dir/master.log`.
fn master(dir: &Path, port: u16, host: &str, extra: &[&str]) -> Child {
    master_logging_to(dir, "master.log", port, host, extra)
}

fn master_logging_to(dir: &Path, log: &str, port: u16, host: &str, extra: &[&str]) -> Child {
    master_of("delayed", dir, log, port, host, extra)
}

/// `locust --master --headless` over the locustfile of `trial`.
fn master_of(trial: &str, dir: &Path, log: &str, port: u16, host: &str, extra: &[&str]) -> Child {
    let log = std::fs::File::create(dir.join(log)).unwrap();
    Command::new(locust())
        .arg("-f")
        .arg(locustfile_of(dir, trial))
        .args(["--master", "--headless", "--master-bind-host", "127.0.0.1"])
        .args(["--master-bind-port", &port.to_string(), "-H", host])
        .args(extra)
        .current_dir(dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// One of our workers, reporting into `dir/worker-<n>`: started as docs/src/distribution.md
/// starts them, with no flag about the web UI (a worker serves none unless asked).
fn worker(dir: &Path, n: usize, port: u16) -> Child {
    worker_command(dir, n, port, "delayed").spawn().unwrap()
}

/// The command of one of our workers running `trial`, to start.
fn worker_command(dir: &Path, n: usize, port: u16, trial: &str) -> Command {
    let reports = dir.join(format!("worker-{n}"));
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .env("WORKER_CHILD", "1")
        .env_remove("PT_WEB")
        .env_remove("PT_LOCUST_PORT")
        .args(["--exact", trial, "--duration", "2m"])
        .args(["--locust-master", &format!("127.0.0.1:{port}")])
        .args(["--locust-master-timeout", "20s"])
        .arg("--report-dir")
        .arg(&reports)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits until the server has counted some load, at most a minute.
fn wait_for_load(server: &common::Server) {
    let started = Instant::now();
    while server.requests.load(Ordering::SeqCst) < 50 {
        assert!(started.elapsed() < Duration::from_secs(60), "no load");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn report_count(dir: &Path, n: usize) -> u64 {
    let report = common::read_json(&dir.join(format!("worker-{n}")), "delayed");
    report["requests_total"]["count"].as_u64().unwrap()
}

/// `Request Count` of the row named `name` in the master's `_stats.csv`.
fn master_count(csv: &str, kind: &str, name: &str) -> u64 {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |title: &str| header.iter().position(|h| *h == title).unwrap();
    let (type_at, name_at, count_at) = (column("Type"), column("Name"), column("Request Count"));
    lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .find(|row| row[type_at] == kind && row[name_at] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} row in {csv}"))[count_at]
        .parse()
        .unwrap()
}

fn two_workers_under_a_real_master_count_what_the_server_counted() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let master = master(
        dir.path(),
        port,
        &server.url,
        &[
            "--expect-workers",
            "2",
            "-u",
            "10",
            "-r",
            "10",
            "-t",
            "10s",
            "--csv",
            "run",
        ],
    );
    let workers: Vec<Child> = (1..=2).map(|n| worker(dir.path(), n, port)).collect();
    let output = common::finish(master, Duration::from_secs(90), "the master");
    let log = std::fs::read_to_string(dir.path().join("master.log")).unwrap();
    assert!(output.status.success(), "{log}");
    for (n, worker) in workers.into_iter().enumerate() {
        let output = common::finish(worker, Duration::from_secs(30), "a worker");
        assert_eq!(
            output.status.code(),
            Some(0),
            "worker {}: {}",
            n + 1,
            common::text(&output.stderr)
        );
        // The master is the UI: two workers side by side open no port of their own.
        let stdout = common::text(&output.stdout);
        assert!(!stdout.contains("web UI:"), "worker {}: {stdout}", n + 1);
    }
    let counted = server.requests.load(Ordering::SeqCst);
    assert!(counted > 100, "{counted} requests in 10s");
    let csv = std::fs::read_to_string(dir.path().join("run_stats.csv")).unwrap();
    assert_eq!(master_count(&csv, "GET", "/delay"), counted, "{csv}\n{log}");
    assert_eq!(master_count(&csv, "", "Aggregated"), counted, "{csv}");
    println!("master and server counted {counted} requests in 10s with 10 users on 2 workers");
    let ours = report_count(dir.path(), 1) + report_count(dir.path(), 2);
    assert_eq!(ours, counted, "the workers' own reports");
    assert!(
        log.contains("2 workers connected") || log.contains("workers connected"),
        "{log}"
    );
}

fn a_master_stopped_mid_run_stops_its_workers_with_their_reports() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let master = master(
        dir.path(),
        port,
        &server.url,
        &["--expect-workers", "2", "-u", "4", "-r", "10", "-t", "60s"],
    );
    let workers: Vec<Child> = (1..=2).map(|n| worker(dir.path(), n, port)).collect();
    wait_for_load(&server);
    // SIGTERM: Locust's shutdown, which tells its workers to quit.
    let killed = Command::new("kill")
        .args(["-TERM", &master.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = common::finish(master, Duration::from_secs(30), "the master");
    for (n, worker) in workers.into_iter().enumerate() {
        let output = common::finish(worker, Duration::from_secs(30), "a worker");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            common::text(&output.stderr)
        );
        assert!(report_count(dir.path(), n + 1) > 0);
    }
    assert_eq!(
        report_count(dir.path(), 1) + report_count(dir.path(), 2),
        server.requests.load(Ordering::SeqCst)
    );
}

fn a_killed_worker_is_marked_missing_and_the_other_goes_on() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let master = master(
        dir.path(),
        port,
        &server.url,
        &["--expect-workers", "2", "-u", "4", "-r", "10", "-t", "14s"],
    );
    let mut workers: Vec<Child> = (1..=2).map(|n| worker(dir.path(), n, port)).collect();
    wait_for_load(&server);
    workers[0].kill().unwrap();
    let _ = workers[0].wait();
    let at_kill = server.requests.load(Ordering::SeqCst);
    let output = common::finish(master, Duration::from_secs(60), "the master");
    let log = std::fs::read_to_string(dir.path().join("master.log")).unwrap();
    assert!(
        output.status.success() || output.status.code() == Some(1),
        "{log}"
    );
    assert!(
        log.contains("failed to send heartbeat, setting state to missing"),
        "{log}"
    );
    let survivor = common::finish(workers.pop().unwrap(), Duration::from_secs(30), "a worker");
    assert_eq!(
        survivor.status.code(),
        Some(0),
        "{}",
        common::text(&survivor.stderr)
    );
    let after = report_count(dir.path(), 2);
    assert!(
        server.requests.load(Ordering::SeqCst) > at_kill + 100,
        "the other worker went on"
    );
    assert!(after > 0);
}

fn an_unreachable_master_is_a_clear_error_and_no_load() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let started = Instant::now();
    let output = Command::new(std::env::current_exe().unwrap())
        .env("WORKER_CHILD", "1")
        .args(["--exact", "delayed", "--web", "off", "--host", &server.url])
        .args(["--locust-master", &format!("127.0.0.1:{port}")])
        .args(["--locust-master-timeout", "2s"])
        .arg("--report-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = common::text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "no Locust master answered at 127.0.0.1:{port} within 2s"
        )),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
    for (value, wanted) in [
        (
            "nohost",
            "invalid PT_LOCUST_MASTER=\"nohost\": expected HOST:PORT",
        ),
        ("h:0", "invalid PT_LOCUST_MASTER=\"h:0\""),
    ] {
        let output = Command::new(std::env::current_exe().unwrap())
            .env("WORKER_CHILD", "1")
            .env("PT_LOCUST_MASTER", value)
            .args(["--exact", "delayed", "--web", "off", "--host", &server.url])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        assert!(
            common::text(&output.stderr).contains(wanted),
            "{}",
            common::text(&output.stderr)
        );
    }
}

fn a_restarted_master_gets_its_worker_back() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut first = master(
        dir.path(),
        port,
        &server.url,
        &["--expect-workers", "1", "-u", "2", "-r", "10", "-t", "60s"],
    );
    let worker = worker(dir.path(), 1, port);
    wait_for_load(&server);
    // The master dies without a word; a new one takes its port.
    first.kill().unwrap();
    let _ = first.wait();
    let second = master_logging_to(
        dir.path(),
        "second.log",
        port,
        &server.url,
        &[
            "--expect-workers",
            "1",
            "-u",
            "3",
            "-r",
            "10",
            "-t",
            "4s",
            "--csv",
            "second",
        ],
    );
    let output = common::finish(second, Duration::from_secs(60), "the second master");
    let log = std::fs::read_to_string(dir.path().join("second.log")).unwrap();
    assert!(output.status.success(), "{log}");
    let csv = std::fs::read_to_string(dir.path().join("second_stats.csv")).unwrap();
    assert!(master_count(&csv, "GET", "/delay") > 0, "{csv}\n{log}");
    let output = common::finish(worker, Duration::from_secs(30), "the worker");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::text(&output.stderr)
    );
    assert!(report_count(dir.path(), 1) > 0);
}

/// Two workers fed unique e-mails from one CSV file: each takes its half of the rows (the
/// master's worker index of its `--expect-workers`), hands all of it out and stops, and the
/// server sees every e-mail of the file exactly once.
fn two_workers_never_send_one_email_twice() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let emails = common::signup::write_emails(dir.path(), 200);
    let port = free_port();
    // One spawn message (-r above -u): a trial that ran out is not started again.
    let extra = ["--expect-workers", "2", "-u", "4", "-r", "100", "-t", "4s"];
    let master = master_of(
        "signup",
        dir.path(),
        "master.log",
        port,
        &server.url,
        &extra,
    );
    let workers: Vec<Child> = (1..=2)
        .map(|n| {
            let mut command = worker_command(dir.path(), n, port, "signup");
            command
                .env("FEED_SIGNUP", "1")
                .arg("--data-dir")
                .arg(dir.path());
            command.spawn().unwrap()
        })
        .collect();
    let output = common::finish(master, Duration::from_secs(90), "the master");
    let log = std::fs::read_to_string(dir.path().join("master.log")).unwrap();
    assert!(output.status.success(), "{log}");
    for (n, worker) in workers.into_iter().enumerate() {
        let output = common::finish(worker, Duration::from_secs(30), "a worker");
        let stderr = common::text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "worker {}: {stderr}", n + 1);
        let report = common::read_json(&dir.path().join(format!("worker-{}", n + 1)), "signup");
        let warnings = report["warnings"].to_string();
        let said = "data exhausted: feeder signup emails handed out all 100 rows";
        assert!(warnings.contains(said), "worker {}: {report}", n + 1);
    }
    assert_eq!(server.signups.twice(), Vec::<String>::new());
    let mut all = emails;
    all.sort();
    assert_eq!(server.signups.seen().into_keys().collect::<Vec<_>>(), all);
}
