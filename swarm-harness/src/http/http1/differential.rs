//! Differential test of our response parser (`wire::read_response`) against hyper's HTTP/1
//! client: hyper is the oracle, a mature reading of RFC 9112 that has met real servers. The
//! same bytes go to both; whatever hyper refuses we must refuse, whatever both read must come
//! out alike (status, headers, body), and we may refuse what hyper reads only where `wire.rs`
//! differs on purpose (its module doc's list, and a bare LF anywhere in chunked framing). A
//! table of hostile responses (here) pins the known traps; a property test (`generated`) covers
//! generated responses, whole or damaged, and feeds our parser in pieces as well as whole.

mod generated;

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};

use super::wire::{Limits, MAX_INTERIM, read_response};

/// No case may take longer on either side: every input ends in EOF, so waiting means a hang.
const PATIENCE: Duration = Duration::from_secs(5);

/// A response as read, in the terms both readers share.
#[derive(Debug, PartialEq)]
struct Parsed {
    status: StatusCode,
    /// Every field line in order of first appearance of its name (a multimap).
    headers: Vec<(String, Bytes)>,
    body: Bytes,
}

impl Parsed {
    fn new(status: StatusCode, headers: &HeaderMap, body: Bytes) -> Self {
        let headers = headers
            .iter()
            .map(|(name, value)| (name.to_string(), Bytes::copy_from_slice(value.as_bytes())))
            .collect();
        Parsed {
            status,
            headers,
            body,
        }
    }
}

/// A response read, or why it was refused.
type Outcome = Result<Parsed, String>;

/// What a case must come to.
#[derive(Debug, Clone, Copy)]
enum Expect<'a> {
    /// Both read it alike, with this body.
    Accept(&'a [u8]),
    /// Both refuse it.
    Reject,
    /// We refuse it and hyper reads it: one of `wire.rs`'s deliberate differences.
    Deliberate,
    /// Whatever hyper does, with our refusal of what it reads allowed only when the case
    /// holds a deliberate difference (`deliberate`).
    AsHyper { deliberate: bool },
}

/// Hands out at most `step` bytes a read. A whole slice arrives in one read, which would
/// leave untested our parser's resuming of a head, a chunk line or a CRLF cut by a read.
struct Trickle<'a> {
    rest: &'a [u8],
    step: usize,
}

impl AsyncRead for Trickle<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.step.min(self.rest.len()).min(buf.remaining());
        let (now, later) = self.rest.split_at(n);
        buf.put_slice(now);
        self.rest = later;
        Poll::Ready(Ok(()))
    }
}

async fn ours(wire: &[u8], method: &Method, step: usize) -> Outcome {
    let mut io = Trickle { rest: wire, step };
    let response = read_response(&mut io, &mut BytesMut::new(), method, Limits::default())
        .await
        .map_err(|error| error.to_string())?;
    // The limit is far above any body here: a truncated body would not be comparable.
    assert!(!response.truncated, "a test body hit the body limit");
    Ok(Parsed::new(
        response.status,
        &response.headers,
        response.body,
    ))
}

/// Serves `wire` as the answer to one request over an in-memory pipe and reads it with
/// hyper's client; any error at any step is hyper refusing the response.
async fn hyper(wire: &[u8], method: &Method) -> Outcome {
    let (client, mut server) = tokio::io::duplex(1 << 20);
    let answer = wire.to_vec();
    tokio::spawn(async move {
        // Answer once the request is in, as a server does, then end the stream: the EOF
        // ends bodies read until close and makes short ones incomplete.
        let mut request = Vec::new();
        let mut piece = [0; 512];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match server.read(&mut piece).await {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&piece[..n]),
            }
        }
        // A write fails only when hyper has given up already, which it then reports.
        let _ = server.write_all(&answer).await;
        let _ = server.shutdown().await;
    });
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(client))
        .await
        .map_err(|error| format!("handshake: {error:?}"))?;
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method.clone())
        .uri("/")
        .header(header::HOST, "oracle.test")
        .body(Empty::<Bytes>::new())
        .expect("a valid request");
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("head: {error:?}"))?;
    let (head, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|error| format!("body: {error:?}"))?
        .to_bytes();
    Ok(Parsed::new(head.status, &head.headers, body))
}

