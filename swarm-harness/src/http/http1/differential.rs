//! Differential test of our response parser (`wire::read_response`) against hyper's HTTP/1
//! client: hyper is the oracle, a mature reading of RFC 9112 that has met real servers. The
//! same bytes go to both; whatever hyper refuses we must refuse, whatever both read must come
//! out alike (status, headers, body), and we may refuse what hyper reads only where `wire.rs`
//! differs on purpose (its module doc's list, and a bare LF anywhere in chunked framing). A
//! table of hostile responses pins the known traps; a property test covers generated
//! responses, whole or damaged, and feeds our parser in pieces as well as whole.

use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use proptest::prelude::*;
use proptest::sample::{Index, select};
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

/// How a generated response delimits its body.
#[derive(Debug, Clone)]
enum Framing {
    /// The content-length, `copies` times: on as many lines, or as a list on one.
    Length { copies: usize, one_line: bool },
    /// Chunked, cut where `cuts` say, sizes in upper or lower case with `zeros` leading
    /// zeros, each chunk with the extension of the same index if any, then trailers.
    Chunked {
        cuts: Vec<Index>,
        upper: bool,
        zeros: usize,
        extensions: Vec<Option<String>>,
        trailers: Vec<(String, String)>,
    },
    /// No length nor coding: the body runs to EOF.
    UntilEof,
    /// No length nor coding and no body.
    None,
}

/// A damage done to a serialized response.
#[derive(Debug, Clone)]
enum Mutation {
    /// The last byte never arrives.
    DropLastByte,
    /// A byte of the framing (a length, a coding, a chunk line or CRLF, a trailer) is
    /// replaced by one of the bytes parsers trip on.
    Flip(Index, u8),
    /// A CRLF is sent twice.
    DoubleCrlf(Index),
    /// A CRLF loses its CR.
    BareLf(Index),
    /// A space inside, before or after a length or chunk size.
    SpaceInNumber(Index, Index),
    /// The transfer coding in capitals (harmless: codings are case-insensitive).
    UppercaseCoding,
    /// The first chunk size line loses its digits.
    SizeWithoutDigits,
}

/// A generated response to a GET or a HEAD.
#[derive(Debug, Clone)]
struct Generated {
    head: bool,
    http_1_0: bool,
    interim: Vec<u16>,
    status: u16,
    headers: Vec<(String, String)>,
    framing: Framing,
    body: Vec<u8>,
    mutation: Option<Mutation>,
    /// The most bytes our parser gets a read.
    step: usize,
}

/// Where the parts a mutation aims at ended up in the serialized response.
#[derive(Default)]
struct Layout {
    /// Every length and chunk size, digits only.
    numbers: Vec<Range<usize>>,
    /// The first chunk size.
    first_size: Option<Range<usize>>,
    /// The transfer coding.
    coding: Option<Range<usize>>,
    /// Lengths, the coding, and the chunked framing: all but the chunk data.
    framing: Vec<Range<usize>>,
    /// Where a chunked body starts.
    chunks: Option<usize>,
}

/// Appends `bytes` to `wire` and returns where they went.
fn put(wire: &mut Vec<u8>, bytes: &[u8]) -> Range<usize> {
    let start = wire.len();
    wire.extend_from_slice(bytes);
    start..wire.len()
}

impl Generated {
    fn method(&self) -> Method {
        if self.head { Method::HEAD } else { Method::GET }
    }

    /// Whether the response has no body whatever its framing says.
    fn bodiless(&self) -> bool {
        self.head || matches!(self.status, 204 | 304)
    }

    /// The body a reader must find, if no mutation spoils it.
    fn body(&self) -> &[u8] {
        if self.bodiless() || matches!(self.framing, Framing::None) {
            b""
        } else {
            &self.body
        }
    }

    /// Whether the response holds one of `wire.rs`'s documented differences.
    fn deliberate(&self) -> bool {
        self.interim.contains(&101) || self.interim.len() > MAX_INTERIM
    }

