//! Timed HTTP requests: a builder in the style of reqwest's, sent on the user's session
//! (`crate::http::session`) with its cookies, redirects followed, and recorded into the trial's
//! statistics. The response comes back with its body read, so the time includes the download,
//! as a user feels it.

use std::time::{Duration, Instant};

use bytes::Bytes;
pub(crate) use bytes_text::snippet;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use crate::http::error::RequestError;
pub(crate) use crate::http::error::{Fetched, error_chain, redact};
use crate::http::session::Session;
use crate::stats::{CutOff, FailureSample, Sample};
use crate::user::{TrialContext, User, elapsed_micros};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How many redirects a request follows before the last one is its response.
const MAX_REDIRECTS: usize = 10;

/// The failure sample's URL: redacted and at most this long.
const MAX_SAMPLE_URL: usize = 512;

pub(crate) fn sample_url(url: &Url) -> String {
    let mut text = redact(url);
    if text.len() > MAX_SAMPLE_URL {
        let mut end = MAX_SAMPLE_URL;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Records a request (or a measured operation) cut off before it completed (the trial
/// stopped, or the task dropped it) unless it is disarmed first.
pub(crate) struct InFlight<'a> {
    ctx: &'a TrialContext,
    shard: usize,
    kind: &'a str,
    name: &'a str,
    armed: bool,
    /// When it started: its age, if it is cut off at the stop, tells a stall from a late start.
    started: Instant,
}

impl<'a> InFlight<'a> {
    /// A request (or measured operation) about to start, if the run's request limit
    /// (`PT_NUM_REQUESTS`) has room for it. When it has none: the trial stops and the user
    /// is parked (`parked`, the user's token, ends the task it runs without recording it,
    /// whatever the task does with the error), and `None` is returned.
    pub(crate) fn admit(
        ctx: &'a TrialContext,
        shard: usize,
        parked: &CancellationToken,
        kind: &'a str,
        name: &'a str,
    ) -> Option<Self> {
        if !ctx.recorder.reserve_request() {
            ctx.stop.cancel();
            parked.cancel();
            return None;
        }
        Some(InFlight {
            ctx,
            shard,
            kind,
            name,
            armed: true,
            started: Instant::now(),
        })
    }

    /// When it started (the request's own clock: callers time from here).
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// It completed: nothing to record here.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.armed {
            let reason = if self.ctx.kill.is_cancelled() {
                self.ctx.recorder.cut_off_at_stop(self.started.elapsed());
                CutOff::AtStop
            } else {
                CutOff::ByTask
            };
            self.ctx
                .recorder
                .cancelled(self.shard, self.kind, self.name, reason);
        }
    }
}

const USER_AGENT: &str = concat!("swarm-harness/", env!("CARGO_PKG_VERSION"));

/// A request being built. Send it with [`Request::send`] (recorded at once, a status >= 400
/// counting as a failure) or [`Request::catch_response`] (you decide).
#[must_use = "a request does nothing until it is sent"]
pub struct Request<'u> {
    user: &'u User,
    method: Method,
    url: Result<Url, RequestError>,
    name: Option<String>,
    headers: HeaderMap,
    body: Option<Bytes>,
    timeout: Option<Duration>,
    /// The first thing that went wrong while building, reported when sending.
    invalid: Option<String>,
}

impl<'u> Request<'u> {
    pub(crate) fn new(user: &'u User, method: Method, url: &str) -> Self {
        Request {
            user,
            method,
            url: user.resolve(url),
            name: None,
            headers: HeaderMap::new(),
            body: None,
            timeout: None,
            invalid: None,
        }
    }

    fn invalid(mut self, message: String) -> Self {
        self.invalid.get_or_insert(message);
        self
    }

    /// The name the request is reported under, for URLs that carry ids (`/apps/{id}`).
    /// Defaults to the URL's path.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub fn header<K, V>(mut self, key: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: std::fmt::Display,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: std::fmt::Display,
    {
        match (HeaderName::try_from(key), HeaderValue::try_from(value)) {
            (Ok(key), Ok(value)) => {
                self.headers.append(key, value);
                self
            }
            (Err(error), _) => self.invalid(format!("invalid header name: {error}")),
            (_, Err(error)) => self.invalid(format!("invalid header value: {error}")),
        }
    }

    pub fn headers(mut self, headers: HeaderMap) -> Self {
        self.headers.extend(headers);
        self
    }

