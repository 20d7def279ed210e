//! The test harness: our flags (libtest's flattened in), trials from the registered scenarios,
//! and `libtest_mimic::run` over them on one shared tokio runtime.
//!
//! Exit codes: 0 all trials passed; 101 a trial failed (libtest's); 2 invalid configuration
//! or usage (a `PT_*` value, an unknown parameter, no scenario linked), before any load.

use std::any::TypeId;
use std::future::Future;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches, Parser};
use libtest_mimic::{Arguments, Trial};
use tokio_util::sync::CancellationToken;

use crate::control;
use crate::entry::Scenario;
use crate::events::printer::{Output, Printer};
use crate::events::writer::ReportWriter;
use crate::events::{EventBus, RunEvent, Sink};
use crate::http::session::{ClientFactory, HttpSettings};
use crate::report::{self};
use crate::runner::{RunEnv, TrialEnv};
use crate::settings::{self, Overrides, unknown_variables};
use crate::trials::{TrialSpec, build_trials, keep_param, task_ratio_json};
use crate::user::fixture::FixtureStore;
use crate::user::target::{App, Finish, FinishApp, StartHook, Started};
use crate::web;

#[derive(Parser, Debug)]
#[command(
    name = "stress",
    about = "Runs #[stress_test] scenarios as swarms of simulated users (swarm-harness).",
    help_template = "{about}\n\nUSAGE: {usage}\n\n{all-args}",
    after_help = "Every PT_* variable can also be given as the flag beside it; a flag wins."
)]
struct Cli {
    #[command(flatten)]
    libtest: Arguments,
    /// Print the task ratios of every trial as JSON (Locust's --show-task-ratio-json) and exit.
    #[arg(long)]
    show_task_ratio: bool,
    /// Print the locustfile a Locust master needs to drive this binary's trials, and exit.
    #[arg(long)]
    locustfile: bool,
}

/// The command line: libtest's flags, ours, and one flag per row of the settings table.
fn command() -> clap::Command {
    Cli::command().args(settings::clap_args())
}

/// The harness, configurable before it runs. `swarm_harness::main()` is `Harness::new().run()`.
#[must_use = "call .run() to run the trials"]
#[derive(Default)]
pub struct Harness {
    embedded_target: Option<StartHook>,
    /// The app type `embedded_app` starts, which `on_finish_app` must take.
    app_type: Option<(TypeId, &'static str)>,
    finish: Finish,
    sinks: Vec<Box<dyn Sink>>,
    /// Scenarios instead of the registered ones (`swarm har replay`).
    scenarios: Option<Vec<&'static Scenario>>,
    fixtures: Arc<FixtureStore>,
    reqwest_client: crate::http::reqwest_versions::OwnBuilders,
}

impl Harness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the target in this process when `PT_HOST` is not set: `start` returns the base
    /// URL of a server it spawned on the harness's runtime (which lives until the end).
    pub fn embedded_target<F, Fut>(mut self, start: F) -> Self
    where
        F: FnOnce() -> Fut + 'static,
        Fut: Future<Output = anyhow::Result<String>> + Send + 'static,
    {
        self.app_type = None;
        self.embedded_target = Some(Box::new(move || {
            let starting = start();
            Box::pin(async move {
                let url = starting.await?;
                Ok(Started { url, app: None })
            })
        }));
        self
    }

    /// Starts the team's test app in this process when `PT_HOST` is not set, as its
    /// integration tests do (`spawn_app()`: the server, its database, a mail mock), once,
    /// when the run starts (not for `--list`); `base_url` says where its server listens.
    /// Scenarios, hooks, fixtures and clients reach it typed with
    /// [`User::target`](crate::User::target); [`Harness::on_finish_app`] sees it after the
    /// last trial, and then it is dropped (its teardown).
    ///
    /// ```no_run
    /// # struct TestApp { address: String }
    /// # async fn spawn_app() -> TestApp { unimplemented!() }
    /// swarm_harness::Harness::new()
    ///     .embedded_app(|| async { Ok(spawn_app().await) }, |app: &TestApp| {
    ///         app.address.clone()
    ///     })
    ///     .run();
    /// ```
    pub fn embedded_app<T, F, Fut>(
        mut self,
        start: F,
        base_url: impl FnOnce(&T) -> String + Send + 'static,
    ) -> Self
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut + 'static,
        Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
    {
        self.app_type = Some((TypeId::of::<T>(), std::any::type_name::<T>()));
        self.embedded_target = Some(Box::new(move || {
            let starting = start();
            Box::pin(async move {
                let app = starting.await?;
                let url = base_url(&app);
                Ok(Started {
                    url,
                    app: Some(App::new(app)),
                })
            })
        }));
        self
    }

