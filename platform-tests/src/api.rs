//! The platform's API client as a team writes it for its own integration tests: on
//! `reqwest_middleware`, one method per endpoint, JSON bodies, errors as [`ApiError`], its own
//! login. It knows nothing of swarm-harness: a stress run hands it a `ClientWithMiddleware`
//! that also carries `SwarmMiddleware` (see `scenarios::Tenant`), and every call becomes a row
//! of the report.

use reqwest::{Method, StatusCode};
use reqwest_middleware::{ClientWithMiddleware, RequestBuilder};
use serde::de::DeserializeOwned;
use serde_json::json;
use url::Url;

use crate::service::{App, CounterSnapshot, Org, Service};

/// What a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{method} {path}: HTTP {status}: {body}")]
    Status {
        method: Method,
        path: String,
        status: StatusCode,
        body: String,
    },
    #[error("request failed: {0}")]
    Request(#[from] reqwest_middleware::Error),
    #[error("response body: {0}")]
    Body(#[from] reqwest::Error),
    #[error("building the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("invalid URL: {0}")]
    Url(#[from] url::ParseError),
}

/// A client of the platform's API, with the session of whoever logged in through it.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: ClientWithMiddleware,
    base: Url,
}

impl ApiClient {
    /// A client over `http` (which must keep cookies: the session is a cookie) for the
    /// platform at `base`.
    pub fn new(http: ClientWithMiddleware, base: Url) -> Self {
        ApiClient { http, base }
    }

    /// A client of its own, with a cookie jar, for the platform at `base`.
    ///
    /// # Errors
    /// When `base` is not a URL, or no TLS backend is available.
    pub fn connect(base: &str) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .map_err(ApiError::Client)?;
        Ok(ApiClient::new(http.into(), Url::parse(base)?))
    }

    /// Logs in with a form; the session cookie stays in the client's jar.
    pub async fn login(&self, username: &str, password: &str) -> Result<(), ApiError> {
        self.send(Method::POST, "/login", |r| {
            r.form(&[("username", username), ("password", password)])
        })
        .await
        .map(drop)
    }

    pub async fn catalog(&self) -> Result<Vec<Service>, ApiError> {
        self.json(Method::GET, "/api/catalog", |r| r).await
    }

    pub async fn list_apps(&self, org_id: &str) -> Result<Vec<App>, ApiError> {
        self.json(Method::GET, "/api/apps", |r| r.query(&[("org_id", org_id)]))
            .await
    }

    pub async fn create_app(&self, org_id: &str, name: &str, size: &str) -> Result<App, ApiError> {
        let body = json!({ "org_id": org_id, "name": name, "size": size });
        self.json(Method::POST, "/api/apps", |r| r.json(&body))
            .await
    }

    pub async fn get_app(&self, id: &str) -> Result<App, ApiError> {
        self.json(Method::GET, &format!("/api/apps/{id}"), |r| r)
            .await
    }

    pub async fn delete_app(&self, id: &str) -> Result<(), ApiError> {
        self.send(Method::DELETE, &format!("/api/apps/{id}"), |r| r)
            .await
            .map(drop)
    }

    /// Creates an organization (an admin call).
    pub async fn create_org(&self, admin_token: &str, name: &str) -> Result<Org, ApiError> {
        let body = json!({ "name": name });
        self.json(Method::POST, "/api/orgs", |r| {
            r.header("x-admin-token", admin_token).json(&body)
        })
        .await
    }

    /// What the platform counted about itself.
    pub async fn stats(&self) -> Result<CounterSnapshot, ApiError> {
        self.json(Method::GET, "/api/stats", |r| r).await
    }

    /// Sends `method path` with what `build` adds; a status >= 400 is an error carrying the
    /// body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<reqwest::Response, ApiError> {
        let url = self.base.join(path)?;
        let response = build(self.http.request(method.clone(), url)).send().await?;
        let status = response.status();
        if status.is_client_error() || status.is_server_error() {
            let body = response.text().await.unwrap_or_default();
            return Err(ApiError::Status {
                method,
                path: path.to_owned(),
                status,
                body,
            });
        }
        Ok(response)
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<T, ApiError> {
        Ok(self.send(method, path, build).await?.json().await?)
    }
}
