//! HTTP/1.1 on the wire: writing a request, reading a response head with `httparse`, and its
//! body framed as RFC 9112 §6.3 says, strictly: every number a peer sends is parsed digit by
//! digit with checked arithmetic, nothing is reserved for a length the peer merely announced,
//! a body is kept only up to [`Limits::max_body`] (the rest is drained and counted), and a
//! connection whose framing is in any doubt is never used again.
//!
//! Where we differ from hyper's client (the differential test's reference, `differential.rs`),
//! we are stricter: a `101 Switching Protocols` we did not ask for is an error (hyper hands
//! back an upgrade); more than [`MAX_INTERIM`] interim responses are an error; a bare LF in
//! chunked framing, trailers included, is an error (hyper lets its header parser end trailer
//! lines there); a head over [`MAX_HEAD`] is refused however it arrives.

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The most response headers a response may have (hyper's default is 100).
const MAX_HEADERS: usize = 100;
/// Reads in steps of this size; the buffer grows only for bigger heads.
const READ_STEP: usize = 4096;
/// A response head larger than this is refused.
const MAX_HEAD: usize = 256 * 1024;
/// Chunk extensions, and separately trailers, may not exceed this (hyper's limits).
const MAX_CHUNK_META: usize = 16 * 1024;
/// How many `1xx` interim responses may precede the final one.
pub(super) const MAX_INTERIM: usize = 32;
/// The largest body size an announced length may have: beyond, arithmetic on it could
/// overflow somewhere, and no loopback test target sends more.
const MAX_LENGTH: u64 = 1 << 62;

/// What a response may cost the user reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Body bytes kept in memory (`PT_MAX_BODY`); beyond, the body is drained and counted but
    /// not kept, and the response says it was truncated.
    pub max_body: usize,
}

