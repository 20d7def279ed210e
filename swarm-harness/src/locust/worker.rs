//! The worker's conversation with a Locust master, as `WorkerRunner` holds it in
//! `locust/runners.py`: `client_ready` until `ack`; `spawn` → `spawning`, then the trials
//! started or steered to the master's counts, then `spawning_complete`; a `heartbeat` every
//! second (state, CPU, memory); `stats` every 3 s; `stop` → every trial stopped and its
//! report written, the last figures, `client_stopped`, then `client_ready` again; `quit` →
//! the same, then exit. A master that goes quiet is asked again with `client_ready` (so a
//! restarted master gets its worker back); one silent for `PT_LOCUST_MASTER_TIMEOUT` ends the
//! run, with every report written.

mod machine;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rmpv::Value;
use tokio::task::JoinSet;

use super::link::{Link, Received};
use super::protocol::{Message, Spawn, SpawnError, brief, get, map};
use super::stats;
use crate::control::{self, Command, Controller, Swarm};
use crate::runner::RunEnv;
use crate::runner::{self, TrialEnv};
use crate::scenario::trials::TrialSpec;
use machine::{CpuClock, hostname};

/// How often the worker tells the master it is alive (Locust's `HEARTBEAT_INTERVAL`).
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How often the figures go to the master (Locust's `WORKER_REPORT_INTERVAL`).
const REPORT: Duration = Duration::from_secs(3);
/// A master silent this long is asked again with `client_ready` (it may have restarted).
const QUIET: Duration = Duration::from_secs(3);
/// The hatch rate of a trial the master steers: the master paces the spawning itself, with
/// one `spawn` message per step.
const STEERED_RATE: f64 = 1_000.0;

/// Where the master is and how long to wait for it.
pub(crate) struct MasterAddress {
    /// `host:port`.
    pub address: String,
    pub timeout: Duration,
}

/// A trial the master asked for, running.
struct Running {
    name: String,
    controller: Controller,
    users: u64,
}

/// What runs the conversation.
struct Worker {
    shared: Arc<RunEnv>,
    specs: Vec<TrialSpec>,
    node_id: String,
    link: Link,
    figures: Arc<Mutex<stats::Figures>>,
    running: BTreeMap<usize, Running>,
    trials: JoinSet<(usize, Result<(), String>)>,
    failed: Vec<String>,
    state: &'static str,
    last_spawn: f64,
    /// The master's first spawn on this connection, and when it came: later spawns may be at
    /// most a day past it plus the time since.
    first_spawn: Option<(f64, Instant)>,
    cpu: CpuClock,
    /// Warnings of refused messages: a master sending garbage fast is said once in a while.
    refusals: crate::throttle::Throttle,
    /// This worker's index among the master's, from its `ack`: feeders cut their rows by it.
    index: Option<u64>,
}

/// Runs this process as a Locust worker until the master says quit (or goes away).
pub(crate) fn run(
    shared: Arc<RunEnv>,
    specs: Vec<TrialSpec>,
    master: MasterAddress,
    figures: Arc<Mutex<stats::Figures>>,
    finish: crate::user::target::Finish,
) -> Result<ExitCode, String> {
    let runtime = shared.runtime.clone();
    let closing = shared.clone();
    let outcome = runtime.block_on(async move {
        let node_id = format!("{}_{:032x}", hostname(), fastrand::u128(..));
        let (link, index) = connect(&master, &node_id).await?;
        let mut worker = Worker {
            shared,
            specs,
            node_id,
            link,
            figures,
            running: BTreeMap::new(),
            trials: JoinSet::new(),
            failed: Vec::new(),
            state: "ready",
            last_spawn: 0.0,
            first_spawn: None,
            cpu: CpuClock::new(),
            refusals: crate::throttle::Throttle::default(),
            index,
        };
        worker.converse(&master).await
    })?;
    // The run's closing files (and fixtures torn down) outside the conversation's runtime.
    if let Err(error) = closing.finish_run(finish) {
        eprintln!("error: {error}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(outcome)
}

/// Connects and registers: `client_ready` until the master's `ack` (with this worker's index
/// among the master's workers, from Locust 2.x), within the timeout. A connection lost on the
/// way is opened again, while the time lasts.
async fn connect(master: &MasterAddress, node_id: &str) -> Result<(Link, Option<u64>), String> {
    let unreachable = |e: &dyn std::fmt::Display| {
        format!(
            "no Locust master answered at {} within {}s (PT_LOCUST_MASTER_TIMEOUT): {e}; is \
             `locust --master` running there?",
            master.address,
            master.timeout.as_secs()
        )
    };
    let deadline = Instant::now() + master.timeout;
    let mut link = Link::open(&master.address, node_id, master.timeout)
        .await
        .map_err(|e| unreachable(&e))?;
    let ready = Message::new("client_ready", Value::from(-1), node_id);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(unreachable(&"it did not acknowledge client_ready"));
        }
        if !link.alive() {
            tokio::time::sleep(left.min(Duration::from_millis(500))).await;
            let left = deadline.saturating_duration_since(Instant::now());
            match Link::open(&master.address, node_id, left).await {
                Ok(new) => link = new,
                Err(error) => return Err(unreachable(&error)),
            }
        }
        link.send(&ready);
        match tokio::time::timeout(left.min(Duration::from_secs(5)), link.recv()).await {
            Ok(Received::Message(message)) if message.kind == "ack" => {
                return Ok((link, get(&message.data, "index").and_then(Value::as_u64)));
            }
            Ok(Received::Message(message)) => check_version(&message)?,
            Ok(Received::Refused(error)) => {
                crate::logging::warning!("locust worker: refused: {error}")
            }
            Ok(Received::Lost(error)) => crate::logging::error!("locust worker: {error}"),
            Err(_) => {}
        }
    }
}

/// A message only a Locust master before 2.0 sends is an error naming that version.
fn check_version(message: &Message) -> Result<(), String> {
    if message.kind == "spawn" && get(&message.data, "user_classes_count").is_none() {
        let keys: Vec<String> = message
            .data
            .as_map()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, _)| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        return Err(format!(
            "the Locust master speaks a protocol before Locust 2.0 (its spawn message has {}, \
             no user_classes_count); run Locust 2.0 or later",
            keys.join(", ")
        ));
    }
    Ok(())
}

