//! Who may call the web UI.
//! - The token: with `PT_WEB_TOKEN` set, a request passes only with `Authorization: Bearer
//!   <token>` or Basic credentials whose password is the token (what a browser sends after its
//!   prompt). Compared in constant time.
//! - Other web sites: a page elsewhere must not steer the run through the visitor's browser.
//!   On loopback the `Host` must be an address or `localhost` (a rebound DNS name is refused);
//!   the commands (`/swarm`, `/stop`, `/stats/reset`) refuse a cross-site `Sec-Fetch-Site`, an
//!   `Origin` other than the page's own, and `HEAD`; `/swarm` takes form bodies only. `curl`
//!   sends none of these headers, so the seeds' commands work as written.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
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
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|site| site != "same-origin" && site != "none") {
        return forbidden("another site cannot steer this run");
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && origin_authority(origin) != Some(host)
    {
        return forbidden("another site cannot steer this run");
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

fn forbidden(why: &str) -> Response {
    (StatusCode::FORBIDDEN, format!("403 forbidden: {why}\n")).into_response()
}

/// `host[:port]` of an `Origin` value such as `http://127.0.0.1:8089`.
fn origin_authority(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    Some(rest.trim_end_matches('/'))
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
    }
}
