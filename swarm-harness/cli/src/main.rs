//! `swarm`: the command-line companion of the harness.
//!
//! - `swarm report DIR` re-renders the CSV, HTML and JUnit files from the JSON reports in DIR.
//! - `swarm compare BASELINE CURRENT` compares two reports (or report directories) and exits 1
//!   when a figure regressed beyond the tolerance and its confidence interval.
//! - `swarm history DIR...` follows every figure over runs and exits 1 when the newest run
//!   starts a regression change point.
//! - `swarm merge DIR... --out DIR` merges the reports of a run's shards exactly and exits 1
//!   when a merged trial fails its thresholds.
//! - `swarm locustfile` prints the locustfile a Locust master needs to drive a stress target's
//!   trials as its workers.
//! - `swarm har import FILE.har` writes a `#[stress_test]` scenario per recorded host;
//!   `swarm har replay FILE.har` runs a recording as a load test.
//!
//! Exit codes: 0 fine, 1 regression (or a failed merged trial), 2 bad input (a missing file,
//! not JSON, an unknown `format_version`, an invalid option, reports that do not merge).
//!
//! Each subcommand is a module of `command/`: its arguments and its run.

mod command;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "swarm",
    version,
    about = "Renders and compares swarm-harness reports; turns HAR recordings into scenarios."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Re-render CSV, HTML and JUnit from the JSON reports in a directory.
    Report(command::report::Args),
    /// Compare a run with a baseline; exit 1 on a regression beyond the tolerance.
    Compare(command::compare::Args),
    /// Each entry's p50/p95/p99 and requests/s over runs, oldest first, with change points;
    /// exit 1 when the newest run starts a regression.
    History(command::history::Args),
    /// Merge the reports of a run's shards (PT_SHARD=i/n) into one report per trial, exactly;
    /// exit 1 when a merged trial fails its thresholds.
    Merge(command::merge::Args),
    /// Print the locustfile a Locust master needs to drive a stress target as its workers
    /// (PT_LOCUST_MASTER): one user class per trial. Builds the target with cargo.
    Locustfile(command::locustfile::Args),
    /// HAR recordings (mitmproxy, browser DevTools, Charles) as scenarios or as a load test.
    #[command(subcommand)]
    Har(command::har::Command),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Report(args) => args.run(),
        Command::Compare(args) => args.run(),
        Command::History(args) => args.run(),
        Command::Merge(args) => args.run(),
        Command::Locustfile(args) => args.run(),
        Command::Har(command) => command.run(),
    };
    result.unwrap_or_else(|message| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    })
}
