//! The test harness: the `Harness` a stress target configures, and its run: our flags
//! (libtest's flattened in), trials from the registered scenarios, and `libtest_mimic::run`
//! over them on one shared tokio runtime.
//!
//! Exit codes: 0 all trials passed; 101 a trial failed (libtest's); 2 invalid configuration
//! or usage (a `PT_*` value, an unknown parameter, no scenario linked), before any load.
//!
//! - `cli.rs`: the command line; `run.rs`: the run, step by step; `checks.rs`: what is
//!   checked before any load; `open_files.rs`: the open-file limit, raised and checked
//!   against the users; `signals.rs`: Ctrl-C and SIGTERM.

mod checks;
mod cli;
mod error;
mod open_files;
mod run;
mod signals;

use std::any::TypeId;
use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use clap::FromArgMatches;

use crate::events::{RequestSink, Sink};
use crate::scenario::Scenario;
use crate::user::fixture::FixtureStore;
use crate::user::target::{App, Finish, FinishApp, StartHook, Started};
use cli::{Cli, command};

/// The harness, configurable before it runs. `swarm_harness::main()` is `Harness::new().run()`.
#[must_use = "call .run() to run the trials"]
#[derive(Default)]
pub struct Harness {
    embedded_target: Option<StartHook>,
    /// The app type `embedded_app` starts, which `on_finish_app` must take.
    app_type: Option<(TypeId, &'static str)>,
    finish: Finish,
    sinks: Vec<Box<dyn Sink>>,
    /// Consumers of every request (`Harness::request_sink`).
    request_sinks: Vec<Box<dyn RequestSink>>,
    /// Scenarios instead of the registered ones (`swarm har replay`).
    scenarios: Option<Vec<&'static Scenario>>,
    fixtures: Arc<FixtureStore>,
    reqwest_client: crate::http::reqwest_versions::OwnBuilders,
    /// The feeders read and checked before any load (`Harness::feeder`).
    feeders: Vec<&'static dyn crate::user::feed::Declared>,
}

impl Harness {
    /// A harness with the `#[stress_test]` scenarios linked in and nothing else configured.
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

    /// Adds a consumer of every request (Locust's `events.request`): each is handed a
    /// [`RequestRecord`](crate::events::RequestRecord), in batches, on a thread of its own.
    /// A trial has a queue only when a request sink is added (`PT_REQUEST_LOG` adds one);
    /// its requests that do not fit are counted, never waited for (docs/src/request-log.md).
    pub fn request_sink(mut self, sink: impl RequestSink + 'static) -> Self {
        self.request_sinks.push(Box::new(sink));
        self
    }

    /// Reads and checks `feeder`'s file before any load, whichever trials run: a missing
    /// file or a bad row anywhere in it is one error naming the file, the line and the field,
    /// with exit code 2. This process's part of the rows (its shard's) is kept from then on.
    /// A feeder the harness is not told of is read at its first use instead
    /// (docs/src/feeders.md).
    pub fn feeder<T>(mut self, feeder: &'static crate::Feeder<T>) -> Self
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        self.feeders.push(feeder);
        self
    }

    /// Runs `scenarios` instead of the `#[stress_test]` functions linked in.
    pub(crate) fn scenarios(mut self, scenarios: Vec<&'static Scenario>) -> Self {
        self.scenarios = Some(scenarios);
        self
    }

    /// Makes `value` the run fixture `T` before any user asks for it.
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
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(2)
            }
        }
    }
}
