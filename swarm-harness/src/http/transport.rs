//! One hop (a request and its response; redirects are not followed here) over a session's
//! transport: the lean HTTP/1.1 client of `http1` (the default, measured fastest), or reqwest
//! (`PT_HTTP=reqwest`) for targets that need what reqwest has and the lean client lacks:
//! HTTP/2 (ALPN over TLS), proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`) and compressed
//! responses (gzip, deflate, brotli). Redirects, cookies, timeouts and recording stay in
//! `user/request/exchange.rs`, written once for both.
//!
//! On the reqwest path the body is read chunk by chunk under `PT_MAX_BODY` (the rest drained
//! and counted) and decompressed here rather than by reqwest, so the reported content size is
//! the bytes transferred, and a small compressed body cannot expand beyond the cap.

use bytes::Bytes;
#[cfg(any(feature = "reqwest-0-12", feature = "reqwest-0-13"))]
use http::header;
use http::{HeaderMap, Method, StatusCode};
use url::Url;

use crate::http::http1::Connections;
#[cfg(any(feature = "reqwest-0-12", feature = "reqwest-0-13"))]
use crate::http::http1::Limits;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub use crate::settings::HttpClient;

/// A response as one hop returns it.
pub(crate) struct Hop {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body, or its first `max_body` bytes when `truncated`.
    pub body: Bytes,
    /// Body bytes transferred (compressed, when the response was), kept or not.
    pub body_len: u64,
    pub truncated: bool,
}

/// A session's connections: one user's own, on the client it was configured with.
#[derive(Clone)]
pub(crate) enum Transport {
    Lean(Connections),
    #[cfg(any(feature = "reqwest-0-12", feature = "reqwest-0-13"))]
    Reqwest {
        client: crate::http::reqwest_versions::internal::Client,
        limits: Limits,
    },
}

/// What the reqwest path asks for when the request does not say.
#[cfg(any(feature = "reqwest-0-12", feature = "reqwest-0-13"))]
const ACCEPT_ENCODING: &str = "gzip, deflate, br";

impl Transport {
    pub(crate) async fn send(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Hop, BoxError> {
        match self {
            Transport::Lean(connections) => {
                let response = connections.send(method, url, headers, body).await?;
                Ok(Hop {
                    status: response.status,
                    headers: response.headers,
                    body: response.body,
                    body_len: response.body_len,
                    truncated: response.truncated,
                })
            }
            #[cfg(any(feature = "reqwest-0-12", feature = "reqwest-0-13"))]
            Transport::Reqwest { client, limits } => {
                send_reqwest(client, *limits, method, url, headers, body).await
            }
        }
    }
}

#[cfg(any(feature = "reqwest-0-12", feature = "reqwest-0-13"))]
async fn send_reqwest(
    client: &crate::http::reqwest_versions::internal::Client,
    limits: Limits,
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Hop, BoxError> {
    let mut headers = headers.clone();
    headers
        .entry(header::ACCEPT_ENCODING)
        .or_insert(header::HeaderValue::from_static(ACCEPT_ENCODING));
    let crate::http::reqwest_versions::Received {
        status,
        mut headers,
        body: kept,
        body_len,
        mut truncated,
    } = crate::http::reqwest_versions::internal::send(
        client,
        limits.max_body,
        method,
        url,
        headers,
        body,
    )
    .await?;
    let body = match decompress(&mut headers, &kept, limits.max_body, truncated)? {
        Some((plain, cut)) => {
            truncated |= cut;
            plain
        }
        None => kept,
    };
    Ok(Hop {
        status,
        headers,
        body: Bytes::from(body),
        body_len,
        truncated,
    })
}

/// The decoded body of a compressed response (and whether it was cut at `max_body`), its
/// `Content-Encoding` and `Content-Length` removed; `None` when it was not compressed (or was
/// truncated before it could be decoded: then it stays as received, flagged).
#[cfg(any(feature = "reqwest-0-12", feature = "reqwest-0-13"))]
fn decompress(
    headers: &mut HeaderMap,
    body: &[u8],
    max_body: usize,
    truncated: bool,
) -> Result<Option<(Vec<u8>, bool)>, BoxError> {
    let Some(encoding) = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
    else {
        return Ok(None);
    };
    if truncated || body.is_empty() {
        return Ok(None);
    }
    use std::io::Read;
    let reader: Box<dyn Read + '_> = match encoding.as_str() {
        "gzip" | "x-gzip" => Box::new(flate2::read::GzDecoder::new(body)),
        "deflate" => Box::new(flate2::read::ZlibDecoder::new(body)),
        "br" => Box::new(brotli::Decompressor::new(body, 4096)),
        "identity" => return Ok(None),
        other => return Err(format!("unsupported Content-Encoding {other:?}").into()),
    };
    let limit = u64::try_from(max_body)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut plain = Vec::new();
    reader
        .take(limit)
        .read_to_end(&mut plain)
        .map_err(|error| format!("the {encoding} body does not decode: {error}"))?;
    let cut = plain.len() > max_body;
    plain.truncate(max_body);
    headers.remove(header::CONTENT_ENCODING);
    headers.remove(header::CONTENT_LENGTH);
    Ok(Some((plain, cut)))
}

// The decoders are the reqwest path's (brotli comes with its features).
#[cfg(all(test, any(feature = "reqwest-0-12", feature = "reqwest-0-13")))]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn encoded(encoding: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, encoding.parse().unwrap());
        headers.insert(header::CONTENT_LENGTH, "3".parse().unwrap());
        headers
    }

    #[test]
    fn gzip_decodes_and_drops_its_headers() {
        let mut headers = encoded("gzip");
        let (plain, cut) = decompress(&mut headers, &gzip(b"hello world"), 1024, false)
            .unwrap()
            .unwrap();
        assert_eq!((plain.as_slice(), cut), (&b"hello world"[..], false));
        assert!(headers.is_empty());
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        let bomb = gzip(&vec![0u8; 10 << 20]);
        assert!(bomb.len() < 100_000, "{}", bomb.len());
        let (plain, cut) = decompress(&mut encoded("gzip"), &bomb, 1 << 20, false)
            .unwrap()
            .unwrap();
        assert_eq!((plain.len(), cut), (1 << 20, true));
    }

    #[test]
    fn hostile_bodies_are_errors_not_panics() {
        for encoding in ["gzip", "deflate", "br"] {
            for body in [&b"\x1f\x8b garbage"[..], b"\x00", &[0xff; 64]] {
                let result = decompress(&mut encoded(encoding), body, 1024, false);
                assert!(result.is_err(), "{encoding} {body:?}");
            }
        }
        assert!(decompress(&mut encoded("zstd"), b"x", 1024, false).is_err());
        // Unencoded or truncated bodies stay as they are.
        assert!(
            decompress(&mut HeaderMap::new(), b"x", 1024, false)
                .unwrap()
                .is_none()
        );
        assert!(
            decompress(&mut encoded("gzip"), b"x", 1024, true)
                .unwrap()
                .is_none()
        );
    }
}
