//! The Locust worker against hostile masters (no Locust needed): a raw-socket ZMTP peer that
//! completes the handshake, starts load and then announces a 1 TiB frame (the worker refuses
//! it naming the size and the limit, keeps its peak RSS, reconnects, and writes its reports
//! when told to quit); and a ROUTER socket of the `zeromq` crate playing a master that asks
//! for 4294967295 users, sends infinite, NaN and absurd timestamps and a message nested
//! 100000 deep (each refused with a reason, a later valid spawn still applied). Load goes to
//! a loopback server only.
//!
//! This target has no libtest harness: the same binary is the test and, with
//! `WORKER_CHILD=1`, the stress target run as a worker.

use swarm_harness_test_support as common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rmpv::Value;

/// The worker's frame limit (`locust::protocol::MAX_FRAME`).
const MAX_FRAME: usize = 1 << 20;

/// Generous for a busy machine: every wait is bounded by it, nothing asserts a speed.
const PATIENCE: Duration = Duration::from_secs(90);

/// A Locust message, `[type, data, node_id]` in msgpack, as the test writes and reads it.
struct Message {
    kind: String,
    data: Value,
}

impl Message {
    fn new(kind: &str, data: Value, _node_id: &str) -> Self {
        Message {
            kind: kind.to_owned(),
            data,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let triple = Value::Array(vec![
            Value::from(self.kind.as_str()),
            self.data.clone(),
            Value::from("master"),
        ]);
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &triple).unwrap();
        out
    }

    fn decode(frame: &[u8]) -> Self {
        let value = rmpv::decode::read_value(&mut &frame[..]).unwrap();
        let Value::Array(parts) = value else {
            panic!("not a message: {value}");
        };
        Message {
            kind: parts[0].as_str().unwrap().to_owned(),
            data: parts[1].clone(),
        }
    }
}

fn get<'a>(data: &'a Value, key: &str) -> Option<&'a Value> {
    data.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

fn main() -> ExitCode {
    common::test_or_child(
        "WORKER_CHILD",
        &[
            (
                "a_peer_announcing_a_huge_frame_is_dropped_and_the_reports_are_written",
                a_peer_announcing_a_huge_frame_is_dropped_and_the_reports_are_written,
            ),
            (
                "a_hostile_master_is_refused_message_by_message",
                a_hostile_master_is_refused_message_by_message,
            ),
        ],
        Some(1),
    )
}

/// One of our workers for the master at `port`, its load on `host`, reporting into `dir`.
fn worker(dir: &Path, port: u16, host: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .env("WORKER_CHILD", "1")
        .args(["--exact", "delayed", "--web", "off", "--duration", "5m"])
        .args(["--host", host])
        .args(["--locust-master", &format!("127.0.0.1:{port}")])
        .args(["--locust-master-timeout", "60s"])
        .arg("--report-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The worker's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {status}"))
}

/// Fails the test, with the worker's output, when it has exited.
fn check_alive(worker: &mut Child) {
    if let Some(status) = worker.try_wait().unwrap() {
        let mut stderr = String::new();
        if let Some(mut pipe) = worker.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        panic!("the worker exited ({status}): {stderr}");
    }
}

/// A spawn for the `delayed` trial.
fn spawn(timestamp: f64, users: u64, host: &str) -> Message {
    let data = map(vec![
        ("timestamp", Value::from(timestamp)),
        (
            "user_classes_count",
            map(vec![("delayed", Value::from(users))]),
        ),
        ("host", Value::from(host)),
        ("stop_timeout", Value::Nil),
    ]);
    Message::new("spawn", data, "master")
}

/// The master side of a raw ZMTP 3.1 connection: the hostile peer writes its own bytes.
struct RawPeer {
    stream: TcpStream,
}

