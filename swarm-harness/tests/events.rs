//! The event stream as a consumer sees it: a sink registered on the harness gets the run's
//! events in order, and the ticks' intervals add up exactly to the report (and the server).
//! Also how a task may end besides success and failure (`RescheduleTask`, `StopUser`), the
//! warning a task that blocks its thread gets, and the request stream (a request sink, the
//! request log and its bound), each against the server's own count.

use swarm_harness_test_support as common;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use common::{read_json, run_with, start_server};
use swarm_harness::events::Tally;
use swarm_harness::events::{RunEvent, Sink};
use swarm_harness::{RescheduleTask, StopUser, User, stress_test};

#[derive(Default)]
struct Seen {
    kinds: Vec<&'static str>,
    summed: Tally,
    ticks: usize,
    /// The trials the run announced.
    trials: Vec<String>,
}

struct Recording(Arc<Mutex<Seen>>);

impl Sink for Recording {
    fn on_event(&mut self, event: &RunEvent) -> Result<(), String> {
        let mut seen = self.0.lock().unwrap();
        let kind = match event {
            RunEvent::RunStarted { trials, .. } => {
                seen.trials.clone_from(trials);
                "run started"
            }
            RunEvent::TrialWaiting { .. } => "waiting",
            RunEvent::TrialStarted(_) => "trial started",
            RunEvent::UsersChanged { .. } => "users changed",
            RunEvent::Tick(tick) => {
                seen.summed.extend(&tick.interval);
                seen.ticks += 1;
                return Ok(());
            }
            RunEvent::ThresholdBreached { .. } => "breached",
            RunEvent::StatsReset { .. } => "reset",
            RunEvent::GroupEnded { .. } => "group ended",
            RunEvent::TrialEnded { .. } => "trial ended",
            RunEvent::ReportWritten { .. } => "report written",
            RunEvent::Note(_) => "note",
            RunEvent::RunFinished { .. } => "run finished",
        };
        seen.kinds.push(kind);
        Ok(())
    }
}

#[test]
fn a_sink_sees_the_run_in_order_and_its_ticks_add_up_to_the_report() {
    let server = start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let harness = swarm_harness::Harness::new().sink(Recording(seen.clone()));
    let code = run_with(harness, "fast_route", &server.url, dir.path(), &[]);
    assert_eq!(code, ExitCode::SUCCESS);
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.kinds,
        [
            "run started",
            "trial started",
            "users changed",
            "trial ended",
            "report written",
            "run finished"
        ]
    );
    assert!(
        seen.ticks >= 2,
        "one a second, and the last: {}",
        seen.ticks
    );
    let report = read_json(dir.path(), "fast_route");
    let summed = seen.summed.request_total();
    assert_eq!(
        summed.count,
        report["requests_total"]["count"].as_u64().unwrap()
    );
    assert_eq!(
        summed.max_micros,
        report["requests_total"]["max_us"].as_u64().unwrap()
    );
    assert_eq!(
        summed.histogram.value_at_quantile(0.99),
        report["requests_total"]["percentiles_us"]["p99"]
            .as_u64()
            .unwrap(),
        "the histograms add up exactly"
    );
    let tasks: u64 = seen.summed.tasks.iter().map(|(_, _, e)| e.count).sum();
    assert_eq!(tasks, report["tasks"][0]["count"].as_u64().unwrap());
}

/// Locust's `response_validations.py` listener, ported: a 503 is marked a failure and the task
/// rescheduled, so the failure shows once (the request's), never again as the task's.
#[stress_test(wait = constant(1ms))]
async fn rescheduled(user: &mut User) -> anyhow::Result<()> {
    let response = user.get("/flaky").catch_response().await?;
    if response.status() != 200 {
        response.failure("not 200");
        return Err(RescheduleTask.into());
    }
    response.success();
    Ok(())
}

