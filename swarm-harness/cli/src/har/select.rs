//! Which recorded entries a replay sends: per origin, in order, with everything a browser or a
//! proxy records that a load test must not send left out and counted (no response, `CONNECT`,
//! websockets, CORS preflights, browser-internal URLs, static assets, redirect follow-ups).

use std::collections::BTreeMap;
use std::fmt;

use url::Url;

use super::model::{Entry, Har, HarResponse};

/// Why an entry is not replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    /// Status 0 or -1, `_error`, or no response recorded.
    NoResponse,
    Connect,
    WebSocket,
    /// `OPTIONS` with `Access-Control-Request-Method`: the browser's, not the application's.
    Preflight,
    /// Not `http(s)://` (`chrome-extension:`, `data:`, `blob:`, …) or not a URL at all.
    BrowserInternal,
    /// Images, scripts, styles, fonts, media: left out unless `--include-static`.
    Static,
    /// The browser following a redirect: the client follows it itself.
    RedirectFollowUp,
    /// A host `--host` did not choose.
    OtherHost,
    /// A method that is not an HTTP token.
    Malformed,
}

impl Skip {
    fn label(self) -> &'static str {
        match self {
            Skip::NoResponse => "without a response",
            Skip::Connect => "CONNECT",
            Skip::WebSocket => "websocket",
            Skip::Preflight => "CORS preflight",
            Skip::BrowserInternal => "browser-internal",
            Skip::Static => "static asset",
            Skip::RedirectFollowUp => "redirect follow-up",
            Skip::OtherHost => "other host",
            Skip::Malformed => "malformed",
        }
    }
}

/// How many entries were left out, by reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Skipped(pub BTreeMap<Skip, usize>);

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none skipped");
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(skip, count)| format!("{count} {}", skip.label()))
            .collect();
        write!(f, "skipped {}", parts.join(", "))
    }
}

/// One replayed request: its entry, and the response that ends its redirect chain.
#[derive(Debug)]
pub struct Exchange<'h> {
    /// Index in `log.entries`.
    pub index: usize,
    pub entry: &'h Entry,
    pub url: Url,
    /// The last response of the redirect chain the request starts.
    pub response: &'h HarResponse,
    /// Every `Set-Cookie` of the chain, in order.
    pub set_cookies: Vec<&'h str>,
}

/// The entries of one origin, in recorded order.
#[derive(Debug)]
pub struct Origin<'h> {
    /// `http://host:port` as `url` serializes an origin.
    pub origin: String,
    pub exchanges: Vec<Exchange<'h>>,
}

/// What to keep.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Host patterns (`api.example.com`, `*.example.com`, `127.0.0.1:8080`); none = all.
    pub hosts: Vec<String>,
    pub include_static: bool,
}

/// The replayable entries of a recording, grouped by origin in order of first appearance.
pub fn select<'h>(har: &'h Har, filter: &Filter) -> (Vec<Origin<'h>>, Skipped) {
    let entries = &har.log.entries;
    let mut skipped = Skipped::default();
    let mut followed = vec![false; entries.len()];
    let mut origins: Vec<Origin<'h>> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        if followed[index] {
            *skipped.0.entry(Skip::RedirectFollowUp).or_default() += 1;
            continue;
        }
        let verdict = judge(entry, filter);
        let (url, response) = match verdict {
            Ok(kept) => kept,
            Err(skip) => {
                *skipped.0.entry(skip).or_default() += 1;
                continue;
            }
        };
        // Follow the chain the browser recorded: the client follows redirects itself.
        let mut last = response;
        let mut set_cookies: Vec<&str> = set_cookies_of(response);
        let mut at = index;
        let mut location_of = url.clone();
        while let Some(next) = redirect_target(last, &location_of) {
            let Some(follow) = (at + 1..entries.len().min(at + 12)).find(|&k| {
                !followed[k]
                    && Url::parse(&entries[k].request.url).is_ok_and(|u| same_resource(&u, &next))
            }) else {
                break;
            };
            let Some(response) = entries[follow].response.as_ref() else {
                break;
            };
            followed[follow] = true;
            set_cookies.extend(set_cookies_of(response));
            last = response;
            at = follow;
            location_of = next;
        }
        let origin = url.origin().ascii_serialization();
        let exchange = Exchange {
            index,
            entry,
            url,
            response: last,
            set_cookies,
        };
        match origins.iter_mut().find(|o| o.origin == origin) {
            Some(found) => found.exchanges.push(exchange),
            None => origins.push(Origin {
                origin,
                exchanges: vec![exchange],
            }),
        }
    }
    (origins, skipped)
}

