//! Taking a value out of a live response, the way a recording's correlation says: a JSON
//! field, a cookie of the jar, or the text between two boundaries of a header or the body.
//! Generated scenarios call these; `swarm har replay` does too, and import checks each
//! boundary pair against the recorded response with the same functions.

use crate::{CaughtResponse, Response, User};

/// A value the live response did not have where the recording had it.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CaptureError {
    #[error("the response of {url} has no JSON value at {pointer:?} (recorded: {recorded:?})")]
    Json {
        url: String,
        pointer: String,
        recorded: String,
    },
    #[error(
        "the response of {url} has no value between {left:?} and {right:?} in its {place} \
         (recorded: {recorded:?})"
    )]
    Between {
        url: String,
        place: String,
        left: String,
        right: String,
        recorded: String,
    },
    #[error("the user has no cookie {name:?} (recorded: {recorded:?})")]
    Cookie { name: String, recorded: String },
    #[error(
        "the recording's {header} header was not copied (a secret, and stale): set {variable} \
         to the value to send"
    )]
    Secret { header: String, variable: String },
}

/// The JSON value at `pointer` (RFC 6901) of the response body: a string as it is, a number
/// as written.
pub fn json(response: &Response, pointer: &str, recorded: &str) -> Result<String, CaptureError> {
    serde_json::from_slice::<serde_json::Value>(response.bytes())
        .ok()
        .and_then(|value| json_text(&value, pointer))
        .ok_or_else(|| CaptureError::Json {
            url: response.url().to_string(),
            pointer: pointer.to_owned(),
            recorded: recorded.to_owned(),
        })
}

/// A string or number leaf of `value` as text.
pub(crate) fn json_text(value: &serde_json::Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The text between `left` and `right` in the body (`header: None`) or in a header.
pub fn between(
    response: &Response,
    header: Option<&str>,
    left: &str,
    right: &str,
    recorded: &str,
) -> Result<String, CaptureError> {
    let text = match header {
        Some(name) => response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        None => Some(String::from_utf8_lossy(response.bytes()).into_owned()),
    };
    text.as_deref()
        .and_then(|text| between_text(text, left, right))
        .map(str::to_owned)
        .ok_or_else(|| CaptureError::Between {
            url: response.url().to_string(),
            place: header.map_or_else(|| "body".to_owned(), |h| format!("{h} header")),
            left: left.to_owned(),
            right: right.to_owned(),
            recorded: recorded.to_owned(),
        })
}

/// The text after the first `left` up to the next `right` (the end when `right` is empty);
/// never empty.
pub(crate) fn between_text<'t>(text: &'t str, left: &str, right: &str) -> Option<&'t str> {
    let start = text.find(left)? + left.len();
    let rest = &text[start..];
    let value = if right.is_empty() {
        rest
    } else {
        &rest[..rest.find(right)?]
    };
    (!value.is_empty()).then_some(value)
}

/// The value of the user's cookie `name` (the jar keeps what every response set, redirects
/// included).
pub fn cookie(user: &User, name: &str, recorded: &str) -> Result<String, CaptureError> {
    user.cookie(name).ok_or_else(|| CaptureError::Cookie {
        name: name.to_owned(),
        recorded: recorded.to_owned(),
    })
}

/// The target's origin (`PT_HOST` without a path), where the recording had its own origin
/// (in `Origin` and `Referer` headers, in bodies).
pub fn origin(user: &User) -> String {
    user.base_url()
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_default()
}

/// A header the recording had but import did not copy (`Authorization` not taken from a
/// response): the value of the environment variable `variable`.
pub fn secret(header: &str, variable: &str) -> Result<String, CaptureError> {
    std::env::var(variable).map_err(|_| CaptureError::Secret {
        header: header.to_owned(),
        variable: variable.to_owned(),
    })
}

/// Records a response the recording also got as an error (a 404 the page asked for, say)
/// as a success when its status is the recorded one, and as a failure naming both otherwise.
pub fn expect_status(caught: CaughtResponse<'_>, recorded: u16) -> Response {
    let status = caught.status();
    if status.as_u16() == recorded {
        caught.success()
    } else {
        caught.failure(format!("HTTP {status}, recorded {recorded}"))
    }
}

/// A captured value as it goes into a URL or form: percent-encoded like a form field.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn between_takes_the_first_match_and_is_never_empty() {
        let html = r#"<input name="csrf" value="abc"><input name="csrf" value="def">"#;
        assert_eq!(
            between_text(html, r#"name="csrf" value=""#, "\""),
            Some("abc")
        );
        assert_eq!(between_text("token=xyz", "token=", ""), Some("xyz"));
        assert_eq!(between_text("a=\"\"", "a=\"", "\""), None);
        assert_eq!(between_text("abc", "x", ""), None);
        assert_eq!(between_text("left:value", "left:", ";"), None);
        assert_eq!(between_text("é=ü;", "é=", ";"), Some("ü"));
    }

    #[test]
    fn json_leaves_are_text_and_containers_are_not_values() {
        let value = serde_json::json!({"id": "app-1", "n": 12, "f": 1.5, "o": {}, "b": true});
        assert_eq!(json_text(&value, "/id").as_deref(), Some("app-1"));
        assert_eq!(json_text(&value, "/n").as_deref(), Some("12"));
        assert_eq!(json_text(&value, "/f").as_deref(), Some("1.5"));
        assert_eq!(json_text(&value, "/o"), None);
        assert_eq!(json_text(&value, "/b"), None);
        assert_eq!(json_text(&value, "/missing"), None);
    }

    #[test]
    fn encode_is_form_encoding() {
        assert_eq!(encode("a b+c/d=é"), "a+b%2Bc%2Fd%3D%C3%A9");
    }
}
