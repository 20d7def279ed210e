//! Locust worker mode: with `PT_LOCUST_MASTER=host:port` the stress binary is a worker of a
//! real, unmodified Locust master (`locust --master`), as boomer is for Go and locust4j for
//! Java. The master spawns, steers, stops and aggregates; each Locust user class is one of our
//! trials (`swarm locustfile` writes the classes the master needs); our users run the
//! scenarios in Rust, and every trial still writes its own report with exact histograms.
//!
//! The wire: a ZeroMQ DEALER connection whose identity is the worker's node id (our own ZMTP
//! 3.1 client, every announced size bounded before allocation — [`zmtp`]; its queues bounded
//! — [`link`]), carrying msgpack messages (`rmpv`, nesting limited; a `spawn` checked —
//! [`protocol`]). The figures sent to the master come from the run events, like every other
//! live consumer's — [`stats`].

//!
//! It is the feature `locust`; a build without it has `left_out.rs` in its place, with the same
//! names for `harness/run.rs`, and `PT_LOCUST_MASTER` refused where it is parsed.

pub(crate) mod link;
pub(crate) mod protocol;
pub(crate) mod stats;
pub(crate) mod worker;
pub(crate) mod zmtp;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use crate::events::Sink;
use crate::runner::RunEnv;
use crate::scenario::trials::TrialSpec;
use crate::settings::{self, Overrides};
use crate::user::target::Finish;

/// This process as a Locust worker: where its master is, and the figures its sink and its
/// link to the master share.
pub(crate) struct WorkerMode {
    master: worker::MasterAddress,
    figures: Arc<Mutex<stats::Figures>>,
}

impl WorkerMode {
    /// The worker the settings ask for (`PT_LOCUST_MASTER`), if any.
    pub(crate) fn of(overrides: &Overrides) -> Option<Self> {
        let address = overrides.locust_master.clone()?;
        Some(WorkerMode {
            master: worker::MasterAddress {
                address,
                timeout: overrides
                    .locust_master_timeout
                    .unwrap_or(settings::DEFAULT_MASTER_TIMEOUT),
            },
            figures: Arc::default(),
        })
    }

    /// The sink that keeps the figures the master is sent.
    pub(crate) fn sink(&self) -> Box<dyn Sink> {
        Box::new(stats::LocustSink(self.figures.clone()))
    }

    /// Works for the master until it says quit (or goes away).
    pub(crate) fn run(
        self,
        run: Arc<RunEnv>,
        specs: Vec<TrialSpec>,
        finish: Finish,
    ) -> Result<ExitCode, String> {
        worker::run(run, specs, self.master, self.figures, finish)
    }
}

/// The locustfile a master needs to drive workers running `trials`: one empty `User` class
/// per trial, named as the trial (`create_app[large]` included: the classes are made with
/// `type()`, so any name works), with the weights given. An `Err` only in a build without the
/// worker (`left_out.rs`), which no master can drive.
pub(crate) fn locustfile(trials: &[(String, u32)]) -> Result<String, String> {
    let mut out = String::from(
        "# The user classes of a Locust master that drives swarm-harness workers\n\
         # (PT_LOCUST_MASTER=host:port): written by `swarm locustfile`. The users run in Rust\n\
         # on the workers; these classes only name them for the master. Run it with\n\
         #   locust -f this_file.py --master\n\
         from locust import User, constant, task\n\n\n\
         class _RustUser(User):\n    \
             abstract = True\n    \
             wait_time = constant(1)\n\n    \
             @task\n    \
             def run_on_a_rust_worker(self):\n        \
                 raise RuntimeError(\"this user runs on swarm-harness workers only\")\n\n\n",
    );
    for (name, weight) in trials {
        // A JSON string is a valid Python string literal meaning the same text.
        let name = serde_json::to_string(name).expect("strings serialize");
        out.push_str(&format!(
            "globals()[{name}] = type({name}, (_RustUser,), {{\"abstract\": False, \"weight\": {weight}}})\n"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::settings::parse_master;
    use proptest::prelude::*;

    #[test]
    fn master_addresses() {
        assert_eq!(
            parse_master("127.0.0.1:5557").as_deref(),
            Some("127.0.0.1:5557")
        );
        assert_eq!(
            parse_master("locust-master:5557").as_deref(),
            Some("locust-master:5557")
        );
        assert_eq!(parse_master("[::1]:5557").as_deref(), Some("[::1]:5557"));
        for bad in [
            "",
            "5557",
            "host:",
            "host:0",
            "host:70000",
            ":5557",
            "a b:1",
            "h/x:1",
        ] {
            assert_eq!(parse_master(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_text_is_an_address_or_none(text in ".{0,40}") {
            if let Some(address) = parse_master(&text) {
                prop_assert!(address.contains(':'));
            }
        }
    }
}
