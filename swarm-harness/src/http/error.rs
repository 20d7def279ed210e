//! What a request's failure and its fetched response are, below the user's API: the lean
//! client, reqwest (`reqwest_versions`) and the user's requests (`crate::user::request`) share them.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use url::Url;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request could not be made or was not what the task expected.
#[derive(thiserror::Error)]
pub enum RequestError {
    /// The request did not complete: connecting, TLS, writing or reading failed, it met too
    /// many redirects, or it timed out (`PT_REQUEST_TIMEOUT`, [`Request::timeout`]). Recorded as a
    /// failure before it is returned.
    ///
    /// [`Request::timeout`]: crate::Request::timeout
    #[error(
        "{method} {}: {}",
        redact(url),
        crate::settings::redact_userinfo_text(message)
    )]
    Transport {
        /// The request's method.
        method: Method,
        /// The URL requested, resolved against the base URL; unredacted, while the message
        /// and `Debug` hide its password.
        url: Box<Url>,
        /// The error and its causes, joined with `: `, as the failure group shows it.
        message: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The response's status is 400 or above: what [`Response::error_for_status`] returns.
    ///
    /// [`Response::error_for_status`]: crate::Response::error_for_status
    #[error("{method} {}: HTTP {status}", redact(url))]
    Status {
        /// The request's method.
        method: Method,
        /// The response's URL, after redirects; unredacted, while the message and `Debug` hide
        /// its password.
        url: Box<Url>,
        /// The name the request is reported under (`.name()`, or its path).
        name: String,
        /// The response's status.
        status: StatusCode,
        /// The first 512 bytes of the response body, lossily decoded as UTF-8.
        body: String,
    },
    /// The response body is not JSON of the type [`Response::json`] was asked for.
    ///
    /// [`Response::json`]: crate::Response::json
    #[error(
        "{method} {}: response body is not the expected JSON: {source}",
        redact(url)
    )]
    Decode {
        /// The request's method.
        method: Method,
        /// The response's URL, after redirects; unredacted, while the message and `Debug` hide
        /// its password.
        url: Box<Url>,
        /// What serde_json could not parse.
        #[source]
        source: serde_json::Error,
    },
    /// [`Response::json`] was called on a body larger than `PT_MAX_BODY`, of which only the
    /// beginning was kept.
    ///
    /// [`Response::json`]: crate::Response::json
    #[error(
        "{method} {}: the body was cut at {kept} of {received} bytes (PT_MAX_BODY)",
        redact(url)
    )]
    Truncated {
        /// The request's method.
        method: Method,
        /// The response's URL, after redirects; unredacted, while the message and `Debug` hide
        /// its password.
        url: Box<Url>,
        /// The body bytes kept (`PT_MAX_BODY`).
        kept: usize,
        /// The body bytes received.
        received: u64,
    },
    /// A relative URL was requested but the run has no target host (`PT_HOST`). The
    /// request was not sent, nor recorded.
    #[error("no target host to resolve {path:?} against: set PT_HOST (or --host)")]
    NoHost {
        /// The URL as the scenario gave it.
        path: String,
    },
    /// The URL cannot be joined to the base URL. The request was not sent, nor recorded.
    #[error("invalid request URL {:?}", crate::settings::redact_userinfo_text(url))]
    BadUrl {
        /// The URL as the scenario gave it.
        url: String,
    },
    /// The request could not be built (an invalid header name or value, a body or query that
    /// cannot be serialized, reqwest's own build error). It was not sent, nor recorded.
    #[error("invalid request: {message}")]
    Build {
        /// What was wrong, the first problem met while building.
        message: String,
    },
    /// The run's request limit (`PT_NUM_REQUESTS`) is reached; the request was not sent and
    /// the trial is stopping. Not a failure.
    #[error("request limit reached")]
    LimitReached,
}

pub(crate) use crate::settings::redact;

/// As derived, but every URL shown with its credentials masked: a scenario's `.unwrap()`
/// prints this, and its panic message goes into the report.
impl std::fmt::Debug for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |text: &str| crate::settings::redact_userinfo_text(text).into_owned();
        match self {
            RequestError::Transport {
                method,
                url,
                message,
                source,
            } => f
                .debug_struct("Transport")
                .field("method", method)
                .field("url", &redact(url))
                .field("message", &shown(message))
                .field("source", &shown(&format!("{source:?}")))
                .finish(),
            RequestError::Status {
                method,
                url,
                name,
                status,
                body,
            } => f
                .debug_struct("Status")
                .field("method", method)
                .field("url", &redact(url))
                .field("name", name)
                .field("status", status)
                .field("body", body)
                .finish(),
            RequestError::Decode {
                method,
                url,
                source,
            } => f
                .debug_struct("Decode")
                .field("method", method)
                .field("url", &redact(url))
                .field("source", source)
                .finish(),
            RequestError::Truncated {
                method,
                url,
                kept,
                received,
            } => f
                .debug_struct("Truncated")
                .field("method", method)
                .field("url", &redact(url))
                .field("kept", kept)
                .field("received", received)
                .finish(),
            RequestError::NoHost { path } => f.debug_struct("NoHost").field("path", path).finish(),
            RequestError::BadUrl { url } => {
                f.debug_struct("BadUrl").field("url", &shown(url)).finish()
            }
            RequestError::Build { message } => f
                .debug_struct("Build")
                .field("message", &shown(message))
                .finish(),
            RequestError::LimitReached => f.write_str("LimitReached"),
        }
    }
}

/// The final response of an exchange.
pub(crate) struct Fetched {
    pub(crate) url: Url,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) body_len: u64,
    pub(crate) truncated: bool,
}

/// The error and its causes, joined, the way people read them in a failure table.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    // A cause may quote the URL with its credentials (reqwest's `for url (..)`).
    match crate::settings::redact_userinfo_text(&message) {
        std::borrow::Cow::Borrowed(_) => message,
        std::borrow::Cow::Owned(shown) => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Neither the message nor `Debug` (what `.unwrap()` prints, into the report) shows a
    /// URL's password, also where an error quotes the URL in its own text.
    #[test]
    fn no_form_of_a_request_error_shows_a_password() {
        let url = Box::new(Url::parse("http://user:s3cret-pw@127.0.0.1:9/x").unwrap());
        let quoted = "error sending request for url (http://user:s3cret-pw@127.0.0.1:9/x)";
        let errors = [
            RequestError::Transport {
                method: Method::GET,
                url: url.clone(),
                message: quoted.to_owned(),
                source: quoted.into(),
            },
            RequestError::Status {
                method: Method::GET,
                url: url.clone(),
                name: "/x".to_owned(),
                status: StatusCode::BAD_GATEWAY,
                body: String::new(),
            },
            RequestError::BadUrl {
                url: "http://user:s3cret-pw@[::1".to_owned(),
            },
        ];
        for error in errors {
            for shown in [
                error.to_string(),
                format!("{error:?}"),
                format!("{error:#?}"),
            ] {
                assert!(!shown.contains("s3cret-pw"), "{shown}");
            }
        }
    }
}
