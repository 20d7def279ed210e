//! The command line: libtest's flags flattened in, ours, and one flag per row of the settings
//! table (`settings::clap_args`), so a setting's flag, variable and help are declared once.

use clap::{CommandFactory, Parser};
use libtest_mimic::Arguments;

use crate::settings;

#[derive(Parser, Debug)]
#[command(
    name = "stress",
    about = "Runs #[stress_test] scenarios as swarms of simulated users (swarm-harness).",
    // Not libtest-mimic's doc comment of its `Arguments`, which the flattened struct brings.
    long_about = None,
    help_template = "{about}\n\nUSAGE: {usage}\n\n{all-args}",
    after_help = "Every PT_* variable can also be given as the flag beside it; a flag wins."
)]
pub(super) struct Cli {
    #[command(flatten)]
    pub(super) libtest: Arguments,
    /// Print the task ratios of every trial as JSON (Locust's --show-task-ratio-json) and exit.
    #[arg(long)]
    pub(super) show_task_ratio: bool,
    /// Print the locustfile a Locust master needs to drive this binary's trials, and exit.
    #[arg(long)]
    pub(super) locustfile: bool,
}

/// The command line: libtest's flags, ours, and one flag per row of the settings table.
pub(super) fn command() -> clap::Command {
    Cli::command().args(settings::clap_args())
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
                setting.help_text().replace('`', ""),
                format!("[default: {}]", setting.default.replace('`', "")),
            ] {
                assert!(help.contains(&part), "--help lacks {part:?}");
            }
        }
        let flags = help.matches("[env: PT_").count();
        assert_eq!(flags, crate::settings::SETTINGS.len(), "{help}");
    }
}
