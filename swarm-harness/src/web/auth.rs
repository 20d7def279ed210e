//! The token check: with `PT_WEB_TOKEN` set, a request passes only with
//! `Authorization: Bearer <token>` or Basic credentials whose password is the token (what a
//! browser sends after its prompt). Compared in constant time.

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
}
