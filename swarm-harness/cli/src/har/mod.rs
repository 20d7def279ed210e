//! Record and replay: a HAR recording (mitmproxy's `hardump`, a browser's "Save all as HAR",
//! Charles) becomes `#[stress_test]` code a developer keeps (`swarm har import`), or runs as a
//! load test as it is (`swarm har replay`).
//!
//! The way through: `model` reads the HAR (a bad one is one error with the JSON path of the
//! problem), `select` keeps what the application sent (per origin, in order; static assets,
//! failed entries, `CONNECT`, websockets, preflights, browser-internal URLs and redirect
//! follow-ups left out and counted), `correlate` turns each origin into a `plan`: values
//! the server handed out and later requests sent back become captures of the live response,
//! the recorded origin becomes the target, `Cookie` is left to the user's jar and every other
//! recorded credential no response handed out (`secret` has the rule: names holding
//! `token`, `key`, `secret`, `auth`, `session`, `password`, …) is read from a `HAR_<NAME>`
//! variable at run time (recorded credentials are secrets, and stale). `codegen` writes the
//! plan as Rust; `replay` runs it. Both capture with the run-time functions of
//! `swarm_harness::har`, which generated code calls as `har::json(..)` and friends: a
//! generated file needs swarm-harness, never this crate.

mod codegen;
mod correlate;
mod literal;
mod model;
mod plan;
mod replay;
#[cfg(test)]
mod safety_tests;
mod secret;
mod select;

use std::path::Path;
use std::process::ExitCode;

pub use model::HarError;

/// What to take from a recording.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Host patterns to keep (`api.example.com`, `*.example.com`, `127.0.0.1:8080`); empty
    /// keeps every host.
    pub hosts: Vec<String>,
    /// Keep images, scripts, styles, fonts and media.
    pub include_static: bool,
    /// Pause between requests as the recording did (at most 60 s each).
    pub think_time: bool,
}

/// One generated source file: the scenario of one origin.
#[derive(Debug, Clone)]
pub struct Generated {
    /// `replay_127_0_0_1_8080.rs`.
    pub file_name: String,
    /// The scenario (and trial) name, `replay_127_0_0_1_8080`.
    pub scenario: String,
    /// The recorded origin.
    pub origin: String,
    pub source: String,
    /// Requests replayed (login and logout included).
    pub requests: usize,
    /// Values captured from live responses.
    pub captures: usize,
    /// Recorded headers left out because no HTTP client could send them.
    pub invalid_headers: usize,
}

/// What import made of a recording.
#[derive(Debug, Clone)]
pub struct Imported {
    pub files: Vec<Generated>,
    /// Entries in the recording.
    pub entries: usize,
    /// Entries left out, by reason: `skipped 20 static asset, 2 without a response`.
    pub skipped: String,
}

struct Loaded {
    plans: Vec<plan::Plan>,
    entries: usize,
    skipped: select::Skipped,
    creator: String,
}

fn load(path: &Path, options: &Options) -> Result<Loaded, HarError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| HarError::Read {
        path: file.clone(),
        source,
    })?;
    let har = model::parse(&file, &bytes)?;
    let filter = select::Filter {
        hosts: options
            .hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        include_static: options.include_static,
    };
    let (origins, skipped) = select::select(&har, &filter);
    if origins.is_empty() {
        if !options.hosts.is_empty() {
            let everything = select::select(
                &har,
                &select::Filter {
                    hosts: vec![],
                    include_static: true,
                },
            );
            let hosts: Vec<String> = everything.0.iter().map(|o| o.origin.clone()).collect();
            return Err(HarError::NoSuchHost {
                pattern: options.hosts.join(" "),
                hosts: if hosts.is_empty() {
                    "(none)".to_owned()
                } else {
                    hosts.join(", ")
                },
            });
        }
        return Err(HarError::Empty {
            file,
            skipped: format!("{} entries, {skipped}", har.log.entries.len()),
        });
    }
    let mut plans: Vec<plan::Plan> = Vec::with_capacity(origins.len());
    for origin in &origins {
        let mut plan = correlate::plan(origin, options.think_time);
        // `http://a` and `https://a` would share a file name.
        let base = plan.ident.clone();
        let mut n = 2;
        while plans.iter().any(|other| other.ident == plan.ident) {
            plan.ident = format!("{base}_{n}");
            n += 1;
        }
        plans.push(plan);
    }
    let creator = har
        .log
        .creator
        .as_ref()
        .map(|c| format!("{} {}", c.name, c.version).trim().to_owned())
        .unwrap_or_default();
    Ok(Loaded {
        entries: har.log.entries.len(),
        plans,
        skipped,
        creator,
    })
}

/// Reads a recording and generates one scenario per origin (nothing is written).
///
/// # Errors
/// An unreadable or malformed file, nothing replayable, a `--host` matching nothing.
pub fn generate(path: &Path, options: &Options) -> Result<Imported, HarError> {
    let loaded = load(path, options)?;
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let files = loaded
        .plans
        .iter()
        .map(|plan| {
            let provenance = codegen::Provenance {
                file: file.clone(),
                creator: loaded.creator.clone(),
                summary: format!("{} entries in all, {}", loaded.entries, loaded.skipped),
            };
            let scenario = codegen::scenario_name(plan);
            Generated {
                file_name: format!("{scenario}.rs"),
                source: codegen::generate(plan, &provenance),
                scenario,
                origin: plan.origin.clone(),
                requests: plan.steps.len(),
                captures: plan.vars.len(),
                invalid_headers: plan.invalid_headers,
            }
        })
        .collect();
    Ok(Imported {
        files,
        entries: loaded.entries,
        skipped: loaded.skipped.to_string(),
    })
}

