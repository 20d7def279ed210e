//! Locust's HTTP API, compatible: `POST /swarm` (Locust 2.x's `user_count`/`spawn_rate` and
//! the seeds' `locust_count`/`hatch_rate`, as a form or multipart), `/stop` and
//! `/stats/reset` (GET as the seeds use them, POST as Locust 2.x does), `/stats/requests`
//! with Locust's JSON keys, the CSV downloads, `/exceptions` and `/stats/report`.
//! Response times are in milliseconds like Locust's, with our microsecond precision rather
//! than Locust's rounding.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use swarm_harness_syntax::limits;

use super::live::{Current, Live};
use super::{AppState, ms};
use crate::control::{Command, Swarm};
use crate::report::{self, file_stem};
use crate::stats::{Entry, TRANSACTION_KIND};

/// The most fields a swarm form may have; Locust's has a handful.
const MAX_FIELDS: usize = 32;

/// A JSON answer in Locust's `{"success": .., "message": ..}` shape.
fn answer(status: StatusCode, success: bool, message: &str, extra: Vec<(&str, Value)>) -> Response {
    let mut body = Map::new();
    body.insert("success".into(), success.into());
    body.insert("message".into(), message.into());
    for (key, value) in extra {
        body.insert(key.into(), value);
    }
    (status, Json(Value::Object(body))).into_response()
}

fn refused(message: &str) -> Response {
    answer(StatusCode::BAD_REQUEST, false, message, Vec::new())
}

/// The fields of a form body, urlencoded or multipart.
async fn form_fields(
    state: &AppState,
    request: Request,
) -> Result<HashMap<String, String>, String> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let mut fields = HashMap::new();
    if multipart {
        let mut form = Multipart::from_request(request, state)
            .await
            .map_err(|e| format!("unreadable multipart form: {}", e.body_text()))?;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| format!("unreadable multipart form: {}", e.body_text()))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let value = field
                .text()
                .await
                .map_err(|e| format!("unreadable form field {name:?}: {}", e.body_text()))?;
            if fields.len() >= MAX_FIELDS {
                return Err(format!("more than {MAX_FIELDS} form fields"));
            }
            fields.insert(name, value);
        }
    } else {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| format!("unreadable form: {}", e.body_text()))?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).map_err(|e| format!("unreadable form: {e}"))?;
        if pairs.len() > MAX_FIELDS {
            return Err(format!("more than {MAX_FIELDS} form fields"));
        }
        fields.extend(pairs);
    }
    Ok(fields)
}

/// The first non-empty field among `names` (a current name and the seeds' older one).
fn field<'f>(fields: &'f HashMap<String, String>, names: &[&str]) -> Option<(&'f str, String)> {
    names.iter().find_map(|name| {
        let (key, value) = fields.get_key_value(*name)?;
        let value = value.trim();
        (!value.is_empty()).then(|| (key.as_str(), value.to_owned()))
    })
}

/// Parses a swarm form into a command.
pub(super) fn parse_swarm(fields: &HashMap<String, String>) -> Result<Swarm, String> {
    let (users_key, users) = field(fields, &["user_count", "locust_count"])
        .ok_or("missing user_count (or the seeds' locust_count): how many users to run")?;
    let users: u32 = users
        .parse()
        .ok()
        .filter(|n| u64::from(*n) <= u64::from(limits::MAX_USERS))
        .ok_or_else(|| {
            format!(
                "invalid {users_key}={users:?}: expected a whole number of users from 0 to {}",
                limits::MAX_USERS
            )
        })?;
    let (rate_key, rate) = field(fields, &["spawn_rate", "hatch_rate"])
        .ok_or("missing spawn_rate (or the seeds' hatch_rate): users started per second")?;
    let rate: f64 = rate
        .parse()
        .ok()
        .filter(|r| limits::rate_in_range(*r))
        .ok_or_else(|| {
            format!(
                "invalid {rate_key}={rate:?}: expected users per second from {} to {}",
                limits::MIN_RATE,
                limits::MAX_RATE
            )
        })?;
    let host = match field(fields, &["host"]) {
        None => None,
        Some((_, text)) => Some(
            url::Url::parse(&text)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or_else(|| {
                    format!(
                        "invalid host={:?}: expected an http:// or https:// base URL",
                        crate::settings::redact_host(&text)
                    )
                })?,
        ),
    };
    let run_time = match field(fields, &["run_time"]) {
        None => None,
        Some((_, text)) => Some(
            crate::settings::parse_duration(&text, crate::settings::DurationUnit::Seconds)
                .filter(|d| *d >= Duration::from_secs(1) && *d <= limits::MAX_DURATION)
                .ok_or_else(|| {
                    format!(
                        "invalid run_time={text:?}: expected a duration from 1s to a year, such \
                         as 30s, 5m or 1h (a bare number means seconds)"
                    )
                })?,
        ),
    };
    Ok(Swarm {
        users,
        rate,
        run_time,
        host,
    })
}

