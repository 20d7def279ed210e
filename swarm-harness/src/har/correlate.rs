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

use super::extract::{between_text, json_text};
use super::model::PostData;
use super::plan::{Body, Encoding, Part, Plan, Poll, Source, Step, Template, Var};
use super::secret;
use super::select::{Exchange, Origin};

/// Shorter values are not correlated: `1`, `en`, `yes` are everywhere by chance.
pub const MIN_TOKEN: usize = 4;

/// Headers the client computes or that are the browser's, never the application's.
const DROPPED_HEADERS: [&str; 20] = [
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "accept-encoding",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
    "cookie",
    "user-agent",
    "priority",
    "upgrade-insecure-requests",
    "if-none-match",
    "if-modified-since",
    "dnt",
    "purpose",
    "x-client-data",
];

fn dropped(name: &str) -> bool {
    name.starts_with(':') || name.starts_with("sec-") || DROPPED_HEADERS.contains(&name)
}

/// A request as recorded, before templates.
struct Recorded {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    /// Everything the request sent, to tell the user's values from the server's.
    sent: String,
    tokens: Vec<String>,
    /// Headers left out because no HTTP client could send them.
    invalid_headers: usize,
    /// Credentials in the query of `target`, and in `body`.
    target_spans: Vec<secret::Span>,
    body_spans: Vec<secret::Span>,
    /// Every credential the request sent (name, value), cookies and dropped headers too.
    credentials: Vec<(String, String)>,
}

/// What a response offers for capture.
struct Offered<'h> {
    json: Option<serde_json::Value>,
    text: Option<String>,
    headers: Vec<(&'h str, &'h str)>,
    cookies: Vec<(String, String)>,
    /// Every credential the response handed out (name, value): cookies, credential-named
    /// headers and JSON keys.
    credentials: Vec<(String, String)>,
}

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

fn record(exchange: &Exchange<'_>) -> Recorded {
    let request = &exchange.entry.request;
    let url = &exchange.url;
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let mut credentials = sent_credentials(exchange);
    let target_spans = secret::query_spans(&target);
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|pair| (pair.name.to_ascii_lowercase(), pair.value.clone()))
        .filter(|(name, _)| !dropped(name))
        .collect();
    let before = headers.len();
    headers.retain(|(name, value)| {
        http::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && http::HeaderValue::from_str(value).is_ok()
    });
    let invalid_headers = before - headers.len();
    let (body, content_type) = body_of(request.post_data.as_ref());
    if let Some(content_type) = content_type {
        match headers.iter_mut().find(|(name, _)| name == "content-type") {
            // A multipart body built from `params` has a boundary of its own.
            Some(header) if content_type.contains("boundary=") => header.1 = content_type,
            Some(_) => {}
            None => headers.push(("content-type".to_owned(), content_type)),
        }
    }
    let method = request.method.to_ascii_uppercase();
    let mut body_spans = Vec::new();
    let mut tokens = Vec::new();
    for segment in url.path_segments().into_iter().flatten() {
        tokens.push(decode(segment));
    }
    for (_, value) in url.query_pairs() {
        tokens.push(value.into_owned());
    }
    for (name, value) in &headers {
        if name == "content-type" || name == "accept" {
            continue;
        }
        tokens.push(value.clone());
        if let Some((scheme, credential)) = value.split_once(' ')
            && scheme.chars().all(|c| c.is_ascii_alphabetic())
        {
            tokens.push(credential.trim().to_owned());
        }
    }
    if let Some(text) = body.as_deref().and_then(|b| std::str::from_utf8(b).ok()) {
        let mime = headers
            .iter()
            .find(|(name, _)| name == "content-type")
            .map_or("", |(_, value)| value.as_str())
            .to_ascii_lowercase();
        body_spans = secret::body_spans(text, &mime);
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
            leaves(&json, &mut String::new(), &mut |_, leaf| tokens.push(leaf));
        } else if mime.contains("x-www-form-urlencoded") {
            tokens
                .extend(url::form_urlencoded::parse(text.as_bytes()).map(|(_, v)| v.into_owned()));
        }
    }
    tokens.retain(|token| token.chars().count() >= MIN_TOKEN && token.trim() == token);
    tokens.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    tokens.dedup();
    let mut sent = format!("{target}\n");
    for (name, value) in &headers {
        sent.push_str(&format!("{name}: {value}\n"));
    }
    if let Some(body) = &body {
        sent.push_str(&String::from_utf8_lossy(body));
    }
    // A value is the user's when it was sent decoded, too (`a b` sent as `a+b`).
    let decoded = url::form_urlencoded::parse(sent.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    sent.push('\n');
    sent.push_str(&decoded);
    for span in target_spans.iter().chain(&body_spans) {
        credentials.push((span.name.clone(), span.value.clone()));
    }
    Recorded {
        method,
        target,
        headers,
        body,
        sent,
        tokens,
        invalid_headers,
        target_spans,
        body_spans,
        credentials,
    }
}

