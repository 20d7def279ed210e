//! The sample platform: an axum service with form login (session cookie), organizations,
//! applications that provision asynchronously, a service catalog and a request counter.

mod counters;
mod handlers;
mod injection;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use counters::{CounterSnapshot, Counters};
pub use injection::{ErrorRates, InjectionError};
pub use store::{App, AppStatus, Org, Service};

/// How the platform behaves: credentials, provisioning, injected latency and errors.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// The password every user logs in with.
    pub password: String,
    /// The token admin calls (`x-admin-token`) must carry.
    pub admin_token: String,
    /// How long a `small` app stays `PROVISIONING`; `large` takes three times as long.
    pub provision_ms: u64,
    /// Share of apps that end in `ERROR` instead of `ACTIVE`.
    pub provision_error_rate: f64,
    /// Latency added to every `/api` request.
    pub latency_ms: u64,
    /// Share of requests per route (`POST /api/apps`) answered with a 500 on purpose.
    pub error_rates: ErrorRates,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        PlatformConfig {
            password: "secret".to_owned(),
            admin_token: "admin-token".to_owned(),
            provision_ms: 300,
            provision_error_rate: 0.0,
            latency_ms: 0,
            error_rates: ErrorRates::default(),
        }
    }
}

/// Shared state of a running platform.
#[derive(Debug)]
pub(crate) struct PlatformState {
    pub config: PlatformConfig,
    pub store: store::Store,
    pub counters: Counters,
}

/// A running platform server.
#[derive(Debug, Clone)]
pub struct Platform {
    addr: SocketAddr,
    state: Arc<PlatformState>,
}

impl Platform {
    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the server counted so far (ground truth for tests).
    pub fn counters(&self) -> counters::CounterSnapshot {
        self.state.counters.snapshot()
    }
}

/// The platform's routes over `state`.
fn router(state: Arc<PlatformState>) -> Router {
    let api = Router::new()
        .route("/api/catalog", get(handlers::catalog))
        .route(
            "/api/orgs",
            get(handlers::list_orgs).post(handlers::create_org),
        )
        .route(
            "/api/orgs/{id}",
            axum::routing::delete(handlers::delete_org),
        )
        .route(
            "/api/apps",
            get(handlers::list_apps).post(handlers::create_app),
        )
        .route(
            "/api/apps/{id}",
            get(handlers::get_app).delete(handlers::delete_app),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            injection::inject,
        ));
    Router::new()
        .route("/login", post(handlers::login))
        .route("/logout", post(handlers::logout))
        .route("/api/stats", get(handlers::stats))
        .merge(api)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            counters::count,
        ))
        .with_state(state)
}

/// Starts the platform on `addr` (port 0: an ephemeral port) on the current tokio runtime.
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve(addr: SocketAddr, config: PlatformConfig) -> std::io::Result<Platform> {
    let state = Arc::new(PlatformState {
        config,
        store: store::Store::default(),
        counters: Counters::default(),
    });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("platform server stopped: {error}");
        }
    });
    Ok(Platform { addr, state })
}

/// Starts the platform on an ephemeral loopback port.
///
/// # Panics
/// When no loopback port can be bound.
pub async fn spawn(config: PlatformConfig) -> Platform {
    serve(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("a loopback port can be bound")
}
