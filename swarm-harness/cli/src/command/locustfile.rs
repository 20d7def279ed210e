//! `swarm locustfile`: the locustfile a Locust master needs to drive a stress target's trials
//! as its workers, asked of the target itself (`--locustfile`), which cargo builds.

use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The stress target: the `[[test]]` name with `harness = false`.
    #[arg(long, default_value = "stress")]
    test: String,
    /// The package that holds it (cargo's -p).
    #[arg(short, long)]
    package: Option<String>,
    /// Filters choosing the trials, as for the stress target (`-- --exact Browser`).
    #[arg(last = true)]
    filters: Vec<String>,
}

impl Args {
    pub fn run(self) -> Result<ExitCode, String> {
        let test = self.test.as_str();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = std::process::Command::new(cargo);
        command.args(["test", "--quiet"]);
        if let Some(package) = &self.package {
            command.args(["-p", package]);
        }
        command
            .args(["--test", test, "--", "--locustfile"])
            .args(&self.filters);
        command.stderr(std::process::Stdio::inherit());
        let output = command
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`cargo test --test {test} -- --locustfile` failed ({}); is {test:?} a stress \
                 target (harness = false, swarm_harness::main)?",
                output.status
            ));
        }
        std::io::stdout()
            .write_all(&output.stdout)
            .map_err(|e| e.to_string())?;
        Ok(ExitCode::SUCCESS)
    }
}