#[test]
fn a_rescheduled_task_records_its_failed_request_once_and_no_task_failure() {
    let server = start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let code = run_with(
        Default::default(),
        "rescheduled",
        &server.url,
        dir.path(),
        &[],
    );
    assert_ne!(code, ExitCode::SUCCESS, "the 503s are request failures");
    let report = read_json(dir.path(), "rescheduled");
    let served = server.requests.load(std::sync::atomic::Ordering::SeqCst);
    // The server answered 503 to its 1st, 3rd, .. request.
    assert_eq!(report["requests_total"]["count"], served);
    assert_eq!(report["requests_total"]["failures"], served - served / 2);
    assert_eq!(report["tasks"][0]["count"], served);
    assert_eq!(report["tasks"][0]["failures"], 0);
    let groups = report["failures"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0]["kind"], "GET");
}

/// Leaves after its second iteration; `on_stop` still runs.
#[stress_test(wait = constant(1ms), on_stop = said_goodbye)]
async fn leaving(user: &mut User) -> anyhow::Result<()> {
    user.get("/fast").send().await?;
    if user.iteration() == 2 {
        return Err(StopUser.into());
    }
    Ok(())
}

async fn said_goodbye(user: &mut User) -> anyhow::Result<()> {
    user.get("/fast").name("goodbye").send().await?;
    Ok(())
}

#[test]
fn a_stopped_user_leaves_without_a_failure_and_runs_its_on_stop() {
    let server = start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let code = run_with(Default::default(), "leaving", &server.url, dir.path(), &[]);
    assert_eq!(code, ExitCode::SUCCESS);
    let report = read_json(dir.path(), "leaving");
    let count = |name: &str| {
        report["requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map_or(0, |e| e["count"].as_u64().unwrap())
    };
    // Four users (the run's default here), each two iterations and one goodbye.
    assert_eq!(
        (count("/fast"), count("goodbye")),
        (8, 4),
        "{}",
        report["requests"]
    );
    assert_eq!(report["failures"].as_array().unwrap().len(), 0);
}

/// Blocks its worker thread, as a ported `time.sleep(1)` would.
#[stress_test(wait = constant(1ms), users = 1)]
async fn blocking(user: &mut User) -> anyhow::Result<()> {
    user.get("/fast").send().await?;
    std::thread::sleep(std::time::Duration::from_millis(150));
    Ok(())
}

#[test]
fn a_task_that_blocks_its_thread_is_named_in_the_reports_warnings() {
    let server = start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let args = ["--num-clients", "1"];
    let code = run_with(
        Default::default(),
        "blocking",
        &server.url,
        dir.path(),
        &args,
    );
    assert_eq!(code, ExitCode::SUCCESS);
    let report = read_json(dir.path(), "blocking");
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("task blocking blocked its worker thread"),
        "{warnings}"
    );
}

async fn bad_start(user: &mut User) -> anyhow::Result<()> {
    user.get("/fast").name("start BadUser").send().await?;
    Ok(())
}

async fn good_start(user: &mut User) -> anyhow::Result<()> {
    user.get("/fast").name("start GoodUser").send().await?;
    Ok(())
}

/// Locust's `response_validations.py`: two user classes of one trial, weights 1 and 3, each
/// with its own tasks, wait time and `on_start`.
#[stress_test(user = "BadUser", trial = "validations", user_weight = 1, on_start = bad_start, wait = constant(5ms))]
async fn bad_user_task(user: &mut User) -> anyhow::Result<()> {
    user.get("/flaky").name("bad").send().await?;
    Ok(())
}

#[stress_test(user = "GoodUser", trial = "validations", user_weight = 3, on_start = good_start, wait = constant(2ms))]
async fn good_user_task(user: &mut User) -> anyhow::Result<()> {
    user.get("/fast").name("good").send().await?;
    Ok(())
}

