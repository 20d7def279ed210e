//! From recorded exchanges to a [`Plan`]: which headers are sent, which values a later
//! request took from an earlier response (and so must be captured live, not replayed), the
//! reported names of paths with ids, and where the login and logout are.
//!
//! Correlation works on tokens: every path segment, query value, header value (and the
//! credential after an auth scheme), JSON leaf and form value of a request, at least
//! [`MIN_TOKEN`] characters long. A token is captured when it was first seen in an earlier
//! response (a JSON leaf, a cookie the chain set, the text between two boundaries of a header
//! or of the body) and never sent by the recording before that response: what the user typed
//! and the server echoed is not the server's. Each boundary pair is checked against the
//! recorded response with the extractor the replay uses, so a capture import writes is one
//! that finds the recorded value in the recorded response.
//!
//! The parts: `recorded` reads each exchange (the request as it will be sent, its tokens and
//! what it sent; what its response offers for capture), `capture` finds where a token came
//! from and writes the templates, `names` names the variables and the reported paths with
//! ids; this file builds the plan from them, collapses polls and finds the login and logout.

mod capture;
mod names;
mod recorded;

use swarm_harness::__private::har::json_text;

use super::plan::{Body, Encoding, Part, Plan, Poll, Step, Template, Var};
use super::secret;
use super::select::Origin;
use capture::{find_source, templatize};
pub use names::ident_of_origin;
use names::{id_name, unique_name, var_name};
use recorded::{Offered, Recorded, offer, record};

/// Shorter values are not correlated: `1`, `en`, `yes` are everywhere by chance.
pub const MIN_TOKEN: usize = 4;

/// Builds the plan of one origin. `think_time` keeps the recorded pauses.
pub fn plan(origin: &Origin<'_>, think_time: bool) -> Plan {
    let recorded: Vec<Recorded> = origin.exchanges.iter().map(record).collect();
    let offered: Vec<Offered<'_>> = origin.exchanges.iter().map(offer).collect();
    let candidates = secret::candidates(
        recorded.iter().map(|r| r.credentials.as_slice()),
        offered.iter().map(|o| o.credentials.as_slice()),
    );
    let forbidden: Vec<String> = candidates.iter().map(|(_, v)| v.clone()).collect();
    let (mut vars, bindings) = bind(&recorded, &offered, &forbidden);
    let mut registry = secret::Registry::new(vars.iter().map(|v| v.name.clone()).collect());
    let mut steps: Vec<Step> = Vec::with_capacity(recorded.len());
    let mut previous_end: Option<f64> = None;
    for (k, (request, exchange)) in recorded.iter().zip(&origin.exchanges).enumerate() {
        let started = exchange.entry.started.as_deref().and_then(timestamp_ms);
        let think_ms = match (think_time, started, previous_end) {
            (true, Some(start), Some(end)) if start > end => ((start - end) as u64).min(60_000),
            _ => 0,
        };
        if let Some(start) = started {
            previous_end = Some(start + exchange.entry.time.filter(|t| *t > 0.0).unwrap_or(0.0));
        }
        let mut step = templated(request, &bindings[k], &origin.origin, &mut registry);
        step.entry = exchange.index;
        step.status = u16::try_from(exchange.response.status()).unwrap_or(0);
        step.think_ms = think_ms;
        steps.push(step);
    }
    // A credential recorded elsewhere too (a `Referer` holding the query, an echo) is read
    // from its variable there as well; then the reported names are taken from what is left.
    secret::hide_everywhere(&mut steps, &candidates, &mut registry);
    for step in &mut steps {
        step.name = id_name(&step.target);
    }
    let starts: Vec<Option<f64>> = origin
        .exchanges
        .iter()
        .map(|e| e.entry.started.as_deref().and_then(timestamp_ms))
        .collect();
    let origin_of = collapse_polls(&mut steps, &mut vars, &offered, &starts, &forbidden);
    let sets_cookie: Vec<bool> = origin_of
        .iter()
        .map(|&e| !origin.exchanges[e].set_cookies.is_empty())
        .collect();
    let (login, logout) = login_and_logout(&steps, &vars, &sets_cookie);
    Plan {
        invalid_headers: recorded.iter().map(|r| r.invalid_headers).sum(),
        origin: origin.origin.clone(),
        ident: ident_of_origin(&origin.origin),
        steps,
        vars,
        secrets: registry.into_secrets(),
        login,
        logout,
    }
}