    /// What reading the unmutated response must come to.
    fn expect(&self) -> Expect<'_> {
        let chunked = matches!(self.framing, Framing::Chunked { .. });
        // Hyper hands back the first 101 whatever follows; after too many interim responses
        // it reads the final one, which may be refused on its own account.
        if self.interim.contains(&101) {
            Expect::Deliberate
        } else if self.http_1_0 && chunked && !self.bodiless() {
            Expect::Reject
        } else if self.interim.len() > MAX_INTERIM {
            Expect::Deliberate
        } else {
            Expect::Accept(self.body())
        }
    }

    fn serialize(&self) -> (Vec<u8>, Layout) {
        let version = if self.http_1_0 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        };
        let mut wire = Vec::new();
        let mut layout = Layout::default();
        for code in &self.interim {
            put(
                &mut wire,
                format!("{version} {code} Interim\r\n\r\n").as_bytes(),
            );
        }
        put(
            &mut wire,
            format!("{version} {} Final\r\n", self.status).as_bytes(),
        );
        for (name, value) in &self.headers {
            put(&mut wire, format!("{name}: {value}\r\n").as_bytes());
        }
        let length = self.body.len().to_string();
        match &self.framing {
            &Framing::Length { copies, one_line } => {
                let (lines, per_line) = if one_line { (1, copies) } else { (copies, 1) };
                for _ in 0..lines {
                    put(&mut wire, b"content-length: ");
                    let start = wire.len();
                    for copy in 0..per_line {
                        if copy > 0 {
                            put(&mut wire, b", ");
                        }
                        layout.numbers.push(put(&mut wire, length.as_bytes()));
                    }
                    layout.framing.push(start..wire.len());
                    put(&mut wire, b"\r\n");
                }
                put(&mut wire, b"\r\n");
                put(&mut wire, &self.body);
            }
            Framing::Chunked {
                cuts,
                upper,
                zeros,
                extensions,
                trailers,
            } => {
                let coding = put(&mut wire, b"transfer-encoding: chunked\r\n\r\n");
                let coding = coding.start + 19..coding.start + 26;
                layout.coding = Some(coding.clone());
                layout.framing.push(coding);
                layout.chunks = Some(wire.len());
                let mut ends: Vec<usize> = cuts
                    .iter()
                    .map(|cut| cut.index(self.body.len() + 1))
                    .collect();
                ends.push(self.body.len());
                ends.sort_unstable();
                ends.dedup();
                let mut start = 0;
                let mut chunks = Vec::new();
                for end in ends.into_iter().filter(|end| *end > 0) {
                    chunks.push(&self.body[start..end]);
                    start = end;
                }
                // The last chunk, of size 0, goes through the same path as the others.
                chunks.push(&[]);
                for (i, chunk) in chunks.iter().enumerate() {
                    let line_start = wire.len();
                    put(&mut wire, "0".repeat(*zeros).as_bytes());
                    let size = if *upper {
                        format!("{:X}", chunk.len())
                    } else {
                        format!("{:x}", chunk.len())
                    };
                    let size = put(&mut wire, size.as_bytes());
                    layout.first_size.get_or_insert(line_start..size.end);
                    layout.numbers.push(line_start..size.end);
                    if let Some(Some(extension)) = extensions.get(i) {
                        put(&mut wire, extension.as_bytes());
                    }
                    put(&mut wire, b"\r\n");
                    layout.framing.push(line_start..wire.len());
                    if !chunk.is_empty() {
                        put(&mut wire, chunk);
                        layout.framing.push(put(&mut wire, b"\r\n"));
                    }
                }
                let end_start = wire.len();
                for (name, value) in trailers {
                    put(&mut wire, format!("{name}: {value}\r\n").as_bytes());
                }
                put(&mut wire, b"\r\n");
                layout.framing.push(end_start..wire.len());
            }
            Framing::UntilEof => {
                put(&mut wire, b"\r\n");
                put(&mut wire, &self.body);
            }
            Framing::None => {
                put(&mut wire, b"\r\n");
            }
        }
        (wire, layout)
    }
}

/// What a mutation did to a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Untouched: it found nothing to aim at, or replaced a byte by itself.
    Intact,
    Damaged,
    /// Damaged it with a bare LF in the chunked framing, which we refuse anywhere while
    /// hyper takes one in trailers.
    BareLfInChunks,
}

/// Applies `mutation` to `wire`.
fn mutate(wire: &mut Vec<u8>, layout: &Layout, mutation: &Mutation) -> Effect {
    let bare_lf_at = |at: usize| {
        if layout.chunks.is_some_and(|start| at >= start) {
            Effect::BareLfInChunks
        } else {
            Effect::Damaged
        }
    };
    match mutation {
        Mutation::DropLastByte => match wire.pop() {
            Some(_) => Effect::Damaged,
            None => Effect::Intact,
        },
        Mutation::Flip(index, byte) => {
            let positions: Vec<usize> = layout.framing.iter().cloned().flatten().collect();
            if positions.is_empty() {
                return Effect::Intact;
            }
            let at = positions[index.index(positions.len())];
            match std::mem::replace(&mut wire[at], *byte) {
                old if old == *byte => Effect::Intact,
                _ if *byte == b'\n' => bare_lf_at(at),
                _ => Effect::Damaged,
            }
        }
        Mutation::DoubleCrlf(index) | Mutation::BareLf(index) => {
            let crlfs: Vec<usize> = wire
                .windows(2)
                .enumerate()
                .filter(|(_, pair)| pair == b"\r\n")
                .map(|(at, _)| at)
                .collect();
            if crlfs.is_empty() {
                return Effect::Intact;
            }
            let at = crlfs[index.index(crlfs.len())];
            if matches!(mutation, Mutation::DoubleCrlf(_)) {
                wire.splice(at..at, *b"\r\n");
                Effect::Damaged
            } else {
                wire.remove(at);
                bare_lf_at(at)
            }
        }
        Mutation::SpaceInNumber(which, place) => {
            if layout.numbers.is_empty() {
                return Effect::Intact;
            }
            let number = &layout.numbers[which.index(layout.numbers.len())];
            wire.insert(number.start + place.index(number.len() + 1), b' ');
            Effect::Damaged
        }
        Mutation::UppercaseCoding => match layout.coding.clone() {
            Some(coding) => {
                wire[coding].make_ascii_uppercase();
                Effect::Damaged
            }
            None => Effect::Intact,
        },
        Mutation::SizeWithoutDigits => match layout.first_size.clone() {
            Some(size) => {
                wire.drain(size);
                Effect::Damaged
            }
            None => Effect::Intact,
        },
    }
}