impl RawPeer {
    /// The next connection from `worker`, handshaken as a ROUTER.
    fn accept(listener: &TcpListener, worker: &mut Child) -> Self {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + PATIENCE;
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("accept: {e}"),
            }
            check_alive(worker);
            assert!(Instant::now() < deadline, "the worker did not connect");
            std::thread::sleep(Duration::from_millis(20));
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut peer = RawPeer { stream };
        let mut greeting = [0u8; 64];
        greeting[0] = 0xff;
        greeting[9] = 0x7f;
        greeting[10] = 3;
        greeting[11] = 1;
        greeting[12..16].copy_from_slice(b"NULL");
        peer.stream.write_all(&greeting).unwrap();
        let mut theirs = [0u8; 64];
        peer.stream.read_exact(&mut theirs).unwrap();
        assert_eq!(&theirs[..11], &greeting[..11], "a ZMTP 3 greeting");
        let (flags, ready) = peer.frame();
        assert_eq!(flags & 0x04, 0x04, "a READY command");
        assert!(ready.starts_with(b"\x05READY"), "{ready:?}");
        let mut body = b"\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER".to_vec();
        body.splice(0..0, [0x04, body.len() as u8]);
        peer.stream.write_all(&body).unwrap();
        peer
    }

    fn frame(&mut self) -> (u8, Vec<u8>) {
        let mut flags = [0u8; 1];
        self.stream.read_exact(&mut flags).unwrap();
        let size = if flags[0] & 0x02 != 0 {
            let mut size = [0u8; 8];
            self.stream.read_exact(&mut size).unwrap();
            u64::from_be_bytes(size)
        } else {
            let mut size = [0u8; 1];
            self.stream.read_exact(&mut size).unwrap();
            u64::from(size[0])
        };
        let size = usize::try_from(size).unwrap();
        assert!(size <= MAX_FRAME, "the worker sent a frame of {size} bytes");
        let mut body = vec![0; size];
        self.stream.read_exact(&mut body).unwrap();
        (flags[0], body)
    }

    /// Messages from the worker until one of `kind`.
    fn until(&mut self, kind: &str) -> Message {
        loop {
            let (flags, body) = self.frame();
            if flags & 0x04 == 0 {
                let message = Message::decode(&body);
                if message.kind == kind {
                    return message;
                }
            }
        }
    }

    fn send(&mut self, message: &Message) {
        let body = message.encode();
        let mut wire = vec![0x02];
        wire.extend_from_slice(&(body.len() as u64).to_be_bytes());
        wire.extend_from_slice(&body);
        self.stream.write_all(&wire).unwrap();
    }
}

/// Waits until the server has counted `n` requests, the master's heartbeats going on.
fn wait_for_load(server: &common::Server, n: u64, worker: &mut Child, heartbeat: &mut dyn FnMut()) {
    let deadline = Instant::now() + PATIENCE;
    while server.requests.load(Ordering::SeqCst) < n {
        check_alive(worker);
        assert!(Instant::now() < deadline, "no load");
        heartbeat();
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn a_peer_announcing_a_huge_frame_is_dropped_and_the_reports_are_written() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut child = worker(dir.path(), port, &server.url);
    let mut peer = RawPeer::accept(&listener, &mut child);
    peer.until("client_ready");
    peer.send(&Message::new(
        "ack",
        map(vec![("index", Value::from(0))]),
        "",
    ));
    peer.send(&spawn(now(), 2, &server.url));
    let complete = peer.until("spawning_complete");
    assert_eq!(get(&complete.data, "user_count"), Some(&Value::from(2)));
    let heartbeat = Message::new("heartbeat", Value::Nil, "master");
    wait_for_load(&server, 200, &mut child, &mut || peer.send(&heartbeat));
    let before = peak_rss_kib(child.id());
    // A long frame header announcing 1 TiB, and then a few bytes of it.
    let mut huge = vec![0x02];
    huge.extend_from_slice(&(1u64 << 40).to_be_bytes());
    huge.extend_from_slice(b"just a little");
    peer.stream.write_all(&huge).unwrap();
    // The worker drops the connection and, the master being silent, opens another one.
    let mut again = RawPeer::accept(&listener, &mut child);
    let after = peak_rss_kib(child.id());
    println!("the worker's peak RSS: {before} KiB before the 1 TiB frame, {after} KiB after");
    assert!(
        after < 256 * 1024,
        "peak RSS {after} KiB after a 1 TiB frame"
    );
    again.until("client_ready");
    again.send(&Message::new("quit", Value::Nil, ""));
    let output = common::finish(child, PATIENCE, "the worker");
    let stderr = common::text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("a frame of 1099511627776 bytes, above the limit of 1048576 bytes"),
        "{stderr}"
    );
    let report = common::read_json(dir.path(), "delayed");
    let counted = server.requests.load(Ordering::SeqCst);
    assert_eq!(report["requests_total"]["count"].as_u64(), Some(counted));
}

/// A hostile Locust master: a ROUTER socket of the zeromq crate, the oracle of ZMTP.
struct Router {
    socket: zeromq::RouterSocket,
    runtime: tokio::runtime::Runtime,
    worker: Option<bytes::Bytes>,
    beat: Instant,
}

impl Router {
    fn bind() -> (Self, u16) {
        use zeromq::Socket;
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mut socket = zeromq::RouterSocket::new();
        let endpoint = runtime.block_on(socket.bind("tcp://127.0.0.1:0")).unwrap();
        let zeromq::Endpoint::Tcp(_, port) = endpoint else {
            panic!("a TCP endpoint");
        };
        let router = Router {
            socket,
            runtime,
            worker: None,
            beat: Instant::now(),
        };
        (router, port)
    }

