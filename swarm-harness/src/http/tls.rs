//! HTTPS (feature `tls`, which `ring` or `aws-lc-rs` enable): the one rustls configuration
//! every session and reqwest client of a process shares, on the platform's verifier, and the
//! handshake of a lean connection. A build without it has `tls_left_out.rs` instead.
//!
//! Building a rustls `ClientConfig` re-reads the system certificates (~0.7 ms, ~100 KiB), so it
//! is built once and shared.

use std::sync::Arc;

use tokio::net::TcpStream;

pub(crate) use crate::settings::CaCert;

use crate::http::http1::SendError;

/// The TLS configuration of a process's sessions. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Tls(Arc<rustls::ClientConfig>);

impl Tls {
    /// The platform's certificate verifier, also trusting `roots` (`PT_CA_CERT`). When that
    /// fails (no system store), HTTPS requests fail with the verifier's error, HTTP works.
    pub(crate) fn new(roots: Vec<CaCert>) -> Self {
        let provider = crypto_provider();
        let builder = || {
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("rustls's providers support its default protocol versions")
        };
        let tls = rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider.clone())
            .map(|verifier| {
                builder()
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
                    .with_no_client_auth()
            })
            .unwrap_or_else(|error| {
                crate::logging::warning!(
                    "no platform certificate verifier ({error}); HTTPS will fail"
                );
                builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            });
        Tls(Arc::new(tls))
    }

    /// The configuration a reqwest client is built on: the process's, offering HTTP/2 first (a
    /// preconfigured configuration gets no ALPN from reqwest).
    #[cfg_attr(
        not(any(feature = "reqwest-0-12", feature = "reqwest-0-13")),
        allow(dead_code, reason = "reqwest's")
    )]
    pub(crate) fn for_reqwest(&self) -> rustls::ClientConfig {
        let mut tls = (*self.0).clone();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        tls
    }

    /// The TLS handshake with `host` (an IPv6 one in brackets, as in the URL; `address` is
    /// `host:port`, for errors) over `tcp`.
    pub(crate) async fn connect(
        &self,
        host: &str,
        address: &str,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, SendError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let name = rustls::pki_types::ServerName::try_from(bare.to_owned())
            .map_err(|_| SendError::Unsupported(address.to_owned()))?;
        tokio_rustls::TlsConnector::from(self.0.clone())
            .connect(name, tcp)
            .await
            .map_err(|source| SendError::Tls {
                host: host.to_owned(),
                source,
            })
    }
}

/// The TLS provider of every configuration we build, named rather than taken from the process
/// default: a crate graph that enables both of rustls's providers (a dependency with `ring`
/// beside `aws-lc-rs`) has no default, and `ClientConfig::builder()` panics there. It is
/// `ring` (cargo feature `ring`, on by default: it builds in a fraction of aws-lc-rs's time),
/// or `aws-lc-rs` when that feature is on.
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[cfg(feature = "aws-lc-rs")]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    let provider = rustls::crypto::ring::default_provider();
    Arc::new(provider)
}

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!(
    "swarm-harness's TLS (the feature `tls`, which reqwest-0-13 and reqwest-0-12 need) needs a \
     crypto provider: enable its feature `ring` (the default) or `aws-lc-rs`"
);