    /// Runs `finish` with the app of [`Harness::embedded_app`] after the last trial and the
    /// fixtures' teardown (not for `--list`, nor when `PT_HOST` sent the load elsewhere): to
    /// check the report's counts against the app's database rows, say. Its text is printed
    /// with the run's output; its error fails the run. The app is dropped after it.
    pub fn on_finish_app<T, F, Fut>(mut self, finish: F) -> Self
    where
        T: Send + Sync + 'static,
        F: FnOnce(Arc<T>) -> Fut + 'static,
        Fut: Future<Output = anyhow::Result<Option<String>>> + Send + 'static,
    {
        self.finish.app = Some(FinishApp::new(finish));
        self
    }

    /// Runs `finish` after the last trial and the fixtures' teardown (not for `--list`), for
    /// example to report what an embedded server counted: the text it returns is printed
    /// with the run's output (on stderr under `--format json`, so libtest's JSON stays valid).
    pub fn on_finish(mut self, finish: impl FnOnce() -> Option<String> + 'static) -> Self {
        self.finish.plain = Some(Box::new(finish));
        self
    }

    /// Changes the builder of every [`User::reqwest`](crate::User::reqwest) client, after the
    /// harness's settings (TLS with `PT_CA_CERT`, its own cookie jar, `PT_REQUEST_TIMEOUT`),
    /// so it may replace them, as a team's tests configure their client: no redirects, default
    /// headers, another timeout. Requests sent through [`User::send`](crate::User::send) are
    /// recorded as ever.
    ///
    /// The builder's type says which reqwest's clients it changes (0.12 or 0.13; one change
    /// per version, a later call replacing an earlier one).
    ///
    /// ```no_run
    /// use swarm_harness::reqwest_0_13 as reqwest;
    ///
    /// swarm_harness::Harness::new()
    ///     .reqwest_client(|builder: reqwest::ClientBuilder| {
    ///         builder.redirect(reqwest::redirect::Policy::none())
    ///     })
    ///     .run();
    /// ```
    pub fn reqwest_client<B: crate::ReqwestClientBuilder>(
        mut self,
        customize: impl Fn(B) -> B + Send + Sync + 'static,
    ) -> Self {
        self.reqwest_client.set::<B>(Arc::new(customize));
        self
    }

