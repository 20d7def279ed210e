//! A ZMTP 3.1 DEALER client (rfc.zeromq.org 23 and 37), all a Locust worker needs of ZeroMQ:
//! the greeting, the NULL mechanism's `READY` with `Socket-Type` and `Identity`, message frames
//! and commands with short and long sizes, `PING` answered by `PONG`, and `ERROR` read as the
//! peer's refusal.
//!
//! Why our own and not the `zeromq` crate: its codec reserves a frame's announced length
//! before any data arrives (`src.reserve(..)` in `codec/zmq_codec.rs`, 0.7.0), so a peer that
//! sends a greeting and the 9 bytes of a 1 TiB frame header aborts the worker (exit 134, no
//! reports); no option of its `SocketOptions` bounds it, and a limit after decoding comes too
//! late. Here every announced size is checked against the limit before a byte is allocated:
//! a 1 TiB announcement is an error naming the size and the limit, the connection is dropped,
//! and the worker's peak RSS stays where it was (21.9 MiB before the frame, 22.2 MiB after,
//! debug build, `VmHWM` in the `locust_hostile` test; the crate's worker aborted on it). A
//! master sends a few messages a second, so nothing here is on a hot path; the price is this
//! file (about 300 lines besides its tests), and the gain is 17 crates fewer in the library's
//! dependency tree (242 → 225 with `cargo tree -e normal`: `zeromq`, `asynchronous-codec`,
//! `rmp-serde`, `serde_bytes`, a second `rand` with its `chacha20` and `getrandom`, `scc`,
//! `crossbeam-*`, `futures`, ...).
//! The crate remains the oracle of the tests: its ROUTER socket talks to this client.

use std::io;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Frame flags (the first octet of every frame).
const MORE: u8 = 0x01;
const LONG: u8 = 0x02;
const COMMAND: u8 = 0x04;

/// Commands (and their metadata) are small: a `READY` names a socket type and an identity.
const MAX_COMMAND: usize = 64 * 1024;
/// A master's messages have one frame; empty frames cost no bytes, so they are counted too.
const MAX_PARTS: usize = 16;

/// What can go wrong on a connection; each ends it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ZmtpError {
    #[error("connecting to {address}: {source}")]
    Connect { address: String, source: io::Error },
    #[error("no ZMTP handshake from {0} in time")]
    HandshakeTimeout(String),
    #[error("the connection failed: {0}")]
    Io(#[from] io::Error),
    #[error("the peer closed the connection")]
    Closed,
    #[error("not a ZMTP 3 peer: {0}")]
    Greeting(String),
    #[error(
        "the peer announced a {kind} of {size} bytes, above the limit of {limit} bytes: \
         connection dropped"
    )]
    TooLarge {
        kind: &'static str,
        size: u64,
        limit: usize,
    },
    #[error("the peer refused the connection: {0}")]
    Refused(String),
    #[error("a malformed {0}")]
    Malformed(&'static str),
}

/// What the peer sent: a whole message (its frames), or a command this side must answer.
#[derive(Debug, PartialEq)]
pub(crate) enum Traffic {
    Message(Vec<Vec<u8>>),
    /// A `PING`; the bytes to send back are [`pong`]`(context)`.
    Ping(Vec<u8>),
}

/// The receiving half of a connection: frames at most `limit` bytes (a message's frames
/// together too).
pub(crate) struct Reader<R> {
    inner: R,
    limit: usize,
}

/// Connects to `address` (retrying until `deadline`, as a worker may start before its
/// master) and completes the handshake as a DEALER with `identity`.
///
/// # Errors
/// When no connection and handshake complete by `deadline`, or the peer is not a ZMTP 3
/// ROUTER speaking the NULL mechanism.
pub(crate) async fn connect(
    address: &str,
    identity: &[u8],
    deadline: Instant,
    limit: usize,
) -> Result<(Reader<BufReader<OwnedReadHalf>>, OwnedWriteHalf), ZmtpError> {
    let stream = connect_tcp(address, deadline).await?;
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = Reader::new(BufReader::new(read), limit);
    let wait = deadline.saturating_duration_since(Instant::now());
    tokio::time::timeout(wait, handshake(&mut reader, &mut write, identity))
        .await
        .map_err(|_| ZmtpError::HandshakeTimeout(address.to_owned()))??;
    Ok((reader, write))
}

