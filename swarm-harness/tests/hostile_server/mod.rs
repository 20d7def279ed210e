//! A hostile HTTP/1.1 server on loopback, written on raw sockets so it can break every rule:
//! each misbehaviour is a path (`/huge-length`, `/smuggle`, ...), and it counts what it
//! received per `METHOD /path`, the ground truth the tests check reports against.
//!
//! Every loop it runs is bounded in time (`MAX_STREAM`) and stops when the client goes away.

#![allow(dead_code)] // each test file uses its own modes

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The longest any endless or stalling mode goes on.
const MAX_STREAM: Duration = Duration::from_secs(15);

/// A running hostile server with its own runtime.
pub struct HostileServer {
    pub url: String,
    pub addr: std::net::SocketAddr,
    counts: Arc<Mutex<HashMap<String, u64>>>,
    /// Shut down in the background on drop, so the server works in sync and async tests.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl HostileServer {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let counts: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
        let shared = counts.clone();
        runtime.spawn(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            while let Ok((socket, _)) = listener.accept().await {
                let counts = shared.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(MAX_STREAM, serve(socket, counts)).await;
                });
            }
        });
        HostileServer {
            url: format!("http://{addr}"),
            addr,
            counts,
            runtime: Some(runtime),
        }
    }

    /// Requests received whose `METHOD /path` starts with `prefix`.
    pub fn count_prefix(&self, prefix: &str) -> u64 {
        let counts = self.counts.lock().unwrap();
        counts
            .iter()
            .filter(|(key, _)| key.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests received as `METHOD /path`.
    pub fn count(&self, key: &str) -> u64 {
        self.counts.lock().unwrap().get(key).copied().unwrap_or(0)
    }
}

/// One request head read off the socket.
struct Head {
    method: String,
    path: String,
    /// The whole head, for `/echo-headers`.
    text: String,
}

async fn read_head(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Head> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let mut chunk = [0u8; 4096];
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..end + 4 + length);
            let mut words = head.split_whitespace();
            return Some(Head {
                method: words.next()?.to_owned(),
                path: words.next()?.to_owned(),
                text: head.clone(),
            });
        }
        let mut chunk = [0u8; 4096];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nRIGHT";
const WRONG: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nWRONG";

async fn serve(mut socket: TcpStream, counts: Arc<Mutex<HashMap<String, u64>>>) {
    let mut buf = Vec::new();
    let mut index = 0;
    while let Some(head) = read_head(&mut socket, &mut buf).await {
        let route = head.path.split('?').next().unwrap_or_default().to_owned();
        *counts
            .lock()
            .unwrap()
            .entry(format!("{} {route}", head.method))
            .or_default() += 1;
        let first = index == 0;
        index += 1;
        let keep_going = respond(&mut socket, &head, &route, first).await;
        if !keep_going {
            return;
        }
    }
}

/// Answers one request; `false` when the connection is to end.
async fn respond(socket: &mut TcpStream, head: &Head, route: &str, first: bool) -> bool {
    let bytes: Vec<u8> = match route {
        "/ok" | "/fast" => OK.to_vec(),
        // An announced body of a TiB: the client must not reserve it.
        "/huge-length" => b"HTTP/1.1 200 OK\r\ncontent-length: 1099511627776\r\n\r\nabc".to_vec(),
        "/huge-chunk" => {
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2540be400\r\nabc".to_vec()
        }
        "/overflow-chunk" => {
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffff\r\nabc"
                .to_vec()
        }
        "/endless-chunked" => {
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                .await;
            let chunk = [b"10000\r\n".as_slice(), &[b'x'; 0x10000], b"\r\n"].concat();
            stream_forever(socket, &chunk).await;
            return false;
        }
        "/endless-eof" => {
            let _ = socket.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
            stream_forever(socket, &[b'y'; 0x10000]).await;
            return false;
        }
        // A second response smuggled behind the first: it belongs to no request.
        "/smuggle" => [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".as_slice(), WRONG].concat(),
        // A HEAD response with a body: the body is a leftover, not the next response.
        "/head-body" if head.method == "HEAD" => WRONG.to_vec(),
        // A fine response, then a stray one while the connection is idle.
        "/late-junk" => {
            let _ = socket.write_all(OK).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            WRONG.to_vec()
        }
        "/te-cl" => b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n5\r\nRIGHT\r\n0\r\n\r\nWRONG".to_vec(),
        "/xchunked" => {
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: xchunkedx\r\n\r\nRIGHT")
                .await;
            return false;
        }
        "/plus-length" => b"HTTP/1.1 200 OK\r\ncontent-length: +5\r\n\r\nRIGHT".to_vec(),
        "/dup-length" => {
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nRIGHT!".to_vec()
        }
        "/upgrade" => [b"HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\n".as_slice(), OK].concat(),
        // Answers the first request of a connection; reads the next and closes without a word,
        // as a server whose keep-alive timeout fired at that very moment.
        "/close-after-read" if !first => return false,
        "/close-after-read" => OK.to_vec(),
        // The first request of a connection is answered; the next gets part of a response, then
        // a reset: that request must not be sent again.
        "/reset-mid" if !first => {
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc")
                .await;
            let _ = socket.flush().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = socket.set_zero_linger();
            return false;
        }
        "/reset-mid" => OK.to_vec(),
        "/never" => {
            tokio::time::sleep(MAX_STREAM).await;
            return false;
        }
        "/drip" => {
            for byte in OK {
                if socket.write_all(&[*byte]).await.is_err() {
                    return false;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            return true;
        }
        "/echo-headers" => format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{}",
            head.text.len(),
            head.text
        )
        .into_bytes(),
        // 20 MB announced and sent: more than the default PT_MAX_BODY keeps.
        "/big" => {
            let size = 20_000_000;
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n");
            if socket.write_all(head.as_bytes()).await.is_err() {
                return false;
            }
            let piece = [b'z'; 100_000];
            for _ in 0..size / piece.len() {
                if socket.write_all(&piece).await.is_err() {
                    return false;
                }
            }
            return true;
        }
        // `/redirect/PORT`: to `/echo-headers` on another origin (another port).
        _ if route.starts_with("/redirect/") => format!(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{}/echo-headers\r\ncontent-length: 0\r\n\r\n",
            &route["/redirect/".len()..]
        )
        .into_bytes(),
        "/redirect-here" => b"HTTP/1.1 302 Found\r\nlocation: /echo-headers\r\ncontent-length: 0\r\n\r\n".to_vec(),
        "/fail" => b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\noops".to_vec(),
        _ if route.starts_with("/item/") => OK.to_vec(),
        _ if route.starts_with("/missing/") => {
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\nnot found".to_vec()
        }
        _ => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec(),
    };
    // After a response whose framing is broken, the connection has nothing more to say.
    let closes = [
        "/huge-length",
        "/huge-chunk",
        "/overflow-chunk",
        "/plus-length",
        "/dup-length",
        "/upgrade",
    ];
    socket.write_all(&bytes).await.is_ok() && !closes.contains(&route)
}

/// Writes `piece` again and again until the client goes away or `MAX_STREAM` passes.
async fn stream_forever(socket: &mut TcpStream, piece: &[u8]) {
    let started = Instant::now();
    while started.elapsed() < MAX_STREAM {
        if socket.write_all(piece).await.is_err() {
            return;
        }
    }
}