    fn send_raw(&mut self, frame: Vec<u8>) {
        use zeromq::SocketSend;
        let to = self.worker.clone().expect("the worker registered");
        let message = zeromq::ZmqMessage::try_from(vec![to, bytes::Bytes::from(frame)]).unwrap();
        self.runtime.block_on(self.socket.send(message)).unwrap();
    }

    fn send(&mut self, message: &Message) {
        self.send_raw(message.encode());
    }

    /// The worker's messages until one of `kind` (the exceptions on the way kept), heartbeats
    /// going to it every half second.
    fn until(&mut self, kind: &str, exceptions: &mut Vec<String>) -> Message {
        use zeromq::SocketRecv;
        let deadline = Instant::now() + PATIENCE;
        loop {
            assert!(Instant::now() < deadline, "no {kind} from the worker");
            // A master silent for 3 s is one the worker connects to again.
            if self.worker.is_some() && self.beat.elapsed() > Duration::from_millis(500) {
                self.beat = Instant::now();
                self.send(&Message::new("heartbeat", Value::Nil, "master"));
            }
            let received = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_millis(500), self.socket.recv()).await
            });
            let Ok(received) = received else {
                continue;
            };
            let frames = received.unwrap().into_vec();
            self.worker = Some(frames[0].clone());
            let message = Message::decode(&frames[1]);
            if message.kind == "exception" {
                let text = get(&message.data, "msg").and_then(Value::as_str);
                exceptions.push(text.unwrap_or_default().to_owned());
            }
            if message.kind == kind {
                return message;
            }
        }
    }
}

/// `[spawn, data, "master"]` with `data` nested `depth` arrays deep.
fn nested(depth: usize) -> Vec<u8> {
    let mut frame = b"\x93\xa5spawn".to_vec();
    frame.extend(std::iter::repeat_n(0x91, depth));
    frame.extend_from_slice(b"\xc0\xa6master");
    frame
}

fn a_hostile_master_is_refused_message_by_message() {
    let server = common::start_server(0);
    let dir = tempfile::tempdir().unwrap();
    let (mut master, port) = Router::bind();
    let mut child = worker(dir.path(), port, &server.url);
    let mut exceptions = Vec::new();
    master.until("client_ready", &mut exceptions);
    master.send(&Message::new(
        "ack",
        map(vec![("index", Value::from(0))]),
        "",
    ));
    let started = now();
    // 4294967295 users: above the web API's bound, refused, nothing started.
    master.send(&spawn(started, u64::from(u32::MAX), &server.url));
    let complete = master.until("spawning_complete", &mut exceptions);
    assert_eq!(get(&complete.data, "user_count"), Some(&Value::from(0)));
    assert!(
        exceptions
            .iter()
            .any(|e| e.contains("4294967295 users refused") && e.contains("0 to 1000000")),
        "{exceptions:?}"
    );
    master.send(&spawn(started + 1.0, 2, &server.url));
    let complete = master.until("spawning_complete", &mut exceptions);
    assert_eq!(get(&complete.data, "user_count"), Some(&Value::from(2)));
    // Times that would order every later spawn out, and nesting that overflowed a stack.
    for timestamp in [f64::INFINITY, f64::NAN, 1e300, -5.0] {
        master.send(&spawn(timestamp, 3, &server.url));
    }
    for depth in [1000, 100_000] {
        master.send_raw(nested(depth));
    }
    master.send(&spawn(started + 2.0, 4, &server.url));
    let complete = master.until("spawning_complete", &mut exceptions);
    assert_eq!(get(&complete.data, "user_count"), Some(&Value::from(4)));
    check_alive(&mut child);
    let load = server.requests.load(Ordering::SeqCst) + 100;
    let deadline = Instant::now() + PATIENCE;
    while server.requests.load(Ordering::SeqCst) < load {
        assert!(Instant::now() < deadline, "no load");
        master.until("heartbeat", &mut exceptions);
    }
    master.send(&Message::new("quit", Value::Nil, ""));
    let output = common::finish(child, PATIENCE, "the worker");
    let stderr = common::text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for reason in [
        "timestamp inf is not a time",
        "timestamp NaN is not a time",
        "timestamp 1e300 is not a time",
        "timestamp -5.0 is not a time",
        "nested deeper than 32 levels",
    ] {
        assert!(stderr.contains(reason), "{reason}: {stderr}");
    }
    let report = common::read_json(dir.path(), "delayed");
    let counted = server.requests.load(Ordering::SeqCst);
    assert_eq!(report["requests_total"]["count"].as_u64(), Some(counted));
}