    /// Adds a consumer of the run's [events](crate::events) (after the report writer and the
    /// printer, before the web UI): to push figures to your own monitoring, say.
    pub fn sink(mut self, sink: impl Sink + 'static) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Runs `scenarios` instead of the `#[stress_test]` functions linked in.
    #[cfg(feature = "tools")]
    pub(crate) fn scenarios(mut self, scenarios: Vec<&'static Scenario>) -> Self {
        self.scenarios = Some(scenarios);
        self
    }

    /// Makes `value` the run fixture `T` before any user asks for it.
    #[cfg(feature = "tools")]
    pub(crate) fn preset_fixture<T: crate::Fixture>(self, value: T) -> Self {
        self.fixtures.preset(value);
        self
    }

    /// Parses the command line, runs the trials and returns the exit code.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// Like [`Harness::run`] with the given arguments (the first is the program name);
    /// `PT_*` variables are still read from the environment.
    pub fn run_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = match command().try_get_matches_from(args) {
            Ok(matches) => matches,
            Err(error) => {
                let _ = error.print();
                return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
            }
        };
        let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
        match self.run_cli(cli, &matches) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::from(2)
            }
        }
    }

    fn run_cli(mut self, mut cli: Cli, matches: &clap::ArgMatches) -> Result<ExitCode, String> {
        let variables: Vec<String> = std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .collect();
        for warning in unknown_variables(variables.iter().map(String::as_str)) {
            eprintln!("warning: {warning}");
        }
        let overrides =
            Overrides::parse(&settings::raw_settings(matches)).map_err(|e| e.to_string())?;
        let scenarios: Vec<&'static Scenario> = match self.scenarios.take() {
            Some(scenarios) => scenarios,
            None => Scenario::all().collect(),
        };
        if scenarios.is_empty() {
            return Err(
                "no #[stress_test] scenario is linked into this binary. If the scenarios \
                        live in a library crate, name that crate in the stress target \
                        (`use my_scenarios as _;`) so its registrations are linked."
                    .to_owned(),
            );
        }
        let include_ignored = cli.libtest.include_ignored || cli.libtest.ignored;
        let mut specs = build_trials(&scenarios, include_ignored).map_err(|e| e.to_string())?;
        if let Some(param) = &overrides.only_with_param {
            specs = keep_param(specs, param).map_err(|e| e.to_string())?;
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
                return Err("no trial is left after the filters".to_owned());
            }
        }
        if cli.locustfile {
            // Equal weights: the master's -u is shared evenly over the trials.
            let trials: Vec<(String, u32)> = specs.iter().map(|s| (s.name.clone(), 1)).collect();
            print!("{}", crate::locust::locustfile(&trials));
            return Ok(ExitCode::SUCCESS);
        }
        if cli.show_task_ratio {
            let json = task_ratio_json(&specs);
            println!(
                "{}",
                serde_json::to_string_pretty(&json).expect("json serializes")
            );
            return Ok(ExitCode::SUCCESS);
        }
        // Trials are swarms: they must not overlap.
        if cli.libtest.test_threads.is_none() {
            cli.libtest.test_threads = Some(1);
        }
        let runtime = Arc::new(
            runtime_builder()
                .enable_all()
                .build()
                .map_err(|e| format!("failed to start the tokio runtime: {e}"))?,
        );
        let listing = cli.libtest.list;
        check_finish_type(self.app_type, self.finish.app.as_ref())?;
        let finish = std::mem::take(&mut self.finish);
        if !listing
            && overrides.host.is_none()
            && self.embedded_target.is_none()
            && overrides.locust_master.is_none()
        {
            return Err(
                "no target to send load to: set PT_HOST (or --host) to the base URL of \
                        the service, such as http://127.0.0.1:8000, or give the stress target an \
                        embedded server (Harness::embedded_target)"
                    .to_owned(),
            );
        }
        let report_dir = overrides
            .report_dir
            .clone()
            .unwrap_or_else(default_report_dir);
        let run_id = crate::run_id::resolve(
            overrides.run_id.clone(),
            std::env::var("NEXTEST_RUN_ID").ok(),
        )?;
        if let Some(shard) = overrides.shard
            && shard.count > 1
            && overrides.run_id.is_none()
            && std::env::var_os("NEXTEST_RUN_ID").is_none()
        {
            return Err(format!(
                "PT_SHARD={shard} needs PT_RUN_ID (or --run-id): the same id in every shard, \
                 such as a CI run id, so `swarm merge` knows their reports belong together"
            ));
        }
        if let Some(at) = overrides.start_at {
            let ahead = at - time::OffsetDateTime::now_utc();
            if ahead > crate::shard::MAX_START_WAIT {
                return Err(format!(
                    "invalid PT_START_AT: {} is {:.0} hours away; at most 24 hours ahead is \
                     accepted",
                    at.format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                    ahead.as_seconds_f64() / 3600.0
                ));
            }
        }
        if !listing {
            check_report_dir(&report_dir)?;
        }
        let web = if listing { None } else { bind_web(&overrides)? };
        // Whichever way the run ends from here, the app and the fixtures drop in the runtime.
        let _teardown = crate::user::target::Teardown {
            runtime: runtime.clone(),
            fixtures: self.fixtures.clone(),
        };
        let host = match (&overrides.host, self.embedded_target) {
            (Some(host), _) => Some(host.to_string()),
            (None, Some(start)) if !listing => {
                let started = runtime
                    .block_on(start())
                    .map_err(|e| format!("failed to start the embedded target: {e:#}"))?;
                if let Some(app) = started.app {
                    self.fixtures.app.set(app);
                }

                Some(started.url)
            }
            _ => None,
        };
        crate::logging::install();
        let json_output = matches!(cli.libtest.format, Some(libtest_mimic::FormatSetting::Json));
        let (output, interactive) = if json_output {
            (Output::Stderr, std::io::stderr().is_terminal())
        } else {
            (Output::Stdout, std::io::stdout().is_terminal())
        };
        let live = Arc::new(std::sync::Mutex::new(web::live::Live::default()));
        // A Locust worker's sink comes first: the master hears of a trial's end before its
        // report files are written.
        let locust_figures = overrides.locust_master.as_ref().map(|_| {
            Arc::new(std::sync::Mutex::new(
                crate::locust::stats::Shared::default(),
            ))
        });
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        if let Some(figures) = &locust_figures {
            sinks.push(Box::new(crate::locust::stats::LocustSink(figures.clone())));
        }
        sinks.extend([
            Box::new(ReportWriter::new(report_dir.clone(), run_id.clone())),
            Box::new(Printer::new(output, interactive)),
        ] as [Box<dyn Sink>; 2]);
        sinks.extend(self.sinks);
        let mut commands = None;
        let mut web_url = None;
        if let Some(bound) = web {
            let (controller, receiver) = control::channel();
            commands = Some(Arc::new(tokio::sync::Mutex::new(receiver)));
            web_url = Some(bound.url());
            sinks.push(Box::new(web::live::LiveSink(live.clone())));
            let _guard = runtime.enter();
            bound
                .serve(live.clone(), controller)
                .map_err(|e| format!("failed to serve the web UI: {e}"))?;
        }
        let autostart = overrides.web_autostart.unwrap_or(true) || commands.is_none();
        let events = EventBus::new(sinks);
        let shared = Arc::new(RunEnv {
            runtime: runtime.clone(),
            env: TrialEnv {
                fixtures: self.fixtures.clone(),
                clients: ClientFactory::configured(
                    overrides.ca_certs.clone().unwrap_or_default(),
                    HttpSettings {
                        timeout: overrides
                            .request_timeout
                            .unwrap_or(crate::http::session::DEFAULT_REQUEST_TIMEOUT),
                        max_body: overrides
                            .max_body
                            .unwrap_or(crate::http::http1::DEFAULT_MAX_BODY),
                        client: overrides.http.unwrap_or_default(),
                    },
                )
                .with_own_builders(std::mem::take(&mut self.reqwest_client)),
                interrupt: CancellationToken::new(),
                events: events.clone(),
                commands,
                autostart,
            },
            overrides: overrides.clone(),
            host,
            report_dir,
            trials_run: std::sync::atomic::AtomicUsize::new(0),
            run_id,
        });
        if !listing {
            let interrupt = shared.env.interrupt.clone();
            // Inside the runtime: tokio's signal streams need its driver.
            runtime.spawn(async move {
                let Some(mut signals) = Interrupts::listen() else {
                    return;
                };
                if let Some(signal) = signals.next().await {
                    eprintln!(
                        "\ninterrupted ({signal}): stopping the trial and writing its reports \
                         (a second interrupt exits at once)"
                    );
                    interrupt.cancel();
                }
                // A stop that hangs (a teardown stuck on a dead target, say) must not leave the
                // user without a way out: the second signal ends the process now, as Locust's
                // second Ctrl-C does. The reports of trials that ended are on disk already.
                if let Some(signal) = signals.next().await {
                    eprintln!("interrupted again ({signal}): exiting without waiting");
                    std::process::exit(130);
                }
            });
        }
        if let (Some(address), Some(figures)) = (overrides.locust_master.clone(), locust_figures) {
            let master = crate::locust::worker::MasterAddress {
                address,
                timeout: overrides
                    .locust_master_timeout
                    .unwrap_or(crate::settings::DEFAULT_MASTER_TIMEOUT),
            };
            // A worker publishes no run start, whose line names the UI: say it here.
            if let Some(url) = &web_url {
                println!("web UI: {url}");
            }
            return crate::locust::worker::run(shared, specs, master, figures, finish);
        }
        let trials: Vec<Trial> = specs
            .into_iter()
            .enumerate()
            .map(|(index, spec)| {
                let ignore = spec.ignore;
                let name = spec.name.clone();
                let shared = shared.clone();
                Trial::test(name, move || shared.run_trial(spec, index)).with_ignored_flag(ignore)
            })
            .collect();
        if !listing {
            // The trials libtest will run, after its filters and `--ignored`.
            let runs = trials
                .iter()
                .filter(|t| !cli.libtest.is_filtered_out(t) && !cli.libtest.is_ignored(t))
                .map(|t| t.name().to_owned())
                .collect();
            events.publish(RunEvent::RunStarted {
                trials: runs,
                web: web_url.clone(),
            });
        }
        if let (Some(at), false) = (overrides.start_at, listing) {
            runtime.block_on(wait_until(at, &events, &shared.env.interrupt));
        }
        let conclusion = libtest_mimic::run(&cli.libtest, trials);
        if listing {
            return Ok(conclusion.exit_code());
        }
        let finished = shared.finish_run(finish);
        if !autostart && !shared.env.interrupt.is_cancelled() {
            // An interactive run keeps its page up for a look at the end, as Locust's does.
            let url = web_url.unwrap_or_default();
            events.publish(RunEvent::Note(format!(
                "every trial has ended; the web UI stays up at {url} until Ctrl-C"
            )));
            runtime.block_on(shared.env.interrupt.cancelled());
        }
        if let Err(error) = finished {
            eprintln!("error: {error}");
            return Ok(ExitCode::FAILURE);
        }
        Ok(conclusion.exit_code())
    }
}

