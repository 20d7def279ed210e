//! What is made from the settings table besides `Overrides`: clap's flags, the raw settings
//! read back from clap, the warning for an unknown `PT_*` variable, and the Markdown table
//! of the README and the book.

use super::{RawSetting, SCRIPT_VARIABLES, SETTINGS, Setting, Source};

/// One clap argument per setting: its flag, its variable, its help with its default.
pub(crate) fn clap_args() -> impl Iterator<Item = clap::Arg> {
    SETTINGS.iter().map(|setting| {
        clap::Arg::new(setting.id)
            .long(setting.flag)
            .value_name(setting.value_name)
            .env(setting.env)
            .hide_env_values(setting.secret)
            .help(format!(
                "{} [default: {}]{}",
                setting.help_text().replace('`', ""),
                setting.default.replace('`', ""),
                left_out(setting)
            ))
    })
}

/// What `--help` adds to a setting of a part this build left out: that it is refused.
fn left_out(setting: &Setting) -> String {
    match setting.part {
        Some(part) if !part.built() => format!(" [refused: {}]", part.missing().replace('`', "")),
        _ => String::new(),
    }
}

/// The settings given on the command line or in the environment, as clap found them (each
/// argument made by [`clap_args`]).
pub(crate) fn raw_settings(matches: &clap::ArgMatches) -> Vec<RawSetting> {
    SETTINGS
        .iter()
        .filter_map(|setting| {
            let value = matches.get_one::<String>(setting.id)?.clone();
            let source = match matches.value_source(setting.id) {
                Some(clap::parser::ValueSource::CommandLine) => Source::Flag,
                _ => Source::Env,
            };
            Some(RawSetting {
                setting,
                value,
                source,
            })
        })
        .collect()
}

/// Every `PT_*` variable the harness and its scripts read.
fn known_variables() -> impl Iterator<Item = &'static str> {
    SETTINGS
        .iter()
        .map(|setting| setting.env)
        .chain(SCRIPT_VARIABLES.iter().map(|variable| variable.env))
}

/// A warning for every `PT_*` variable in `names` that the harness does not read, naming the
/// closest known one: a typo must not silently fall back to a default.
pub(crate) fn unknown_variables<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut warnings: Vec<String> = names
        .filter(|name| name.starts_with("PT_") && !known_variables().any(|known| known == *name))
        .map(|name| {
            let closest = known_variables()
                .map(|known| (strsim::levenshtein(name, known), known))
                .min()
                .filter(|(distance, _)| *distance <= 4);
            match closest {
                Some((_, known)) => {
                    format!("unknown variable {name} is ignored; did you mean {known}?")
                }
                None => format!(
                    "unknown variable {name} is ignored; the PT_* variables are listed by --help"
                ),
            }
        })
        .collect();
    warnings.sort();
    warnings
}

/// The settings as the Markdown table of the README and of `docs/src/settings.md`.
#[cfg(test)]
pub(crate) fn markdown_table() -> String {
    let mut table = String::from("| variable | flag | meaning | default |\n|---|---|---|---|\n");
    for setting in SETTINGS {
        table.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            setting.env,
            setting.long_flag(),
            setting.help_text(),
            setting.default
        ));
    }
    for variable in SCRIPT_VARIABLES {
        table.push_str(&format!(
            "| `{}` | | {} | {} |\n",
            variable.env, variable.help, variable.default
        ));
    }
    table
}

/// The first line of the generated table's place in a Markdown file.
#[cfg(test)]
pub(crate) const TABLE_BEGIN: &str =
    "<!-- settings-table:begin (generated from swarm-harness/src/settings: edit there) -->";
/// Its last line.
#[cfg(test)]
pub(crate) const TABLE_END: &str = "<!-- settings-table:end -->";

/// `document` with the text between its markers replaced by the current table, or `None`
/// when it has no markers.
#[cfg(test)]
pub(crate) fn with_table(document: &str) -> Option<String> {
    let begin = document.find(TABLE_BEGIN)? + TABLE_BEGIN.len();
    let end = begin + document[begin..].find(TABLE_END)?;
    Some(format!(
        "{}\n{}{}",
        &document[..begin],
        markdown_table(),
        &document[end..]
    ))
}