/// The default of `PT_MAX_BODY`: 8 MiB.
pub(crate) use crate::settings::DEFAULT_MAX_BODY;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// What went wrong on a connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("connection closed before a response")]
    ClosedBeforeResponse,
    #[error("connection closed in the middle of the response")]
    ClosedMidResponse,
    #[error("invalid response: {0}")]
    Invalid(String),
    #[error("unexpected 101 Switching Protocols: no upgrade was requested")]
    UnexpectedUpgrade,
    #[error(
        "the server answered with HTTP/2 frames: it speaks HTTP/2 only, and the lean client \
         speaks HTTP/1.1; run with PT_HTTP=reqwest (or --http reqwest) for HTTP/2"
    )]
    Http2Only,
    /// The connection failed after part of the response had arrived: never retried.
    #[error("connection failed in the middle of the response: {0}")]
    BrokenMidResponse(std::io::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl WireError {
    /// Whether nothing of a response arrived: on a reused connection this means the server
    /// had closed it while idle, and an idempotent request may be sent again on a new one.
    pub(crate) fn nothing_received(&self) -> bool {
        match self {
            WireError::ClosedBeforeResponse => true,
            WireError::Io(error) => matches!(
                error.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionAborted
            ),
            _ => false,
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        WireError::Invalid(message.into())
    }
}

/// A response as read from the wire.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body, or its first [`Limits::max_body`] bytes when `truncated`.
    pub body: Bytes,
    /// Body bytes received (after removing the chunked framing), kept or not.
    pub body_len: u64,
    /// Whether bytes beyond [`Limits::max_body`] were drained and dropped.
    pub truncated: bool,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
}

/// Encodes a request head and body into `out`.
pub(super) fn encode_request(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    host: &str,
    headers: &HeaderMap,
    body: &[u8],
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name == header::HOST
            || name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
        {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let needs_length =
        !body.is_empty() || matches!(*method, Method::POST | Method::PUT | Method::PATCH);
    if needs_length {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// Reads more bytes into `buf`; `Ok(false)` at the end of the stream. Reserves one read step
/// at most: never what a peer announced.
async fn fill<R: AsyncRead + Unpin>(io: &mut R, buf: &mut BytesMut) -> Result<bool, WireError> {
    if buf.capacity() - buf.len() < READ_STEP / 4 {
        buf.reserve(READ_STEP);
    }
    Ok(io.read_buf(buf).await? > 0)
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Reads one response (skipping `1xx` interim responses) to a request of `method`. An I/O
/// error after any byte of it arrived is [`WireError::BrokenMidResponse`].
pub(super) async fn read_response<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    method: &Method,
    limits: Limits,
) -> Result<RawResponse, WireError> {
    let mut received_any = !buf.is_empty();
    match read_message(io, buf, method, limits, &mut received_any).await {
        Err(WireError::Io(error)) if received_any => Err(WireError::BrokenMidResponse(error)),
        result => result,
    }
}

/// [`read_response`]'s work; `received_any` turns true with the first byte, which always
/// arrives in the head loop (a body is read only after a head).
async fn read_message<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    method: &Method,
    limits: Limits,
    received_any: &mut bool,
) -> Result<RawResponse, WireError> {
    let mut interim = 0;
    loop {
        let head = loop {
            if let Some(head) = parse_head(buf)? {
                break head;
            }
            if buf.len() > MAX_HEAD {
                return Err(head_too_large());
            }
            if !fill(io, buf).await? {
                return Err(if *received_any {
                    WireError::ClosedMidResponse
                } else {
                    WireError::ClosedBeforeResponse
                });
            }
            *received_any = true;
        };
        buf.advance(head.len);
        if head.status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(WireError::UnexpectedUpgrade);
        }
        if head.status.is_informational() {
            interim += 1;
            if interim > MAX_INTERIM {
                return Err(WireError::invalid(format!(
                    "more than {MAX_INTERIM} interim (1xx) responses"
                )));
            }
            continue;
        }
        let (framing, doubtful) = framing(&head, method)?;
        let mut keep_alive = !doubtful && keeps_alive(&head.headers, head.http_1_0);
        let mut body = Body::new(limits.max_body);
        match framing {
            Framing::None => {}
            Framing::Length(length) => read_length(io, buf, length, &mut body).await?,
            Framing::Chunked => read_chunked(io, buf, &mut body).await?,
            Framing::UntilClose => {
                body.take(buf, buf.len());
                while fill(io, buf).await? {
                    body.take(buf, buf.len());
                }
                keep_alive = false;
            }
        }
        // Bytes after the response belong to no request: the framing is in doubt.
        if !buf.is_empty() {
            keep_alive = false;
        }
        return Ok(RawResponse {
            status: head.status,
            headers: head.headers,
            body: body.kept.freeze(),
            body_len: body.received,
            truncated: body.truncated,
            keep_alive,
        });
    }
}

fn head_too_large() -> WireError {
    WireError::invalid(format!("response head over {MAX_HEAD} bytes"))
}

struct Head {
    status: StatusCode,
    headers: HeaderMap,
    http_1_0: bool,
    len: usize,
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, WireError> {
    if buf.is_empty() {
        return Ok(None);
    }
    // An HTTP/1 status line never starts with a NUL byte; an HTTP/2 frame (the SETTINGS or
    // GOAWAY of a server that speaks only HTTP/2) starts with its 24-bit length, whose first
    // byte is 0 for any frame under 64 KiB.
    if buf[0] == 0 {
        return Err(WireError::Http2Only);
    }
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(WireError::invalid(error.to_string())),
    };
    if len > MAX_HEAD {
        return Err(head_too_large());
    }
    let code = response.code.unwrap_or(0);
    let status = StatusCode::from_u16(code)
        .map_err(|_| WireError::invalid(format!("status code {code}")))?;
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for header in response.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| WireError::invalid(format!("header name {:?}", header.name)))?;
        let value = HeaderValue::from_bytes(header.value)
            .map_err(|_| WireError::invalid(format!("value of header {:?}", header.name)))?;
        headers.append(name, value);
    }
    Ok(Some(Head {
        status,
        headers,
        http_1_0: response.version == Some(0),
        len,
    }))
}

