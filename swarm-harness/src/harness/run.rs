//! The run, step by step: the settings and the trials, the modes that only print, the checks
//! before any load, the target, the `RunEnv` with its sinks and web UI, then libtest (or the
//! Locust worker) over the trials, and the finish.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::Trial;
use tokio_util::sync::CancellationToken;

use super::checks::{
    check_finish_type, check_report_dir, check_report_files, check_request_log, check_target,
    run_identity, runtime_builder, wait_until,
};
use super::cli::Cli;
use super::error::UsageError;
use super::{Harness, signals};
use crate::events::printer::{Output, Printer};
use crate::events::request_log::RequestLog;
use crate::events::writer::ReportWriter;
use crate::events::{EventBus, RequestSink, RequestStream, RunEvent, Sink};
use crate::http::session::{ClientFactory, HttpSettings};
use crate::locust::WorkerMode;
use crate::runner::{RunEnv, TrialEnv};
use crate::scenario::Scenario;
use crate::scenario::runs::{Unit, units};
use crate::scenario::trials::{TrialSpec, build_trials, keep_param, task_ratio_json};
use crate::settings::{self, Overrides, unknown_variables};
use crate::user::target::Finish;
use crate::web;

/// What the run's `RunEnv` is built from, beyond the harness itself.
struct Assembly {
    overrides: Overrides,
    host: Option<String>,
    report_dir: PathBuf,
    run_id: String,
    web: Option<web::Bound>,
    runtime: Arc<tokio::runtime::Runtime>,
    json_output: bool,
}

/// The run assembled: its `RunEnv`, the web UI's address, this process as a Locust worker.
struct Assembled {
    run: Arc<RunEnv>,
    web_url: Option<String>,
    worker: Option<WorkerMode>,
}

impl Harness {
    /// The whole run; an `Err` is a usage error (exit 2), before any load.
    pub(super) fn run_cli(
        mut self,
        mut cli: Cli,
        matches: &clap::ArgMatches,
    ) -> Result<ExitCode, UsageError> {
        warn_unknown_variables();
        let overrides = Overrides::parse(&settings::raw_settings(matches))?;
        let specs = self.select_trials(&cli, &overrides)?;
        let include_ignored = cli.libtest.include_ignored || cli.libtest.ignored;
        let units = units(
            specs.clone(),
            overrides.run_together.as_ref(),
            include_ignored,
        )?;
        if let Some(code) = print_only(&cli, &specs)? {
            return Ok(code);
        }
        // Trials are swarms: they must not overlap.
        if cli.libtest.test_threads.is_none() {
            cli.libtest.test_threads = Some(1);
        }
        let listing = cli.libtest.list;
        check_finish_type(self.app_type, self.finish.app.as_ref())?;
        let finish = std::mem::take(&mut self.finish);
        check_target(&overrides, self.embedded_target.is_some(), listing)?;
        let (report_dir, run_id) = run_identity(&overrides)?;
        if !listing {
            check_report_dir(&report_dir)?;
            check_request_log(&overrides)?;
            self.prepare_feeders(&overrides)?;
        }
        let web = if listing {
            None
        } else {
            web::bind(&overrides).map_err(UsageError::Web)?
        };
        let runtime = Arc::new(
            runtime_builder()
                .enable_all()
                .build()
                .map_err(UsageError::Runtime)?,
        );
        // Whichever way the run ends from here, the app and the fixtures drop in the runtime.
        let _teardown = crate::user::target::Teardown {
            runtime: runtime.clone(),
            fixtures: self.fixtures.clone(),
        };
        let host = self.start_target(&runtime, &overrides, listing)?;
        if !listing {
            let selected: Vec<&Unit> = units.iter().filter(|u| runs(&cli, u)).collect();
            super::open_files::check_open_files(&selected, &overrides, host.as_deref())?;
        }
        crate::logging::install();
        let assembly = Assembly {
            overrides,
            host,
            report_dir,
            run_id,
            web,
            runtime,
            json_output: matches!(cli.libtest.format, Some(libtest_mimic::FormatSetting::Json)),
        };
        let Assembled {
            run,
            web_url,
            worker,
        } = self.assemble(assembly)?;
        if !listing {
            signals::watch(&run.runtime, run.env.interrupt.clone());
        }
        if let Some(worker) = worker {
            return run_worker(run, specs, worker, finish, web_url);
        }
        run_libtest(&cli, run, units, finish, web_url)
    }

