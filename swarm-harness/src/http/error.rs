//! What a request's failure and its fetched response are, below the user's API: the lean
//! client, reqwest (`reqwest_versions`) and the user's requests (`crate::user::request`) share them.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use url::Url;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a request could not be made or was not what the task expected.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("{method} {}: {message}", redact(url))]
    Transport {
        method: Method,
        url: Box<Url>,
        message: String,
        #[source]
        source: BoxError,
    },
    #[error("{method} {}: HTTP {status}", redact(url))]
    Status {
        method: Method,
        url: Box<Url>,
        /// The name the request is reported under (`.name()`, or its path).
        name: String,
        status: StatusCode,
        body: String,
    },
    #[error(
        "{method} {}: response body is not the expected JSON: {source}",
        redact(url)
    )]
    Decode {
        method: Method,
        url: Box<Url>,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{method} {}: the body was cut at {kept} of {received} bytes (PT_MAX_BODY)",
        redact(url)
    )]
    Truncated {
        method: Method,
        url: Box<Url>,
        kept: usize,
        received: u64,
    },
    #[error("no target host to resolve {path:?} against: set PT_HOST (or --host)")]
    NoHost { path: String },
    #[error("invalid request URL {url:?}")]
    BadUrl { url: String },
    #[error("invalid request: {message}")]
    Build { message: String },
    /// The run's request limit (`PT_NUM_REQUESTS`) is reached; the request was not sent and
    /// the trial is stopping. Not a failure.
    #[error("request limit reached")]
    LimitReached,
}

pub(crate) use crate::settings::redact;

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
    message
}