async fn connect_tcp(address: &str, deadline: Instant) -> Result<TcpStream, ZmtpError> {
    let mut pause = Duration::from_millis(50);
    loop {
        let wait = deadline.saturating_duration_since(Instant::now());
        let error = match tokio::time::timeout(wait, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => error,
            Err(_) => io::Error::new(io::ErrorKind::TimedOut, "timed out"),
        };
        if Instant::now() + pause >= deadline {
            return Err(ZmtpError::Connect {
                address: address.to_owned(),
                source: error,
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// Greetings both ways, then `READY` both ways.
pub(crate) async fn handshake<R, W>(
    reader: &mut Reader<R>,
    write: &mut W,
    identity: &[u8],
) -> Result<(), ZmtpError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    write.write_all(&greeting()).await?;
    write.flush().await?;
    let mut theirs = [0u8; 64];
    reader.inner.read_exact(&mut theirs).await.map_err(eof)?;
    check_greeting(&theirs)?;
    write.write_all(&ready(identity)).await?;
    write.flush().await?;
    loop {
        let (flags, body) = reader.frame().await?;
        if flags & COMMAND == 0 {
            return Err(ZmtpError::Malformed("handshake: a message before READY"));
        }
        let (name, data) = split_command(&body)?;
        match name {
            b"READY" => return check_ready(data),
            b"ERROR" => return Err(ZmtpError::Refused(error_reason(data))),
            // Nothing else is valid before READY; a tolerant peer ignores it.
            _ => {}
        }
    }
}

/// Our greeting: ZMTP 3.1, the NULL mechanism, as a client.
fn greeting() -> [u8; 64] {
    let mut out = [0u8; 64];
    out[0] = 0xff;
    out[9] = 0x7f;
    out[10] = 3;
    out[11] = 1;
    out[12..16].copy_from_slice(b"NULL");
    out
}

fn check_greeting(theirs: &[u8; 64]) -> Result<(), ZmtpError> {
    if theirs[0] != 0xff || theirs[9] & 0x01 == 0 {
        return Err(ZmtpError::Greeting("no ZMTP signature".to_owned()));
    }
    if theirs[10] < 3 {
        return Err(ZmtpError::Greeting(format!(
            "ZMTP {}.{} (3.0 or later needed)",
            theirs[10], theirs[11]
        )));
    }
    let mechanism = &theirs[12..32];
    let end = mechanism.iter().position(|b| *b == 0).unwrap_or(20);
    if &mechanism[..end] != b"NULL" {
        return Err(ZmtpError::Greeting(format!(
            "the security mechanism {:?} (only NULL is spoken here)",
            String::from_utf8_lossy(&mechanism[..end])
        )));
    }
    Ok(())
}

/// `READY` with our socket type and identity.
fn ready(identity: &[u8]) -> Vec<u8> {
    let mut body = command_name(b"READY");
    for (name, value) in [
        (&b"Socket-Type"[..], &b"DEALER"[..]),
        (b"Identity", identity),
    ] {
        body.push(name.len() as u8);
        body.extend_from_slice(name);
        body.extend_from_slice(&(value.len() as u32).to_be_bytes());
        body.extend_from_slice(value);
    }
    frame(&body, COMMAND)
}

/// The peer's `READY`: its socket type must be one a DEALER talks to.
fn check_ready(mut data: &[u8]) -> Result<(), ZmtpError> {
    let malformed = || ZmtpError::Malformed("READY metadata");
    let mut socket_type = None;
    while let Some((&length, rest)) = data.split_first() {
        let (name, rest) = rest
            .split_at_checked(usize::from(length))
            .ok_or_else(malformed)?;
        let (size, rest) = rest.split_first_chunk::<4>().ok_or_else(malformed)?;
        let size = usize::try_from(u32::from_be_bytes(*size)).map_err(|_| malformed())?;
        let (value, rest) = rest.split_at_checked(size).ok_or_else(malformed)?;
        if name.eq_ignore_ascii_case(b"Socket-Type") {
            socket_type = Some(value);
        }
        data = rest;
    }
    match socket_type {
        Some(b"ROUTER" | b"DEALER" | b"REP") => Ok(()),
        Some(other) => Err(ZmtpError::Refused(format!(
            "a {} socket does not talk to a DEALER",
            String::from_utf8_lossy(other)
        ))),
        None => Err(ZmtpError::Malformed("READY without Socket-Type")),
    }
}

fn command_name(name: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name);
    body
}

fn split_command(body: &[u8]) -> Result<(&[u8], &[u8]), ZmtpError> {
    let (&length, rest) = body
        .split_first()
        .ok_or(ZmtpError::Malformed("empty command"))?;
    rest.split_at_checked(usize::from(length))
        .ok_or(ZmtpError::Malformed("command name"))
}

fn error_reason(data: &[u8]) -> String {
    let reason = data
        .split_first()
        .and_then(|(&n, rest)| rest.get(..usize::from(n)))
        .unwrap_or_default();
    String::from_utf8_lossy(reason).into_owned()
}

/// A frame on the wire: flags, a short or a long size, the body.
fn frame(body: &[u8], flags: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 9);
    match u8::try_from(body.len()) {
        Ok(short) => out.extend_from_slice(&[flags, short]),
        Err(_) => {
            out.push(flags | LONG);
            out.extend_from_slice(&(body.len() as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(body);
    out
}

/// A one-frame message on the wire, as a Locust master expects.
pub(crate) fn message(body: &[u8]) -> Vec<u8> {
    frame(body, 0)
}

/// The answer to a `PING` with `context`.
pub(crate) fn pong(context: &[u8]) -> Vec<u8> {
    let mut body = command_name(b"PONG");
    body.extend_from_slice(&context[..context.len().min(16)]);
    frame(&body, COMMAND)
}

fn eof(error: io::Error) -> ZmtpError {
    if error.kind() == io::ErrorKind::UnexpectedEof {
        ZmtpError::Closed
    } else {
        ZmtpError::Io(error)
    }
}

impl<R: AsyncRead + Unpin> Reader<R> {
    /// A reader of frames at most `limit` bytes from `inner` (past the handshake).
    pub(crate) fn new(inner: R, limit: usize) -> Self {
        Reader { inner, limit }
    }

    /// One frame: its flags and body. The announced size is checked before anything is
    /// allocated for the body.
    async fn frame(&mut self) -> Result<(u8, Vec<u8>), ZmtpError> {
        let flags = self.inner.read_u8().await.map_err(eof)?;
        let size = if flags & LONG != 0 {
            self.inner.read_u64().await.map_err(eof)?
        } else {
            u64::from(self.inner.read_u8().await.map_err(eof)?)
        };
        let (kind, limit) = if flags & COMMAND != 0 {
            ("command", MAX_COMMAND.min(self.limit))
        } else {
            ("frame", self.limit)
        };
        let size_ok = usize::try_from(size).ok().filter(|s| *s <= limit);
        let Some(size) = size_ok else {
            return Err(ZmtpError::TooLarge { kind, size, limit });
        };
        let mut body = vec![0; size];
        self.inner.read_exact(&mut body).await.map_err(eof)?;
        Ok((flags, body))
    }

    /// The next message or `PING`; other commands are skipped. A message's frames together
    /// are at most the limit.
    ///
    /// # Errors
    /// When the connection ends or breaks the protocol; the caller drops it.
    pub(crate) async fn recv(&mut self) -> Result<Traffic, ZmtpError> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut total = 0usize;
        loop {
            let (flags, body) = self.frame().await?;
            if flags & COMMAND != 0 {
                let (name, data) = split_command(&body)?;
                match name {
                    b"PING" => {
                        return Ok(Traffic::Ping(data.get(2..).unwrap_or_default().to_vec()));
                    }
                    b"ERROR" => return Err(ZmtpError::Refused(error_reason(data))),
                    _ => continue,
                }
            }
            total += body.len();
            if parts.len() >= MAX_PARTS {
                return Err(ZmtpError::Malformed("message of too many frames"));
            }
            if total > self.limit {
                return Err(ZmtpError::TooLarge {
                    kind: "message",
                    size: total as u64,
                    limit: self.limit,
                });
            }
            parts.push(body);
            if flags & MORE == 0 {
                return Ok(Traffic::Message(parts));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use zeromq::{Socket, SocketRecv, SocketSend};

    const LIMIT: usize = 1 << 20;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// `bytes` as what a peer sent after the handshake.
    fn recv_from(bytes: &[u8]) -> Result<Traffic, ZmtpError> {
        runtime().block_on(Reader::new(bytes, LIMIT).recv())
    }

    #[test]
    fn the_zeromq_crates_router_talks_to_this_dealer() {
        runtime().block_on(async {
            let mut router = zeromq::RouterSocket::new();
            let zeromq::Endpoint::Tcp(_, port) = router.bind("tcp://127.0.0.1:0").await.unwrap()
            else {
                panic!("a TCP endpoint");
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            let address = format!("127.0.0.1:{port}");
            let (mut reader, mut write) = connect(&address, b"worker_1", deadline, LIMIT)
                .await
                .unwrap();
            // Ours, short and long: the router sees our identity first, then each frame.
            for body in [b"hello".to_vec(), vec![7; 300], vec![9; 100_000]] {
                write.write_all(&message(&body)).await.unwrap();
                let got = router.recv().await.unwrap().into_vec();
                assert_eq!(got.len(), 2);
                assert_eq!(&got[0][..], b"worker_1");
                assert_eq!(got[1].to_vec(), body);
            }
            // Theirs: short, long, and several frames in one message.
            let bodies: Vec<Vec<Vec<u8>>> = vec![
                vec![b"ack".to_vec()],
                vec![vec![1; 256]],
                vec![vec![2; 70_000]],
                vec![b"a".to_vec(), Vec::new(), vec![3; 1000]],
            ];
            for parts in bodies {
                let mut frames = vec![bytes::Bytes::from_static(b"worker_1")];
                frames.extend(parts.iter().cloned().map(bytes::Bytes::from));
                router
                    .send(zeromq::ZmqMessage::try_from(frames).unwrap())
                    .await
                    .unwrap();
                assert_eq!(reader.recv().await.unwrap(), Traffic::Message(parts));
            }
            drop(router);
            assert!(reader.recv().await.is_err(), "the router's close is seen");
        });
    }

    #[test]
    fn a_huge_announced_frame_is_refused_before_its_body_is_read() {
        // Only the header is there: reading a body would be end-of-file, not this error.
        let mut header = vec![LONG];
        header.extend_from_slice(&(1u64 << 40).to_be_bytes());
        let error = recv_from(&header).unwrap_err();
        assert!(
            matches!(error, ZmtpError::TooLarge { size, limit: LIMIT, .. } if size == 1 << 40),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            text.contains("1099511627776") && text.contains("1048576"),
            "{text}"
        );
        // u64::MAX, a command of 1 MiB, and a message whose frames add up above the limit.
        let mut max = vec![LONG];
        max.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(matches!(recv_from(&max), Err(ZmtpError::TooLarge { .. })));
        let mut command = vec![COMMAND | LONG];
        command.extend_from_slice(&(LIMIT as u64).to_be_bytes());
        assert!(matches!(
            recv_from(&command),
            Err(ZmtpError::TooLarge {
                kind: "command",
                ..
            })
        ));
        let mut parts = frame(&vec![0; LIMIT / 2 + 1], MORE);
        parts.extend(frame(&vec![0; LIMIT / 2 + 1], 0));
        assert!(matches!(
            recv_from(&parts),
            Err(ZmtpError::TooLarge {
                kind: "message",
                ..
            })
        ));
    }

    #[test]
    fn endless_empty_frames_are_refused() {
        let wire: Vec<u8> = std::iter::repeat_n([MORE, 0], 10_000).flatten().collect();
        assert!(matches!(recv_from(&wire), Err(ZmtpError::Malformed(_))));
    }

    #[test]
    fn a_ping_is_answered_and_other_commands_skipped() {
        let mut wire = frame(b"\x09SUBSCRIBE", COMMAND);
        wire.extend(frame(b"\x04PING\x00\x0actx", COMMAND));
        assert_eq!(recv_from(&wire).unwrap(), Traffic::Ping(b"ctx".to_vec()));
        assert_eq!(pong(b"ctx"), frame(b"\x04PONGctx", COMMAND));
        let error = recv_from(&frame(b"\x05ERROR\x04gone", COMMAND)).unwrap_err();
        assert_eq!(error.to_string(), "the peer refused the connection: gone");
    }

    /// The handshake of this client against a peer whose greeting and `READY` are given.
    fn handshake_with(greeting: [u8; 64], ready_body: &[u8]) -> Result<Vec<u8>, ZmtpError> {
        let mut peer = greeting.to_vec();
        peer.extend(frame(ready_body, COMMAND));
        let mut sent = Vec::new();
        let mut reader = Reader::new(&peer[..], LIMIT);
        runtime().block_on(handshake(&mut reader, &mut sent, b"w1"))?;
        Ok(sent)
    }

    fn router_ready() -> Vec<u8> {
        let mut body = command_name(b"READY");
        body.extend_from_slice(b"\x0bSocket-Type\x00\x00\x00\x06ROUTER");
        body
    }

    #[test]
    fn the_handshake_sends_greeting_socket_type_and_identity() {
        let sent = handshake_with(greeting(), &router_ready()).unwrap();
        assert_eq!(sent[..64], greeting());
        let mut ready_body = command_name(b"READY");
        ready_body.extend_from_slice(b"\x0bSocket-Type\x00\x00\x00\x06DEALER");
        ready_body.extend_from_slice(b"\x08Identity\x00\x00\x00\x02w1");
        assert_eq!(sent[64..], frame(&ready_body, COMMAND));
    }

    #[test]
    fn peers_that_are_not_a_null_router_are_refused() {
        let mut old = greeting();
        old[10] = 2;
        let mut plain = greeting();
        plain[12..17].copy_from_slice(b"PLAIN");
        let mut unsigned = greeting();
        unsigned[0] = 0;
        for bad in [old, plain, unsigned] {
            assert!(matches!(
                handshake_with(bad, &router_ready()),
                Err(ZmtpError::Greeting(_))
            ));
        }
        let mut publisher = command_name(b"READY");
        publisher.extend_from_slice(b"\x0bSocket-Type\x00\x00\x00\x03PUB");
        assert!(matches!(
            handshake_with(greeting(), &publisher),
            Err(ZmtpError::Refused(_))
        ));
        let mut lying = command_name(b"READY");
        lying.extend_from_slice(b"\x0bSocket-Type\xff\xff\xff\xffROUTER");
        assert!(matches!(
            handshake_with(greeting(), &lying),
            Err(ZmtpError::Malformed(_))
        ));
        let refused = handshake_with(greeting(), b"\x05ERROR\x06denied").unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the peer refused the connection: denied"
        );
    }

    proptest! {
        #[test]
        fn any_bytes_are_traffic_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = recv_from(&bytes);
        }

        #[test]
        fn any_announced_size_above_the_limit_is_refused(size in (LIMIT as u64 + 1)..=u64::MAX, command in any::<bool>()) {
            let mut header = vec![LONG | if command { COMMAND } else { 0 }];
            header.extend_from_slice(&size.to_be_bytes());
            let refused = matches!(recv_from(&header), Err(ZmtpError::TooLarge { .. }));
            prop_assert!(refused);
        }

        #[test]
        fn any_message_round_trips(body in proptest::collection::vec(any::<u8>(), 0..2000)) {
            prop_assert_eq!(recv_from(&message(&body)).unwrap(), Traffic::Message(vec![body]));
        }
    }
}