    /// The trials of the linked scenarios (or the replayed ones), after `--only-with-param`
    /// and, for a Locust master, libtest's filters.
    fn select_trials(
        &mut self,
        cli: &Cli,
        overrides: &Overrides,
    ) -> Result<Vec<TrialSpec>, UsageError> {
        let scenarios: Vec<&'static Scenario> = match self.scenarios.take() {
            Some(scenarios) => scenarios,
            None => Scenario::all().collect(),
        };
        if scenarios.is_empty() {
            return Err(UsageError::NoScenario);
        }
        let include_ignored = cli.libtest.include_ignored || cli.libtest.ignored;
        let mut specs = build_trials(&scenarios, include_ignored)?;
        if let Some(param) = &overrides.only_with_param {
            specs = keep_param(specs, param)?;
        }
        check_report_files(&specs)?;
        if cli.locustfile || overrides.locust_master.is_some() {
            // The trials a master may ask for: libtest's filters choose them here too.
            specs.retain(|spec| {
                let trial =
                    Trial::test(spec.name.clone(), || Ok(())).with_ignored_flag(spec.ignore);
                !cli.libtest.is_filtered_out(&trial) && !cli.libtest.is_ignored(&trial)
            });
            if specs.is_empty() {
                return Err(UsageError::NoTrialLeft);
            }
        }
        Ok(specs)
    }

    /// Where feeders read from and which part of their rows is this process's; the declared
    /// ones read and checked now, before any load.
    fn prepare_feeders(&self, overrides: &Overrides) -> Result<(), UsageError> {
        let feeds = &self.fixtures.feeds;
        feeds.configure(crate::user::feed::Setup {
            data_dir: overrides.data_dir.clone(),
            shard: overrides.shard,
            worker: overrides
                .locust_master
                .is_some()
                .then_some(crate::user::feed::WorkerSlot::Waiting),
        });
        feeds
            .prepare_all(&self.feeders)
            .map_err(|problem| UsageError::Feed(problem.into()))
    }

    /// The base URL load goes to: `PT_HOST`, else the embedded target, started now (not for
    /// `--list`).
    fn start_target(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        overrides: &Overrides,
        listing: bool,
    ) -> Result<Option<String>, UsageError> {
        match (&overrides.host, self.embedded_target.take()) {
            (Some(host), _) => Ok(Some(host.to_string())),
            (None, Some(start)) if !listing => {
                let started = runtime
                    .block_on(start())
                    .map_err(UsageError::EmbeddedTarget)?;
                if let Some(app) = started.app {
                    self.fixtures.app.set(app);
                }
                Ok(Some(started.url))
            }
            _ => Ok(None),
        }
    }

    /// The `RunEnv`: the sinks (a Locust worker's first, so the master hears of a trial's end
    /// before its report files are written; then the report writer, the printer, the
    /// harness's own, the web UI's), the event bus, the web UI served, the clients.
    fn assemble(&mut self, assembly: Assembly) -> Result<Assembled, UsageError> {
        let Assembly {
            overrides,
            host,
            report_dir,
            run_id,
            web,
            runtime,
            json_output,
        } = assembly;
        let (output, interactive) = if json_output {
            (Output::Stderr, std::io::stderr().is_terminal())
        } else {
            (Output::Stdout, std::io::stdout().is_terminal())
        };
        let worker = WorkerMode::of(&overrides);
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        if let Some(worker) = &worker {
            sinks.push(worker.sink());
        }
        sinks.push(Box::new(ReportWriter::new(
            report_dir.clone(),
            run_id.clone(),
        )));
        sinks.push(Box::new(Printer::new(output, interactive)));
        sinks.append(&mut self.sinks);
        let mut commands = None;
        let mut web_url = None;
        if let Some(bound) = web {
            let served = bound.start(&runtime).map_err(UsageError::Web)?;
            commands = Some(Arc::new(tokio::sync::Mutex::new(served.commands)));
            web_url = Some(served.url);
            sinks.push(served.sink);
        }
        let autostart = overrides.web_autostart.unwrap_or(true) || commands.is_none();
        let clients = ClientFactory::configured(
            overrides.ca_certs.clone().unwrap_or_default(),
            HttpSettings {
                timeout: overrides
                    .request_timeout
                    .unwrap_or(settings::DEFAULT_REQUEST_TIMEOUT),
                max_body: overrides.max_body.unwrap_or(settings::DEFAULT_MAX_BODY),
                client: overrides.http.unwrap_or_default(),
            },
        )
        .with_own_builders(std::mem::take(&mut self.reqwest_client));
        let run = Arc::new(RunEnv {
            runtime,
            env: TrialEnv {
                fixtures: self.fixtures.clone(),
                clients,
                interrupt: CancellationToken::new(),
                events: EventBus::new(sinks),
                commands,
                autostart,
                requests: self.request_stream(&overrides),
            },
            overrides,
            host,
            report_dir,
            trials_run: std::sync::atomic::AtomicUsize::new(0),
            run_id,
        });
        Ok(Assembled {
            run,
            web_url,
            worker,
        })
    }
}

