//! The team's own reqwest clients in a stress run: [`User::reqwest`] gives each simulated user
//! a reqwest client of its own (own cookie jar and connections, the process's TLS
//! configuration with `PT_CA_CERT`, `PT_REQUEST_TIMEOUT`), and [`User::send`] times a request
//! built with any reqwest client, 0.12 or 0.13 ([`ReqwestRequest`]), into the same statistics
//! as native requests: the same failure rules, names, `catch_response`, content size, and
//! redirects counted once (reqwest follows them inside the one request).

use std::any::Any;
use std::future::IntoFuture;
use std::pin::Pin;

use crate::User;
use crate::http::reqwest_versions::{ReqwestClient, ReqwestRequest};
use crate::user::request::{CaughtResponse, RequestError, Response, perform};

impl User {
    /// This user's own reqwest client (0.13's or 0.12's, as the type asked for says), built
    /// on first use: its own cookie jar and connections, HTTP/2 where the server offers it,
    /// proxies from the environment, then the changes of
    /// [`Harness::reqwest_client`](crate::Harness::reqwest_client). Join paths to the target with [`User::url`]; send through [`User::send`] to
    /// time requests.
    ///
    /// ```no_run
    /// # use swarm_harness::reqwest_0_13 as reqwest;
    /// # fn f(user: &mut swarm_harness::User) {
    /// let client: reqwest::Client = user.reqwest();
    /// # }
    /// ```
    pub fn reqwest<C: ReqwestClient>(&mut self) -> C {
        if let Some(client) = self.own_clients.iter().find_map(|c| c.downcast_ref::<C>()) {
            return client.clone();
        }
        let client = C::own(&self.ctx.clients);
        self.own_clients
            .push(Box::new(client.clone()) as Box<dyn Any + Send + Sync>);
        client
    }

    /// `path` joined to the target's base URL (`PT_HOST`), for clients that need absolute
    /// URLs.
    ///
    /// # Errors
    /// When there is no base URL and `path` is not absolute, or it does not join.
    pub fn url(&self, path: &str) -> Result<url::Url, RequestError> {
        self.resolve(path)
    }

    /// Sends a request built with a reqwest client (0.12 or 0.13: the team's own, or
    /// [`User::reqwest`]) and records it like a native one: named by its path unless
    /// [`SendReqwest::name`] says otherwise, a status >= 400 a failure. Await it for the
    /// [`Response`], or call [`SendReqwest::catch_response`] to judge it.
    ///
    /// ```no_run
    /// # use swarm_harness::reqwest_0_13 as reqwest;
    /// # async fn f(user: &mut swarm_harness::User) -> anyhow::Result<()> {
    /// let client: reqwest::Client = user.reqwest();
    /// let url = user.url("/api/apps")?;
    /// user.send(client.post(url).json(&serde_json::json!({ "size": "small" })))
    ///     .name("/api/apps")
    ///     .await?
    ///     .error_for_status()?;
    /// # Ok(()) }
    /// ```
    pub fn send<R: ReqwestRequest>(&self, request: R) -> SendReqwest<'_, R> {
        SendReqwest {
            user: self,
            request,
            name: None,
        }
    }
}

/// A reqwest request on its way through [`User::send`].
#[must_use = "a request does nothing until it is awaited"]
pub struct SendReqwest<'u, R> {
    user: &'u User,
    request: R,
    name: Option<String>,
}

impl<'u, R: ReqwestRequest> SendReqwest<'u, R> {
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
        let prepared = self.request.prepare()?;
        let name = self
            .name
            .unwrap_or_else(|| self.user.default_name(&prepared.url));
        let limit = prepared.timeout.unwrap_or(self.user.session().timeout);
        let exchange = (prepared.exchange)(self.user.ctx.clients.max_body());
        perform(
            self.user,
            (prepared.method, prepared.url, name, limit),
            Default::default(),
            exchange,
        )
        .await
    }

    async fn send(self) -> Result<Response, RequestError> {
        Ok(self.catch_response().await?.finish())
    }
}

impl<'u, R: ReqwestRequest> IntoFuture for SendReqwest<'u, R> {
    type Output = Result<Response, RequestError>;
    type IntoFuture = Pin<Box<dyn std::future::Future<Output = Self::Output> + Send + 'u>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