/// Reads `wire` both ways and holds the outcomes to `expect`.
fn check(wire: &[u8], method: &Method, step: usize, expect: Expect<'_>) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let (ours, hyper) = runtime.block_on(async {
        let ours = tokio::time::timeout(PATIENCE, ours(wire, method, step))
            .await
            .expect("our parser hung");
        let hyper = tokio::time::timeout(PATIENCE, hyper(wire, method))
            .await
            .expect("hyper hung");
        (ours, hyper)
    });
    let verdict = match (&ours, &hyper, expect) {
        (Ok(a), Ok(b), Expect::Accept(body)) if a == b && a.body == body => Ok(()),
        (Err(_), Err(_), Expect::Reject) => Ok(()),
        (Err(_), Ok(_), Expect::Deliberate) => Ok(()),
        (Ok(a), Ok(b), Expect::AsHyper { .. }) if a == b => Ok(()),
        (Err(_), Err(_), Expect::AsHyper { .. }) => Ok(()),
        (Err(_), Ok(_), Expect::AsHyper { deliberate: true }) => Ok(()),
        _ => Err(()),
    };
    verdict.map_err(|()| {
        let reads = if step >= wire.len() {
            "in one read".to_string()
        } else {
            format!("{step} bytes a read")
        };
        format!(
            "{method} b\"{}\" ({reads}): expected {expect:?}\n  ours:  {ours:?}\n  hyper: {hyper:?}",
            wire.escape_ascii()
        )
    })
}

/// One hand-written case.
struct Case {
    method: Method,
    wire: Vec<u8>,
    expect: Expect<'static>,
}

fn get(wire: impl Into<Vec<u8>>, expect: Expect<'static>) -> Case {
    Case {
        method: Method::GET,
        wire: wire.into(),
        expect,
    }
}

/// A response with `count` field lines in all, the last a zero content length.
fn with_headers(count: usize) -> Vec<u8> {
    let mut wire = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 1..count {
        wire.extend_from_slice(format!("x-h{i}: {i}\r\n").as_bytes());
    }
    wire.extend_from_slice(b"content-length: 0\r\n\r\n");
    wire
}

