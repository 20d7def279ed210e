//! HTTP/1.1 on the wire: writing a request, reading a response head with `httparse`, and its
//! body framed by `Content-Length`, `chunked` transfer coding, or the end of the connection.

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The most response headers a response may have.
const MAX_HEADERS: usize = 128;
/// Reads in steps of this size; the buffer grows only for bigger heads and bodies.
const READ_STEP: usize = 4096;
/// A response head larger than this is refused.
const MAX_HEAD: usize = 256 * 1024;

/// What went wrong on a connection.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("connection closed before a response")]
    ClosedBeforeResponse,
    #[error("connection closed in the middle of the response")]
    ClosedMidResponse,
    #[error("invalid response: {0}")]
    Invalid(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl WireError {
    /// Whether nothing of a response arrived: on a reused connection this means the server
    /// had closed it while idle, and the request may be sent again on a new one.
    pub fn nothing_received(&self) -> bool {
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
}

/// A response as read from the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
}

/// Encodes a request head and body into `out`.
pub fn encode_request(
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
        if name == header::HOST || name == header::CONTENT_LENGTH {
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

/// Reads more bytes into `buf`; `Ok(false)` at the end of the stream.
async fn fill<R: AsyncRead + Unpin>(io: &mut R, buf: &mut BytesMut) -> Result<bool, WireError> {
    if buf.capacity() - buf.len() < READ_STEP / 4 {
        buf.reserve(READ_STEP);
    }
    Ok(io.read_buf(buf).await? > 0)
}

/// Reads one response (skipping `1xx` interim responses) to a request of `method`.
pub async fn read_response<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    method: &Method,
) -> Result<RawResponse, WireError> {
    let mut received_any = false;
    loop {
        let head = loop {
            if let Some(head) = parse_head(buf)? {
                break head;
            }
            if buf.len() > MAX_HEAD {
                return Err(WireError::Invalid(format!(
                    "response head over {MAX_HEAD} bytes"
                )));
            }
            if !fill(io, buf).await? {
                return Err(if received_any || !buf.is_empty() {
                    WireError::ClosedMidResponse
                } else {
                    WireError::ClosedBeforeResponse
                });
            }
            received_any = true;
        };
        let (status, headers, version_1_0, head_len) = head;
        buf.advance(head_len);
        if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
            continue;
        }
        let keep_alive = keeps_alive(&headers, version_1_0);
        let no_body = *method == Method::HEAD
            || status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        let (body, keep_alive) = if no_body {
            (Bytes::new(), keep_alive)
        } else if is_chunked(&headers) {
            (read_chunked(io, buf).await?, keep_alive)
        } else if let Some(length) = content_length(&headers)? {
            (read_exact(io, buf, length).await?, keep_alive)
        } else {
            // No framing: the body runs to the end of the connection.
            while fill(io, buf).await? {}
            (buf.split().freeze(), false)
        };
        return Ok(RawResponse {
            status,
            headers,
            body,
            keep_alive,
        });
    }
}

type Head = (StatusCode, HeaderMap, bool, usize);

fn parse_head(buf: &[u8]) -> Result<Option<Head>, WireError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(WireError::Invalid(error.to_string())),
    };
    let status = StatusCode::from_u16(response.code.unwrap_or(0))
        .map_err(|_| WireError::Invalid(format!("status {:?}", response.code)))?;
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for header in response.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| WireError::Invalid(format!("header name {:?}", header.name)))?;
        let value = HeaderValue::from_bytes(header.value)
            .map_err(|_| WireError::Invalid(format!("value of header {:?}", header.name)))?;
        headers.append(name, value);
    }
    Ok(Some((
        status,
        headers,
        response.version == Some(0),
        head_len,
    )))
}

fn keeps_alive(headers: &HeaderMap, version_1_0: bool) -> bool {
    let connection = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .collect::<Vec<_>>();
    if connection.iter().any(|t| t == "close") {
        false
    } else {
        !version_1_0 || connection.iter().any(|t| t == "keep-alive")
    }
}

fn is_chunked(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("chunked"))
}