#[test]
fn two_user_classes_share_one_trials_users_by_weight() {
    let server = start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let args = ["--num-clients", "8", "--hatch-rate", "100"];
    run_with(
        Default::default(),
        "validations",
        &server.url,
        dir.path(),
        &args,
    );
    let report = read_json(dir.path(), "validations");
    let count = |name: &str| {
        report["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["name"] == name)
            .map(|e| e["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    // 8 users at 1:3: two of the first class, six of the second, each started once.
    assert_eq!((count("start BadUser"), count("start GoodUser")), (2, 6));
    assert!(
        count("bad") > 0 && count("good") > count("bad"),
        "{}",
        report["requests"]
    );
    let tasks: Vec<&str> = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        tasks.contains(&"bad_user_task") && tasks.contains(&"good_user_task"),
        "{tasks:?}"
    );
}

/// Locust's `custom_shape/stages.py`, ported: (until, users, spawn rate) steps, ending by
/// itself after the last one.
struct Steps;

const STEPS: [(u64, f64, f64); 2] = [(1500, 4.0, 4.0), (3000, 2.0, 10.0)];

impl swarm_harness::LoadShape for Steps {
    fn tick(&mut self, elapsed: std::time::Duration) -> Option<f64> {
        let ms = elapsed.as_millis() as u64;
        STEPS.iter().find(|s| ms < s.0).map(|s| s.1)
    }
    fn spawn_rate(&mut self, elapsed: std::time::Duration) -> Option<f64> {
        let ms = elapsed.as_millis() as u64;
        STEPS.iter().find(|s| ms < s.0).map(|s| s.2)
    }
}

fn steps() -> Steps {
    Steps
}

#[stress_test(shape = steps, wait = constant(5ms))]
async fn stepped(user: &mut User) -> anyhow::Result<()> {
    user.get("/fast").send().await?;
    Ok(())
}

#[test]
fn a_shape_with_spawn_rates_paces_its_users_and_ends_the_trial_itself() {
    let server = start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let (dir_arg, log) = (
        dir.path().display().to_string(),
        dir.path().join("libtest.log").display().to_string(),
    );
    // No duration: the shape ends the trial, not the 10-minute default.
    let args = [
        "stress",
        "--exact",
        "stepped",
        "--host",
        &server.url,
        "--report-dir",
        &dir_arg,
        "--logfile",
        &log,
        "--web",
        "off",
    ];
    let code = swarm_harness::Harness::new().run_from(args);
    assert_eq!(code, ExitCode::SUCCESS);
    let report = read_json(dir.path(), "stepped");
    assert_eq!(report["outcome"], "completed");
    let ran = report["duration_s"].as_f64().unwrap();
    assert!((2.9..60.0).contains(&ran), "the shape's 3 s: {ran}");
    // The config says what drove the trial.
    let config = &report["config"];
    assert_eq!(config["shape"], "steps");
    assert!(
        config["users"].is_null() && config["duration"].is_null(),
        "{config}"
    );
    // 4 users a second: never more than the rate allows, whatever the machine's speed.
    for point in report["timeline"].as_array().unwrap() {
        let (t, users) = (
            point["t"].as_f64().unwrap(),
            point["users"].as_f64().unwrap(),
        );
        assert!(users <= 4.0 * t + 1.0, "{users} users at {t}s");
    }
    assert!(report["peak_users"].as_u64().unwrap() >= 1);
}

/// Counts every request it is handed, as a user's `events.request` listener would.
struct Counted(Arc<Mutex<(u64, u64)>>);

impl swarm_harness::events::RequestSink for Counted {
    fn requests(&mut self, batch: &[swarm_harness::events::RequestRecord]) {
        let mut seen = self.0.lock().unwrap();
        seen.0 += batch.len() as u64;
        seen.1 += batch.iter().filter(|r| r.error.is_some()).count() as u64;
    }
}

/// Every line of the request log `file`, parsed.
fn log_lines(file: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "whole lines only");
    let parse = |line: &str| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    text.lines().map(parse).collect()
}

#[test]
fn the_request_log_has_a_line_for_each_request_of_the_report_and_the_server() {
    let server = start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests");
    let seen = Arc::new(Mutex::new((0, 0)));
    let harness = swarm_harness::Harness::new().request_sink(Counted(seen.clone()));
    let args = ["--duration", "1s", "--request-log", log.to_str().unwrap()];
    run_with(harness, "checked", &server.url, dir.path(), &args);
    let report = read_json(dir.path(), "checked");
    let count = report["requests_total"]["count"].as_u64().unwrap();
    let failures = report["requests_total"]["failures"].as_u64().unwrap();
    let lines = log_lines(&log.join("checked.ndjson"));
    assert!(count > 10, "{count}");
    assert_eq!(
        count,
        server.requests.load(std::sync::atomic::Ordering::SeqCst)
    );
    assert_eq!(
        lines.len() as u64,
        count,
        "one line a request of the report"
    );
    assert_eq!(*seen.lock().unwrap(), (count, failures), "the sink's count");
    let failed = lines.iter().filter(|l| !l["error"].is_null()).count() as u64;
    assert_eq!(failed, failures);
    for line in &lines {
        assert_eq!(
            (&line["kind"], &line["name"]),
            (&"GET".into(), &"/flaky".into())
        );
        assert_eq!(
            line["tags"],
            serde_json::json!({"route": "flaky"}),
            "{line}"
        );
        assert!(line["intended_start"].is_null() && line["iteration"].as_u64() >= Some(1));
        let status = line["status"].as_u64().unwrap();
        assert_eq!(status == 503, !line["error"].is_null(), "{line}");
        assert!(
            line["start"].as_u64().unwrap() > 1_600_000_000_000_000,
            "Unix µs"
        );
    }
    assert!(
        report["warnings"].as_array().unwrap().is_empty(),
        "{}",
        report["warnings"]
    );
}

#[test]
fn the_request_log_stays_under_its_bound_in_whole_lines_and_says_what_it_left_out() {
    let server = start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests");
    let args = [
        ("--duration", "1s"),
        ("--request-log", log.to_str().unwrap()),
        ("--request-log-max", "4KiB"),
        // The open model: each task has an intended start, which its lines carry.
        ("--arrival-rate", "300"),
    ];
    let args: Vec<&str> = args
        .iter()
        .flat_map(|(flag, value)| [*flag, value])
        .collect();
    run_with(
        Default::default(),
        "checked",
        &server.url,
        dir.path(),
        &args,
    );
    let report = read_json(dir.path(), "checked");
    let count = report["requests_total"]["count"].as_u64().unwrap();
    let file = log.join("checked.ndjson");
    let parsed = log_lines(&file);
    let lines = parsed.len() as u64;
    assert!(std::fs::metadata(&file).unwrap().len() <= 4096);
    for line in &parsed {
        let (intended, start) = (&line["intended_start"], &line["start"]);
        assert!(
            intended.as_u64().unwrap() <= start.as_u64().unwrap(),
            "{line}"
        );
    }
    assert!(lines > 0 && lines < count, "{lines} of {count}");
    let warnings = report["warnings"].to_string();
    let left_out = format!("after {lines} lines: the {} requests", count - lines);
    assert!(warnings.contains(&left_out), "{warnings}");

    // A log that cannot be written is one error before any load.
    let served = server.requests.load(std::sync::atomic::Ordering::SeqCst);
    let blocked = dir.path().join("checked.json").join("requests");
    let args = ["--request-log", blocked.to_str().unwrap()];
    let code = run_with(
        Default::default(),
        "checked",
        &server.url,
        dir.path(),
        &args,
    );
    assert_eq!(code, ExitCode::from(2));
    assert_eq!(
        server.requests.load(std::sync::atomic::Ordering::SeqCst),
        served
    );
}

/// Locust's `rest()`: a JSON call whose body is read as `js`, failing unmarked when the body
/// is not JSON.
#[stress_test(wait = constant(1ms))]
async fn rest_calls(user: &mut User) -> anyhow::Result<()> {
    let order = user.get("/order").rest().await?;
    if order.js()["orderId"] != 42 {
        order.failure("orderId missing");
    } else {
        drop(order);
    }
    let _not_json = user.get("/fast").name("not json").rest().await?;
    Ok(())
}

#[test]
fn a_rest_call_reads_json_and_fails_a_body_that_is_not() {
    let server = start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let args = ["--num-clients", "1"];
    run_with(
        Default::default(),
        "rest_calls",
        &server.url,
        dir.path(),
        &args,
    );
    let report = read_json(dir.path(), "rest_calls");
    let entry = |name: &str| {
        let rows = report["requests"].as_array().unwrap();
        let row = rows.iter().find(|e| e["name"] == name).unwrap();
        (
            row["count"].as_u64().unwrap(),
            row["failures"].as_u64().unwrap(),
        )
    };
    let ((orders, failed_orders), (fast, failed_fast)) = (entry("/order"), entry("not json"));
    assert!(orders > 0 && failed_orders == 0, "{}", report["requests"]);
    assert_eq!(failed_fast, fast, "a body that is not JSON fails");
    let groups = report["failures"].to_string();
    assert!(groups.contains("response is not JSON"), "{groups}");
}
