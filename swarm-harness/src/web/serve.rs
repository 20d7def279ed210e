//! The web UI's sockets, served so that a slow, idle or greedy client cannot hold them: they
//! share the process's file descriptors with the load generator, and are open before any
//! authentication. One timeout (`PT_WEB_TIMEOUT`, 10 s) bounds every wait on the client:
//! - a request head must arrive whole within it, counted from the connection's start or from
//!   the previous response (so an idle keep-alive connection closes after it too; trickling
//!   a byte at a time does not extend it): hyper's `header_read_timeout`;
//! - a request body must arrive whole within it, or the answer is 408 and the connection
//!   closes ([`read_body`]);
//! - a response the client stops reading closes the connection when no byte of it could be
//!   written for that long ([`Watched`]).
//!
//! At most `PT_WEB_MAX_CONNECTIONS` (256) connections are served at once; one above the cap
//! is answered `503` in one non-blocking write and closed at once, counted (`/metrics`) and
//! logged (at most one line per 10 s). Only HTTP/1.1 is served, as by Locust's own web UI:
//! browsers speak HTTP/2 only over TLS, and the cleartext HTTP/2 upgrade is a second
//! protocol's worth of slow-client surface for no client that uses it.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// The most a connection buffers of a request (head and body pieces) or a response: 256
/// connections hold at most 16 MiB.
const MAX_BUF_BYTES: usize = 64 * 1024;
/// Headers of one request: a browser sends about 20.
const MAX_HEADERS: usize = 64;

/// The default of `PT_WEB_TIMEOUT`: ample for any client on a network, short enough that a
/// socket held by a client that sends nothing is back within seconds.
pub(crate) use crate::settings::DEFAULT_WEB_TIMEOUT as DEFAULT_TIMEOUT;

/// The default of `PT_WEB_MAX_CONNECTIONS`: far above what a few browser tabs and scrapers
/// open (a browser opens at most 6 per origin), far below a default descriptor limit of 1024.
pub(crate) use crate::settings::DEFAULT_WEB_MAX_CONNECTIONS as DEFAULT_MAX_CONNECTIONS;

/// How long the accept loop pauses after an error such as running out of file descriptors,
/// so it does not spin while the load generator needs the CPU.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// What a connection above the cap reads before the server closes it.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    Content-Type: text/plain; charset=utf-8\r\n\
    X-Content-Type-Options: nosniff\r\n\
    Connection: close\r\n\
    Content-Length: 78\r\n\r\n\
    503: the web UI serves at most PT_WEB_MAX_CONNECTIONS connections; try again\r\n";

/// What the web UI's sockets have seen, for `/metrics` and the log.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    pub open: AtomicU64,
    pub refused: AtomicU64,
    pub head_timeouts: AtomicU64,
    pub body_timeouts: AtomicU64,
    pub unread_responses: AtomicU64,
}

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub timeout: Duration,
    pub max_connections: usize,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    /// The client closed it, or hyper did after a response that ends the connection.
    Done,
    /// No whole request head within the timeout.
    HeadTimeout,
    /// A response could not be written for the timeout: the client does not read.
    Unread,
    /// A protocol or I/O error (a malformed head, a reset).
    Error,
}

