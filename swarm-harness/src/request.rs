//! Timed HTTP requests: a builder over `reqwest::RequestBuilder` that records every request into
//! the trial's statistics, and the response it returns (its body already read, so the time
//! includes the download, as a user feels it).

use std::time::Instant;

use bytes_text::snippet;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::stats::{FailureSample, Sample};
use crate::user::{User, elapsed_micros};

/// Why a request could not be made or was not what the task expected.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("{method} {url}: {message}")]
    Transport {
        method: Method,
        url: Box<Url>,
        message: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{method} {url}: HTTP {status}")]
    Status {
        method: Method,
        url: Box<Url>,
        status: StatusCode,
        body: String,
    },
    #[error("{method} {url}: response body is not the expected JSON: {source}")]
    Decode {
        method: Method,
        url: Box<Url>,
        #[source]
        source: serde_json::Error,
    },
    #[error("no target host to resolve {path:?} against: set PT_HOST (or --host)")]
    NoHost { path: String },
    #[error("invalid request URL {url:?}")]
    BadUrl { url: String },
    /// The run's request limit (`PT_NUM_REQUESTS`) is reached; the request was not sent and
    /// the trial is stopping. Not a failure.
    #[error("request limit reached")]
    LimitReached,
}

/// A request being built. Send it with [`Request::send`] (recorded at once, a status >= 400
/// counting as a failure) or [`Request::catch_response`] (you decide).
#[must_use = "a request does nothing until it is sent"]
pub struct Request<'u> {
    user: &'u User,
    method: Method,
    url: Result<Url, RequestError>,
    name: Option<String>,
    builder: Option<reqwest::RequestBuilder>,
}

impl<'u> Request<'u> {
    pub(crate) fn new(user: &'u User, method: Method, url: &str) -> Self {
        let url = user.resolve(url);
        let builder = url
            .as_ref()
            .ok()
            .map(|url| user.client().request(method.clone(), url.clone()));
        Request {
            user,
            method,
            url,
            name: None,
            builder,
        }
    }

    fn map(mut self, f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> Self {
        self.builder = self.builder.map(f);
        self
    }

    /// The name the request is reported under, for URLs that carry ids (`/apps/{id}`).
    /// Defaults to the URL's path.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn header<K, V>(self, key: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.map(|b| b.header(key, value))
    }

    pub fn headers(self, headers: HeaderMap) -> Self {
        self.map(|b| b.headers(headers))
    }

    pub fn query<T: Serialize + ?Sized>(self, query: &T) -> Self {
        self.map(|b| b.query(query))
    }

    pub fn json<T: Serialize + ?Sized>(self, body: &T) -> Self {
        self.map(|b| b.json(body))
    }

    pub fn form<T: Serialize + ?Sized>(self, form: &T) -> Self {
        self.map(|b| b.form(form))
    }

    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        self.map(|b| b.body(body))
    }

    pub fn bearer_auth(self, token: impl std::fmt::Display) -> Self {
        self.map(|b| b.bearer_auth(token))
    }

    pub fn basic_auth(
        self,
        user: impl std::fmt::Display,
        password: Option<impl std::fmt::Display>,
    ) -> Self {
        self.map(|b| b.basic_auth(user, password))
    }

    pub fn timeout(self, timeout: std::time::Duration) -> Self {
        self.map(|b| b.timeout(timeout))
    }

    /// Sends the request and records it: a transport error or a status >= 400 is a failure.
    ///
    /// # Errors
    /// A transport error (the failure is recorded first). A status >= 400 is *not* an error
    /// here; call [`Response::error_for_status`] to make it one.
    pub async fn send(self) -> Result<Response, RequestError> {
        let caught = self.catch_response().await?;
        Ok(caught.finish_default())
    }

    /// Sends the request without recording it yet: mark the returned response
    /// [`success`](CaughtResponse::success) or [`failure`](CaughtResponse::failure) after
    /// looking at it (Locust's `catch_response=True`). Unmarked, it is judged by its status
    /// when dropped.
    ///
    /// # Errors
    /// A transport error, which is recorded as a failure.
    pub async fn catch_response(self) -> Result<CaughtResponse<'u>, RequestError> {
        let url = self.url?;
        let builder = self
            .builder
            .expect("a builder exists whenever the URL resolved");
        let name = self.name.unwrap_or_else(|| url.path().to_owned());
        let user = self.user;
        let recorder = &user.ctx.recorder;
        if !recorder.reserve_request() {
            user.ctx.stop.cancel();
            return Err(RequestError::LimitReached);
        }
        let started = Instant::now();
        let outcome = match builder.send().await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                response.bytes().await.map(|body| (status, headers, body))
            }
            Err(error) => Err(error),
        };
        let micros = elapsed_micros(started);
        match outcome {
            Ok((status, headers, body)) => Ok(CaughtResponse {
                user,
                name,
                micros,
                verdict: None,
                response: Some(Response {
                    method: self.method,
                    url,
                    status,
                    headers,
                    body,
                    micros,
                }),
            }),
            Err(error) => {
                let error = error.without_url();
                let message = error_chain(&error);
                let sample = Sample {
                    kind: self.method.as_str(),
                    name: &name,
                    micros,
                    content_bytes: 0,
                };
                let failure_sample = FailureSample {
                    url: Some(url.to_string()),
                    status: None,
                    body: None,
                };
                recorder.failure(user.shard(), sample, message.clone(), Some(failure_sample));
                Err(RequestError::Transport {
                    method: self.method,
                    url: Box::new(url),
                    message,
                    source: error,
                })
            }
        }
    }
}