/// A chunked `ok` with `count` trailer fields.
fn with_trailers(count: usize) -> Vec<u8> {
    let mut wire =
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n".to_vec();
    for i in 0..count {
        wire.extend_from_slice(format!("x-t{i}: {i}\r\n").as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    wire
}

/// A `200` with `count` interim `100 Continue` responses before it.
fn after_interim(count: usize) -> Vec<u8> {
    let mut wire = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(count);
    wire.extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    wire
}

fn hostile_cases() -> Vec<Case> {
    use Expect::{Accept, Deliberate, Reject};
    vec![
        // A plain length.
        get(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello", Accept(b"hello")),
        // The same length twice, on two lines or as a list, is one length (RFC 9110 §8.6).
        get(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 5\r\n\r\nhello", Accept(b"hello")),
        get(b"HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\n\r\nhello", Accept(b"hello")),
        // Two different lengths: which one frames the body is anyone's guess (smuggling).
        get(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!", Reject),
        get(b"HTTP/1.1 200 OK\r\ncontent-length: 5, 6\r\n\r\nhello!", Reject),
        // An empty list member is no number.
        get(b"HTTP/1.1 200 OK\r\ncontent-length: 5,\r\n\r\nhello", Reject),
        // A sign is not a digit, though Rust's `u64::from_str` would take it.
        get(b"HTTP/1.1 200 OK\r\ncontent-length: +5\r\n\r\nhello", Reject),
        // Whitespace around a field value is not part of it.
        get(b"HTTP/1.1 200 OK\r\ncontent-length:  5 \r\n\r\nhello", Accept(b"hello")),
        // Leading zeros are still decimal.
        get(b"HTTP/1.1 200 OK\r\ncontent-length: 005\r\n\r\nhello", Accept(b"hello")),
        // A terabyte announced and three bytes sent: incomplete at EOF, never reserved.
        get(b"HTTP/1.1 200 OK\r\ncontent-length: 1099511627776\r\n\r\nabc", Reject),
        // 2^64 overflows any u64.
        get(b"HTTP/1.1 200 OK\r\ncontent-length: 18446744073709551616\r\n\r\n", Reject),
        // The length of a body cut short by EOF.
        get(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort", Reject),
        // Chunk extensions, with and without whitespace before them, are skipped.
        get(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5 ;a=\"b\"\r\npedia\r\n0;last\r\n\r\n",
            Accept(b"Wikipedia"),
        ),
        // Hex digits in either case, whitespace after the size.
        get(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nA\r\n0123456789\r\nb \t\r\nabcdefghijk\r\n0\r\n\r\n",
            Accept(b"0123456789abcdefghijk"),
        ),
        // Sixteen f's fit a u64 but no body: incomplete at EOF (ours refuses at once).
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffff\r\nabc", Reject),
        // Seventeen hex digits overflow a u64.
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10000000000000000\r\nabc", Reject),
        // A size line without digits. `wire.rs` lists it as a difference, but hyper reads it
        // as 0 only before 1.1 (hyperium/hyper#3494): now both refuse it.
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\r\n\r\n", Reject),
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n;ext\r\n\r\n", Reject),
        // Not hex, or something after the size other than whitespace and an extension.
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", Reject),
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5 5\r\nhello\r\n0\r\n\r\n", Reject),
        // Chunk data longer than its size, so no CRLF where one must be.
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n", Reject),
        // A bare LF ending a size line (a classic smuggling vector).
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", Reject),
        // Chunked bodies cut short: inside the data, after the last chunk, before its CRLF.
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel", Reject),
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n", Reject),
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello", Reject),
        // Trailers end the chunked body and are not part of the head.
        get(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-sum: 1\r\nx-more: 2\r\n\r\n",
            Accept(b"ok"),
        ),
        // 100 trailer fields at most, like header fields.
        get(with_trailers(100), Accept(b"ok")),
        get(with_trailers(101), Reject),
        // Trailer lines are field lines: one without a colon, with a NUL in its value, or
        // folded onto the next line is refused.
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nnocolon\r\n\r\n", Reject),
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-a: 1\x002\r\n\r\n", Reject),
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-a: 1\r\n 2\r\n\r\n", Reject),
        // A bare CR in a chunk extension or a trailer: one reader may end the line there and
        // another not, so the framing is ambiguous.
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2;a\rb\r\nok\r\n0\r\n\r\n", Reject),
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-a: 1\r2\r\n\r\n", Reject),
        // A bare LF in the trailers: ours refuses it anywhere in chunked framing (`line_end`);
        // hyper's trailer reader only looks for CR and lets httparse end lines at a bare LF.
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-a: 1\n\r\n\r\n", Deliberate),
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\nx-a: 1\r\n\r\n", Deliberate),
        // Chunked last among the codings frames the body; the rest are not decoded.
        get(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n3\r\nzip\r\n0\r\n\r\n",
            Accept(b"zip"),
        ),
        get(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\ntransfer-encoding: CHUNKED\r\n\r\n3\r\nzip\r\n0\r\n\r\n",
            Accept(b"zip"),
        ),
        // Chunked not last, or a coding merely containing the word: the body runs to EOF.
        get(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n3\r\nzip\r\n0\r\n\r\n",
            Accept(b"3\r\nzip\r\n0\r\n\r\n"),
        ),
        get(b"HTTP/1.1 200 OK\r\ntransfer-encoding: xchunkedx\r\n\r\nrest", Accept(b"rest")),
        // Transfer-encoding overrides content-length (RFC 9112 §6.3 item 3).
        get(
            b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
            Accept(b"ok"),
        ),
        // HTTP/1.0 has no transfer codings: a 1.0 response using one is refused (§6.1).
        get(b"HTTP/1.0 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", Reject),
        // A HEAD response announces the length a GET would get, and has no body.
        Case {
            method: Method::HEAD,
            wire: b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n".to_vec(),
            expect: Accept(b""),
        },
        // 204 and 304 have no body whatever their headers say; bytes after are not one.
        get(b"HTTP/1.1 204 No Content\r\ncontent-length: 4\r\n\r\nbody", Accept(b"")),
        get(b"HTTP/1.1 304 Not Modified\r\ntransfer-encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n", Accept(b"")),
        // Interim responses are skipped, however they are framed.
        get(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\ncontent-length: 9\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
            Accept(b"ok"),
        ),
        // As many interim responses as we take, and one more (a deliberate limit).
        get(after_interim(MAX_INTERIM), Accept(b"ok")),
        get(after_interim(MAX_INTERIM + 1), Deliberate),
        // An upgrade nobody asked for: hyper hands it back, we refuse it (deliberate).
        get(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n", Deliberate),
        // Neither length nor coding: the body runs to EOF, in 1.1 as in 1.0.
        get(b"HTTP/1.1 200 OK\r\n\r\nall of it", Accept(b"all of it")),
        get(b"HTTP/1.0 404 Not Found\r\n\r\ngone", Accept(b"gone")),
        // A head cut short, or nothing at all.
        get(b"HTTP/1.1 200 OK\r\ncontent-le", Reject),
        get(b"", Reject),
        // Status lines that are not: no version, a four-digit code, code 0, HTTP/2.
        get(b"garbage\r\n\r\n", Reject),
        get(b"HTTP/1.1 2000 OK\r\ncontent-length: 0\r\n\r\n", Reject),
        get(b"HTTP/1.1 000 Zero\r\ncontent-length: 0\r\n\r\n", Reject),
        get(b"HTTP/2 200 OK\r\ncontent-length: 0\r\n\r\n", Reject),
        // A field line without a colon, and whitespace between a name and its colon.
        get(b"HTTP/1.1 200 OK\r\nnocolon\r\ncontent-length: 0\r\n\r\n", Reject),
        get(b"HTTP/1.1 200 OK\r\ncontent-length : 2\r\n\r\nok", Reject),
        // Obsolete line folding (RFC 9112 §5.2): refused by default by both.
        get(b"HTTP/1.1 200 OK\r\nx-a: 1\r\n  folded\r\ncontent-length: 0\r\n\r\n", Reject),
        // Bytes beyond ASCII (obs-text) are valid in a field value.
        get(b"HTTP/1.1 200 OK\r\nx-a: caf\xc3\xa9\r\ncontent-length: 0\r\n\r\n", Accept(b"")),
        // A head with bare LFs, which httparse (both parsers' head reader) accepts.
        get(b"HTTP/1.1 200 OK\ncontent-length: 2\n\nok", Accept(b"ok")),
        // 100 field lines at most, hyper's default and ours.
        get(with_headers(99), Accept(b"")),
        get(with_headers(100), Accept(b"")),
        get(with_headers(101), Reject),
    ]
}

#[test]
fn hostile_responses() {
    // Each case whole in one read, and one byte a read to cut it everywhere.
    let failures: Vec<String> = hostile_cases()
        .iter()
        .flat_map(|case| {
            [usize::MAX, 1].map(|step| check(&case.wire, &case.method, step, case.expect))
        })
        .filter_map(Result::err)
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
