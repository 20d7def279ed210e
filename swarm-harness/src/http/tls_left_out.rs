//! HTTPS in a build without the feature `tls` (neither `ring` nor `aws-lc-rs`): no rustls is
//! compiled, and a request to an https:// URL fails naming the feature. An https:// `PT_HOST`
//! and `PT_CA_CERT` are refused before that, where they are parsed (`settings/parts.rs`).

use tokio::net::TcpStream;

use crate::http::http1::SendError;

pub(crate) use crate::settings::CaCert;

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
