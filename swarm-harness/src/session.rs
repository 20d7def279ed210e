//! Per-user HTTP sessions on hyper: every user has its own connection pool and its own cookie
//! jar, all sharing one TLS configuration.
//!
//! Why hyper rather than reqwest, which DESIGN.md first named: reqwest is hyper plus layers a
//! load generator pays for on every request (its cookie layer parses the URL twice per request,
//! redirect, retry and timeout layers box and move large futures), and each reqwest client
//! carries its own buffers and configuration. Measured with `scripts/bench/throughput.sh`,
//! reqwest held the harness near 0.4 x wrk's requests per CPU-second and 28 KiB per user.
//! Here the same work (cookies through `cookie_store`, the jar reqwest itself uses; redirects;
//! timeouts) happens once per request in `request.rs`, and an idle user costs a few KiB.
//! Building a rustls `ClientConfig` re-reads the system certificates (~0.7 ms, ~100 KiB), so it
//! is built once and shared.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use cookie_store::CookieStore;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// The body type of every request.
pub type Body = Full<Bytes>;

/// Builds the sessions of a process.
#[derive(Clone)]
pub struct ClientFactory {
    connector: Connector,
}

impl std::fmt::Debug for ClientFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientFactory").finish_non_exhaustive()
    }
}

/// How long a connection may wait for its next request before it is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_BUFFER: usize = 4096;

impl ClientFactory {
    /// Loads the platform's certificate verifier once. When that fails (no system store),
    /// HTTPS requests fail with the verifier's error, HTTP works.
    pub fn new() -> Self {
        use rustls_platform_verifier::BuilderVerifierExt;
        let tls = rustls::ClientConfig::builder()
            .with_platform_verifier()
            .map(|builder| builder.with_no_client_auth())
            .unwrap_or_else(|error| {
                log::warn!("no platform certificate verifier ({error}); HTTPS will fail");
                rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            });
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        ClientFactory { connector }
    }

    /// A fresh session: its own connection pool and cookie jar.
    pub fn session(&self) -> Session {
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            // hyper's adaptive read buffer starts at 8 KiB per connection; with 10k users that
            // alone is 80 MiB. Reading in 4 KiB steps keeps idle users small; bigger bodies
            // just take more reads.
            .http1_read_buf_exact_size(READ_BUFFER)
            .build(self.connector.clone());
        Session {
            client,
            cookies: Arc::default(),
        }
    }
}

impl Default for ClientFactory {
    fn default() -> Self {
        Self::new()
    }
}

/// One user's connections and cookies; clones share both (`User::fork`).
#[derive(Clone)]
pub struct Session {
    pub(crate) client: Client<Connector, Body>,
    pub(crate) cookies: Arc<Mutex<CookieStore>>,
}