fn set_cookies_of(response: &HarResponse) -> Vec<&str> {
    response
        .headers
        .iter()
        .filter(|pair| pair.name.eq_ignore_ascii_case("set-cookie"))
        .map(|pair| pair.value.as_str())
        .collect()
}

/// Where a 3xx response sends the browser.
fn redirect_target(response: &HarResponse, from: &Url) -> Option<Url> {
    if !(300..400).contains(&response.status()) || response.status() == 304 {
        return None;
    }
    let location = response
        .header("location")
        .filter(|l| !l.is_empty())
        .or(response.redirect_url.as_deref().filter(|l| !l.is_empty()))?;
    from.join(location).ok()
}

/// The same URL apart from the fragment.
fn same_resource(a: &Url, b: &Url) -> bool {
    a.as_str().split('#').next() == b.as_str().split('#').next()
}

fn judge<'h>(entry: &'h Entry, filter: &Filter) -> Result<(Url, &'h HarResponse), Skip> {
    let request = &entry.request;
    let Ok(url) = Url::parse(&request.url) else {
        return Err(Skip::BrowserInternal);
    };
    if http::Method::from_bytes(request.method.as_bytes()).is_err() {
        return Err(Skip::Malformed);
    }
    if request.method.eq_ignore_ascii_case("CONNECT") {
        return Err(Skip::Connect);
    }
    let upgrade = request
        .header("upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if matches!(url.scheme(), "ws" | "wss")
        || upgrade
        || entry.websocket_messages.is_some()
        || entry.resource_type.as_deref() == Some("websocket")
    {
        return Err(Skip::WebSocket);
    }
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Skip::BrowserInternal);
    }
    if request.method.eq_ignore_ascii_case("OPTIONS")
        && request.header("access-control-request-method").is_some()
    {
        return Err(Skip::Preflight);
    }
    let response = match &entry.response {
        Some(response)
            if response.status() > 0
                && response.status() != 101
                && !has_error(&entry.error)
                && !has_error(&response.error) =>
        {
            response
        }
        Some(response) if response.status() == 101 => return Err(Skip::WebSocket),
        _ => return Err(Skip::NoResponse),
    };
    if !filter.hosts.is_empty() && !filter.hosts.iter().any(|p| host_matches(p, &url)) {
        return Err(Skip::OtherHost);
    }
    if !filter.include_static && is_static(entry, &url, response) {
        return Err(Skip::Static);
    }
    Ok((url, response))
}

/// `_error` is sometimes present but empty (`""`, `null`).
fn has_error(error: &Option<serde_json::Value>) -> bool {
    match error {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::String(text)) => !text.is_empty(),
        Some(_) => true,
    }
}

const STATIC_TYPES: [&str; 7] = [
    "image",
    "stylesheet",
    "script",
    "font",
    "media",
    "manifest",
    "texttrack",
];

const STATIC_EXTENSIONS: [&str; 24] = [
    "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif", "bmp",
    "woff", "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "wav", "ogg", "wasm",
];

/// A static asset, by Chrome's `_resourceType`, the response's MIME type or the extension.
pub fn is_static(entry: &Entry, url: &Url, response: &HarResponse) -> bool {
    if let Some(kind) = &entry.resource_type {
        let kind = kind.to_ascii_lowercase();
        if STATIC_TYPES.contains(&kind.as_str()) {
            return true;
        }
        if matches!(kind.as_str(), "document" | "xhr" | "fetch") {
            return false;
        }
    }
    let mime = response.mime_type().to_ascii_lowercase();
    let mime = mime.split(';').next().unwrap_or("").trim();
    if ["image/", "font/", "audio/", "video/"]
        .iter()
        .any(|prefix| mime.starts_with(prefix))
        || matches!(
            mime,
            "text/css"
                | "text/javascript"
                | "application/javascript"
                | "application/x-javascript"
                | "application/wasm"
                | "application/font-woff"
                | "application/x-font-woff"
        )
    {
        return true;
    }
    let last = url.path().rsplit('/').next().unwrap_or("");
    last.rsplit_once('.').is_some_and(|(_, extension)| {
        STATIC_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str())
    })
}