    /// Appends URL-encoded query parameters, such as `&[("org_id", id)]`.
    pub fn query<T: Serialize + ?Sized>(mut self, query: &T) -> Self {
        match (serde_urlencoded::to_string(query), &mut self.url) {
            (Ok(encoded), Ok(url)) => {
                if !encoded.is_empty() {
                    let joined = match url.query() {
                        Some(existing) if !existing.is_empty() => format!("{existing}&{encoded}"),
                        _ => encoded,
                    };
                    url.set_query(Some(&joined));
                }
                self
            }
            (Err(error), _) => self.invalid(format!("query cannot be encoded: {error}")),
            (_, Err(_)) => self,
        }
    }

    /// A JSON body (and `content-type: application/json`).
    pub fn json<T: Serialize + ?Sized>(self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.with_body(bytes.into(), "application/json"),
            Err(error) => self.invalid(format!("body cannot be serialized as JSON: {error}")),
        }
    }

    /// A form body (and `content-type: application/x-www-form-urlencoded`).
    pub fn form<T: Serialize + ?Sized>(self, form: &T) -> Self {
        match serde_urlencoded::to_string(form) {
            Ok(text) => self.with_body(text.into(), "application/x-www-form-urlencoded"),
            Err(error) => self.invalid(format!("form cannot be encoded: {error}")),
        }
    }

    fn with_body(mut self, body: Bytes, content_type: &'static str) -> Self {
        self.headers
            .entry(header::CONTENT_TYPE)
            .or_insert(HeaderValue::from_static(content_type));
        self.body = Some(body);
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub fn bearer_auth(self, token: impl std::fmt::Display) -> Self {
        self.sensitive(header::AUTHORIZATION, format!("Bearer {token}"))
    }

    pub fn basic_auth(
        self,
        user: impl std::fmt::Display,
        password: Option<impl std::fmt::Display>,
    ) -> Self {
        let password = password.map(|p| p.to_string()).unwrap_or_default();
        self.sensitive(
            header::AUTHORIZATION,
            basic_credentials(&user.to_string(), &password),
        )
    }

    fn sensitive(mut self, key: HeaderName, value: String) -> Self {
        match HeaderValue::try_from(value) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.headers.insert(key, value);
                self
            }
            Err(error) => self.invalid(format!("invalid header value: {error}")),
        }
    }

    /// Fails the request (as a transport error) when it takes longer, redirects included;
    /// without it, `PT_REQUEST_TIMEOUT` (60 s) applies.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends the request and records it: a transport error or a status >= 400 is a failure.
    ///
    /// # Errors
    /// A transport error (the failure is recorded first). A status >= 400 is *not* an error
    /// here; call [`Response::error_for_status`] to make it one.
    pub async fn send(self) -> Result<Response, RequestError> {
        let caught = self.catch_response().await?;
        Ok(caught.finish())
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
        if let Some(message) = self.invalid {
            return Err(RequestError::Build { message });
        }
        let name = self.name.unwrap_or_else(|| self.user.default_name(&url));
        let session = self.user.session();
        let limit = self.timeout.unwrap_or(session.timeout);
        let exchange = Exchange {
            session,
            method: self.method.clone(),
            url: url.clone(),
            headers: self.headers,
            body: self.body,
        };
        perform(self.user, self.method, url, name, limit, exchange.run()).await
    }
}

/// Sends a request through `exchange` and records it: the request limit, the in-flight guard,
/// the timeout, a transport failure; the response comes back to be judged. Shared by the
/// native builder and requests built with the team's own reqwest client (`User::send`).
pub(crate) async fn perform<'u>(
    user: &'u User,
    method: Method,
    url: Url,
    name: String,
    limit: Duration,
    exchange: impl std::future::Future<Output = Result<Fetched, BoxError>>,
) -> Result<CaughtResponse<'u>, RequestError> {
    let Some(in_flight) = InFlight::admit(
        &user.ctx,
        user.shard(),
        user.parked(),
        method.as_str(),
        &name,
    ) else {
        return Err(RequestError::LimitReached);
    };
    let started = in_flight.started();
    let outcome = tokio::time::timeout(limit, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("timed out after {limit:?}").into()));
    let micros = elapsed_micros(started);
    in_flight.disarm();
    match outcome {
        Ok(fetched) => Ok(CaughtResponse {
            user,
            name,
            micros,
            verdict: None,
            response: Some(Response {
                method,
                url: fetched.url,
                status: fetched.status,
                headers: fetched.headers,
                body: fetched.body,
                body_len: fetched.body_len,
                truncated: fetched.truncated,
                micros,
                name: String::new(),
            }),
        }),
        Err(error) => {
            let message = error_chain(error.as_ref());
            let sample = Sample {
                kind: method.as_str(),
                name: &name,
                micros,
                content_bytes: 0,
            };
            let failure_sample = FailureSample {
                url: Some(sample_url(&url)),
                status: None,
                body: None,
            };
            user.ctx
                .recorder
                .failure(user.shard(), sample, message.clone(), Some(failure_sample));
            Err(RequestError::Transport {
                method,
                url: Box::new(url),
                message,
                source: error,
            })
        }
    }
}