pub(super) async fn swarm(State(state): State<AppState>, request: Request) -> Response {
    let fields = match form_fields(&state, request).await {
        Ok(fields) => fields,
        Err(message) => return refused(&message),
    };
    let swarm = match parse_swarm(&fields) {
        Ok(swarm) => swarm,
        Err(message) => return refused(&message),
    };
    let live = state.live();
    // In a run group, `trial=NAME` steers one of the trials running at once.
    let trial = match field(&fields, &["trial"]) {
        Some((_, name)) => live.running_named(&name),
        None => target_trial(&live),
    };
    let trial = match trial {
        Ok(trial) => trial,
        Err(message) => return answer(StatusCode::CONFLICT, false, &message, Vec::new()),
    };
    let run_time = swarm.run_time.map(|d| d.as_secs_f64());
    match state.controller.send(Command::Swarm(swarm), trial).await {
        Ok(applied) => {
            let mut extra = vec![("host", json!(applied.host))];
            if let Some(run_time) = run_time {
                extra.push(("run_time", json!(run_time)));
            }
            answer(StatusCode::OK, true, &applied.message, extra)
        }
        Err(message) => answer(StatusCode::CONFLICT, false, &message, Vec::new()),
    }
}

/// The trial a command is for: the one waiting for a start, or the one running.
fn target_trial(live: &Live) -> Result<usize, String> {
    if live.finished {
        return Err("every trial of this run has ended; there is nothing left to start".into());
    }
    live.target_trial()
        .ok_or_else(|| "no trial is running or waiting yet; try again in a moment".to_owned())
}

pub(super) async fn stop(State(state): State<AppState>) -> Response {
    // Locust answers "Test stopped" whatever the state.
    let Ok(trial) = target_trial(&state.live()) else {
        return answer(StatusCode::OK, true, "Test stopped", Vec::new());
    };
    match state.controller.send(Command::Stop, trial).await {
        Ok(_) => answer(StatusCode::OK, true, "Test stopped", Vec::new()),
        Err(message) => answer(StatusCode::CONFLICT, false, &message, Vec::new()),
    }
}

pub(super) async fn reset(State(state): State<AppState>) -> Response {
    let trial = match target_trial(&state.live()) {
        Ok(trial) => trial,
        Err(message) => return (StatusCode::CONFLICT, message).into_response(),
    };
    match state.controller.send(Command::ResetStats, trial).await {
        // Locust answers a plain "ok".
        Ok(_) => "ok".into_response(),
        Err(message) => (StatusCode::CONFLICT, message).into_response(),
    }
}

/// One `stats[]` row in Locust's keys.
fn stats_row(
    method: &str,
    name: &str,
    entry: &Entry,
    current: &Current,
    rates: (f64, f64),
) -> Value {
    let seconds = current.stats_seconds();
    let round = crate::stats::round3;
    json!({
        "method": method,
        "name": name,
        "num_requests": entry.count,
        "num_failures": entry.failures,
        "avg_response_time": ms(entry.mean_micros()),
        "min_response_time": ms(entry.min() as f64),
        "max_response_time": ms(entry.max_micros as f64),
        "current_rps": round(rates.0),
        "current_fail_per_sec": round(rates.1),
        "median_response_time": ms(entry.percentile(0.5) as f64),
        "total_rps": round(entry.count as f64 / seconds),
        "total_fail_per_sec": round(entry.failures as f64 / seconds),
        "response_time_percentile_0.95": ms(entry.percentile(0.95) as f64),
        "response_time_percentile_0.99": ms(entry.percentile(0.99) as f64),
        "avg_content_length": if entry.count == 0 { 0.0 } else {
            round(entry.content_bytes as f64 / entry.count as f64)
        },
    })
}

/// `GET /stats/requests`: Locust's live statistics document.
pub(super) async fn requests(State(state): State<AppState>) -> Json<Value> {
    Json(requests_json(&state.live()))
}