fn content_length(headers: &HeaderMap) -> Result<Option<usize>, WireError> {
    match headers.get(header::CONTENT_LENGTH) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| WireError::Invalid(format!("content-length {value:?}"))),
    }
}

async fn read_exact<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    length: usize,
) -> Result<Bytes, WireError> {
    if buf.len() < length {
        buf.reserve(length - buf.len());
    }
    while buf.len() < length {
        if !fill(io, buf).await? {
            return Err(WireError::ClosedMidResponse);
        }
    }
    Ok(buf.split_to(length).freeze())
}

/// The position of the first CRLF in `buf`.
fn line_end(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

async fn read_line<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
) -> Result<BytesMut, WireError> {
    loop {
        if let Some(end) = line_end(buf) {
            let line = buf.split_to(end);
            buf.advance(2);
            return Ok(line);
        }
        if buf.len() > MAX_HEAD {
            return Err(WireError::Invalid("chunk line too long".to_owned()));
        }
        if !fill(io, buf).await? {
            return Err(WireError::ClosedMidResponse);
        }
    }
}

async fn read_chunked<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
) -> Result<Bytes, WireError> {
    let mut body = BytesMut::new();
    loop {
        let line = read_line(io, buf).await?;
        let size_text = std::str::from_utf8(&line)
            .ok()
            .map(|l| l.split(';').next().unwrap_or("").trim().to_owned())
            .unwrap_or_default();
        let size = usize::from_str_radix(&size_text, 16)
            .map_err(|_| WireError::Invalid(format!("chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(io, buf).await?.is_empty() {}
            return Ok(body.freeze());
        }
        let chunk = read_exact(io, buf, size + 2).await?;
        body.extend_from_slice(&chunk[..size]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(wire: &[u8], method: Method) -> Result<RawResponse, WireError> {
        let mut io = wire;
        read_response(&mut io, &mut BytesMut::new(), &method).await
    }

    #[tokio::test]
    async fn content_length_and_keep_alive() {
        let r = parse(
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-a: 1\r\n\r\nhello",
            Method::GET,
        )
        .await
        .unwrap();
        assert_eq!(
            (r.status, &r.body[..], r.keep_alive),
            (StatusCode::OK, &b"hello"[..], true)
        );
        assert_eq!(r.headers["x-a"], "1");
        let r = parse(
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            Method::GET,
        )
        .await
        .unwrap();
        assert!(!r.keep_alive);
        let r = parse(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n", Method::GET)
            .await
            .unwrap();
        assert!(!r.keep_alive);
    }

    #[tokio::test]
    async fn chunked_bodies_and_interim_responses() {
        let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\ntrailer: x\r\n\r\n";
        let r = parse(wire, Method::POST).await.unwrap();
        assert_eq!(&r.body[..], b"Wikipedia");
        assert!(r.keep_alive);
    }

    #[tokio::test]
    async fn bodies_without_framing_run_to_the_end() {
        let r = parse(b"HTTP/1.1 200 OK\r\n\r\nall of it", Method::GET)
            .await
            .unwrap();
        assert_eq!((&r.body[..], r.keep_alive), (&b"all of it"[..], false));
        let r = parse(
            b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n",
            Method::HEAD,
        )
        .await
        .unwrap();
        assert!(r.body.is_empty());
    }

    #[tokio::test]
    async fn truncated_and_invalid_responses() {
        assert!(
            parse(b"", Method::GET)
                .await
                .unwrap_err()
                .nothing_received()
        );
        let error = parse(
            b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
            Method::GET,
        )
        .await
        .unwrap_err();
        assert!(matches!(error, WireError::ClosedMidResponse));
        assert!(!error.nothing_received());
        assert!(matches!(
            parse(b"garbage\r\n\r\n", Method::GET).await,
            Err(WireError::Invalid(_))
        ));
    }

    #[test]
    fn requests_are_encoded() {
        let mut out = Vec::new();
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_static("1"));
        encode_request(&mut out, &Method::POST, "/p?q=1", "h:81", &headers, b"{}");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /p?q=1 HTTP/1.1\r\nhost: h:81\r\nx-a: 1\r\ncontent-length: 2\r\n\r\n{}"
        );
    }
}