/// `on_finish_app` takes the type `embedded_app` starts, or the run stops before any load.
fn check_finish_type(
    started: Option<(TypeId, &'static str)>,
    finish: Option<&FinishApp>,
) -> Result<(), String> {
    match (started, finish) {
        (_, None) => Ok(()),
        (Some((started, _)), Some(finish)) if started == finish.wanted.0 => Ok(()),
        (Some((_, started)), Some(finish)) => Err(format!(
            "Harness::on_finish_app takes a {}, but Harness::embedded_app starts a {started}",
            finish.wanted.1
        )),
        (None, Some(finish)) => Err(format!(
            "Harness::on_finish_app takes a {}, but no Harness::embedded_app starts one",
            finish.wanted.1
        )),
    }
}

/// Binds the web UI's port, before any load: a taken port is a usage error when it was asked
/// for (`PT_LOCUST_PORT`); Locust's default 8089 taken (another run, a Locust) gives way to a
/// free port, printed with the UI's address. A Locust worker serves no UI unless `PT_WEB=on` or
/// `PT_LOCUST_PORT` asks for one: its master is the UI, and workers side by side would fight
/// over the port.
fn bind_web(overrides: &Overrides) -> Result<Option<web::Bound>, String> {
    // A worker asked for a port (`PT_LOCUST_PORT`) is asked for the UI too.
    let wanted = overrides.locust_master.is_none() || overrides.web_port.is_some();
    if !overrides.web.unwrap_or(wanted) {
        return Ok(None);
    }
    let config = |port| web::WebConfig {
        host: overrides
            .web_host
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
        port,
        token: overrides.web_token.clone(),
        timeout: overrides.web_timeout.unwrap_or(web::DEFAULT_TIMEOUT),
        max_connections: overrides
            .web_max_connections
            .unwrap_or(web::DEFAULT_MAX_CONNECTIONS),
    };
    let port = overrides.web_port.unwrap_or(web::DEFAULT_PORT);
    match web::Bound::bind(config(port)) {
        Err(web::WebError::Bind { source, .. })
            if overrides.web_port.is_none() && source.kind() == std::io::ErrorKind::AddrInUse =>
        {
            let bound = web::Bound::bind(config(0)).map_err(|e| e.to_string())?;
            eprintln!(
                "note: port {port} is taken; the web UI is at {} instead (set PT_LOCUST_PORT \
                 to choose one)",
                bound.url()
            );
            Ok(Some(bound))
        }
        bound => bound.map(Some).map_err(|e| e.to_string()),
    }
}

/// Ctrl-C (SIGINT) and SIGTERM (CI cancellations, Kubernetes): both stop the run the same way,
/// reports written. Listened to from the start, so a second signal that follows the first at
/// once is not lost between two listeners.
struct Interrupts {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// `None` when no signal can be watched.
    fn listen() -> Option<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Some(Interrupts {
                int: signal(SignalKind::interrupt()).ok()?,
                term: signal(SignalKind::terminate()).ok()?,
            })
        }
        #[cfg(not(unix))]
        {
            Some(Interrupts {})
        }
    }

    /// The next signal's name.
    async fn next(&mut self) -> Option<&'static str> {
        #[cfg(unix)]
        {
            tokio::select! {
                received = self.int.recv() => received.map(|()| "SIGINT"),
                received = self.term.recv() => received.map(|()| "SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.ok().map(|()| "Ctrl-C")
        }
    }
}

