//! The live web UI on `PT_LOCUST_PORT`: a page that watches and steers the run, Locust's HTTP
//! API (`/swarm`, `/stop`, `/stats/requests`, ...) and `/metrics` for Prometheus.
//!
//! It reads only what its sink ([`live::LiveSink`]) keeps from run events, and steers only
//! through [`Controller`] commands. It listens on 127.0.0.1 unless `PT_WEB_HOST` says
//! otherwise; an address beyond loopback needs `PT_WEB_TOKEN`, and with a token every request
//! must carry it (`Authorization: Bearer <token>`, or Basic with the token as password, which
//! a browser asks for), so nobody on the network can start load unauthenticated. Its sockets
//! are served with timeouts and a cap on connections ([`serve`]), so a slow or idle client
//! cannot hold them.
//!
//! It is the feature `web`; a build without it has `left_out.rs` in its place: no UI, and the
//! settings that ask for one refused where they are parsed.

mod auth;
mod bind;
pub(crate) mod live;
mod locust;
mod metrics;
mod page;
mod serve;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};

use crate::report::csv;

use crate::control::Controller;
pub(crate) use bind::bind;
use live::Live;
pub(crate) use serve::{DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT};

/// The default of `PT_LOCUST_PORT` (Locust's).
pub(crate) use crate::settings::DEFAULT_WEB_PORT as DEFAULT_PORT;

/// How the web UI is served.
#[derive(Debug, Clone)]
pub(crate) struct WebConfig {
    pub host: IpAddr,
    /// 0 takes any free port.
    pub port: u16,
    pub token: Option<String>,
    /// `PT_WEB_TIMEOUT`: the most the server waits on a client (see [`serve`]).
    pub timeout: Duration,
    /// `PT_WEB_MAX_CONNECTIONS`: connections served at once.
    pub max_connections: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            token: None,
            timeout: DEFAULT_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// A web UI that cannot be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WebError {
    #[error(
        "PT_WEB_HOST={0} would expose the web UI, which starts and stops load, beyond this \
         machine: set PT_WEB_TOKEN as well (every request must then carry it), or keep the \
         default 127.0.0.1"
    )]
    Unprotected(IpAddr),
    #[error(
        "cannot serve the web UI on {address} (PT_LOCUST_PORT={port}): {source}; choose \
         another port (PT_LOCUST_PORT=0 takes any free one) or turn the UI off with PT_WEB=off"
    )]
    Bind {
        address: SocketAddr,
        port: u16,
        #[source]
        source: std::io::Error,
    },
}

/// A bound, not yet serving, web UI: binding comes first so a taken port is an error before
/// any load is sent.
pub(crate) struct Bound {
    listener: std::net::TcpListener,
    config: WebConfig,
}

impl Bound {
    /// Checks the configuration and binds the port.
    ///
    /// # Errors
    /// An exposed address without a token, or a port that cannot be bound.
    pub(crate) fn bind(config: WebConfig) -> Result<Self, WebError> {
        if !config.host.to_canonical().is_loopback() && config.token.is_none() {
            return Err(WebError::Unprotected(config.host));
        }
        let address = SocketAddr::new(config.host, config.port);
        let bind_error = |source| WebError::Bind {
            address,
            port: config.port,
            source,
        };
        let listener = std::net::TcpListener::bind(address).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        Ok(Bound { listener, config })
    }

    /// The page's address, as printed: `http://127.0.0.1:8089/`.
    pub(crate) fn url(&self) -> String {
        let port = self
            .listener
            .local_addr()
            .map_or(self.config.port, |a| a.port());
        let host = match self.config.host {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        format!("http://{host}:{port}/")
    }

    /// Serves on the current tokio runtime until the process ends.
    ///
    /// # Errors
    /// When the listener cannot join the runtime.
    pub(crate) fn serve(
        self,
        live: Arc<Mutex<Live>>,
        controller: Controller,
    ) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        let connections = Arc::new(serve::Connections::default());
        let limits = serve::Limits {
            timeout: self.config.timeout,
            max_connections: self.config.max_connections,
        };
        let app = router(AppState {
            live,
            controller,
            token: self.config.token.map(Arc::from),
            loopback: self.config.host.to_canonical().is_loopback(),
            timeout: limits.timeout,
            connections: connections.clone(),
        });
        tokio::spawn(serve::serve(listener, app, limits, connections));
        Ok(())
    }
}

/// The web UI served: the sink that keeps what it shows, the commands it sends the runner, and
/// its address as printed.
pub(crate) struct Served {
    pub sink: Box<dyn crate::events::Sink>,
    pub commands: crate::control::Commands,
    pub url: String,
}