impl Harness {
    /// The run's request sinks: the request log first (`PT_REQUEST_LOG`), then the
    /// harness's own; `None` when there are none, and trials then have no request tap.
    fn request_stream(&mut self, overrides: &Overrides) -> Option<Arc<RequestStream>> {
        let mut sinks: Vec<Box<dyn RequestSink>> = Vec::new();
        if let Some(dir) = &overrides.request_log {
            let max = overrides
                .request_log_max
                .unwrap_or(settings::DEFAULT_REQUEST_LOG_MAX);
            sinks.push(Box::new(RequestLog::new(dir.clone(), max, overrides.shard)));
        }
        sinks.append(&mut self.request_sinks);
        RequestStream::new(sinks)
    }
}

/// Whether libtest will run `unit`, after its filters and `--ignored`.
fn runs(cli: &Cli, unit: &Unit) -> bool {
    let trial = Trial::test(unit.name(), || Ok(())).with_ignored_flag(unit.ignored());
    !cli.libtest.is_filtered_out(&trial) && !cli.libtest.is_ignored(&trial)
}

/// A `PT_*` variable the harness does not read is named, with the closest one it does.
fn warn_unknown_variables() {
    let variables: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect();
    for warning in unknown_variables(variables.iter().map(String::as_str)) {
        eprintln!("warning: {warning}");
    }
}

/// `--locustfile` and `--show-task-ratio` print and exit.
fn print_only(cli: &Cli, specs: &[TrialSpec]) -> Result<Option<ExitCode>, UsageError> {
    if cli.locustfile {
        // Equal weights: the master's -u is shared evenly over the trials.
        let trials: Vec<(String, u32)> = specs.iter().map(|s| (s.name.clone(), 1)).collect();
        print!(
            "{}",
            crate::locust::locustfile(&trials).map_err(UsageError::Locust)?
        );
        return Ok(Some(ExitCode::SUCCESS));
    }
    if cli.show_task_ratio {
        let json = task_ratio_json(specs);
        println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("json serializes")
        );
        return Ok(Some(ExitCode::SUCCESS));
    }
    Ok(None)
}

/// The Locust worker mode: the master says which trial runs, when and with how many users.
fn run_worker(
    run: Arc<RunEnv>,
    specs: Vec<TrialSpec>,
    worker: WorkerMode,
    finish: Finish,
    web_url: Option<String>,
) -> Result<ExitCode, UsageError> {
    // A worker publishes no run start, whose line names the UI: say it here.
    if let Some(url) = &web_url {
        println!("web UI: {url}");
    }
    worker.run(run, specs, finish).map_err(UsageError::Locust)
}

/// The libtest mode: one libtest trial per trial or run group, run one at a time (a group's
/// trials at once), then the finish.
fn run_libtest(
    cli: &Cli,
    run: Arc<RunEnv>,
    units: Vec<Unit>,
    finish: Finish,
    web_url: Option<String>,
) -> Result<ExitCode, UsageError> {
    let listing = cli.libtest.list;
    // The trials libtest will run, after its filters and `--ignored`; a group's each.
    let to_run: Vec<String> = units
        .iter()
        .filter(|unit| runs(cli, unit))
        .flat_map(Unit::trials)
        .collect();
    let trials: Vec<Trial> = units
        .into_iter()
        .map(|unit| {
            let (ignore, name) = (unit.ignored(), unit.name().to_owned());
            let run = run.clone();
            Trial::test(name, move || match unit {
                Unit::Alone(spec, index) => run.run_trial(*spec, index),
                Unit::Together { name, members } => run.run_group(&name, members),
            })
            .with_ignored_flag(ignore)
        })
        .collect();
    let events = &run.env.events;
    if !listing {
        events.publish(RunEvent::RunStarted {
            trials: to_run,
            web: web_url.clone(),
        });
    }
    if let (Some(at), false) = (run.overrides.start_at, listing) {
        run.runtime
            .block_on(wait_until(at, events, &run.env.interrupt));
    }
    let conclusion = libtest_mimic::run(&cli.libtest, trials);
    if listing {
        return Ok(conclusion.exit_code());
    }
    let finished = run.finish_run(finish);
    if !run.env.autostart && !run.env.interrupt.is_cancelled() {
        // An interactive run keeps its page up for a look at the end, as Locust's does.
        let url = web_url.unwrap_or_default();
        events.publish(RunEvent::Note(format!(
            "every trial has ended; the web UI stays up at {url} until Ctrl-C"
        )));
        run.runtime.block_on(run.env.interrupt.cancelled());
    }
    if let Err(error) = finished {
        eprintln!("error: {error}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(conclusion.exit_code())
}