/// The credentials of a request's headers as recorded (dropped ones too: a `Cookie` value
/// may be echoed elsewhere) and of its URL's user info.
fn sent_credentials(exchange: &Exchange<'_>) -> Vec<(String, String)> {
    let mut credentials = Vec::new();
    for pair in &exchange.entry.request.headers {
        let name = pair.name.to_ascii_lowercase();
        if name == "cookie" {
            for cookie in pair.value.split(';') {
                if let Some((name, value)) = cookie.split_once('=') {
                    credentials.push((name.trim().to_owned(), value.trim().to_owned()));
                }
            }
        } else if secret::is_secret_name(&name) && !name.starts_with(':') {
            // Not `:authority`: the host, which the origin replaces.
            credentials.push((name.clone(), pair.value.clone()));
            if let Some((_, credential)) = pair.value.split_once(' ') {
                credentials.push((name, credential.trim().to_owned()));
            }
        }
    }
    if let Some(password) = exchange.url.password() {
        credentials.push(("password".to_owned(), decode(password)));
    }
    credentials
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// The body and, when the recording gave only its MIME type or only form fields, the
/// `content-type` to send.
fn body_of(post: Option<&PostData>) -> (Option<Vec<u8>>, Option<String>) {
    let Some(post) = post else {
        return (None, None);
    };
    let mime = post.mime_type.trim().to_owned();
    let content_type = (!mime.is_empty()).then(|| mime.clone());
    if let Some(text) = &post.text {
        let bytes = match post.encoding.as_deref() {
            Some(encoding) if encoding.eq_ignore_ascii_case("base64") => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .unwrap_or_else(|_| text.clone().into_bytes())
            }
            _ => text.clone().into_bytes(),
        };
        return (Some(bytes), content_type);
    }
    if post.params.is_empty() {
        return (None, content_type);
    }
    if mime.to_ascii_lowercase().starts_with("multipart/form-data") {
        const BOUNDARY: &str = "swarm-harness-recorded-form";
        let mut body = String::new();
        for param in &post.params {
            body.push_str(&format!("--{BOUNDARY}\r\n"));
            let name = param.name.replace('"', "%22");
            match &param.file_name {
                Some(file) => body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
                    file.replace('"', "%22"),
                    param.content_type.as_deref().unwrap_or("application/octet-stream")
                )),
                None => body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                )),
            }
            body.push_str(param.value.as_deref().unwrap_or(""));
            body.push_str("\r\n");
        }
        body.push_str(&format!("--{BOUNDARY}--\r\n"));
        return (
            Some(body.into_bytes()),
            Some(format!("multipart/form-data; boundary={BOUNDARY}")),
        );
    }
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            post.params
                .iter()
                .map(|p| (p.name.as_str(), p.value.as_deref().unwrap_or(""))),
        )
        .finish();
    let content_type = content_type.unwrap_or_else(|| "application/x-www-form-urlencoded".into());
    (Some(form.into_bytes()), Some(content_type))
}