/// A response whose body has been read.
#[derive(Debug, Clone)]
pub struct Response {
    method: Method,
    url: Url,
    status: StatusCode,
    headers: HeaderMap,
    body: bytes::Bytes,
    micros: u64,
}

impl Response {
    pub fn status(&self) -> StatusCode {
        self.status
    }
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    pub fn url(&self) -> &Url {
        &self.url
    }
    /// The response time as recorded, in microseconds.
    pub fn elapsed_micros(&self) -> u64 {
        self.micros
    }
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Parses the body as JSON.
    ///
    /// # Errors
    /// When the body is not JSON of type `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, RequestError> {
        serde_json::from_slice(&self.body).map_err(|source| RequestError::Decode {
            method: self.method.clone(),
            url: Box::new(self.url.clone()),
            source,
        })
    }

    /// `Err` for a status >= 400, so `?` ends the task.
    ///
    /// # Errors
    /// When the status is a client or server error.
    pub fn error_for_status(self) -> Result<Self, RequestError> {
        if self.status.is_client_error() || self.status.is_server_error() {
            Err(RequestError::Status {
                body: snippet(&self.body),
                method: self.method,
                url: Box::new(self.url),
                status: self.status,
            })
        } else {
            Ok(self)
        }
    }
}

/// A response not yet recorded; see [`Request::catch_response`].
#[must_use = "mark it success() or failure(); dropped, it is judged by its status"]
pub struct CaughtResponse<'u> {
    user: &'u User,
    name: String,
    micros: u64,
    verdict: Option<Result<(), String>>,
    /// Taken out when the verdict is recorded.
    response: Option<Response>,
}

impl CaughtResponse<'_> {
    /// Records the request as a success, whatever its status.
    pub fn success(mut self) -> Response {
        self.verdict = Some(Ok(()));
        self.take()
    }

    /// Records the request as a failure with `message` (grouped by it in the report).
    pub fn failure(mut self, message: impl Into<String>) -> Response {
        self.verdict = Some(Err(message.into()));
        self.take()
    }

    fn finish_default(self) -> Response {
        self.take()
    }

    fn take(mut self) -> Response {
        self.record();
        self.response.take().expect("the response is taken once")
    }

    fn default_verdict(response: &Response) -> Result<(), String> {
        let status = response.status;
        if status.is_client_error() || status.is_server_error() {
            Err(format!("HTTP {status}"))
        } else {
            Ok(())
        }
    }

    /// Records the verdict; the response is taken right after, so this runs once.
    fn record(&mut self) {
        let Some(response) = self.response.as_ref() else {
            return;
        };
        let verdict = self
            .verdict
            .take()
            .unwrap_or_else(|| Self::default_verdict(response));
        let sample = Sample {
            kind: response.method.as_str(),
            name: &self.name,
            micros: self.micros,
            content_bytes: response.body.len() as u64,
        };
        let recorder = &self.user.ctx.recorder;
        match verdict {
            Ok(()) => recorder.success(self.user.shard(), sample),
            Err(error) => {
                let failure = FailureSample {
                    url: Some(response.url.to_string()),
                    status: Some(response.status.as_u16()),
                    body: Some(snippet(&response.body)),
                };
                recorder.failure(self.user.shard(), sample, error, Some(failure));
            }
        }
    }
}

impl std::ops::Deref for CaughtResponse<'_> {
    type Target = Response;
    fn deref(&self) -> &Response {
        self.response
            .as_ref()
            .expect("present until the verdict is recorded")
    }
}

impl Drop for CaughtResponse<'_> {
    fn drop(&mut self) {
        self.record();
    }
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

mod bytes_text {
    /// How much of a body a failure sample keeps.
    const SNIPPET_BYTES: usize = 512;

    pub fn snippet(body: &[u8]) -> String {
        let end = body.len().min(SNIPPET_BYTES);
        String::from_utf8_lossy(&body[..end]).into_owned()
    }
}
