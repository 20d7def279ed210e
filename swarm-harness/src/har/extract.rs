//! Taking a value out of a live response, the way a recording's correlation says: a JSON
//! field, a cookie of the jar, or the text between two boundaries of a header or the body.
//! Generated scenarios call these; `swarm har replay` does too, and import checks each
//! boundary pair against the recorded response with the same functions (`json_text`,
//! `between_text`, `looks_like_id`: the `swarm` command reaches them through `__private`).

#![allow(
    missing_docs,
    reason = "reached only through the hidden `__private` (the swarm command, generated code, tests): not public API"
)]

use crate::{CaughtResponse, Response, User};

/// A value the live response did not have where the recording had it. The messages name the
/// place (a redacted URL, a pointer, a cookie name), never a recorded value: they become
/// failure groups in every report.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CaptureError {
    #[error("the response of {url} has no JSON value at {pointer:?}")]
    Json { url: String, pointer: String },
    #[error("the response of {url} has no value where the recording had one in its {place}")]
    Between { url: String, place: String },
    #[error("the user has no cookie {name:?}")]
    Cookie { name: String },
}

/// A recorded credential that was not copied into the code, and the variable that supplies it.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SecretError {
    #[error(
        "{variable} is not set: the recorded credential was not copied into the code, set \
         {variable} to the value to send"
    )]
    Unset { variable: String },
    #[error("{variable} is not valid UTF-8")]
    NotUnicode { variable: String },
}

/// The JSON value at `pointer` (RFC 6901) of the response body: a string as it is, a number
/// as written.
pub fn json(response: &Response, pointer: &str) -> Result<String, CaptureError> {
    serde_json::from_slice::<serde_json::Value>(response.bytes())
        .ok()
        .and_then(|value| json_text(&value, pointer))
        .ok_or_else(|| CaptureError::Json {
            url: redact(response.url()),
            pointer: pointer.to_owned(),
        })
}

/// A URL as failure messages show it: no user info, no query values, ids in the path as
/// `{id}` (one failure group per place, not per live value).
pub(crate) fn redact(url: &url::Url) -> String {
    let mut out = url.origin().ascii_serialization();
    for segment in url.path().split('/').skip(1) {
        out.push('/');
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        if looks_like_id(&decoded) {
            out.push_str("{id}");
        } else {
            out.push_str(segment);
        }
    }
    if url.query().is_some() {
        out.push_str("?…");
    }
    out
}

/// A path segment that is an id, not a name: all digits, long hex with a digit (a UUID), or
/// 20 characters or more with a digit. Failure messages show such a segment as `{id}`, and
/// import names the request `/api/apps/{id}` with the same rule.
pub fn looks_like_id(segment: &str) -> bool {
    let digits = segment.chars().filter(char::is_ascii_digit).count();
    let hex = segment.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    !segment.is_empty()
        && (digits == segment.len()
            || (hex && segment.len() >= 16 && digits > 0)
            || (digits > 0 && segment.len() >= 20))
}

/// A string or number leaf of `value` as text.
pub fn json_text(value: &serde_json::Value, pointer: &str) -> Option<String> {
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
            url: redact(response.url()),
            place: header.map_or_else(|| "body".to_owned(), |h| format!("{h} header")),
        })
}

/// The text after the first `left` up to the next `right` (the end when `right` is empty);
/// never empty.
pub fn between_text<'t>(text: &'t str, left: &str, right: &str) -> Option<&'t str> {
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
pub fn cookie(user: &User, name: &str) -> Result<String, CaptureError> {
    user.cookie(name).ok_or_else(|| CaptureError::Cookie {
        name: name.to_owned(),
    })
}

/// The target's origin (`PT_HOST` without a path), where the recording had its own origin
/// (in `Origin` and `Referer` headers, in bodies).
pub fn origin(user: &User) -> String {
    user.base_url()
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_default()
}

/// A recorded credential import did not copy (a password, an API key, an `Authorization`
/// no response handed out): the value of the environment variable `variable`.
pub fn secret(variable: &str) -> Result<String, SecretError> {
    std::env::var(variable).map_err(|error| match error {
        std::env::VarError::NotPresent => SecretError::Unset {
            variable: variable.to_owned(),
        },
        std::env::VarError::NotUnicode(_) => SecretError::NotUnicode {
            variable: variable.to_owned(),
        },
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

/// A value as it goes inside a JSON string: quotes, backslashes and control characters
/// escaped, without the surrounding quotes.
pub fn json_escape(value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
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
        assert_eq!(json_escape("a\"b\\c\n"), "a\\\"b\\\\c\\n");
    }

    #[test]
    fn redacted_urls_keep_the_place_and_drop_values() {
        let url = url::Url::parse(
            "https://bob:hunter2@shop.test:8443/api/carts/987654/items?api_key=SECRET&x=1",
        )
        .unwrap();
        assert_eq!(
            redact(&url),
            "https://shop.test:8443/api/carts/{id}/items?…"
        );
        let plain = url::Url::parse("http://a.test/").unwrap();
        assert_eq!(redact(&plain), "http://a.test/");
    }

    #[test]
    fn an_unset_secret_names_its_variable() {
        let error = secret("HAR_TEST_SURELY_UNSET_VARIABLE").unwrap_err();
        assert_eq!(
            error.to_string(),
            "HAR_TEST_SURELY_UNSET_VARIABLE is not set: the recorded credential was not copied \
             into the code, set HAR_TEST_SURELY_UNSET_VARIABLE to the value to send"
        );
    }
}