/// The variables of a recording, and per step the (token, variable) pairs it sends.
fn bind(
    recorded: &[Recorded],
    offered: &[Offered<'_>],
    forbidden: &[String],
) -> (Vec<Var>, Vec<Vec<(String, usize)>>) {
    let mut vars: Vec<Var> = Vec::new();
    let mut bindings: Vec<Vec<(String, usize)>> = Vec::with_capacity(recorded.len());
    for (k, request) in recorded.iter().enumerate() {
        let mut bound = Vec::new();
        for token in &request.tokens {
            let existing = vars.iter().position(|var| &var.recorded == token);
            let var = existing.or_else(|| {
                let (step, source) = find_source(token, k, recorded, offered, forbidden)?;
                let name = unique_name(&var_name(&source, &recorded[step].target, token), &vars);
                vars.push(Var {
                    name,
                    recorded: token.clone(),
                    step,
                    source,
                });
                Some(vars.len() - 1)
            });
            if let Some(var) = var {
                bound.push((token.clone(), var));
            }
        }
        bindings.push(bound);
    }
    (vars, bindings)
}

/// One request as a step: its target, headers and body as templates over the variables it
/// sends, the origin and the credentials no capture supplies (entry, status, pauses and name
/// are the caller's).
fn templated(
    request: &Recorded,
    bound: &[(String, usize)],
    origin: &str,
    registry: &mut secret::Registry,
) -> Step {
    let spans = registry.parts(&request.target_spans, bound);
    let target = templatize(&request.target, bound, None, &spans);
    let headers = request
        .headers
        .iter()
        .map(|(name, value)| {
            let template = templatize(value, bound, Some(origin), &[]);
            let captured = template.vars().next().is_some();
            if secret::is_secret_name(name) && !captured {
                let part = registry.part(name, value, Encoding::Raw);
                (name.clone(), Template(vec![part]))
            } else {
                (name.clone(), template)
            }
        })
        .collect();
    let body = request
        .body
        .as_ref()
        .map(|bytes| match std::str::from_utf8(bytes) {
            Ok(text) => {
                let spans = registry.parts(&request.body_spans, bound);
                Body::Text(templatize(text, bound, Some(origin), &spans))
            }
            Err(_) => Body::Bytes(bytes.clone()),
        });
    Step {
        entry: 0,
        method: request.method.clone(),
        name: None,
        target,
        headers,
        body,
        status: 0,
        think_ms: 0,
        poll: None,
    }
}

pub(super) fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// Calls `visit(pointer, text)` for every string and number leaf.
pub(super) fn leaves(
    value: &serde_json::Value,
    pointer: &mut String,
    visit: &mut dyn FnMut(&str, String),
) {
    match value {
        serde_json::Value::String(text) => visit(pointer, text.clone()),
        serde_json::Value::Number(number) => visit(pointer, number.to_string()),
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let length = pointer.len();
                pointer.push_str(&format!("/{index}"));
                leaves(item, pointer, visit);
                pointer.truncate(length);
            }
        }
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                let length = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                leaves(item, pointer, visit);
                pointer.truncate(length);
            }
        }
        serde_json::Value::Bool(_) | serde_json::Value::Null => {}
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The first occurrence of `token` at or after `from` not inside a longer word.
pub(super) fn find_word(text: &str, token: &str, from: usize) -> Option<usize> {
    let mut start = from;
    while let Some(found) = text.get(start..)?.find(token) {
        let at = start + found;
        let end = at + token.len();
        let before_ok =
            !text[..at].chars().next_back().is_some_and(is_word) || !token.starts_with(is_word);
        let after_ok =
            !text[end..].chars().next().is_some_and(is_word) || !token.ends_with(is_word);
        if before_ok && after_ok {
            return Some(at);
        }
        start = at + text[at..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// The fewest polls a replay allows before it gives up, and how many times the recorded
/// count it allows when that is more.
const POLL_LIMIT: (u32, u32) = (100, 10);

/// Runs of the same `GET` whose recorded JSON responses changed only at the end (one leaf
/// went from `PROVISIONING` to `ACTIVE`) become one step that polls until that leaf has the
/// final value, at the recorded pace.
fn collapse_polls(
    steps: &mut Vec<Step>,
    vars: &mut [Var],
    offered: &[Offered<'_>],
    starts: &[Option<f64>],
    forbidden: &[String],
) -> Vec<usize> {
    let same = |a: &Step, b: &Step| {
        a.method == b.method
            && a.target == b.target
            && a.headers == b.headers
            && a.body == b.body
            && a.status == b.status
    };
    // `origin_of[k]`: the recorded exchange of the step now at `k`.
    let mut origin_of: Vec<usize> = (0..steps.len()).collect();
    let mut k = 0;
    while k < steps.len() {
        let mut end = k;
        while end + 1 < steps.len() && same(&steps[k], &steps[end + 1]) {
            end += 1;
        }
        let poll = (end > k && matches!(steps[k].method.as_str(), "GET" | "HEAD"))
            .then(|| {
                let json = |step: usize| offered[origin_of[step]].json.as_ref();
                let (last, before) = (json(end)?, json(end - 1)?);
                let mut changed = None;
                leaves(last, &mut String::new(), &mut |pointer, leaf| {
                    if changed.is_none() && json_text(before, pointer).as_deref() != Some(&leaf) {
                        changed = Some((pointer.to_owned(), leaf));
                    }
                });
                let (pointer, until) = changed?;
                // The value waited for is written into the code: never a credential.
                let key = pointer.rsplit('/').find(|p| !p.is_empty()).unwrap_or("");
                if secret::is_secret_name(key)
                    || forbidden.iter().any(|f| until.contains(f.as_str()))
                {
                    return None;
                }
                // Every earlier poll saw another value: the leaf is what was waited for.
                let waited = (k..end).all(|s| {
                    json(s).and_then(|j| json_text(j, &pointer)).as_deref() != Some(&until)
                });
                let recorded = end - k + 1;
                let gaps: Vec<f64> = (k..end)
                    .filter_map(|s| Some(starts[origin_of[s + 1]]? - starts[origin_of[s]]?))
                    .collect();
                let interval_ms = if gaps.is_empty() {
                    500
                } else {
                    (gaps.iter().sum::<f64>() / gaps.len() as f64).clamp(10.0, 10_000.0) as u64
                };
                let limit = POLL_LIMIT.0.max(
                    u32::try_from(recorded)
                        .unwrap_or(u32::MAX)
                        .saturating_mul(POLL_LIMIT.1),
                );
                waited.then_some(Poll {
                    pointer,
                    until,
                    interval_ms,
                    recorded,
                    limit,
                })
            })
            .flatten();
        if let Some(poll) = poll {
            let removed = end - k;
            steps[k].poll = Some(poll);
            steps.drain(k + 1..=end);
            origin_of.drain(k + 1..=end);
            for var in vars.iter_mut() {
                if (k + 1..=end).contains(&var.step) {
                    var.step = k;
                } else if var.step > end {
                    var.step -= removed;
                }
            }
        }
        k += 1;
    }
    origin_of
}

/// The login ends after the first request that sets a session (a cookie, or a value later
/// sent as `Authorization`) with a method that changes state, or is a login by its path; the
/// logout starts at the first request whose path says so.
fn login_and_logout(steps: &[Step], vars: &[Var], sets_cookie: &[bool]) -> (usize, usize) {
    let path_of = |step: &Step| {
        step.target
            .0
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.to_ascii_lowercase(),
                _ => String::new(),
            })
            .collect::<String>()
    };
    let logout = steps
        .iter()
        .position(|step| {
            let path = path_of(step);
            [
                "logout", "log-out", "log_out", "signout", "sign-out", "sign_out",
            ]
            .iter()
            .any(|word| path.contains(word))
        })
        .unwrap_or(steps.len());
    let auth_sources: Vec<usize> = steps
        .iter()
        .flat_map(|step| step.headers.iter())
        .filter(|(name, _)| name == "authorization")
        .flat_map(|(_, template)| template.vars().map(|v| vars[v].step).collect::<Vec<_>>())
        .collect();
    let login = steps[..logout]
        .iter()
        .enumerate()
        .position(|(k, step)| {
            let changes = matches!(step.method.as_str(), "POST" | "PUT");
            let path = path_of(step);
            let by_path = [
                "login", "log-in", "signin", "sign-in", "session", "auth", "token",
            ]
            .iter()
            .any(|word| path.contains(word));
            changes && (sets_cookie[k] || auth_sources.contains(&k) || by_path)
        })
        .map_or(0, |k| k + 1);
    (login, logout.max(login))
}

/// Milliseconds since the epoch of an RFC 3339 time.
fn timestamp_ms(text: &str) -> Option<f64> {
    let time =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(time.unix_timestamp_nanos() as f64 / 1e6)
}