/// Accepts and serves connections until the process ends.
pub(super) async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    counts: Arc<Connections>,
) {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let (mut refusals, mut errors) = (
        crate::throttle::Throttle::default(),
        crate::throttle::Throttle::default(),
    );
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                if let Some(held) = errors.allow() {
                    crate::logging::warning!(
                        "the web UI cannot accept a connection: {error} ({held} more since the \
                         last warning)"
                    );
                }
                tokio::time::sleep(ACCEPT_PAUSE).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            // The socket's send buffer is empty: this write cannot block, and a client that
            // never reads it costs nothing more.
            let _ = stream.try_write(REFUSAL);
            drop(stream);
            let refused = counts.refused.fetch_add(1, Ordering::Relaxed) + 1;
            if refusals.allow().is_some() {
                crate::logging::warning!(
                    "the web UI refused a connection: {} are open, the most \
                     PT_WEB_MAX_CONNECTIONS allows ({refused} refused so far)",
                    limits.max_connections
                );
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (app, counts) = (app.clone(), counts.clone());
        tokio::spawn(async move {
            counts.open.fetch_add(1, Ordering::Relaxed);
            let closed = serve_connection(stream, app, limits.timeout).await;
            counts.open.fetch_sub(1, Ordering::Relaxed);
            let counter = match closed {
                Closed::HeadTimeout => Some(&counts.head_timeouts),
                Closed::Unread => Some(&counts.unread_responses),
                Closed::Done | Closed::Error => None,
            };
            if let Some(counter) = counter {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            // The socket is closed by now: its place goes to the next client.
            drop(permit);
        });
    }
}

/// Serves one connection as HTTP/1.1 until it ends or a client wait exceeds `timeout`;
/// returning drops, hence closes, the socket.
pub(crate) async fn serve_connection<IO>(io: IO, app: Router, timeout: Duration) -> Closed
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let blocked = Arc::new(Mutex::new(None));
    let io = Watched {
        io,
        blocked_since: blocked.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // hyper buffers up to ~400 KiB per connection by default: at the connection cap, 256
    // unauthenticated trickling heads could hold 100 MiB. The page's requests are a few KiB.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .max_buf_size(MAX_BUF_BYTES)
        .max_headers(MAX_HEADERS);
    let connection = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(app));
    tokio::pin!(connection);
    let blocked_since = || *blocked.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let check = blocked_since().map_or(Instant::now() + timeout, |since| since + timeout);
        tokio::select! {
            result = connection.as_mut() => {
                return match result {
                    Ok(()) => Closed::Done,
                    Err(error) if error.is_timeout() => Closed::HeadTimeout,
                    Err(_) => Closed::Error,
                };
            }
            () = tokio::time::sleep_until(check) => {
                if blocked_since().is_some_and(|since| since.elapsed() >= timeout) {
                    return Closed::Unread;
                }
            }
        }
    }
}

/// A socket that remembers since when its writes have been blocked (the client's receive
/// window is full): hyper has no write timeout, so the watchdog of [`serve_connection`]
/// reads this.
struct Watched<IO> {
    io: IO,
    blocked_since: Arc<Mutex<Option<Instant>>>,
}

impl<IO> Watched<IO> {
    fn track<T>(&self, poll: Poll<T>) -> Poll<T> {
        let mut blocked = self
            .blocked_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match poll {
            Poll::Pending => {
                blocked.get_or_insert_with(Instant::now);
            }
            Poll::Ready(_) => *blocked = None,
        }
        poll
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.track(poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.track(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.track(poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_shutdown(cx);
        self.track(poll)
    }
}

/// What [`read_body`] needs.
#[derive(Clone)]
pub(super) struct BodyDeadline {
    pub timeout: Duration,
    pub max_bytes: usize,
    pub counts: Arc<Connections>,
}

/// Reads the whole request body within the timeout before the handler sees it (bodies are
/// small forms), so a body that trickles or stalls is answered 408 and its connection
/// closed instead of holding a handler and a socket.
pub(super) async fn read_body(
    State(deadline): State<BodyDeadline>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = deadline.max_bytes;
    if declared.is_some_and(|length| length > limit as u64) {
        return refuse_body(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("413: a request body here is at most {limit} bytes\n"),
        );
    }
    let read = axum::body::to_bytes(body, limit);
    match tokio::time::timeout(deadline.timeout, read).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(error)) => refuse_body(
            StatusCode::BAD_REQUEST,
            format!("400: the request body (at most {limit} bytes) could not be read: {error}\n"),
        ),
        Err(_) => {
            deadline
                .counts
                .body_timeouts
                .fetch_add(1, Ordering::Relaxed);
            refuse_body(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "408: the request body did not arrive within {:?} (PT_WEB_TIMEOUT)\n",
                    deadline.timeout
                ),
            )
        }
    }
}

/// An answer after which the connection closes: the rest of the body is not read.
fn refuse_body(status: StatusCode, text: String) -> Response {
    (status, [(header::CONNECTION, "close")], text).into_response()
}

#[cfg(test)]
mod tests {
    //! On a paused clock: every wait below is virtual time, so the bounds are exact and no
    //! busy machine can break them.

    use super::*;
    use axum::routing::{get, post};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    const T: Duration = Duration::from_secs(10);

    fn app() -> (Router, Arc<Connections>) {
        let counts = Arc::new(Connections::default());
        let deadline = BodyDeadline {
            timeout: T,
            max_bytes: 1024,
            counts: counts.clone(),
        };
        let app = Router::new()
            .route("/", get(|| async { "ok" }))
            .route("/big", get(|| async { vec![b'x'; 1 << 20] }))
            .route("/form", post(|body: String| async move { body }))
            .layer(axum::middleware::from_fn_with_state(deadline, read_body));
        (app, counts)
    }

    /// Serves one connection whose client end is returned.
    fn connect() -> (
        DuplexStream,
        tokio::task::JoinHandle<Closed>,
        Arc<Connections>,
    ) {
        let (client, server) = tokio::io::duplex(4096);
        let (app, counts) = app();
        (
            client,
            tokio::spawn(serve_connection(server, app, T)),
            counts,
        )
    }

