//! The request builder: what a scenario sets on a request (name, headers, query, body, auth,
//! timeout), in the style of reqwest's, and the two ways to send it.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use url::Url;

use super::exchange::{Exchange, perform};
use super::response::{CaughtResponse, Response};
use super::{Marked, Predicate, RequestError};
use crate::user::User;

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
    marked: Marked,
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
            marked: Marked::default(),
            invalid: None,
        }
    }

    fn invalid(mut self, message: String) -> Self {
        self.invalid.get_or_insert(message);
        self
    }

    /// The name the request is reported under, for URLs that carry ids (`/apps/{id}`).
    /// Defaults to the URL's path (prefixed with its origin when that is not the target's).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Tags the request (`.tag("kind", "read")`): reports break requests down by tag, and
    /// thresholds select by it (`p95{kind:read} < 200ms`). A key given twice keeps the last
    /// value; keys and values are cut at [`MAX_TAG_LEN`](crate::MAX_TAG_LEN) bytes, and
    /// distinct (key, value) pairs are capped like request names (`PT_MAX_NAMES`).
    pub fn tag(
        mut self,
        key: impl Into<std::borrow::Cow<'static, str>>,
        value: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Self {
        self.marked.tag(key.into(), value.into());
        self
    }

    /// Checks the response with `predicate` when it is recorded (k6's `check`): a pass or a
    /// fail counted under `name`, the request's own verdict unchanged. A request that gets no
    /// response fails its checks.
    /// `.check("status is 201", |r| r.status() == 201)`.
    pub fn check(
        mut self,
        name: impl Into<std::borrow::Cow<'static, str>>,
        predicate: Predicate,
    ) -> Self {
        self.marked.predicates.push((name.into(), predicate));
        self
    }

    /// Adds a header, beside any of the same name. An invalid name or value fails the
    /// request when it is sent ([`RequestError::Build`]).
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

    /// Adds `headers`; a name set already takes the values given here instead.
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

    /// A raw body, sent as is; no `content-type` is set (add one with [`Request::header`]).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets `authorization: Bearer {token}`, marked sensitive.
    pub fn bearer_auth(self, token: impl std::fmt::Display) -> Self {
        self.sensitive(header::AUTHORIZATION, format!("Bearer {token}"))
    }

    /// Sets `authorization: Basic ..` from `user` and `password` (empty when `None`),
    /// marked sensitive.
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

    /// Sends the request as a JSON call (Locust's `rest()`): `accept: application/json`
    /// unless set, the response not yet recorded and its body parsed once, read with
    /// [`CaughtResponse::js`]. Unmarked, it fails when its status is >= 400 or its body is not
    /// JSON; mark it [`failure`](CaughtResponse::failure) on what the JSON says.
    ///
    /// ```no_run
    /// # async fn order(user: &mut swarm_harness::User) -> anyhow::Result<()> {
    /// let resp = user.post("/checkout/confirm").json(&serde_json::json!({ "foo": "bar" })).rest().await?;
    /// if resp.js()["orderId"].is_null() {
    ///     resp.failure("orderId missing");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A transport error, which is recorded as a failure.
    pub async fn rest(mut self) -> Result<CaughtResponse<'u>, RequestError> {
        self.headers
            .entry(header::ACCEPT)
            .or_insert(HeaderValue::from_static("application/json"));
        Ok(self.catch_response().await?.parse_json())
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
        perform(
            self.user,
            (self.method, url, name, limit),
            self.marked,
            exchange.run(),
        )
        .await
    }
}

/// The `Authorization` value of basic auth (RFC 7617).
pub(super) fn basic_credentials(user: &str, password: &str) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}