/// One request on a session, its redirects followed and its cookies kept.
struct Exchange<'s> {
    session: &'s Session,
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Bytes>,
}

impl Exchange<'_> {
    async fn run(mut self) -> Result<Fetched, BoxError> {
        for _ in 0..=MAX_REDIRECTS {
            let headers = self.request_headers()?;
            let body = self.body.as_deref().unwrap_or_default();
            let response = self
                .session
                .transport
                .send(&self.method, &self.url, &headers, body)
                .await?;
            self.keep_cookies(&response.headers);
            match self.redirect_target(response.status, &response.headers) {
                Some(next) => self.follow(response.status, next),
                None => {
                    return Ok(Fetched {
                        url: self.url,
                        status: response.status,
                        headers: response.headers,
                        body: response.body,
                        body_len: response.body_len,
                        truncated: response.truncated,
                    });
                }
            }
        }
        Err(format!("more than {MAX_REDIRECTS} redirects").into())
    }

    /// The request's headers with the defaults and this session's cookies for the URL.
    fn request_headers(&self) -> Result<HeaderMap, BoxError> {
        let mut headers = self.headers.clone();
        headers
            .entry(header::USER_AGENT)
            .or_insert(HeaderValue::from_static(USER_AGENT));
        headers
            .entry(header::ACCEPT)
            .or_insert(HeaderValue::from_static("*/*"));
        if !self.url.username().is_empty() && !headers.contains_key(header::AUTHORIZATION) {
            // Credentials in the URL (`PT_HOST=https://user:pw@host`) as basic auth, as curl
            // and reqwest send them; they are never shown (see `redact`).
            headers.insert(header::AUTHORIZATION, userinfo_auth(&self.url)?);
        }
        let jar = self
            .session
            .cookies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut cookies = jar.get_request_values(&self.url).peekable();
        // A `Cookie` set by hand is sent as it is, instead of the jar's: what Python's requests
        // (so Locust) and reqwest do, and how a test leaves its session cookie out on purpose.
        if cookies.peek().is_some() && !headers.contains_key(header::COOKIE) {
            let value = cookies
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            drop(jar);
            headers.insert(header::COOKIE, HeaderValue::try_from(value)?);
        }
        Ok(headers)
    }

    fn keep_cookies(&self, headers: &HeaderMap) {
        let mut set = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|text| cookie_store::RawCookie::parse(text.to_owned()).ok())
            .peekable();
        if set.peek().is_some() {
            let mut jar = self
                .session
                .cookies
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let dropped = crate::http::session::store_cookies(&mut jar, set, &self.url);
            drop(jar);
            if dropped > 0 {
                warn_cookies_dropped(dropped);
            }
        }
    }

    fn redirect_target(&self, status: StatusCode, headers: &HeaderMap) -> Option<Url> {
        if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
            return None;
        }
        let location = headers.get(header::LOCATION)?.to_str().ok()?;
        self.url.join(location).ok()
    }

    /// The next hop: 303 (and 301/302 after a POST, as browsers do) become a GET without a
    /// body; 307 and 308 repeat the request. Credentials do not follow to another origin
    /// (scheme, host or port): `Authorization`, `Proxy-Authorization` and a `Cookie` set by
    /// hand are removed (the jar still sends the new origin's own cookies).
    fn follow(&mut self, status: StatusCode, next: Url) {
        let becomes_get = status == StatusCode::SEE_OTHER
            || ((status == StatusCode::MOVED_PERMANENTLY || status == StatusCode::FOUND)
                && self.method == Method::POST);
        if becomes_get {
            if self.method != Method::HEAD {
                self.method = Method::GET;
            }
            self.body = None;
            self.headers.remove(header::CONTENT_TYPE);
            self.headers.remove(header::CONTENT_LENGTH);
        }
        if next.origin() != self.url.origin() {
            for name in [
                header::AUTHORIZATION,
                header::PROXY_AUTHORIZATION,
                header::COOKIE,
                HeaderName::from_static("cookie2"),
                header::WWW_AUTHENTICATE,
            ] {
                self.headers.remove(name);
            }
        }
        self.url = next;
    }
}