impl Bound {
    /// Serves the UI on `runtime`: what a run's composition (`harness/run.rs`) needs of it,
    /// the same in a build without it (`web/left_out.rs`).
    ///
    /// # Errors
    /// When the listener cannot join the runtime.
    pub(crate) fn start(self, runtime: &tokio::runtime::Runtime) -> Result<Served, String> {
        let live = Arc::new(Mutex::new(Live::default()));
        let (controller, commands) = crate::control::channel();
        let url = self.url();
        let _guard = runtime.enter();
        self.serve(live.clone(), controller)
            .map_err(|e| format!("failed to serve the web UI: {e}"))?;
        Ok(Served {
            sink: Box::new(live::LiveSink(live)),
            commands,
            url,
        })
    }
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub live: Arc<Mutex<Live>>,
    pub controller: Controller,
    pub token: Option<Arc<str>>,
    /// Listening on loopback only: then the `Host` must name it by address.
    pub loopback: bool,
    /// `PT_WEB_TIMEOUT`, for reading request bodies.
    pub timeout: Duration,
    /// What the sockets have seen, for `/metrics`.
    pub connections: Arc<serve::Connections>,
}

impl AppState {
    /// A copy of the live state, taken under the lock in a moment (its large parts are
    /// shared), so the handler's work never holds up the ticks.
    pub(crate) fn live(&self) -> Live {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Microseconds as milliseconds with microsecond precision (Locust's unit, our precision).
pub(crate) fn ms(micros: f64) -> f64 {
    micros.round() / 1e3
}

/// Form bodies are small; anything larger is refused before it is read.
const MAX_FORM_BYTES: usize = 64 * 1024;

fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/api/live", get(page::live))
        .route("/swarm", post(locust::swarm))
        .route("/stop", get(locust::stop).post(locust::stop))
        .route("/stats/reset", get(locust::reset).post(locust::reset))
        .route("/stats/requests", get(locust::requests))
        .route(
            "/stats/requests/csv",
            get(|State(s): State<AppState>| async move {
                locust::report_csv(&s, "stats", csv::stats_csv)
            }),
        )
        .route(
            "/stats/requests_full_history/csv",
            get(|State(s): State<AppState>| async move {
                locust::report_csv(&s, "stats_history", csv::history_csv)
            }),
        )
        .route(
            "/stats/failures/csv",
            get(|State(s): State<AppState>| async move {
                locust::report_csv(&s, "failures", csv::failures_csv)
            }),
        )
        .route("/exceptions", get(locust::exceptions))
        .route("/exceptions/csv", get(locust::exceptions_csv))
        .route("/stats/report", get(locust::report_html))
        .route("/metrics", get(metrics::metrics))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        // Innermost of the layers: a body is read only once the request may be served.
        .layer(axum::middleware::from_fn_with_state(
            serve::BodyDeadline {
                timeout: state.timeout,
                max_bytes: MAX_FORM_BYTES,
                counts: state.connections.clone(),
            },
            serve::read_body,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::same_site,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        // Outermost: the refusals of the layers above carry the headers too.
        .layer(axum::middleware::from_fn(auth::frame_guard))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The whole answer of the app to one raw request (which asks to close).
    async fn exchange(token: Option<&str>, request: &str) -> String {
        let (controller, _commands) = crate::control::channel();
        let app = router(AppState {
            live: Arc::default(),
            controller,
            token: token.map(Arc::from),
            loopback: true,
            timeout: DEFAULT_TIMEOUT,
            connections: Arc::default(),
        });
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let served = tokio::spawn(serve::serve_connection(server, app, DEFAULT_TIMEOUT));
        client.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        served.await.unwrap();
        String::from_utf8_lossy(&answer).to_lowercase()
    }

    #[tokio::test]
    async fn every_answer_forbids_framing_and_sniffing() {
        let close = "Host: 127.0.0.1:8089\r\nConnection: close\r\n\r\n";
        for (token, request, status) in [
            (None, format!("GET / HTTP/1.1\r\n{close}"), "200"),
            (None, format!("GET /nowhere HTTP/1.1\r\n{close}"), "404"),
            (
                None,
                format!("GET /stop HTTP/1.1\r\nSec-Fetch-Site: cross-site\r\n{close}"),
                "403",
            ),
            (
                None,
                "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n".to_owned(),
                "403",
            ),
            (
                Some("s3cret-token"),
                format!("GET / HTTP/1.1\r\n{close}"),
                "401",
            ),
        ] {
            let answer = exchange(token, &request).await;
            assert!(
                answer.starts_with(&format!("http/1.1 {status}")),
                "{answer}"
            );
            for header in [
                "x-frame-options: deny",
                "content-security-policy: frame-ancestors 'none'",
                "x-content-type-options: nosniff",
            ] {
                assert!(
                    answer.contains(header),
                    "{request}: no {header} in {answer}"
                );
            }
        }
    }
}