impl Worker {
    fn send(&self, kind: &str, data: Value) {
        self.link.send(&Message::new(kind, data, &self.node_id));
    }

    /// A problem the master should show (Locust's `exception` message), printed here too.
    fn exception(&self, message: String) {
        eprintln!("error: {message}");
        self.send(
            "exception",
            map(vec![
                ("msg", Value::from(message)),
                ("traceback", Value::from("")),
            ]),
        );
    }

    /// The users running here, over every trial.
    fn user_count(&self) -> u64 {
        self.running.values().map(|r| r.users).sum()
    }

    async fn converse(&mut self, master: &MasterAddress) -> Result<ExitCode, String> {
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        let mut report = tokio::time::interval(REPORT);
        let mut heard = Instant::now();
        let mut asked = Instant::now();
        let interrupt = self.shared.env.interrupt.clone();
        loop {
            tokio::select! {
                received = self.link.recv() => match received {
                    Received::Message(message) => {
                        heard = Instant::now();
                        if let Some(end) = self.handle(message).await {
                            return end;
                        }
                    }
                    Received::Refused(error) => {
                        if let Some(held) = self.refusals.allow() {
                            crate::logging::warning!(
                                "locust worker: a message from the master refused: {error} \
                                 ({held} more refused since the last warning)"
                            );
                        }
                    }
                    Received::Lost(error) => {
                        // Opened again by the heartbeat below when the master stays quiet.
                        crate::logging::error!("locust worker: the connection to the master: {error}");
                    }
                },
                _ = heartbeat.tick() => {
                    let (cpu, memory) = self.cpu.sample();
                    self.send("heartbeat", map(vec![
                        ("state", Value::from(self.state)),
                        ("current_cpu_usage", Value::from(cpu)),
                        ("current_memory_usage", Value::from(memory)),
                    ]));
                    let quiet = heard.elapsed();
                    if quiet > master.timeout {
                        eprintln!(
                            "error: the Locust master at {} has been silent for {}s \
                             (PT_LOCUST_MASTER_TIMEOUT): stopping",
                            master.address, quiet.as_secs()
                        );
                        self.stop_all().await;
                        return Ok(ExitCode::FAILURE);
                    }
                    if quiet > QUIET && asked.elapsed() > QUIET {
                        // The master may have restarted: a new connection (as Locust's
                        // reset_connection makes), and registration again.
                        asked = Instant::now();
                        match Link::open(&master.address, &self.node_id, QUIET).await {
                            Ok(link) => {
                                // A new master (restarted) keeps time of its own.
                                self.link = link;
                                self.last_spawn = 0.0;
                                self.first_spawn = None;
                            }
                            Err(error) => log::info!("locust worker: reconnecting: {error}"),
                        }
                        self.send("client_ready", Value::from(-1));
                    }
                }
                _ = report.tick() => self.report(),
                Some(joined) = self.trials.join_next(), if !self.trials.is_empty() => {
                    // A trial ended by itself (its PT_DURATION cap, or Ctrl-C).
                    if let Ok((index, result)) = joined {
                        self.ended(index, result);
                    }
                }
                _ = interrupt.cancelled() => {
                    self.stop_all().await;
                    self.send("quit", Value::Nil);
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
    }

    /// One message from the master; `Some` ends the conversation.
    async fn handle(&mut self, message: Message) -> Option<Result<ExitCode, String>> {
        if let Err(error) = check_version(&message) {
            // The trials that run write their reports before the run ends on the error.
            self.stop_all().await;
            return Some(Err(error));
        }
        match message.kind.as_str() {
            "spawn" => self.spawn(&message.data).await,
            "stop" => {
                self.stop_all().await;
                self.send("client_stopped", Value::Nil);
                self.state = "ready";
                self.send("client_ready", Value::from(-1));
            }
            "quit" => {
                self.stop_all().await;
                return Some(Ok(self.verdict()));
            }
            "reconnect" => self.send("client_ready", Value::from(-1)),
            // Registered again (a restarted master): its index may differ, which the
            // feeders warn of at the next spawn.
            "ack" => {
                self.index = get(&message.data, "index")
                    .and_then(Value::as_u64)
                    .or(self.index);
            }
            // "heartbeat", "spawning_complete", custom messages: being heard is all they mean
            // here.
            _ => {}
        }
        None
    }

    /// The figures since the last report.
    fn report(&self) {
        let taken = self
            .figures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pending
            .take();
        let classes = self.classes();
        self.send(
            "stats",
            map(vec![
                ("stats", taken.stats),
                ("stats_total", taken.stats_total),
                ("errors", taken.errors),
                ("user_classes_count", classes),
                ("user_count", Value::from(self.user_count())),
            ]),
        );
    }

    fn classes(&self) -> Value {
        Value::Map(
            self.running
                .values()
                .map(|r| (Value::from(r.name.as_str()), Value::from(r.users)))
                .collect(),
        )
    }

    async fn spawn(&mut self, job: &Value) {
        self.send("spawning", Value::Nil);
        let latest = self.first_spawn.map_or(f64::INFINITY, |(first, at)| {
            first + at.elapsed().as_secs_f64() + super::protocol::MAX_AHEAD_S
        });
        let spawn = match Spawn::parse_before(job, self.last_spawn, latest) {
            Ok(spawn) => spawn,
            Err(error @ SpawnError::Stale { .. }) => {
                if let Some(held) = self.refusals.allow() {
                    crate::logging::warning!(
                        "locust worker: discarded {error} ({held} more refused since)"
                    );
                }
                return;
            }
            Err(error) => {
                // The last timestamp stays: a later valid spawn still applies.
                crate::logging::warning!("locust worker: refused {error}");
                return;
            }
        };
        self.last_spawn = spawn.timestamp;
        self.slot_feeders(job);
        self.first_spawn
            .get_or_insert((spawn.timestamp, Instant::now()));
        self.state = "spawning";
        for refused in spawn.refused {
            self.exception(refused);
        }
        let mut unknown = 0_usize;
        for (name, users) in spawn.counts {
            let Some(index) = self.specs.iter().position(|s| s.name == name) else {
                unknown += usize::from(users > 0);
                // The first few by name, the rest counted below: a flood is one line more.
                if users > 0 && unknown <= 10 {
                    let message = format!(
                        "this worker has no trial named {} (its trials: {}); the master's \
                         locustfile must come from `swarm locustfile`",
                        brief(&Value::from(name.as_str())),
                        self.specs
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    self.exception(message);
                }
                continue;
            };
            self.steer(index, users, spawn.host.clone()).await;
        }
        if unknown > 10 {
            self.exception(format!(
                "and {} more user classes this worker has no trial for",
                unknown - 10
            ));
        }
        self.state = "running";
        self.send(
            "spawning_complete",
            map(vec![
                ("user_classes_count", self.classes()),
                ("user_count", Value::from(self.user_count())),
            ]),
        );
    }

    /// Gives the feeders this worker's slot before any trial of the spawn starts: the
    /// `ack`'s index, of the master's `--expect-workers` (in the spawn's `parsed_options`;
    /// Locust sends no other worker count).
    fn slot_feeders(&self, job: &Value) {
        let count = get(job, "parsed_options")
            .and_then(|options| get(options, "expect_workers"))
            .and_then(Value::as_u64);
        if let (Some(index), Some(count)) = (self.index, count) {
            self.shared.env.fixtures.feeds.set_worker(index, count);
        }
    }

    /// The `index`th trial to `users` users: started, steered, or left as it is.
    async fn steer(&mut self, index: usize, users: u32, host: Option<String>) {
        match self.running.get_mut(&index) {
            Some(running) if running.users != u64::from(users) => {
                let swarm = Swarm {
                    users,
                    rate: STEERED_RATE,
                    run_time: None,
                    host: None,
                };
                match running.controller.send(Command::Swarm(swarm), index).await {
                    Ok(_) => running.users = u64::from(users),
                    Err(error) => eprintln!("warning: {}: {error}", running.name),
                }
            }
            Some(_) => {}
            None if users > 0 => self.start(index, users, host),
            None => {}
        }
    }

    /// Starts the `index`th trial with `users` users, steered by the master from then on.
    fn start(&mut self, index: usize, users: u32, host: Option<String>) {
        let spec = self.specs[index].clone();
        let name = spec.name.clone();
        if host.is_none() && self.shared.host.is_none() {
            let message = format!(
                "{name}: no target to send load to: start the master with -H URL, or set \
                 PT_HOST on the worker"
            );
            self.exception(message);
            return;
        }
        let (plan, whole, _) = self.shared.plan(spec, |profile| {
            profile.users = users;
            profile.hatch_rate = STEERED_RATE;
            if let Some(host) = host {
                profile.host = Some(host);
            }
        });
        let (controller, mut commands) = control::channel();
        let env = TrialEnv {
            autostart: true,
            ..self.shared.env.clone()
        };
        let shared = self.shared.clone();
        self.trials.spawn(async move {
            let result = runner::run_trial(plan, &env, index, Some(&mut commands)).await;
            // Publishing writes the report files: off the runtime's workers.
            let concluded = tokio::task::spawn_blocking(move || {
                shared
                    .conclude(result, index, &whole, None)
                    .map_err(|failed| format!("{failed:?}"))
            })
            .await
            .unwrap_or_else(|e| Err(format!("writing the report panicked: {e}")));
            (index, concluded)
        });
        self.running.insert(
            index,
            Running {
                name,
                controller,
                users: u64::from(users),
            },
        );
    }

    fn ended(&mut self, index: usize, result: Result<(), String>) {
        if let Some(running) = self.running.remove(&index)
            && let Err(verdict) = result
        {
            self.failed.push(format!("{}: {verdict}", running.name));
        }
    }

    /// Stops every trial, waits for their reports, and sends the last figures.
    async fn stop_all(&mut self) {
        self.state = "stopping";
        for (&index, running) in &self.running {
            if let Err(error) = running.controller.send(Command::Stop, index).await {
                log::info!("{}: {error}", running.name);
            }
        }
        // The last figures go as soon as every trial's last tick is in: a headless master
        // that quits waits only half a second for them, and writing reports takes longer.
        let indices: Vec<usize> = self.running.keys().copied().collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ended = {
                let figures = self.figures.lock().unwrap_or_else(PoisonError::into_inner);
                indices.iter().all(|i| figures.ended.contains(i))
            };
            if ended {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.report();
        // The trials' own grace period bounds this; the margin covers writing reports.
        let bound = Duration::from_secs(60);
        while let Ok(Some(joined)) = tokio::time::timeout(bound, self.trials.join_next()).await {
            if let Ok((index, result)) = joined {
                self.ended(index, result);
            }
        }
        self.running.clear();
        self.figures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ended
            .clear();
        self.state = "stopped";
    }

    /// Success when every trial passed its own verdict.
    fn verdict(&self) -> ExitCode {
        if self.failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            for failed in &self.failed {
                eprintln!("failed: {failed}");
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_master_before_locust_2_is_named() {
        // Locust 1.x spawned with num_users and spawn_rate, not user_classes_count.
        let old = Message::new(
            "spawn",
            map(vec![
                ("num_users", Value::from(10)),
                ("spawn_rate", Value::from(1)),
            ]),
            "",
        );
        let error = check_version(&old).unwrap_err();
        assert!(error.contains("before Locust 2.0"), "{error}");
        assert!(error.contains("num_users, spawn_rate"), "{error}");
        let new = Message::new(
            "spawn",
            map(vec![(
                "user_classes_count",
                map(vec![("Browser", Value::from(1))]),
            )]),
            "",
        );
        assert_eq!(check_version(&new), Ok(()));
    }
}