/// `pattern` against the URL's host, or `host:port`; `*` matches any run of characters.
pub fn host_matches(pattern: &str, url: &Url) -> bool {
    let host = url.host_str().unwrap_or("");
    let with_port = format!("{host}:{}", url.port_or_known_default().unwrap_or(0));
    let pattern = pattern.to_ascii_lowercase();
    glob(&pattern, host) || glob(&pattern, &with_port)
}

fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(text) = text.strip_prefix(head) else {
                return false;
            };
            (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .any(|i| glob(rest, &text[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::har::model::parse;

    fn har(entries: &str) -> Har {
        parse(
            "t.har",
            format!(r#"{{"log":{{"entries":[{entries}]}}}}"#).as_bytes(),
        )
        .unwrap()
    }

    fn entry(method: &str, url: &str, status: i64, extra: &str) -> String {
        format!(
            r#"{{"request":{{"method":"{method}","url":"{url}","headers":[]}},
                "response":{{"status":{status},"headers":[{extra}],"content":{{}}}}}}"#
        )
    }

    #[test]
    fn what_a_browser_records_beside_the_application_is_counted_and_left_out() {
        let entries = [
            entry("GET", "http://a.test/page", 200, ""),
            entry("GET", "http://a.test/logo.png", 200, ""),
            entry("CONNECT", "http://a.test:443", 200, ""),
            entry("GET", "ws://a.test/socket", 101, ""),
            entry("GET", "chrome-extension://abc/x.js", 200, ""),
            entry("GET", "http://a.test/failed", 0, ""),
            entry("GET", "http://a.test/failed2", -1, ""),
            entry("POST", "http://b.test:8080/api", 201, ""),
        ]
        .join(",");
        let har = har(&entries);
        let (origins, skipped) = select(&har, &Filter::default());
        assert_eq!(origins.len(), 2);
        assert_eq!(origins[0].origin, "http://a.test");
        assert_eq!(origins[1].origin, "http://b.test:8080");
        assert_eq!(
            skipped.to_string(),
            "skipped 2 without a response, 1 CONNECT, 1 websocket, 1 browser-internal, 1 static asset"
        );
        let (origins, skipped) = select(
            &har,
            &Filter {
                hosts: vec!["*.test:8080".into()],
                include_static: true,
            },
        );
        assert_eq!(origins.len(), 1);
        assert_eq!(skipped.0[&Skip::OtherHost], 2);
    }

    #[test]
    fn a_redirect_chain_is_its_first_request_with_the_last_response() {
        let entries = [
            entry(
                "POST",
                "http://a.test/login",
                302,
                r#"{"name":"Location","value":"/home"},{"name":"Set-Cookie","value":"s=1"}"#,
            ),
            entry("GET", "http://a.test/other", 200, ""),
            entry(
                "GET",
                "http://a.test/home",
                301,
                r#"{"name":"location","value":"http://a.test/home/"}"#,
            ),
            entry(
                "GET",
                "http://a.test/home/",
                200,
                r#"{"name":"Set-Cookie","value":"t=2"}"#,
            ),
        ]
        .join(",");
        let har = har(&entries);
        let (origins, skipped) = select(&har, &Filter::default());
        let exchanges = &origins[0].exchanges;
        assert_eq!(exchanges.len(), 2);
        assert_eq!(exchanges[0].response.status(), 200);
        assert_eq!(exchanges[0].set_cookies, ["s=1", "t=2"]);
        assert_eq!(exchanges[1].url.path(), "/other");
        assert_eq!(skipped.0[&Skip::RedirectFollowUp], 2);
    }

    #[test]
    fn globs_match_hosts_with_or_without_port() {
        let url = Url::parse("https://api.example.com/x").unwrap();
        assert!(host_matches("api.example.com", &url));
        assert!(host_matches("*.example.com", &url));
        assert!(host_matches("*:443", &url));
        assert!(host_matches("API.example.com", &url));
        assert!(!host_matches("example.com", &url));
        assert!(!host_matches("*.example.org", &url));
        assert!(glob("a*b*c", "aXbYc") && !glob("a*b*c", "aXbY"));
    }
}
