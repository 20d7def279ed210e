//! The wire format on fixed bytes: framing by length, chunks and EOF, interim responses,
//! truncated and invalid responses, a reset midway (not retryable), hostile lengths, doubtful
//! framing never reused, bodies over the cap, and how requests are encoded.

use super::*;

async fn parse(wire: &[u8], method: Method) -> Result<RawResponse, WireError> {
    let mut io = wire;
    read_response(&mut io, &mut BytesMut::new(), &method, Limits::default()).await
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
    assert!(r.keep_alive);
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

/// Reads its bytes, then fails as a reset connection would.
struct ThenReset(&'static [u8]);

impl AsyncRead for ThenReset {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.0.is_empty() {
            return std::task::Poll::Ready(Err(std::io::ErrorKind::ConnectionReset.into()));
        }
        let n = self.0.len().min(buf.remaining());
        buf.put_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_reset_after_part_of_a_response_is_not_retryable() {
    let read = |bytes| async move {
        read_response(
            &mut ThenReset(bytes),
            &mut BytesMut::new(),
            &Method::GET,
            Limits::default(),
        )
        .await
    };
    let error = read(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc")
        .await
        .unwrap_err();
    assert!(matches!(error, WireError::BrokenMidResponse(_)), "{error}");
    assert!(!error.nothing_received());
    assert!(read(b"").await.unwrap_err().nothing_received());
}

#[tokio::test]
async fn hostile_lengths_are_refused_without_reserving_them() {
    for wire in [
        &b"HTTP/1.1 200 OK\r\ncontent-length: +5\r\n\r\nhello"[..],
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\ncontent-length: 5, 6\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999999\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffff\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10000000000000000\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\n",
    ] {
        let result = parse(wire, Method::GET).await;
        assert!(result.is_err(), "{:?}", String::from_utf8_lossy(wire));
    }
    // A huge announced length is read (and fails when the connection ends), never reserved.
    let error = parse(
        b"HTTP/1.1 200 OK\r\ncontent-length: 1099511627776\r\n\r\nabc",
        Method::GET,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, WireError::ClosedMidResponse));
}

#[tokio::test]
async fn doubtful_framing_is_never_reused() {
    let cases: [&[u8]; 4] = [
        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: xchunkedx\r\n\r\nrest",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA",
        b"HTTP/1.1 204 No Content\r\n\r\nbody",
    ];
    for wire in cases {
        let r = parse(wire, Method::GET).await.unwrap();
        assert!(!r.keep_alive, "{:?}", String::from_utf8_lossy(wire));
    }
    let r = parse(
        b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody",
        Method::HEAD,
    )
    .await
    .unwrap();
    assert!(!r.keep_alive, "a body on a HEAD response is a leftover");
}

#[tokio::test]
async fn bodies_over_the_cap_are_drained_and_counted() {
    let mut wire = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..10 {
        wire.extend_from_slice(b"a\r\n0123456789\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    let mut io = &wire[..];
    let limits = Limits { max_body: 25 };
    let r = read_response(&mut io, &mut BytesMut::new(), &Method::GET, limits)
        .await
        .unwrap();
    assert_eq!((r.body.len(), r.body_len, r.truncated), (25, 100, true));
    assert!(r.keep_alive);
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
