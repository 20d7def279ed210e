//! Who may call the web UI.
//! - The token: with `PT_WEB_TOKEN` set, a request passes only with `Authorization: Bearer
//!   <token>` or Basic credentials whose password is the token (what a browser sends after its
//!   prompt). Compared in constant time.
//! - Other web sites: a page elsewhere must not steer the run through the visitor's browser,
//!   nor frame this page to trick a click on its buttons.
//!   - On loopback the `Host` must be an address or `localhost` (a rebound DNS name is
//!     refused).
//!   - Every response carries `X-Frame-Options: DENY` and `Content-Security-Policy:
//!     frame-ancestors 'none'` ([`frame_guard`]), and `X-Content-Type-Options: nosniff`.
//!   - The commands (`/swarm`, `/stop`, `/stats/reset`; the last two also as `GET`, as in
//!     Locust) pass only by the rule of [`command_refusal`], which the seeds' `curl
//!     http://localhost:8089/stop` meets as written; `HEAD` is refused; `/swarm` takes form
//!     bodies only (a page's cross-site `fetch` of any other type needs a preflight, never
//!     answered here).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::AppState;

pub(super) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &state.token else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(presented_token);
    if given.is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes())) {
        return next.run(request).await;
    }
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "401 unauthorized: this web UI needs its token (PT_WEB_TOKEN), as \
         `Authorization: Bearer <token>` or as the password of the browser's prompt\n",
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"swarm-harness\", charset=\"UTF-8\""),
    );
    response
}

/// Refuses what another web site could make a browser send.
pub(super) async fn same_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if state.loopback && !is_local_host(host) {
        return forbidden("this web UI answers only to its own address (127.0.0.1 or localhost)");
    }
    let path = request.uri().path();
    let command = matches!(path, "/swarm" | "/stop" | "/stats/reset");
    if !command {
        return next.run(request).await;
    }
    if request.method() == axum::http::Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "use GET or POST\n").into_response();
    }
    if let Some(why) = command_refusal(headers, host) {
        return forbidden(why);
    }
    if path == "/swarm" {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let form = content_type.starts_with("application/x-www-form-urlencoded")
            || content_type.starts_with("multipart/form-data");
        if !form {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "POST /swarm takes a form: application/x-www-form-urlencoded or \
                 multipart/form-data (curl -d or -F)\n",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// What a browser says about where a request comes from: whether any of its signals names
/// this page's origin, and whether any names another.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Signals {
    own: bool,
    foreign: bool,
}

/// Reads every value of `Sec-Fetch-Site`, `Origin` and `Referer`, not only the first, so no
/// second header can hide a cross-site one; a value that is not text counts as foreign.
fn signals(headers: &HeaderMap, host: &str) -> Signals {
    let mut signals = Signals::default();
    let mut note = |own: bool| {
        if own {
            signals.own = true;
        } else {
            signals.foreign = true;
        }
    };
    let ours = |authority: Option<&str>| {
        authority.is_some_and(|a| !a.is_empty() && a.eq_ignore_ascii_case(host))
    };
    for value in headers.get_all("sec-fetch-site") {
        note(matches!(value.to_str(), Ok("same-origin" | "none")));
    }
    for value in headers.get_all(header::ORIGIN) {
        note(ours(value.to_str().ok().and_then(origin_authority)));
    }
    for value in headers.get_all(header::REFERER) {
        note(ours(value.to_str().ok().and_then(referer_authority)));
    }
    signals
}

/// Whether a request says it comes from a browser: every browser's `User-Agent` begins
/// with `Mozilla/` (Presto's Opera with `Opera/`), which a page cannot change without a
/// CORS preflight that is never answered here, and only browsers send fetch metadata.
fn is_browser(headers: &HeaderMap) -> bool {
    let agent = headers.get_all(header::USER_AGENT).iter().any(|agent| {
        let agent = agent.as_bytes();
        [&b"mozilla/"[..], b"opera/"].iter().any(|prefix| {
            agent
                .get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        })
    });
    let metadata = headers.keys().any(|name| {
        let name = name.as_str();
        name.starts_with("sec-fetch-") || name.starts_with("sec-ch-ua")
    });
    agent || metadata
}

/// Why a command (`/swarm`, `/stop`, `/stats/reset`, any method) is refused, if it is: a
/// state-changing request passes only with a same-origin signal, or when it comes from no
/// browser at all. In order:
/// 1. Any cross-site signal refuses: a `Sec-Fetch-Site` other than `same-origin` or `none`
///    (so `cross-site`, and `same-site`: a page on another port of localhost is the same
///    site), an `Origin` other than this page's own (`null` too), a `Referer` from another
///    origin. A page cannot forge these; the browser sets them.
/// 2. Else a same-origin signal passes: `Sec-Fetch-Site: same-origin` (the page's buttons)
///    or `none` (the user typed the address or chose a bookmark), or an `Origin` or
///    `Referer` of this page.
/// 3. Else, with no signal at all, the request passes only when it is not from a browser
///    ([`is_browser`]). curl, wget, Python's and Locust's clients send neither signal nor a
///    browser's `User-Agent`: the seeds' `curl http://localhost:8089/stop` passes. A browser
///    too old for `Sec-Fetch-Site` (Safari before 16.4, Firefox before 90, Chrome before 76)
///    sends no `Origin` on a cross-site `<img>` or link, and the attacking page can suppress
///    its `Referer` (`referrerpolicy="no-referrer"`): no signal at all, and rule 3 refuses it.
///
/// Limits: the signals are the browser's word, which a page cannot change; a program can
/// send anything, and what keeps programs elsewhere out is `PT_WEB_TOKEN` on an exposed
/// address (and loopback otherwise), not this rule. In an old browser, typing `…/stop` in
/// the address bar is refused (a browser, no signal); its page's buttons still work (they
/// send `Origin` or `Referer`). A link opened from another application arrives as
/// `Sec-Fetch-Site: none`, the user's own navigation, and passes as typing it would.
pub(super) fn command_refusal(headers: &HeaderMap, host: &str) -> Option<&'static str> {
    let signals = signals(headers, host);
    if signals.foreign {
        return Some("another site cannot steer this run");
    }
    if signals.own || !is_browser(headers) {
        return None;
    }
    Some(
        "a browser must show that a command comes from this page (Origin or Referer): use \
         the page's buttons, or curl",
    )
}

