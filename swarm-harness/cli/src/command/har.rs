//! `swarm har import` and `swarm har replay`: a HAR recording written as `#[stress_test]`
//! scenarios a developer keeps, or run as a load test as it is (docs/src/har.md).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use swarm_harness::__private::report;
use swarm_harness_cli::har;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write one `#[stress_test]` scenario per recorded host, ready for a stress target.
    Import {
        /// The recording.
        file: PathBuf,
        /// Where to write `replay_<host>.rs` files.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        #[command(flatten)]
        filter: Filter,
        /// Overwrite files that exist.
        #[arg(long)]
        force: bool,
    },
    /// Run the recording of one host as a load test (PT_* settings, reports as any trial).
    Replay {
        /// The recording.
        file: PathBuf,
        #[command(flatten)]
        filter: Filter,
        /// Arguments of the stress harness, after `--` (`-- --report-dir out`).
        #[arg(last = true)]
        harness: Vec<OsString>,
    },
}

#[derive(clap::Args)]
pub struct Filter {
    /// Keep only these hosts: api.example.com, *.example.com, 127.0.0.1:8080.
    #[arg(long = "host", value_name = "PATTERN", num_args = 1..)]
    hosts: Vec<String>,
    /// Keep images, scripts, styles, fonts and media (left out by default).
    #[arg(long)]
    include_static: bool,
    /// Pause between requests as the recording did (at most 60 s each).
    #[arg(long)]
    think_time: bool,
}

impl Filter {
    fn options(self) -> har::Options {
        har::Options {
            hosts: self.hosts,
            include_static: self.include_static,
            think_time: self.think_time,
        }
    }
}

impl Command {
    pub fn run(self) -> Result<ExitCode, String> {
        match self {
            Command::Import {
                file,
                out,
                filter,
                force,
            } => import(&file, &out, &filter.options(), force),
            Command::Replay {
                file,
                filter,
                harness,
            } => {
                let args = std::iter::once(OsString::from("swarm har replay")).chain(harness);
                Ok(har::replay(&file, &filter.options(), args))
            }
        }
    }
}

/// Writes the scenarios of a recording; refuses to overwrite a file unless `force`.
fn import(
    file: &Path,
    out: &Path,
    options: &har::Options,
    force: bool,
) -> Result<ExitCode, String> {
    let imported = har::generate(file, options).map_err(|e| e.to_string())?;
    // Created when missing (as `swarm merge --out` does); a file in its place is refused.
    std::fs::create_dir_all(out).map_err(|e| format!("--out {}: {e}", out.display()))?;
    let targets: Vec<PathBuf> = imported
        .files
        .iter()
        .map(|f| out.join(&f.file_name))
        .collect();
    if !force && let Some(existing) = targets.iter().find(|path| path.exists()) {
        return Err(format!(
            "{} exists (edited since the last import?); pass --force to overwrite it",
            existing.display()
        ));
    }
    for (generated, target) in imported.files.iter().zip(&targets) {
        report::write_atomically(target, generated.source.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        println!(
            "wrote {}: {} requests to {}, {} values captured live",
            target.display(),
            generated.requests,
            generated.origin,
            generated.captures
        );
        if generated.invalid_headers > 0 {
            println!(
                "  left out {} recorded header(s) no HTTP client can send (bad name or value)",
                generated.invalid_headers
            );
        }
    }
    println!(
        "{} entries in {}; {}",
        imported.entries,
        file.display(),
        imported.skipped
    );
    println!(
        "next: `mod {};` in your stress target, then run it with PT_HOST set",
        imported.files[0].scenario
    );
    Ok(ExitCode::SUCCESS)
}
