//! Each recorded exchange read for correlation: its request as it will be sent (the headers an
//! HTTP client sends, the body, rebuilt from form fields when need be), the tokens it sent and
//! everything it sent as text, its credentials; and what its response offers for capture.

use super::{MIN_TOKEN, decode, leaves};
use crate::har::model::PostData;
use crate::har::secret;
use crate::har::select::Exchange;

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
pub(super) struct Recorded {
    pub(super) method: String,
    pub(super) target: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Option<Vec<u8>>,
    /// Everything the request sent, to tell the user's values from the server's.
    pub(super) sent: String,
    pub(super) tokens: Vec<String>,
    /// Headers left out because no HTTP client could send them.
    pub(super) invalid_headers: usize,
    /// Credentials in the query of `target`, and in `body`.
    pub(super) target_spans: Vec<secret::Span>,
    pub(super) body_spans: Vec<secret::Span>,
    /// Every credential the request sent (name, value), cookies and dropped headers too.
    pub(super) credentials: Vec<(String, String)>,
}

/// What a response offers for capture.
pub(super) struct Offered<'h> {
    pub(super) json: Option<serde_json::Value>,
    pub(super) text: Option<String>,
    pub(super) headers: Vec<(&'h str, &'h str)>,
    pub(super) cookies: Vec<(String, String)>,
    /// Every credential the response handed out (name, value): cookies, credential-named
    /// headers and JSON keys.
    pub(super) credentials: Vec<(String, String)>,
}

/// The request of `exchange` as recorded: the headers kept, the body, its tokens, what it
/// sent and its credentials.
pub(super) fn record(exchange: &Exchange<'_>) -> Recorded {
    let request = &exchange.entry.request;
    let url = &exchange.url;
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let mut credentials = sent_credentials(exchange);
    let target_spans = secret::query_spans(&target);
    let (mut headers, invalid_headers) = kept_headers(exchange);
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
    let (tokens, body_spans) = tokens_of(url, &headers, body.as_deref());
    let sent = sent_text(&target, &headers, body.as_deref());
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

/// The request's headers an HTTP client sends (lowercased, the client's and the browser's
/// dropped), and how many were left out because no client could send them.
fn kept_headers(exchange: &Exchange<'_>) -> (Vec<(String, String)>, usize) {
    let request = &exchange.entry.request;
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
    (headers, invalid_headers)
}

/// The values a request sent, to correlate: path segments, query values, header values (and
/// the credential after an auth scheme), JSON leaves and form values of the body, longest
/// first; and the body's credential spans.
fn tokens_of(
    url: &url::Url,
    headers: &[(String, String)],
    body: Option<&[u8]>,
) -> (Vec<String>, Vec<secret::Span>) {
    let mut body_spans = Vec::new();
    let mut tokens = Vec::new();
    for segment in url.path_segments().into_iter().flatten() {
        tokens.push(decode(segment));
    }
    for (_, value) in url.query_pairs() {
        tokens.push(value.into_owned());
    }
    for (name, value) in headers {
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
    if let Some(text) = body.and_then(|b| std::str::from_utf8(b).ok()) {
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
    (tokens, body_spans)
}

/// Everything a request sent, as text and form-decoded, to tell the user's values from the
/// server's.
fn sent_text(target: &str, headers: &[(String, String)], body: Option<&[u8]>) -> String {
    let mut sent = format!("{target}\n");
    for (name, value) in headers {
        sent.push_str(&format!("{name}: {value}\n"));
    }
    if let Some(body) = body {
        sent.push_str(&String::from_utf8_lossy(body));
    }
    // A value is the user's when it was sent decoded, too (`a b` sent as `a+b`).
    let decoded = url::form_urlencoded::parse(sent.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    sent.push('\n');
    sent.push_str(&decoded);
    sent
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

pub(super) fn offer<'h>(exchange: &Exchange<'h>) -> Offered<'h> {
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