/// The body's framing (RFC 9112 §6.3) and whether it leaves the connection in doubt.
fn framing(head: &Head, method: &Method) -> Result<(Framing, bool), WireError> {
    let status = head.status;
    if *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        // Whatever the headers announce, no body follows; bytes that do are caught as
        // leftovers and the connection is not reused.
        return Ok((Framing::None, false));
    }
    let headers = &head.headers;
    if headers.contains_key(header::TRANSFER_ENCODING) {
        if head.http_1_0 {
            return Err(WireError::invalid(
                "transfer-encoding in an HTTP/1.0 response",
            ));
        }
        // With a content-length as well, transfer-encoding wins, and the connection is
        // closed after the response (§6.3 item 3: a possible smuggling attempt).
        let with_length = headers.contains_key(header::CONTENT_LENGTH);
        return Ok(if is_chunked(headers) {
            (Framing::Chunked, with_length)
        } else {
            // Chunked is not the final coding: the body runs to the end of the connection.
            (Framing::UntilClose, true)
        });
    }
    match content_length(headers)? {
        Some(length) => Ok((Framing::Length(length), false)),
        None => Ok((Framing::UntilClose, true)),
    }
}

fn keeps_alive(headers: &HeaderMap, http_1_0: bool) -> bool {
    let mut close = false;
    let mut keep_alive = false;
    for value in headers.get_all(header::CONNECTION) {
        let Ok(value) = value.to_str() else { continue };
        for token in value.split(',').map(str::trim) {
            close |= token.eq_ignore_ascii_case("close");
            keep_alive |= token.eq_ignore_ascii_case("keep-alive");
        }
    }
    !close && (!http_1_0 || keep_alive)
}

/// Whether `chunked` is the final transfer coding.
fn is_chunked(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .next_back()
        .and_then(|line| line.to_str().ok())
        .and_then(|line| line.rsplit(',').next())
        .is_some_and(|coding| coding.trim().eq_ignore_ascii_case("chunked"))
}

/// `1*DIGIT`, checked: no sign, no space inside, no overflow.
fn decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |total, &byte| {
        let digit = byte.checked_sub(b'0').filter(|d| *d < 10)?;
        total.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// The content length: every value of every `content-length` line must be the same number.
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, WireError> {
    let mut length = None;
    for line in headers.get_all(header::CONTENT_LENGTH) {
        for value in line.as_bytes().split(|b| *b == b',') {
            let value = value.trim_ascii();
            let parsed = decimal(value).filter(|n| *n <= MAX_LENGTH).ok_or_else(|| {
                WireError::invalid(format!(
                    "content-length {:?}",
                    String::from_utf8_lossy(value)
                ))
            })?;
            match length {
                Some(previous) if previous != parsed => {
                    return Err(WireError::invalid(format!(
                        "conflicting content-length values {previous} and {parsed}"
                    )));
                }
                _ => length = Some(parsed),
            }
        }
    }
    Ok(length)
}

/// The body as it arrives: kept up to a cap, counted beyond it.
struct Body {
    kept: BytesMut,
    cap: usize,
    received: u64,
    truncated: bool,
}

impl Body {
    fn new(cap: usize) -> Self {
        Body {
            kept: BytesMut::new(),
            cap,
            received: 0,
            truncated: false,
        }
    }

    /// Moves the first `n` bytes of `buf` into the body (zero-copy while the body is empty).
    fn take(&mut self, buf: &mut BytesMut, n: usize) {
        if n == 0 {
            return;
        }
        self.received = self.received.saturating_add(n as u64);
        let room = self.cap - self.kept.len();
        if room == 0 {
            self.truncated = true;
            buf.advance(n);
        } else if self.kept.is_empty() && n <= room {
            self.kept = buf.split_to(n);
        } else {
            let keep = n.min(room);
            self.kept.extend_from_slice(&buf[..keep]);
            self.truncated |= keep < n;
            buf.advance(n);
        }
    }
}

async fn read_length<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    length: u64,
    body: &mut Body,
) -> Result<(), WireError> {
    let mut remaining = length;
    loop {
        let available = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
        body.take(buf, available);
        remaining -= available as u64;
        if remaining == 0 {
            return Ok(());
        }
        if !fill(io, buf).await? {
            return Err(WireError::ClosedMidResponse);
        }
    }
}