/// `Content-Security-Policy` of every response: no page may frame this one. The other
/// directives cannot touch the page, which has no `<base>`, no plugin and posts only to
/// itself; scripts and styles are not restricted because the page and report embed theirs.
const POLICY: &str =
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'";

/// Adds the anti-framing and no-sniffing headers to every response, refusals included.
pub(super) async fn frame_guard(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn forbidden(why: &str) -> Response {
    (StatusCode::FORBIDDEN, format!("403 forbidden: {why}\n")).into_response()
}

/// `host[:port]` of an `Origin` value such as `http://127.0.0.1:8089`.
fn origin_authority(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    Some(rest.trim_end_matches('/'))
}

/// `host[:port]` of a `Referer` value such as `http://127.0.0.1:8089/?x`: up to the path,
/// query or fragment.
fn referer_authority(referer: &str) -> Option<&str> {
    let (_, rest) = referer.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Whether a `Host` header names this machine by address or as `localhost`, not by a DNS
/// name that could have been rebound to it.
fn is_local_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        // `[::1]:8089`, `127.0.0.1:8089`, `localhost:8089`
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':') => {
            name
        }
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

/// The token in an `Authorization` value: Bearer's, or Basic's password.
fn presented_token(value: &str) -> Option<String> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    match scheme.to_ascii_lowercase().as_str() {
        "bearer" => Some(rest.trim().to_owned()),
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (_, password) = text.split_once(':')?;
            Some(password.to_owned())
        }
        _ => None,
    }
}

