//! Per-user HTTP sessions: every user gets its own `reqwest::Client` (own connections, own
//! cookie jar), all built from one shared rustls configuration.
//!
//! A default `Client::builder().build()` per user re-reads the system certificates, costing
//! ~0.7 ms and ~100 KiB per user (10k users = 1 GiB); cloning one `ClientConfig` costs a few KiB.

use std::time::Duration;

/// Builds the per-user clients of a process.
#[derive(Clone)]
pub struct ClientFactory {
    tls: Option<rustls::ClientConfig>,
}

impl std::fmt::Debug for ClientFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientFactory")
            .field("shared_tls", &self.tls.is_some())
            .finish()
    }
}

impl ClientFactory {
    /// Loads the platform's certificate verifier once. When that fails, each client falls back
    /// to reqwest's own TLS set-up (slower to build, same behaviour).
    pub fn new() -> Self {
        use rustls_platform_verifier::BuilderVerifierExt;
        let tls = rustls::ClientConfig::builder()
            .with_platform_verifier()
            .map(|builder| builder.with_no_client_auth())
            .map_err(|error| log::warn!("shared TLS config unavailable: {error}"))
            .ok();
        ClientFactory { tls }
    }

    /// A fresh session: its own connection pool and cookie jar.
    pub fn session(&self) -> reqwest::Client {
        let builder = reqwest::Client::builder()
            .cookie_store(true)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("swarm-harness/", env!("CARGO_PKG_VERSION")));
        let builder = match &self.tls {
            Some(config) => builder.tls_backend_preconfigured(config.clone()),
            None => builder,
        };
        builder
            .build()
            .expect("a client with a preconfigured TLS backend and no proxy file always builds")
    }
}

impl Default for ClientFactory {
    fn default() -> Self {
        Self::new()
    }
}