fn offer<'h>(exchange: &Exchange<'h>) -> Offered<'h> {
    let response = exchange.response;
    let body = response.body();
    let text = body
        .as_deref()
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .map(str::to_owned);
    let json = text
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .filter(|value| value.is_object() || value.is_array());
    let headers: Vec<(&str, &str)> = response
        .headers
        .iter()
        .filter(|pair| {
            let name = pair.name.to_ascii_lowercase();
            !matches!(
                name.as_str(),
                "set-cookie" | "date" | "expires" | "last-modified" | "content-length" | "age"
            ) && !name.starts_with(':')
        })
        .map(|pair| (pair.name.as_str(), pair.value.as_str()))
        .collect();
    let cookies: Vec<(String, String)> = exchange
        .set_cookies
        .iter()
        .filter_map(|line| {
            let pair = line.split(';').next()?;
            let (name, value) = pair.split_once('=')?;
            Some((
                name.trim().to_owned(),
                value.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect();
    let mut credentials = cookies.clone();
    for (name, value) in &headers {
        if secret::is_secret_name(name) {
            credentials.push((name.to_ascii_lowercase(), (*value).to_owned()));
        }
    }
    if let Some(json) = &json {
        leaves(json, &mut String::new(), &mut |pointer, leaf| {
            let key = pointer
                .rsplit('/')
                .find(|part| !part.is_empty() && !part.chars().all(|c| c.is_ascii_digit()))
                .unwrap_or("");
            if secret::is_secret_name(key) {
                credentials.push((key.to_owned(), leaf));
            }
        });
    }
    Offered {
        json,
        text,
        headers,
        cookies,
        credentials,
    }
}

/// Calls `visit(pointer, text)` for every string and number leaf.
fn leaves(value: &serde_json::Value, pointer: &mut String, visit: &mut dyn FnMut(&str, String)) {
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

/// The earliest response before step `k` that offers `token`, unless the recording sent it
/// before (then it is the user's value, not the server's). Boundaries never hold a
/// `forbidden` value (a credential next to the one captured).
fn find_source(
    token: &str,
    k: usize,
    recorded: &[Recorded],
    offered: &[Offered<'_>],
    forbidden: &[String],
) -> Option<(usize, Source)> {
    for i in 0..k {
        if recorded[i].sent.contains(token) {
            return None;
        }
        let offer = &offered[i];
        if let Some(json) = &offer.json {
            let mut found = None;
            leaves(json, &mut String::new(), &mut |pointer, leaf| {
                if found.is_none() && leaf == token {
                    found = Some(pointer.to_owned());
                }
            });
            if let Some(pointer) = found
                && json_text(json, &pointer).as_deref() == Some(token)
            {
                return Some((i, Source::Json { pointer }));
            }
        }
        if let Some((name, _)) = offer.cookies.iter().find(|(_, value)| value == token) {
            return Some((i, Source::Cookie { name: name.clone() }));
        }
        for (name, value) in &offer.headers {
            if let Some((left, right)) = boundaries(value, token, forbidden) {
                return Some((
                    i,
                    Source::Between {
                        header: Some(name.to_ascii_lowercase()),
                        left,
                        right,
                    },
                ));
            }
        }
        if offer.json.is_none()
            && let Some(text) = &offer.text
            && let Some((left, right)) = boundaries(text, token, forbidden)
        {
            return Some((
                i,
                Source::Between {
                    header: None,
                    left,
                    right,
                },
            ));
        }
    }
    None
}

/// Boundaries around the first whole-word occurrence of `token` in `text` that
/// [`between_text`] turns back into exactly `token`: the left one grows until it is
/// unambiguous (up to 64 characters, never across a line break) and holds no `forbidden`
/// value (these are written into the code).
fn boundaries(text: &str, token: &str, forbidden: &[String]) -> Option<(String, String)> {
    let allowed = |left: &str, right: &str| {
        !forbidden
            .iter()
            .any(|value| left.contains(value.as_str()) || right.contains(value.as_str()))
    };
    let at = find_word(text, token, 0)?;
    let end = at + token.len();
    let right: String = text[end..]
        .chars()
        .next()
        .map(String::from)
        .unwrap_or_default();
    let before = &text[..at];
    // The most telling left boundary first: back to the start of the line or tag, at most
    // 48 bytes (`name="csrf" value="`), as long as it finds the value again.
    let natural = before
        .char_indices()
        .rev()
        .take_while(|&(i, c)| !matches!(c, '\n' | '>' | '<') && at - i <= 48)
        .last()
        .map(|(i, _)| &before[i..]);
    if let Some(left) = natural
        && left.len() >= 2
        && between_text(text, left, &right) == Some(token)
        && allowed(left, &right)
    {
        return Some((left.to_owned(), right));
    }
    let starts: Vec<usize> = before
        .char_indices()
        .map(|(i, _)| i)
        .rev()
        .take(64)
        .collect();
    for start in starts {
        let left = &before[start..];
        if left.contains('\n') {
            break;
        }
        if left.len() >= 2 && between_text(text, left, &right) == Some(token) {
            // A longer one would hold the forbidden value too.
            return allowed(left, &right).then(|| (left.to_owned(), right));
        }
    }
    None
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

/// `text` with each bound token (as sent, or form-encoded), the recorded origin and the given
/// spans (credentials, by byte range) replaced.
fn templatize(
    text: &str,
    bound: &[(String, usize)],
    origin: Option<&str>,
    spans: &[(std::ops::Range<usize>, Part)],
) -> Template {
    let mut parts: Vec<Part> = Vec::new();
    let mut literal = String::new();
    let mut at = 0;
    // A match must not swallow the start of a span.
    let fits = |at: usize, len: usize| {
        !spans
            .iter()
            .any(|(r, _)| r.start > at && r.start < at + len)
    };
    'scan: while at < text.len() {
        if let Some((range, part)) = spans.iter().find(|(range, _)| range.start == at) {
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(part.clone());
            at = range.end.max(at + 1);
            continue;
        }
        for (token, var) in bound {
            let encoded = super::extract::encode(token);
            for (form, is_encoded) in [(token.as_str(), false), (encoded.as_str(), true)] {
                if is_encoded && form == token {
                    continue;
                }
                if text[at..].starts_with(form)
                    && find_word(text, form, at) == Some(at)
                    && fits(at, form.len())
                {
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Var {
                        index: *var,
                        encoded: is_encoded,
                    });
                    at += form.len();
                    continue 'scan;
                }
            }
        }
        if let Some(origin) = origin
            && text[at..].starts_with(origin)
            && fits(at, origin.len())
        {
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Origin);
            at += origin.len();
            continue;
        }
        let c = text[at..].chars().next().expect("inside the text");
        literal.push(c);
        at += c.len_utf8();
    }
    if !literal.is_empty() || parts.is_empty() {
        parts.push(Part::Text(literal));
    }
    Template(parts)
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

/// `/api/apps/{id}` when a path segment is a variable or looks like an id.
fn id_name(target: &Template) -> Option<String> {
    let path_end = target
        .0
        .iter()
        .position(|part| matches!(part, Part::Text(text) if text.contains('?')));
    let mut path_parts: Vec<&Part> = target.0.iter().collect();
    if let Some(end) = path_end {
        path_parts.truncate(end + 1);
    }
    let mut rendered = String::new();
    for part in path_parts {
        match part {
            Part::Text(text) => rendered.push_str(text.split('?').next().unwrap_or("")),
            Part::Var { .. } | Part::Origin | Part::Secret { .. } => rendered.push('\u{0}'),
        }
    }
    let mut changed = false;
    let segments: Vec<String> = rendered
        .split('/')
        .map(|segment| {
            if segment.contains('\u{0}') || looks_like_id(&decode(segment)) {
                changed = true;
                "{id}".to_owned()
            } else {
                segment.to_owned()
            }
        })
        .collect();
    changed.then(|| segments.join("/"))
}

pub(crate) fn looks_like_id(segment: &str) -> bool {
    let digits = segment.chars().filter(char::is_ascii_digit).count();
    let hex = segment.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    !segment.is_empty()
        && (digits == segment.len()
            || (hex && segment.len() >= 16 && digits > 0)
            || (digits > 0 && segment.len() >= 20))
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

/// `http://127.0.0.1:8080` → `127_0_0_1_8080`.
pub fn ident_of_origin(origin: &str) -> String {
    let host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    snake(host)
}

fn snake(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// A readable name: `app_id` for `/id` of `POST /api/apps`, the cookie's name, `location`.
fn var_name(source: &Source, target: &str, token: &str) -> String {
    let base = match source {
        Source::Json { pointer } => {
            let key = pointer
                .rsplit('/')
                .find(|part| !part.is_empty() && !part.chars().all(|c| c.is_ascii_digit()))
                .unwrap_or("value");
            let key = snake(key);
            // The object holding an id names it (`/cart/id` → `cart_id`), else the path does.
            let parent = pointer
                .rsplit('/')
                .filter(|part| !part.is_empty() && !part.chars().all(|c| c.is_ascii_digit()))
                .nth(1);
            if matches!(key.as_str(), "id" | "uuid" | "key" | "slug")
                && let Some(parent) = parent
            {
                format!(
                    "{}_{key}",
                    snake(parent.strip_suffix('s').unwrap_or(parent))
                )
            } else if matches!(key.as_str(), "id" | "uuid" | "key" | "slug") {
                let resource = target
                    .split('?')
                    .next()
                    .unwrap_or("")
                    .rsplit('/')
                    .find(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()));
                match resource {
                    Some(resource) => {
                        let singular = resource.strip_suffix('s').unwrap_or(resource);
                        format!("{}_{key}", snake(singular))
                    }
                    None => key,
                }
            } else {
                key
            }
        }
        Source::Cookie { name } => snake(name),
        Source::Between {
            header: Some(header),
            ..
        } => snake(header),
        Source::Between {
            header: None, left, ..
        } => {
            let name = left
                .rsplit_once("name=\"")
                .and_then(|(_, rest)| rest.split('"').next())
                .map(snake)
                .filter(|name| !name.is_empty());
            name.unwrap_or_else(|| "token".to_owned())
        }
    };
    let _ = token;
    let base = if base.is_empty() {
        "value".to_owned()
    } else {
        base
    };
    if base.starts_with(|c: char| c.is_ascii_digit()) || is_keyword(&base) {
        format!("v_{base}")
    } else {
        base
    }
}

fn is_keyword(word: &str) -> bool {
    const KEYWORDS: [&str; 52] = [
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
        "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
        "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final",
        "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield", "gen",
        "union",
    ];
    // Names the generated code itself uses.
    const TAKEN: [&str; 5] = ["user", "response", "origin", "captured", "polls"];
    KEYWORDS.contains(&word) || TAKEN.contains(&word)
}

fn unique_name(base: &str, vars: &[Var]) -> String {
    let mut name = base.to_owned();
    let mut n = 2;
    while vars.iter().any(|var| var.name == name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

/// Milliseconds since the epoch of an RFC 3339 time.
fn timestamp_ms(text: &str) -> Option<f64> {
    let time =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(time.unix_timestamp_nanos() as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_find_the_recorded_value_again() {
        let html = r#"<form><input type="hidden" name="csrf" value="tok123"><input name="x" value="tok1234"></form>"#;
        let (left, right) = boundaries(html, "tok123", &[]).unwrap();
        assert_eq!(between_text(html, &left, &right), Some("tok123"));
        assert_eq!(right, "\"");
        assert!(
            boundaries("xxabcdxx", "abcd", &[]).is_none(),
            "not a whole word"
        );
        let (left, right) = boundaries("/api/apps/app-7", "app-7", &[]).unwrap();
        assert_eq!(right, "");
        assert_eq!(
            between_text("/api/apps/app-9", &left, &right),
            Some("app-9")
        );
    }

    #[test]
    fn templates_replace_whole_words_and_the_origin() {
        let bound = vec![("app-1".to_owned(), 0), ("a b+c".to_owned(), 1)];
        let template = templatize(
            "/apps/app-1/x?q=a+b%2Bc&n=app-12 http://o:1/r",
            &bound,
            Some("http://o:1"),
            &[],
        );
        assert_eq!(
            template.0,
            vec![
                Part::Text("/apps/".into()),
                Part::Var {
                    index: 0,
                    encoded: false
                },
                Part::Text("/x?q=".into()),
                Part::Var {
                    index: 1,
                    encoded: true
                },
                Part::Text("&n=app-12 ".into()),
                Part::Origin,
                Part::Text("/r".into()),
            ]
        );
        let values = vec!["app-9".to_owned(), "x&y".to_owned()];
        assert_eq!(
            template.render(&values, &[], "http://live:2"),
            "/apps/app-9/x?q=x%26y&n=app-12 http://live:2/r"
        );
    }

    #[test]
    fn ids_in_paths_are_named() {
        let name = id_name(&Template::text("/api/apps/123/logs?x=1"));
        assert_eq!(name.as_deref(), Some("/api/apps/{id}/logs"));
        let uuid = Template::text("/u/0b9e3c2a-5f6d-4e1b-9a7c-3d2e1f0a9b8c");
        assert_eq!(id_name(&uuid).as_deref(), Some("/u/{id}"));
        assert_eq!(id_name(&Template::text("/api/catalog")), None);
        let var = Template(vec![
            Part::Text("/api/apps/".into()),
            Part::Var {
                index: 0,
                encoded: false,
            },
        ]);
        assert_eq!(id_name(&var).as_deref(), Some("/api/apps/{id}"));
    }

    #[test]
    fn names_are_identifiers() {
        let json = |p: &str| Source::Json { pointer: p.into() };
        assert_eq!(var_name(&json("/id"), "/api/apps", "x"), "app_id");
        assert_eq!(var_name(&json("/0/id"), "/api/orgs?x=1", "x"), "org_id");
        assert_eq!(
            var_name(&json("/data/accessToken"), "/login", "x"),
            "accesstoken"
        );
        assert_eq!(var_name(&json("/type"), "/", "x"), "v_type");
        assert_eq!(var_name(&json("/9lives"), "/", "x"), "v_9lives");
        assert_eq!(
            ident_of_origin("https://api.example.com:8443"),
            "api_example_com_8443"
        );
    }
}
