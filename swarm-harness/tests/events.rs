//! The event stream as a consumer sees it: a sink registered on the harness gets the run's
//! events in order, and the ticks' intervals add up exactly to the report (and the server).

use swarm_harness_test_support as common;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use common::{read_json, run_with, start_server};
use swarm_harness::events::Tally;
use swarm_harness::events::{RunEvent, Sink};

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
            RunEvent::ThresholdBreached(_) => "breached",
            RunEvent::StatsReset { .. } => "reset",
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