pub(super) fn requests_json(live: &Live) -> Value {
    let mut stats = Vec::new();
    let mut errors = Vec::new();
    let mut doc = Map::new();
    let (mut total_rps, mut total_fail, mut fail_ratio) = (0.0, 0.0, 0.0);
    let (mut current_rps, mut current_fail) = (0.0, 0.0);
    let mut percentiles = json!({
        "response_time_percentile_0.5": 0,
        "response_time_percentile_0.95": 0,
    });
    let mut user_count = 0;
    if let Some(current) = &live.current {
        for (kind, name, entry) in current.totals.requests.iter() {
            if kind != TRANSACTION_KIND {
                let rates = current.current_rates(kind, name);
                stats.push(stats_row(kind, name, entry, current, rates));
            }
        }
        let total = current.totals.request_total();
        let rates = current.current_total_rates();
        stats.push(stats_row("", "Aggregated", &total, current, rates));
        for (key, group) in current.totals.failures.sorted() {
            if key.kind != "task" {
                errors.push(json!({
                    "method": key.kind,
                    "name": key.name,
                    "error": key.error,
                    "occurrences": group.occurrences,
                }));
            }
        }
        let seconds = current.stats_seconds();
        total_rps = crate::stats::round3(total.count as f64 / seconds);
        total_fail = crate::stats::round3(total.failures as f64 / seconds);
        fail_ratio = if total.count == 0 {
            0.0
        } else {
            total.failures as f64 / total.count as f64
        };
        (current_rps, current_fail) = rates;
        let window = current.current_total();
        percentiles = json!({
            "response_time_percentile_0.5": ms(window.percentile(0.5) as f64),
            "response_time_percentile_0.95": ms(window.percentile(0.95) as f64),
        });
        if current.running() {
            user_count = current.snapshot.users;
        }
    }
    stats.truncate(500);
    errors.truncate(500);
    doc.insert("stats".into(), stats.into());
    doc.insert("errors".into(), errors.into());
    doc.insert("total_rps".into(), total_rps.into());
    doc.insert("total_fail_per_sec".into(), total_fail.into());
    doc.insert("fail_ratio".into(), fail_ratio.into());
    doc.insert(
        "current_rps".into(),
        crate::stats::round3(current_rps).into(),
    );
    doc.insert(
        "current_fail_per_sec".into(),
        crate::stats::round3(current_fail).into(),
    );
    doc.insert("current_response_time_percentiles".into(), percentiles);
    doc.insert("state".into(), live.state().into());
    doc.insert("user_count".into(), user_count.into());
    Value::Object(doc)
}

/// `render` over the latest trial's report, or a 404 before any trial started.
fn with_report(
    state: &AppState,
    render: impl FnOnce(crate::report::Report) -> Response,
) -> Response {
    let report = state.live().current.as_deref().map(Current::report);
    match report {
        Some(report) => render(report),
        None => (StatusCode::NOT_FOUND, "no trial has started yet\n").into_response(),
    }
}

