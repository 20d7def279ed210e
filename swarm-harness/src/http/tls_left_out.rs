//! HTTPS in a build without the feature `tls` (neither `ring` nor `aws-lc-rs`): no rustls is
//! compiled, and a request to an https:// URL fails naming the feature. An https:// `PT_HOST`
//! and `PT_CA_CERT` are refused before that, where they are parsed (`settings/parts.rs`).

use tokio::net::TcpStream;

use crate::http::http1::SendError;

/// A CA certificate of `PT_CA_CERT`: none can exist in this build, which refuses the setting
/// before reading its file, so the type has no value (and no rustls-pki-types is compiled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaCert {}

/// Never called: `PT_CA_CERT` is refused before its file is read (`settings/parts.rs`).
pub(crate) fn parse_pem(_pem: &[u8]) -> Option<Vec<CaCert>> {
    None
}

/// No TLS configuration: there is nothing to configure.
#[derive(Clone)]
pub(crate) struct Tls;

impl Tls {
    /// Nothing to build; `roots` is empty, since `PT_CA_CERT` is refused in this build.
    pub(crate) fn new(_roots: Vec<CaCert>) -> Self {
        Tls
    }

    /// Always the error naming the feature: this build cannot speak TLS.
    pub(crate) async fn connect(
        &self,
        host: &str,
        _address: &str,
        _tcp: TcpStream,
    ) -> Result<TcpStream, SendError> {
        Err(SendError::NoTls {
            host: host.to_owned(),
        })
    }
}