    async fn read_all(client: &mut DuplexStream) -> String {
        let mut text = Vec::new();
        let _ = client.read_to_end(&mut text).await;
        String::from_utf8_lossy(&text).into_owned()
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_is_served_and_its_connection_ends_when_asked() {
        let (mut client, served, _) = connect();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_all(&mut client).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.ends_with("ok"), "{answer}");
        assert_eq!(served.await.unwrap(), Closed::Done);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_or_half_sent_or_trickled_head_is_cut_off_at_the_timeout() {
        let heads: [&[u8]; 3] = [b"", b"GET / HTTP/1.1\r\nHost: x\r\n", b"GET / HTTP/1.1\r\n"];
        for (case, head) in heads.into_iter().enumerate() {
            let start = Instant::now();
            let (mut client, served, _) = connect();
            client.write_all(head).await.unwrap();
            if case == 2 {
                // One header line every second: each byte is progress, none extends the
                // deadline of the head as a whole.
                while !served.is_finished() {
                    let _ = client.write_all(b"X-Slow: 1\r\n").await;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            assert_eq!(served.await.unwrap(), Closed::HeadTimeout, "case {case}");
            let took = start.elapsed();
            assert!(took >= T && took < T + Duration::from_secs(2), "{took:?}");
            // The server closed its end.
            let mut rest = Vec::new();
            assert_eq!(client.read_to_end(&mut rest).await.unwrap(), 0);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_keep_alive_connection_closes_after_the_timeout() {
        let (mut client, served, _) = connect();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buffer = [0; 512];
        let n = client.read(&mut buffer).await.unwrap();
        assert!(buffer[..n].starts_with(b"HTTP/1.1 200 OK"));
        let answered = Instant::now();
        assert_eq!(served.await.unwrap(), Closed::HeadTimeout);
        let idle = answered.elapsed();
        assert!(idle >= T && idle < T + Duration::from_secs(2), "{idle:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_is_answered_408_and_its_connection_closed() {
        let (mut client, served, counts) = connect();
        client
            .write_all(b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nuser_count=1")
            .await
            .unwrap();
        let answer = read_all(&mut client).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("PT_WEB_TIMEOUT"), "{answer}");
        assert!(served.await.unwrap() != Closed::HeadTimeout);
        assert_eq!(counts.body_timeouts.load(Ordering::Relaxed), 1);
        // A whole body is read and handed on; one too large is refused before it is read.
        let (mut client, _, _) = connect();
        client
            .write_all(b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
            .await
            .unwrap();
        assert!(read_all(&mut client).await.ends_with("\r\n\r\nabc"));
        let (mut client, _, _) = connect();
        client
            .write_all(b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
            .await
            .unwrap();
        assert!(read_all(&mut client).await.starts_with("HTTP/1.1 413"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_the_client_does_not_read_closes_the_connection() {
        let (mut client, served, _) = connect();
        client
            .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        // The client never reads: 1 MiB does not fit the 4 KiB pipe.
        let start = Instant::now();
        assert_eq!(served.await.unwrap(), Closed::Unread);
        let took = start.elapsed();
        assert!(took >= T && took < T + Duration::from_secs(2), "{took:?}");
        drop(client);
    }

    #[tokio::test]
    async fn connections_above_the_cap_are_refused_at_once_and_their_places_come_back() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (app, _) = app();
        let counts = Arc::new(Connections::default());
        let limits = Limits {
            timeout: Duration::from_secs(600),
            max_connections: 2,
        };
        tokio::spawn(serve(listener, app, limits, counts.clone()));
        let connect = || tokio::net::TcpStream::connect(address);
        let held = [connect().await.unwrap(), connect().await.unwrap()];
        let open = || counts.open.load(Ordering::Relaxed);
        while open() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut third = connect().await.unwrap();
        let mut refusal = Vec::new();
        let _ = third.read_to_end(&mut refusal).await;
        let refusal = String::from_utf8_lossy(&refusal);
        assert!(refusal.starts_with("HTTP/1.1 503"), "{refusal}");
        assert!(refusal.contains("PT_WEB_MAX_CONNECTIONS"), "{refusal}");
        let (head, body) = refusal.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{refusal}"
        );
        assert_eq!(counts.refused.load(Ordering::Relaxed), 1);
        // The server was not hurt: a closed place serves the next client.
        drop(held);
        while open() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut next = connect().await.unwrap();
        next.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        next.read_to_end(&mut answer).await.unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 200 OK"));
    }
}