/// The `Authorization` value of basic auth (RFC 7617).
fn basic_credentials(user: &str, password: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// Basic auth from a URL's user name and password (percent-decoded, as they are written).
fn userinfo_auth(url: &Url) -> Result<HeaderValue, BoxError> {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials = basic_credentials(
        &decode(url.username()),
        &decode(url.password().unwrap_or_default()),
    );
    let mut value = HeaderValue::try_from(credentials)?;
    value.set_sensitive(true);
    Ok(value)
}

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
    /// The response's status, to decide on.
    pub fn status(&self) -> StatusCode {
        self.response.as_ref().map_or(StatusCode::OK, |r| r.status)
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
        let verdict = self
            .verdict
            .take()
            .unwrap_or_else(|| Self::default_verdict(response));
        let sample = Sample {
            kind: response.method.as_str(),
            name: &self.name,
            micros: self.micros,
            content_bytes: response.body_len,
        };
        let recorder = &self.user.ctx.recorder;
        match verdict {
            Ok(()) => recorder.success(self.user.shard(), sample),
            Err(error) => {
                let failure = FailureSample {
                    url: Some(sample_url(&response.url)),
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

mod bytes_text {
    /// How much of a body a failure sample keeps.
    const SNIPPET_BYTES: usize = 512;

    pub fn snippet(body: &[u8]) -> String {
        let end = body.len().min(SNIPPET_BYTES);
        String::from_utf8_lossy(&body[..end]).into_owned()
    }
}

/// Says once per process that a jar was full: the cap guards against a hostile or buggy
/// target, and one line is enough to name it.
fn warn_cookies_dropped(dropped: usize) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        crate::logging::warning!(
            "a user's cookie jar is full ({} cookies): {dropped} new cookie(s) from the target \
             were dropped, and later ones will be too (said once)",
            crate::http::session::MAX_COOKIES
        );
    }
}

#[cfg(test)]
mod cookie_tests {
    use super::*;

    #[test]
    fn a_jar_holds_at_most_max_cookies_and_still_updates_the_ones_it_has() {
        let url: Url = "http://127.0.0.1:1/".parse().unwrap();
        let mut jar = cookie_store::CookieStore::default();
        let set = |text: String| cookie_store::RawCookie::parse(text).unwrap();
        let dropped = crate::http::session::store_cookies(
            &mut jar,
            (0..crate::http::session::MAX_COOKIES + 50).map(|i| set(format!("c{i}=v"))),
            &url,
        );
        assert_eq!(dropped, 50);
        assert_eq!(jar.iter_any().count(), crate::http::session::MAX_COOKIES);
        // A kept cookie still changes when the jar is full.
        let dropped =
            crate::http::session::store_cookies(&mut jar, [set("c0=new".into())].into_iter(), &url);
        assert_eq!(dropped, 0);
        assert_eq!(jar.get("127.0.0.1", "/", "c0").unwrap().value(), "new");
        // Deleted cookies do not hold places: a target that sets and deletes a fresh nonce
        // per login never fills the jar.
        let deleted =
            (0..crate::http::session::MAX_COOKIES).map(|i| set(format!("c{i}=; Max-Age=0")));
        assert_eq!(
            crate::http::session::store_cookies(&mut jar, deleted, &url),
            0
        );
        let fresh = (0..10).map(|i| set(format!("nonce{i}=v")));
        assert_eq!(
            crate::http::session::store_cookies(&mut jar, fresh, &url),
            0
        );
        assert_eq!(jar.iter_unexpired().count(), 10);
        // A cookie larger than a browser keeps (4096 bytes) is dropped.
        let huge = set(format!("big={}", "x".repeat(5000)));
        assert_eq!(
            crate::http::session::store_cookies(&mut jar, [huge].into_iter(), &url),
            1
        );
    }
}