/// A field name, any token but the two that frame a body (the framing is generated apart).
fn field_name() -> impl Strategy<Value = String> {
    "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,16}".prop_filter("a framing field", |name| {
        !name.eq_ignore_ascii_case("content-length")
            && !name.eq_ignore_ascii_case("transfer-encoding")
    })
}

/// A field value: visible ASCII with inner spaces, possibly empty.
fn field_value() -> impl Strategy<Value = String> {
    "([!-~]([ !-~]{0,30}[!-~])?)?"
}

fn framing() -> impl Strategy<Value = Framing> {
    let extension = prop::option::of("[ \t]?;[a-z]{1,8}(=[a-z0-9]{1,8})?");
    prop_oneof![
        3 => Just(Framing::Length { copies: 1, one_line: true }),
        1 => (2..=3usize, any::<bool>())
            .prop_map(|(copies, one_line)| Framing::Length { copies, one_line }),
        4 => (
            prop::collection::vec(any::<Index>(), 0..6),
            any::<bool>(),
            0..3usize,
            prop::collection::vec(extension, 0..8),
            prop::collection::vec((field_name(), field_value()), 0..3),
        )
            .prop_map(|(cuts, upper, zeros, extensions, trailers)| Framing::Chunked {
                cuts,
                upper,
                zeros,
                extensions,
                trailers,
            }),
        2 => Just(Framing::UntilEof),
        1 => Just(Framing::None),
    ]
}

fn mutation() -> impl Strategy<Value = Option<Mutation>> {
    // Bytes that framing code mistakes: digits and hex, signs, separators, whitespace, line
    // ends, NUL, DEL and obs-text.
    let tricky = select(b"05aF+-x;, \t\r\n\0\x7f\x80".to_vec());
    prop_oneof![
        2 => Just(None),
        3 => prop_oneof![
            Just(Mutation::DropLastByte),
            (any::<Index>(), tricky).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
            any::<Index>().prop_map(Mutation::DoubleCrlf),
            any::<Index>().prop_map(Mutation::BareLf),
            (any::<Index>(), any::<Index>()).prop_map(|(n, at)| Mutation::SpaceInNumber(n, at)),
            Just(Mutation::UppercaseCoding),
            Just(Mutation::SizeWithoutDigits),
        ]
        .prop_map(Some),
    ]
}

fn generated() -> impl Strategy<Value = Generated> {
    let interim = prop_oneof![
        8 => prop::collection::vec(
            prop_oneof![9 => select(vec![100u16, 102, 103, 199]), 1 => Just(101)],
            0..=3,
        ),
        // Just as many as we take, or one more.
        1 => (MAX_INTERIM..=MAX_INTERIM + 1).prop_map(|n| vec![100; n]),
    ];
    (
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
        interim,
        select(vec![200u16, 204, 304, 404, 500]),
        prop::collection::vec((field_name(), field_value()), 0..=10),
        framing(),
        prop::collection::vec(any::<u8>(), 0..=2000),
        mutation(),
        prop_oneof![Just(usize::MAX), 1..=64usize],
    )
        .prop_map(
            |(head, http_1_0, interim, status, headers, framing, body, mutation, step)| Generated {
                head,
                http_1_0,
                interim,
                status,
                headers,
                framing,
                body,
                mutation,
                step,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn generated_responses(response in generated()) {
        let (mut wire, layout) = response.serialize();
        let effect = response
            .mutation
            .as_ref()
            .map_or(Effect::Intact, |mutation| mutate(&mut wire, &layout, mutation));
        // Intact, the generator knows the outcome; damaged, hyper decides.
        let expect = match effect {
            Effect::Intact => response.expect(),
            Effect::Damaged => Expect::AsHyper { deliberate: response.deliberate() },
            Effect::BareLfInChunks => Expect::AsHyper { deliberate: true },
        };
        check(&wire, &response.method(), response.step, expect).map_err(TestCaseError::fail)?;
    }
}
