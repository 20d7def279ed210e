//! The response of a request, its body read: [`Response`], and [`CaughtResponse`], one not yet
//! recorded, whose verdict the scenario gives (or its status, when it is dropped unmarked).

use http::header::HeaderMap;
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use super::{Fetched, Marked, RequestError, sample_url, snippet};
use crate::stats::{FailureSample, Sample, Tapped};
use crate::user::User;

/// A response whose body has been read.
#[derive(Debug, Clone)]
pub struct Response {
    method: Method,
    url: Url,
    status: StatusCode,
    headers: HeaderMap,
    body: bytes::Bytes,
    /// Body bytes received, kept or not.
    body_len: u64,
    truncated: bool,
    micros: u64,
    /// The name it is reported under, for errors.
    name: String,
}

impl Response {
    /// The response `fetched` for a request of `method`, timed at `micros`.
    pub(super) fn fetched(method: Method, fetched: Fetched, micros: u64) -> Self {
        Response {
            method,
            url: fetched.url,
            status: fetched.status,
            headers: fetched.headers,
            body: fetched.body,
            body_len: fetched.body_len,
            truncated: fetched.truncated,
            micros,
            name: String::new(),
        }
    }

    /// The response's status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The response's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// The URL the response came from, after redirects.
    pub fn url(&self) -> &Url {
        &self.url
    }
    /// The response time as recorded, in microseconds.
    pub fn elapsed_micros(&self) -> u64 {
        self.micros
    }
    /// The body; only its first `PT_MAX_BODY` bytes when [`Response::is_truncated`].
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }
    /// The body as text (lossily decoded); only its first `PT_MAX_BODY` bytes when truncated.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// How many body bytes arrived (after removing chunked framing), kept or not: the
    /// content size reports show.
    pub fn content_length(&self) -> u64 {
        self.body_len
    }
    /// Whether the body was larger than `PT_MAX_BODY` and only its beginning was kept.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Parses the body as JSON.
    ///
    /// # Errors
    /// When the body is not JSON of type `T`, or was truncated at `PT_MAX_BODY`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, RequestError> {
        if self.truncated {
            return Err(RequestError::Truncated {
                method: self.method.clone(),
                url: Box::new(self.url.clone()),
                kept: self.body.len(),
                received: self.body_len,
            });
        }
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
                name: self.name.clone(),
                method: self.method,
                url: Box::new(self.url),
                status: self.status,
            })
        } else {
            Ok(self)
        }
    }
}

/// A response not yet recorded; see [`Request::catch_response`](crate::Request::catch_response).
#[must_use = "mark it success() or failure(); dropped, it is judged by its status"]
pub struct CaughtResponse<'u> {
    user: &'u User,
    name: String,
    /// When it was sent, and how long it took.
    started: std::time::Instant,
    micros: u64,
    verdict: Option<Result<(), String>>,
    /// Taken out when the verdict is recorded.
    response: Option<Response>,
    /// Its tags and checks, recorded with it.
    marked: Marked,
    /// Its body as JSON, for a request sent with [`Request::rest`](crate::Request::rest).
    js: Option<Box<JsonBody>>,
}

/// A `rest()` response's body: the JSON, and why it is not JSON when it is not.
struct JsonBody {
    value: serde_json::Value,
    error: Option<String>,
}

/// What [`CaughtResponse::js`] gives for a body that is not JSON.
static NULL: serde_json::Value = serde_json::Value::Null;

impl<'u> CaughtResponse<'u> {
    /// A response of `user`'s, reported under `name`, sent at `started` and taken `micros`,
    /// its verdict not yet given.
    pub(super) fn new(
        user: &'u User,
        name: String,
        (started, micros): (std::time::Instant, u64),
        response: Response,
        marked: Marked,
    ) -> Self {
        CaughtResponse {
            user,
            name,
            started,
            micros,
            verdict: None,
            response: Some(response),
            marked,
            js: None,
        }
    }

    /// Parses the body as JSON once, for [`CaughtResponse::js`]; a body that is not JSON
    /// makes the request a failure unless the scenario marks it otherwise.
    pub(super) fn parse_json(mut self) -> Self {
        let body = self.response.as_ref().map_or(&[][..], |r| &r.body[..]);
        // No body (a 204, an empty 200) is no JSON and no failure, as with Locust's rest().
        let js = match serde_json::from_slice(body) {
            _ if body.iter().all(u8::is_ascii_whitespace) => JsonBody {
                value: serde_json::Value::Null,
                error: None,
            },
            Ok(value) => JsonBody { value, error: None },
            Err(error) => JsonBody {
                value: serde_json::Value::Null,
                error: Some(format!("response is not JSON: {error}")),
            },
        };
        self.js = Some(Box::new(js));
        self
    }
}

impl CaughtResponse<'_> {
    /// The response's status, to decide on.
    pub fn status(&self) -> StatusCode {
        self.response.as_ref().map_or(StatusCode::OK, |r| r.status)
    }

    /// Counts a check on this response (`"has an id"`), recorded with the request; returns
    /// `pass`. See [`User::check`].
    pub fn check(&mut self, name: impl Into<std::borrow::Cow<'static, str>>, pass: bool) -> bool {
        self.marked.checks.push((name.into(), pass));
        pass
    }

    /// The body as JSON, for a request sent with [`Request::rest`](crate::Request::rest)
    /// (Locust's `resp.js`): `js["error"]`, `js["items"][0]["id"]`. `Null` when the body is
    /// not JSON (the request then fails unless marked a success), empty (which is no
    /// failure), or when the request was not sent with `rest()`.
    pub fn js(&self) -> &serde_json::Value {
        self.js.as_ref().map_or(&NULL, |js| &js.value)
    }

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

    pub(crate) fn finish(self) -> Response {
        self.take()
    }

    fn take(mut self) -> Response {
        self.record();
        let mut response = self.response.take().expect("the response is taken once");
        response.name = std::mem::take(&mut self.name);
        response
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
        let not_json = self.js.as_ref().and_then(|js| js.error.clone());
        let verdict = self.verdict.take().unwrap_or_else(|| {
            Self::default_verdict(response).and_then(|()| not_json.map_or(Ok(()), Err))
        });
        let sample = Sample {
            kind: response.method.as_str(),
            name: &self.name,
            micros: self.micros,
            content_bytes: response.body_len,
        };
        let recorder = &self.user.ctx.recorder;
        let failure = verdict.err().map(|error| {
            let failure = FailureSample {
                url: Some(sample_url(&response.url)),
                status: Some(response.status.as_u16()),
                body: Some(snippet(&response.body)),
            };
            (error, Some(failure))
        });
        self.marked.judge(response);
        if let Some((tap, origin)) = self.user.request_tap() {
            let tapped = Tapped {
                kind: sample.kind,
                name: sample.name,
                started: self.started,
                micros: self.micros,
                bytes: response.body_len,
                status: Some(response.status.as_u16()),
                error: failure.as_ref().map(|(error, _)| error.as_str()),
                tags: &self.marked.tags,
            };
            tap.push(origin, tapped);
        }
        let shard = self.user.shard();
        match failure {
            // The common case keeps its own path: no marks to look at.
            None if self.marked.checks.is_empty() && self.marked.tags.is_empty() => {
                recorder.success(shard, sample)
            }
            failure => recorder.marked(shard, sample, failure, self.marked.marks()),
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
