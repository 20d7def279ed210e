//! Sending and recording one request: the request limit and the in-flight guard (a request cut
//! off before it completed is still recorded), the timeout, a transport failure, and the hops
//! on the user's session: redirects followed, cookies sent and kept, the default headers.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::builder::basic_credentials;
use super::response::{CaughtResponse, Response};
use super::{Fetched, Marked, RequestError, error_chain, sample_url};
use crate::http::session::Session;
use crate::stats::{CutOff, FailureSample, Sample, Tapped};
use crate::user::{TrialContext, User, elapsed_micros};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How many redirects a request follows before the last one is its response.
const MAX_REDIRECTS: usize = 10;

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

/// Sends a request through `exchange` and records it: the request limit, the in-flight guard,
/// the timeout, a transport failure; the response comes back to be judged. Shared by the
/// native builder and requests built with the team's own reqwest client (`User::send`).
pub(crate) async fn perform<'u>(
    user: &'u User,
    (method, url, name, limit): (Method, Url, String, Duration),
    mut marked: Marked,
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
        Ok(fetched) => Ok(CaughtResponse::new(
            user,
            name,
            (started, micros),
            Response::fetched(method, fetched, micros),
            marked,
        )),
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
            let failure = Some((message.clone(), Some(failure_sample)));
            marked.no_response();
            if let Some((tap, origin)) = user.request_tap() {
                let tapped = Tapped {
                    kind: sample.kind,
                    name: sample.name,
                    started,
                    micros,
                    bytes: 0,
                    status: None,
                    error: Some(&message),
                    tags: &marked.tags,
                };
                tap.push(origin, tapped);
            }
            user.ctx
                .recorder
                .marked(user.shard(), sample, failure, marked.marks());
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
pub(super) struct Exchange<'s> {
    pub(super) session: &'s Session,
    pub(super) method: Method,
    pub(super) url: Url,
    pub(super) headers: HeaderMap,
    pub(super) body: Option<Bytes>,
}

impl Exchange<'_> {
    pub(super) async fn run(mut self) -> Result<Fetched, BoxError> {
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
