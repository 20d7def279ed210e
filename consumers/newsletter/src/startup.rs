//! Builds the app from its settings and serves it on a listener the caller bound.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::Serve;
use tokio::net::TcpListener;
use tracing::Instrument;

use crate::configuration::Settings;
use crate::db::{self, Database};
use crate::email_client::EmailClient;
use crate::reqwest;
use crate::routes::{confirm, health_check, subscribe};

/// What every handler shares.
pub struct AppState {
    pub db: Database,
    pub email_client: EmailClient,
    /// Where confirmation links point.
    pub base_url: String,
}

/// The running app: await it (or spawn it) to serve.
pub type Server = Serve<TcpListener, Router, Router>;

/// Why the app could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("failed to open the database")]
    Database(#[from] rusqlite::Error),
    #[error("failed to build the mail API client")]
    EmailClient(#[from] reqwest::Error),
}

/// The caller binds `listener`, so tests can ask for port 0 and learn the port before serving.
pub fn run(listener: TcpListener, settings: Settings) -> Result<Server, StartupError> {
    let state = AppState {
        db: Database::new(db::open(&settings.database_path)?),
        email_client: EmailClient::new(&settings.email)?,
        base_url: settings.base_url.trim_end_matches('/').to_owned(),
    };
    let app = Router::new()
        .route("/health_check", get(health_check))
        .route("/subscriptions", post(subscribe))
        .route("/subscriptions/confirm", get(confirm))
        .layer(middleware::from_fn(request_span))
        .with_state(Arc::new(state));
    Ok(axum::serve(listener, app))
}

/// Gives each request a span with an id of its own, so the lines of one request can be told
/// apart when many users' requests interleave in the log.
async fn request_span(request: Request, next: Next) -> Response {
    let span = tracing::info_span!(
        "HTTP request",
        request_id = %format_args!("{:016x}", rand::random::<u64>()),
        method = %request.method(),
        path = request.uri().path(),
    );
    async move {
        let response = next.run(request).await;
        tracing::info!(status = response.status().as_u16(), "Request finished");
        response
    }
    .instrument(span)
    .await
}