/// Two trials whose names map to the same report file would overwrite each other's reports.
fn check_report_files(specs: &[TrialSpec]) -> Result<(), String> {
    let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for spec in specs {
        let stem = report::file_stem(&spec.name);
        if let Some(first) = seen.insert(stem.clone(), &spec.name) {
            return Err(format!(
                "trials {first:?} and {:?} would write the same report file {stem}.json; \
                 rename one of them with `name = \"..\"`",
                spec.name
            ));
        }
    }
    Ok(())
}

/// Waits for `PT_START_AT` (already checked to be at most a day ahead); a time in the past
/// starts at once. Ctrl-C ends the wait, and the trials then report the interruption.
async fn wait_until(at: time::OffsetDateTime, events: &EventBus, interrupt: &CancellationToken) {
    let ahead = at - time::OffsetDateTime::now_utc();
    let Ok(wait) = std::time::Duration::try_from(ahead) else {
        return;
    };
    events.publish(RunEvent::Note(format!(
        "waiting {:.1}s for PT_START_AT={}",
        wait.as_secs_f64(),
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    )));
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        () = interrupt.cancelled() => {}
    }
}

/// Creates the report directory and proves it writable before any load is sent.
fn check_report_dir(dir: &Path) -> Result<(), String> {
    let unusable = |error: std::io::Error| {
        format!(
            "invalid PT_REPORT_DIR={:?}: cannot write reports there: {error}",
            dir.display().to_string()
        )
    };
    std::fs::create_dir_all(dir).map_err(unusable)?;
    let probe = dir.join(format!(".write-check.{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(unusable)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// A multi-threaded runtime, or a single-threaded one when the process may use one CPU only
/// (a container limit, `taskset`): there a second thread only adds cross-thread wake-ups.
fn runtime_builder() -> tokio::runtime::Builder {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
}

/// `<cargo target dir>/stress-reports`: the target dir is the ancestor of this binary that
/// holds cargo's `CACHEDIR.TAG` (also under `--target <triple>` and custom target dirs).
fn default_report_dir() -> PathBuf {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
            .map(Path::to_path_buf)
    });
    from_exe
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("stress-reports")
}

#[cfg(test)]
mod tests {
    /// `--help` is made from the settings table, as the README's table is: every row's flag,
    /// variable, help and default, and no setting flag the table does not have.
    #[test]
    fn help_lists_the_settings_table() {
        let help = super::command().render_long_help().to_string();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        for setting in crate::settings::SETTINGS {
            for part in [
                setting.long_flag(),
                format!("env: {}", setting.env),
                setting.help_text(),
                format!("[default: {}]", setting.default.replace('`', "")),
            ] {
                assert!(help.contains(&part), "--help lacks {part:?}");
            }
        }
        let flags = help.matches("[env: PT_").count();
        assert_eq!(flags, crate::settings::SETTINGS.len(), "{help}");
    }
}