/// Runs the recording of one origin as a load test: `args` are the stress binary's (the
/// first is the program name), `PT_*` variables apply as to any stress target.
pub fn replay<I, T>(path: &Path, options: &Options, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let loaded = match load(path, options) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    if loaded.plans.len() > 1 {
        let origins: Vec<&str> = loaded.plans.iter().map(|p| p.origin.as_str()).collect();
        eprintln!(
            "error: {} records {} origins ({}); replay one at a time: choose it with --host",
            path.display(),
            origins.len(),
            origins.join(", ")
        );
        return ExitCode::from(2);
    }
    let plan = loaded.plans.into_iter().next().expect("one plan");
    eprintln!(
        "replaying {} requests recorded for {} ({} captured live; {} entries, {})",
        plan.steps.len(),
        plan.origin,
        plan.vars.len(),
        loaded.entries,
        loaded.skipped
    );
    let (secrets, set) = replay::credentials(&plan);
    if !plan.secrets.is_empty() {
        // Variables only: the values stay in memory.
        let recorded: Vec<&str> = plan
            .secrets
            .iter()
            .map(|s| s.variable.as_str())
            .filter(|variable| !set.contains(variable))
            .collect();
        eprintln!(
            "credentials: {} from the environment, {} as recorded (set them to send others)",
            if set.is_empty() {
                "none".to_owned()
            } else {
                set.join(", ")
            },
            if recorded.is_empty() {
                "none".to_owned()
            } else {
                recorded.join(", ")
            },
        );
    }
    replay::harness(plan, secrets).run_from(args)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value as Json, json};

    use super::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[a-z0-9-]{4,12}",
            Just("app-1".to_owned()),
            Just("{\"id\":\"app-1\",\"token\":\"tok-123\"}".to_owned()),
            Just("<input name=\"csrf\" value=\"tok-123\">".to_owned()),
        ]
    }

    fn url() -> impl Strategy<Value = String> {
        prop_oneof![
            "(http|https|ws|chrome-extension|data)://[a-z.]{1,12}(:[0-9]{1,5})?/[a-z0-9/._%?=&{}-]{0,30}",
            any::<String>(),
            Just("http://a.test/api/apps/app-1?ref=tok-123".to_owned()),
        ]
    }

    fn headers() -> impl Strategy<Value = Json> {
        proptest::collection::vec(
            (
                prop_oneof![
                    Just(":path".to_owned()),
                    Just("Authorization".to_owned()),
                    Just("Set-Cookie".to_owned()),
                    Just("Location".to_owned()),
                    Just("content-type".to_owned()),
                    any::<String>()
                ],
                prop_oneof![
                    text(),
                    Just("Bearer tok-123".to_owned()),
                    Just("s=tok-123; Path=/".to_owned())
                ],
            ),
            0..4,
        )
        .prop_map(|pairs| {
            Json::Array(
                pairs
                    .into_iter()
                    .map(|(n, v)| json!({"name": n, "value": v}))
                    .collect(),
            )
        })
    }

    fn entry() -> impl Strategy<Value = Json> {
        (
            prop_oneof![Just("GET"), Just("POST"), Just("CONNECT"), Just("OPTIONS"), Just("G\nET")],
            url(),
            headers(),
            prop_oneof![
                Just(Json::Null),
                text().prop_map(|t| json!({"mimeType": "application/json", "text": t})),
                text().prop_map(|t| json!({"mimeType": null, "params": [{"name": t, "value": null}]})),
                text().prop_map(|t| json!({"mimeType": "multipart/form-data", "params": [{"name": "f", "fileName": t}]})),
                text().prop_map(|t| json!({"text": t, "encoding": "base64"})),
            ],
            prop_oneof![Just(json!(-1)), Just(json!(0)), Just(json!(200)), Just(json!(302)), Just(json!(404)), any::<f64>().prop_map(|f| json!(f))],
            headers(),
            proptest::option::of(text()),
            prop_oneof![Just(json!(null)), Just(json!("base64")), Just(json!(7))],
            prop_oneof![Just(json!("2026-11-22T10:00:00.000Z")), Just(json!("not a date")), Just(json!(null))],
        )
            .prop_map(|(method, url, req_headers, post, status, resp_headers, body, encoding, started)| {
                let mut entry = json!({
                    "startedDateTime": started,
                    "time": 3,
                    "request": {"method": method, "url": url, "headers": req_headers},
                    "response": {"status": status, "headers": resp_headers,
                                 "content": {"mimeType": "application/json", "text": body}},
                });
                if !post.is_null() {
                    entry["request"]["postData"] = post;
                }
                if encoding.is_string() {
                    entry["response"]["content"]["encoding"] = encoding;
                }
                entry
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Whatever a recording holds: no panic, and the code generated from it is Rust.
        #[test]
        fn any_recording_reads_and_generates_rust(entries in proptest::collection::vec(entry(), 0..8)) {
            let har = json!({"log": {"entries": entries}});
            let bytes = serde_json::to_vec(&har).unwrap();
            let parsed = model::parse("p.har", &bytes).unwrap();
            let (origins, _) = select::select(&parsed, &select::Filter::default());
            for origin in &origins {
                for think_time in [false, true] {
                    let plan = correlate::plan(origin, think_time);
                    let provenance = codegen::Provenance {
                        file: "p.har".into(),
                        creator: String::new(),
                        summary: String::new(),
                    };
                    let source = codegen::generate_unformatted(&plan, &provenance);
                    prop_assert!(syn::parse_file(&source).is_ok(), "{}", source);
                }
            }
        }

        /// Bytes that are not a HAR: an error, never a panic.
        #[test]
        fn any_bytes_are_a_har_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = model::parse("p.har", &bytes);
        }
    }
}
