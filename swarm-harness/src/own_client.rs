//! The team's own reqwest clients in a stress run: [`User::reqwest`] gives each simulated user
//! a `reqwest::Client` of its own (own cookie jar and connections, the process's TLS
//! configuration with `PT_CA_CERT`, `PT_REQUEST_TIMEOUT`), and [`User::send`] times a request
//! built with any reqwest client into the same statistics as native requests: the same
//! failure rules, names, `catch_response`, content size, and redirects counted once (reqwest
//! follows them inside the one request).

use std::future::IntoFuture;
use std::pin::Pin;

use crate::User;
use crate::request::{CaughtResponse, Fetched, RequestError, Response, perform};
use crate::transport::read_body;

impl User {
    /// This user's own `reqwest::Client`, built on first use: its own cookie jar and
    /// connections, HTTP/2 where the server offers it, proxies from the environment. Join
    /// paths to the target with [`User::url`]; send through [`User::send`] to time requests.
    pub fn reqwest(&mut self) -> reqwest::Client {
        if self.own_client.is_none() {
            self.own_client = Some(self.ctx.clients.own_reqwest_client());
        }
        self.own_client.clone().expect("built above")
    }

    /// `path` joined to the target's base URL (`PT_HOST`), for clients that need absolute
    /// URLs.
    ///
    /// # Errors
    /// When there is no base URL and `path` is not absolute, or it does not join.
    pub fn url(&self, path: &str) -> Result<url::Url, RequestError> {
        self.resolve(path)
    }

    /// Sends a request built with a reqwest client and records it like a native one: named
    /// by its path unless [`SendReqwest::name`] says otherwise, a status >= 400 a failure.
    /// Await it for the [`Response`], or call [`SendReqwest::catch_response`] to judge it.
    ///
    /// ```no_run
    /// # async fn f(user: &mut swarm_harness::User) -> anyhow::Result<()> {
    /// let client = user.reqwest();
    /// let url = user.url("/api/apps")?;
    /// user.send(client.post(url).json(&serde_json::json!({ "size": "small" })))
    ///     .name("/api/apps")
    ///     .await?
    ///     .error_for_status()?;
    /// # Ok(()) }
    /// ```
    pub fn send(&self, request: reqwest::RequestBuilder) -> SendReqwest<'_> {
        SendReqwest {
            user: self,
            request,
            name: None,
        }
    }
}

/// A reqwest request on its way through [`User::send`].
#[must_use = "a request does nothing until it is awaited"]
pub struct SendReqwest<'u> {
    user: &'u User,
    request: reqwest::RequestBuilder,
    name: Option<String>,
}

impl<'u> SendReqwest<'u> {
    /// The name it is reported under (`/api/apps/{id}`), instead of its path.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sends it without recording it yet (Locust's `catch_response=True`): mark the response
    /// a success or failure after looking at it.
    ///
    /// # Errors
    /// The request could not be built, or a transport error (recorded as a failure).
    pub async fn catch_response(self) -> Result<CaughtResponse<'u>, RequestError> {
        let (client, request) = self.request.build_split();
        let request = request.map_err(|error| RequestError::Build {
            message: crate::request::error_chain(&error),
        })?;
        let method = request.method().clone();
        let url = request.url().clone();
        let name = self.name.unwrap_or_else(|| self.user.default_name(&url));
        let max_body = self.user.ctx.clients.max_body();
        let limit = request
            .timeout()
            .copied()
            .unwrap_or(self.user.session().timeout);
        let exchange = async move {
            let response = client.execute(request).await?;
            let url = response.url().clone();
            let received = read_body(response, max_body).await?;
            Ok(Fetched {
                url,
                status: received.status,
                headers: received.headers,
                body: received.body.into(),
                body_len: received.body_len,
                truncated: received.truncated,
            })
        };
        perform(self.user, method, url, name, limit, exchange).await
    }

    async fn send(self) -> Result<Response, RequestError> {
        Ok(self.catch_response().await?.finish())
    }
}

impl<'u> IntoFuture for SendReqwest<'u> {
    type Output = Result<Response, RequestError>;
    type IntoFuture = Pin<Box<dyn std::future::Future<Output = Self::Output> + Send + 'u>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