fn csv_download(name: &str, trial: &str, body: Vec<u8>) -> Response {
    let filename = format!("{}_{name}.csv", file_stem(trial));
    (
        [
            (header::CONTENT_TYPE, "text/csv".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A CSV of the latest trial's report as a download named `<trial>_<name>.csv`: Locust's
/// `/stats/requests/csv`, `/stats/requests_full_history/csv` and `/stats/failures/csv`.
pub(super) fn report_csv(
    state: &AppState,
    name: &str,
    render: fn(&crate::report::Report) -> Vec<u8>,
) -> Response {
    with_report(state, |report| {
        csv_download(name, &report.identity.trial, render(&report))
    })
}

/// Task failures (our errors and panics) as Locust's exceptions.
fn exception_rows(live: &Live) -> Vec<(u64, String, String)> {
    live.current
        .iter()
        .flat_map(|current| current.totals.failures.sorted())
        .filter(|(key, _)| key.kind == "task")
        .map(|(key, group)| {
            (
                group.occurrences,
                key.error.clone(),
                format!("task {}", key.name),
            )
        })
        .collect()
}

pub(super) async fn exceptions(State(state): State<AppState>) -> Json<Value> {
    let rows = exception_rows(&state.live());
    let list: Vec<Value> = rows
        .iter()
        .map(|(count, msg, traceback)| {
            json!({ "count": count, "msg": msg, "traceback": traceback, "nodes": "local" })
        })
        .collect();
    Json(json!({ "exceptions": list }))
}

pub(super) async fn exceptions_csv(State(state): State<AppState>) -> Response {
    let rows = exception_rows(&state.live());
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(["Count", "Message", "Traceback", "Nodes"]);
    for (count, msg, traceback) in rows {
        let _ = writer.write_record([count.to_string(), msg, traceback, "local".into()]);
    }
    let body = writer.into_inner().unwrap_or_default();
    let trial = state
        .live()
        .current
        .as_ref()
        .map_or_else(|| "run".to_owned(), |c| c.info.name.clone());
    csv_download("exceptions", &trial, body)
}

#[derive(serde::Deserialize)]
pub(super) struct ReportQuery {
    download: Option<String>,
}

pub(super) async fn report_html(
    State(state): State<AppState>,
    Query(query): Query<ReportQuery>,
) -> Response {
    with_report(&state, |report| {
        report_page(&report, query.download.is_some())
    })
}

fn report_page(report: &crate::report::Report, download: bool) -> Response {
    let page = report::trial_page(report);
    if download {
        let filename = format!("{}.html", file_stem(&report.identity.trial));
        (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ),
            ],
            page,
        )
            .into_response()
    } else {
        axum::response::Html(page).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn both_spellings_of_the_swarm_form_parse() {
        let swarm = parse_swarm(&form(&[("locust_count", "2"), ("hatch_rate", "2")])).unwrap();
        assert_eq!((swarm.users, swarm.rate), (2, 2.0));
        let swarm = parse_swarm(&form(&[
            ("user_count", "5"),
            ("spawn_rate", "0.5"),
            ("host", "http://127.0.0.1:9/"),
            ("run_time", "90"),
        ]))
        .unwrap();
        assert_eq!((swarm.users, swarm.rate), (5, 0.5));
        assert_eq!(swarm.run_time, Some(std::time::Duration::from_secs(90)));
        assert_eq!(swarm.host.unwrap().as_str(), "http://127.0.0.1:9/");
    }

    #[test]
    fn hostile_swarm_forms_are_refused_with_the_field_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "missing user_count"),
            (&[("user_count", "2")], "missing spawn_rate"),
            (
                &[("user_count", "abc"), ("spawn_rate", "1")],
                "invalid user_count=\"abc\"",
            ),
            (
                &[("user_count", "-1"), ("spawn_rate", "1")],
                "invalid user_count",
            ),
            (
                &[("user_count", "99999999999"), ("spawn_rate", "1")],
                "invalid user_count",
            ),
            (
                &[("locust_count", "1e3"), ("spawn_rate", "1")],
                "invalid locust_count",
            ),
            (
                &[("user_count", "1"), ("spawn_rate", "NaN")],
                "invalid spawn_rate",
            ),
            (
                &[("user_count", "1"), ("hatch_rate", "inf")],
                "invalid hatch_rate",
            ),
            (
                &[("user_count", "1"), ("spawn_rate", "0")],
                "invalid spawn_rate",
            ),
            (
                &[
                    ("user_count", "1"),
                    ("spawn_rate", "1"),
                    ("host", "ftp://x"),
                ],
                "invalid host",
            ),
            (
                &[
                    ("user_count", "1"),
                    ("spawn_rate", "1"),
                    ("host", "http://u:secret@"),
                ],
                "invalid host",
            ),
            (
                &[
                    ("user_count", "1"),
                    ("spawn_rate", "1"),
                    ("run_time", "1e30"),
                ],
                "invalid run_time",
            ),
            (
                &[("user_count", "1"), ("spawn_rate", "1"), ("run_time", "0s")],
                "invalid run_time",
            ),
        ];
        for (fields, expected) in cases {
            let error = parse_swarm(&form(fields)).unwrap_err();
            assert!(error.contains(expected), "{fields:?}: {error}");
            assert!(!error.contains("secret"), "{error}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_form_parses_or_is_refused_without_panicking(
            users in ".{0,12}", rate in ".{0,12}", host in ".{0,30}", run_time in ".{0,12}"
        ) {
            let fields = form(&[
                ("user_count", &users), ("spawn_rate", &rate), ("host", &host), ("run_time", &run_time),
            ]);
            if let Ok(swarm) = parse_swarm(&fields) {
                proptest::prop_assert!(limits::rate_in_range(swarm.rate));
                proptest::prop_assert!(u64::from(swarm.users) <= u64::from(limits::MAX_USERS));
            }
        }
    }
}
