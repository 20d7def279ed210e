//! A lean HTTP/1.1 client for simulated users: each session keeps its idle keep-alive
//! connections by origin and runs every exchange inline in the user's own task.
//!
//! Why not hyper's client: every hyper connection is a task of its own fed through a channel
//! whose first block alone is ~9 KiB, plus an 8 KiB write buffer; with 10,000 users that is
//! 170 MiB before a request is sent, and each request crosses two tasks. Here an idle user
//! holds a socket and a few dozen bytes (its read buffer is dropped between requests), and a
//! request is a write and a read in the caller's task, like wrk. Parsing is `httparse`'s (the
//! parser hyper uses); TLS is rustls through `tokio-rustls` (`http/tls.rs`). The framing rules are RFC 9112's,
//! checked against hyper's client as an oracle (`differential.rs`).
//!
//! Connections are reused only when their framing was beyond doubt and, checked just before
//! reuse, nothing arrived on them while idle (no stray bytes, no close). A request whose reused
//! connection turns out closed before any byte of a response arrived is sent again on a new
//! connection only when it is idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE); any other
//! method fails and is recorded, because the server may have processed it.

#[cfg(test)]
mod differential;
mod wire;

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::BytesMut;
use http::{HeaderMap, Method};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use url::Url;

use crate::http::tls::Tls;
pub(crate) use wire::{DEFAULT_MAX_BODY, Limits, RawResponse, WireError};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle connections a session keeps per origin (more only while requests overlap).
const MAX_IDLE_PER_ORIGIN: usize = 4;

/// What can go wrong sending a request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error("tcp connect error to {address}: {source}")]
    Connect {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("tcp connect to {address} timed out after {CONNECT_TIMEOUT:?}")]
    ConnectTimeout { address: String },
    #[cfg(feature = "tls")]
    #[error("TLS handshake with {host} failed: {source}")]
    Tls {
        host: String,
        #[source]
        source: std::io::Error,
    },
    /// An https:// URL in a build without TLS (`http/tls_left_out.rs`).
    #[cfg(not(feature = "tls"))]
    #[error("HTTPS to {host} {}", crate::settings::Part::Tls.missing())]
    NoTls { host: String },
    #[error("unsupported URL {0:?}: only http and https with a host")]
    Unsupported(String),
    #[error(
        "the kept-alive connection closed before a response, and {method} is not retried \
         (not idempotent: the server may have processed it): {source}"
    )]
    NotRetried {
        method: Method,
        #[source]
        source: WireError,
    },
    #[error(transparent)]
    Wire(#[from] WireError),
}

trait Io: AsyncRead + AsyncWrite + Send + Sync + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin> Io for T {}

/// Scheme, host and port: which connections a request may use.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    fn of(url: &Url) -> Result<Self, SendError> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            _ => return Err(SendError::Unsupported(url.to_string())),
        };
        let host = url
            .host_str()
            .ok_or_else(|| SendError::Unsupported(url.to_string()))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| SendError::Unsupported(url.to_string()))?;
        Ok(Origin {
            https,
            host: host.to_owned(),
            port,
        })
    }

    /// The `Host` header: the port only when it is not the scheme's default.
    fn authority(&self) -> String {
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

struct Connection {
    origin: Origin,
    io: Box<dyn Io>,
}

/// One user's connections. Cheap to clone: clones share the idle connections.
#[derive(Clone)]
pub(crate) struct Connections {
    tls: Tls,
    limits: Limits,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl Connections {
    pub(crate) fn new(tls: Tls, limits: Limits) -> Self {
        Connections {
            tls,
            limits,
            idle: Arc::default(),
        }
    }

    /// An idle connection to `origin` on which nothing arrived while it was idle.
    fn take_idle(&self, origin: &Origin) -> Option<Connection> {
        loop {
            let mut connection = {
                let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
                let index = idle.iter().rposition(|c| &c.origin == origin)?;
                idle.swap_remove(index)
            };
            if quiet(&mut connection) {
                return Some(connection);
            }
        }
    }

    fn put_idle(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let same = idle
            .iter()
            .filter(|c| c.origin == connection.origin)
            .count();
        if same < MAX_IDLE_PER_ORIGIN {
            idle.push(connection);
        }
    }

    async fn connect(&self, origin: &Origin) -> Result<Connection, SendError> {
        let address = format!("{}:{}", origin.host, origin.port);
        let host = origin.host.trim_start_matches('[').trim_end_matches(']');
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, origin.port)))
            .await
            .map_err(|_| SendError::ConnectTimeout {
                address: address.clone(),
            })?
            .map_err(|source| SendError::Connect {
                address: address.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = if origin.https {
            Box::new(self.tls.connect(&origin.host, &address, tcp).await?)
        } else {
            Box::new(tcp)
        };
        Ok(Connection {
            origin: origin.clone(),
            io,
        })
    }

    /// Sends one request and reads its response. A reused connection that turns out to have
    /// been closed by the server while idle is replaced once, transparently, for idempotent
    /// methods only.
    pub(crate) async fn send(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<RawResponse, SendError> {
        let origin = Origin::of(url)?;
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let mut request = Vec::with_capacity(256 + body.len());
        wire::encode_request(
            &mut request,
            method,
            &target,
            &origin.authority(),
            headers,
            body,
        );
        if let Some(mut connection) = self.take_idle(&origin) {
            match exchange(&mut connection, &request, method, self.limits).await {
                Ok(response) => return Ok(self.finish(connection, response)),
                Err(error) if error.nothing_received() && idempotent(method) => {}
                Err(error) if error.nothing_received() => {
                    return Err(SendError::NotRetried {
                        method: method.clone(),
                        source: error,
                    });
                }
                Err(error) => return Err(error.into()),
            }
        }
        let mut connection = self.connect(&origin).await?;
        let response = exchange(&mut connection, &request, method, self.limits).await?;
        Ok(self.finish(connection, response))
    }

    fn finish(&self, connection: Connection, response: RawResponse) -> RawResponse {
        if response.keep_alive {
            self.put_idle(connection);
        }
        response
    }
}

/// RFC 9110 §9.2.2: methods whose repetition has the effect of one request.
fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Whether nothing arrived on an idle connection: no stray bytes, no end of stream, no error.
/// A read that would block says so without waiting (the waker is a no-op); one that returns
/// anything means the connection cannot carry a request whose response we could trust.
fn quiet(connection: &mut Connection) -> bool {
    let mut context = Context::from_waker(Waker::noop());
    let mut byte = [0u8; 1];
    let mut buf = ReadBuf::new(&mut byte);
    matches!(
        Pin::new(&mut connection.io).poll_read(&mut context, &mut buf),
        Poll::Pending
    )
}

/// Writes the request and reads the response on one connection.
async fn exchange(
    connection: &mut Connection,
    request: &[u8],
    method: &Method,
    limits: Limits,
) -> Result<RawResponse, WireError> {
    connection.io.write_all(request).await?;
    connection.io.flush().await?;
    // The read buffer lives only for the exchange: idle users hold no buffer at all.
    let mut buffer = BytesMut::new();
    wire::read_response(&mut connection.io, &mut buffer, method, limits).await
}