/// Equality whose time depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_from_bearer_and_basic() {
        assert_eq!(
            presented_token("Bearer abc12345").as_deref(),
            Some("abc12345")
        );
        assert_eq!(presented_token("bearer  abc ").as_deref(), Some("abc"));
        // "me:s3cret!x"
        let basic = base64::engine::general_purpose::STANDARD.encode("me:s3cret!x");
        assert_eq!(
            presented_token(&format!("Basic {basic}")).as_deref(),
            Some("s3cret!x")
        );
        for hostile in [
            "",
            "Bearer",
            "Basic !!!",
            "Basic bm9jb2xvbg==",
            "Digest x",
            "\u{0}",
        ] {
            assert_eq!(presented_token(hostile), None, "{hostile:?}");
        }
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn only_addresses_and_localhost_are_local_hosts() {
        for local in [
            "127.0.0.1:8089",
            "localhost:8089",
            "LOCALHOST",
            "[::1]:8089",
            "::1",
            "10.0.0.7",
        ] {
            assert!(is_local_host(local), "{local}");
        }
        for remote in [
            "",
            "attacker.example",
            "attacker.example:8089",
            "127.0.0.1.nip.io:80",
            "localhost.evil:1",
        ] {
            assert!(!is_local_host(remote), "{remote}");
        }
        assert_eq!(
            origin_authority("http://127.0.0.1:8089"),
            Some("127.0.0.1:8089")
        );
        assert_eq!(origin_authority("null"), None);
        assert_eq!(
            referer_authority("http://127.0.0.1:8089/x?y#z"),
            Some("127.0.0.1:8089")
        );
        assert_eq!(
            referer_authority("http://127.0.0.1:8089?y"),
            Some("127.0.0.1:8089")
        );
    }

    const HOST: &str = "127.0.0.1:8089";

    /// Header names and raw values, as a table row holds them.
    type Pairs<'a> = &'a [(&'a str, &'a [u8])];

    fn headers(pairs: Pairs) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    const CHROME: &[u8] = b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0";

    /// Requests a command must accept: the seeds' tools and this page's own.
    const ALLOWED: &[(&str, Pairs<'static>)] = &[
        ("nothing at all", &[]),
        (
            "the seeds' curl",
            &[("user-agent", b"curl/8.5.0"), ("accept", b"*/*")],
        ),
        ("python", &[("user-agent", b"python-requests/2.31.0")]),
        (
            "the page's button",
            &[
                ("user-agent", CHROME),
                ("sec-fetch-site", b"same-origin"),
                ("sec-fetch-mode", b"cors"),
                ("origin", b"http://127.0.0.1:8089"),
                ("referer", b"http://127.0.0.1:8089/"),
            ],
        ),
        (
            "typed in the address bar",
            &[
                ("user-agent", CHROME),
                ("sec-fetch-site", b"none"),
                ("sec-fetch-mode", b"navigate"),
            ],
        ),
        (
            "an old browser's button",
            &[("user-agent", CHROME), ("origin", b"http://127.0.0.1:8089")],
        ),
        (
            "an old browser, Referer only",
            &[
                ("user-agent", CHROME),
                ("referer", b"http://127.0.0.1:8089/?x"),
            ],
        ),
    ];

    /// Requests a command must refuse: what another page can make a browser send.
    const REFUSED: &[(&str, Pairs<'static>)] = &[
        (
            "a cross-site <img>",
            &[
                ("user-agent", CHROME),
                ("sec-fetch-site", b"cross-site"),
                ("sec-fetch-mode", b"no-cors"),
            ],
        ),
        (
            "the app under test on another port",
            &[
                ("user-agent", CHROME),
                ("sec-fetch-site", b"same-site"),
                ("referer", b"http://127.0.0.1:3000/"),
            ],
        ),
        (
            "an old browser, no-referrer <img>",
            &[("user-agent", CHROME)],
        ),
        (
            "an old browser, another site's link",
            &[
                ("user-agent", CHROME),
                ("referer", b"http://attacker.example/"),
            ],
        ),
        (
            "a tool sent from another page",
            &[
                ("user-agent", b"curl/8"),
                ("referer", b"http://attacker.example/"),
            ],
        ),
        ("a sandboxed frame", &[("origin", b"null")]),
        (
            "same-origin claimed, Origin foreign",
            &[
                ("sec-fetch-site", b"same-origin"),
                ("origin", b"http://attacker.example"),
            ],
        ),
        (
            "own Origin, cross-site fetch",
            &[
                ("origin", b"http://127.0.0.1:8089"),
                ("sec-fetch-site", b"cross-site"),
            ],
        ),
        (
            "a second Origin",
            &[
                ("origin", b"http://127.0.0.1:8089"),
                ("origin", b"http://attacker.example"),
            ],
        ),
        (
            "fetch metadata without a site",
            &[("user-agent", b"curl/8"), ("sec-fetch-mode", b"no-cors")],
        ),
        (
            "a user-info Referer",
            &[("referer", b"http://127.0.0.1:8089@attacker.example/")],
        ),
        (
            "a longer host",
            &[("referer", b"http://127.0.0.1:8089.attacker.example/")],
        ),
        (
            "an Origin that is not text",
            &[("origin", b"http://127.0.0.1:8089\xff")],
        ),
        (
            "an unknown Sec-Fetch-Site",
            &[("sec-fetch-site", b"Same-Origin")],
        ),
    ];
    #[test]
    fn commands_pass_from_this_page_and_from_tools() {
        for (case, pairs) in ALLOWED {
            assert_eq!(command_refusal(&headers(pairs), HOST), None, "{case}");
        }
    }

    #[test]
    fn commands_from_another_page_or_an_unvouched_browser_are_refused() {
        for (case, pairs) in REFUSED {
            assert!(command_refusal(&headers(pairs), HOST).is_some(), "{case}");
        }
    }

    /// A header value and what it says, known to the generator (not read back by the code
    /// under test).
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Says {
        Own,
        Foreign,
        Browser,
        Tool,
    }

    const POOL: &[(&str, &str, Says)] = &[
        ("sec-fetch-site", "same-origin", Says::Own),
        ("sec-fetch-site", "none", Says::Own),
        ("sec-fetch-site", "cross-site", Says::Foreign),
        ("sec-fetch-site", "same-site", Says::Foreign),
        ("sec-fetch-site", "", Says::Foreign),
        ("origin", "http://127.0.0.1:8089", Says::Own),
        ("origin", "http://attacker.example", Says::Foreign),
        ("origin", "null", Says::Foreign),
        ("origin", "http://127.0.0.1:8090", Says::Foreign),
        ("origin", "http://localhost:8089", Says::Foreign),
        ("origin", "http://127.0.0.1:8089.evil", Says::Foreign),
        ("origin", "", Says::Foreign),
        ("referer", "http://127.0.0.1:8089/", Says::Own),
        ("referer", "http://127.0.0.1:8089/stats?x=1", Says::Own),
        ("referer", "http://attacker.example/", Says::Foreign),
        ("referer", "http://localhost:3000/app", Says::Foreign),
        ("referer", "http://127.0.0.1:8089@evil/", Says::Foreign),
        ("referer", "http://127.0.0.1:80899/", Says::Foreign),
        ("referer", "/relative", Says::Foreign),
        (
            "user-agent",
            "Mozilla/5.0 (Macintosh) Safari/605.1.15",
            Says::Browser,
        ),
        (
            "user-agent",
            "mozilla/4.0 (compatible; MSIE 8.0)",
            Says::Browser,
        ),
        ("sec-fetch-mode", "no-cors", Says::Browser),
        ("sec-fetch-dest", "image", Says::Browser),
        ("sec-ch-ua", "\"Chromium\";v=\"120\"", Says::Browser),
        ("user-agent", "curl/8.5.0", Says::Tool),
        ("user-agent", "python-requests/2.31", Says::Tool),
        ("accept", "*/*", Says::Tool),
        ("cookie", "session=1", Says::Tool),
    ];

    proptest::proptest! {
        /// Nothing with a cross-site signal passes, whatever else the request says; a
        /// same-origin signal passes; with neither, only what is not a browser passes.
        #[test]
        fn no_cross_site_signal_ever_passes_a_command(
            picks in proptest::collection::vec(proptest::sample::select(POOL), 0..6)
        ) {
            let mut map = HeaderMap::new();
            for (name, value, _) in &picks {
                map.append(*name, HeaderValue::from_static(value));
            }
            let says = |what: Says| picks.iter().any(|(_, _, s)| *s == what);
            let expected = if says(Says::Foreign) {
                false
            } else if says(Says::Own) {
                true
            } else {
                !says(Says::Browser)
            };
            let refusal = command_refusal(&map, HOST);
            proptest::prop_assert_eq!(refusal.is_none(), expected, "{:?}: {:?}", picks, refusal);
        }
    }
}