/// The position of the first CRLF in `buf`; a bare LF or a bare CR before it is an error
/// (a lone CR is a known request-smuggling device).
fn line_end(buf: &[u8]) -> Result<Option<usize>, WireError> {
    let Some(lf) = buf.iter().position(|b| *b == b'\n') else {
        // A CR not followed by LF, with the next byte already here, is no line end.
        return match buf.iter().position(|b| *b == b'\r') {
            Some(cr) if cr + 1 < buf.len() => Err(WireError::invalid("bare CR in chunked framing")),
            _ => Ok(None),
        };
    };
    if lf == 0 || buf[lf - 1] != b'\r' {
        return Err(WireError::invalid("bare LF in chunked framing"));
    }
    if buf[..lf - 1].contains(&b'\r') {
        return Err(WireError::invalid("bare CR in chunked framing"));
    }
    Ok(Some(lf - 1))
}

/// A trailer line: `name: value` with a valid name and value, no folding.
fn check_trailer(line: &[u8]) -> Result<(), WireError> {
    let bad = || {
        WireError::invalid(format!(
            "trailer {:?}",
            String::from_utf8_lossy(&line[..line.len().min(40)])
        ))
    };
    let colon = line.iter().position(|b| *b == b':').ok_or_else(bad)?;
    HeaderName::from_bytes(&line[..colon]).map_err(|_| bad())?;
    HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).map_err(|_| bad())?;
    Ok(())
}

/// Reads one CRLF-terminated line of chunked framing; `budget` bounds extensions and trailers.
async fn read_line<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    budget: &mut usize,
) -> Result<BytesMut, WireError> {
    loop {
        if let Some(end) = line_end(buf)? {
            *budget = budget
                .checked_sub(end + 2)
                .ok_or_else(|| WireError::invalid("chunk extensions or trailers too large"))?;
            let line = buf.split_to(end);
            buf.advance(2);
            return Ok(line);
        }
        if buf.len() > *budget {
            return Err(WireError::invalid("chunk extensions or trailers too large"));
        }
        if !fill(io, buf).await? {
            return Err(WireError::ClosedMidResponse);
        }
    }
}

/// `1*HEXDIG [ BWS ";" chunk-ext ]`: the size, checked.
fn chunk_size(line: &[u8]) -> Result<u64, WireError> {
    let digits = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let bad = || {
        WireError::invalid(format!(
            "chunk size line {:?}",
            String::from_utf8_lossy(&line[..line.len().min(40)])
        ))
    };
    if digits == 0 {
        return Err(bad());
    }
    let size = line[..digits].iter().try_fold(0u64, |total, &byte| {
        let digit = (byte as char).to_digit(16)?;
        total.checked_mul(16)?.checked_add(u64::from(digit))
    });
    let size = size.filter(|s| *s <= MAX_LENGTH).ok_or_else(bad)?;
    let rest = &line[digits..];
    let after_space = rest
        .iter()
        .position(|b| *b != b' ' && *b != b'\t')
        .map_or(&[][..], |i| &rest[i..]);
    match after_space.first() {
        None | Some(b';') => Ok(size),
        Some(_) => Err(bad()),
    }
}

async fn read_chunked<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    body: &mut Body,
) -> Result<(), WireError> {
    let mut budget = MAX_CHUNK_META;
    loop {
        let line = read_line(io, buf, &mut budget).await?;
        // Digits and the CRLF do not count against the extension budget.
        budget = budget.saturating_add(line.len().min(18) + 2);
        let size = chunk_size(&line)?;
        if size == 0 {
            let mut trailer_budget = MAX_CHUNK_META;
            let mut trailers = 0;
            loop {
                let line = read_line(io, buf, &mut trailer_budget).await?;
                if line.is_empty() {
                    return Ok(());
                }
                check_trailer(&line)?;
                trailers += 1;
                if trailers > MAX_HEADERS {
                    return Err(WireError::invalid("too many trailers"));
                }
            }
        }
        read_length(io, buf, size, body).await?;
        while buf.len() < 2 {
            if !fill(io, buf).await? {
                return Err(WireError::ClosedMidResponse);
            }
        }
        if &buf[..2] != b"\r\n" {
            return Err(WireError::invalid("chunk data not followed by CRLF"));
        }
        buf.advance(2);
    }
}

#[cfg(test)]
mod tests;
