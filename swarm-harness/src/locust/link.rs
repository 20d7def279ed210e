//! One connection to the Locust master ([`super::zmtp`]), each half driven by a task that
//! ends with the link, and both queues bounded: the master's frames wait in a queue of
//! [`INCOMING`] (when it is full the reader stops reading, and TCP makes the master wait),
//! each frame at most [`MAX_FRAME`] bytes and decoded only when taken, so at most one decoded
//! message exists at a time; ours wait in a queue of [`OUTGOING`], and a message that finds it
//! full (a master that stopped reading for tens of seconds) is dropped with a warning, as the
//! next heartbeat and figures follow anyway.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::protocol::{MAX_FRAME, Message, ProtocolError};
use super::zmtp::{self, Traffic, ZmtpError};

/// Frames from the master not yet taken by the conversation.
pub(crate) const INCOMING: usize = 8;
/// Our frames not yet written: heartbeats and figures come a few a second.
pub(crate) const OUTGOING: usize = 64;

/// What [`Link::recv`] gives.
#[derive(Debug)]
pub(crate) enum Received {
    Message(Message),
    /// A frame that is not a Locust message: refused, the link goes on.
    Refused(ProtocolError),
    /// The connection ended (or was dropped for breaking the protocol): the link is dead.
    Lost(ZmtpError),
}

/// A connection to the master.
pub(crate) struct Link {
    outgoing: mpsc::Sender<Vec<u8>>,
    incoming: mpsc::Receiver<Result<Vec<u8>, ZmtpError>>,
    alive: bool,
    tasks: [tokio::task::JoinHandle<()>; 2],
    /// Warnings of dropped messages, throttled.
    dropped: std::sync::Mutex<crate::throttle::Throttle>,
}

impl Drop for Link {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Link {
    /// Connects as a DEALER whose identity is `node_id`, waiting at most `timeout` for the
    /// master's port and handshake.
    ///
    /// # Errors
    /// When no master completes a handshake within `timeout`.
    pub(crate) async fn open(
        address: &str,
        node_id: &str,
        timeout: Duration,
    ) -> Result<Self, ZmtpError> {
        let deadline = Instant::now() + timeout;
        let (mut reader, mut write) =
            zmtp::connect(address, node_id.as_bytes(), deadline, MAX_FRAME).await?;
        let (outgoing, mut out_rx) = mpsc::channel::<Vec<u8>>(OUTGOING);
        let sender = tokio::spawn(async move {
            while let Some(wire) = out_rx.recv().await {
                if let Err(error) = write.write_all(&wire).await {
                    crate::logging::warning!(
                        "locust worker: sending to the master failed: {error}"
                    );
                    return;
                }
            }
        });
        let (in_tx, incoming) = mpsc::channel(INCOMING);
        let pongs = outgoing.clone();
        let receiver = tokio::spawn(async move {
            loop {
                let item = match reader.recv().await {
                    Ok(Traffic::Ping(context)) => {
                        // A full queue means the master is not reading: no answer is due.
                        let _ = pongs.try_send(zmtp::pong(&context));
                        continue;
                    }
                    // A master sends one frame per message.
                    Ok(Traffic::Message(mut parts)) => Ok(parts.swap_remove(0)),
                    Err(error) => Err(error),
                };
                let last = item.is_err();
                if in_tx.send(item).await.is_err() || last {
                    return;
                }
            }
        });
        Ok(Link {
            outgoing,
            incoming,
            alive: true,
            tasks: [sender, receiver],
            dropped: std::sync::Mutex::default(),
        })
    }

    /// Queues `message`; a full queue drops it with a warning.
    pub(crate) fn send(&self, message: &Message) {
        if !self.alive {
            return;
        }
        let wire = zmtp::message(&message.encode());
        if let Err(mpsc::error::TrySendError::Full(_)) = self.outgoing.try_send(wire)
            && let Some(held) = self
                .dropped
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .allow()
        {
            crate::logging::warning!(
                "locust worker: the master has not read our last {OUTGOING} messages: \
                 dropped a {:?} message ({held} more dropped since the last warning)",
                message.kind
            );
        }
    }

    /// The next thing the master sent. A dead link never answers again (the conversation
    /// goes on with its timers until it opens a new one).
    pub(crate) async fn recv(&mut self) -> Received {
        if !self.alive {
            return std::future::pending().await;
        }
        match self.incoming.recv().await {
            Some(Ok(frame)) => match Message::decode(&frame) {
                Ok(message) => Received::Message(message),
                Err(error) => Received::Refused(error),
            },
            Some(Err(error)) => {
                self.alive = false;
                Received::Lost(error)
            }
            None => {
                self.alive = false;
                Received::Lost(ZmtpError::Closed)
            }
        }
    }

    /// Whether the connection still stands.
    pub(crate) fn alive(&self) -> bool {
        self.alive
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmpv::Value;
    use tokio::io::BufReader;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_master_that_stops_reading_fills_a_bounded_queue_not_memory() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let peer = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut reader = zmtp::Reader::new(BufReader::new(read), MAX_FRAME);
            zmtp::handshake(&mut reader, &mut write, b"master")
                .await
                .unwrap();
            // Connected, and never reading again.
            std::future::pending::<()>().await;
            drop((reader, write));
        });
        let link = Link::open(&address, "w1", Duration::from_secs(30))
            .await
            .unwrap();
        let big = Message::new("stats", Value::Binary(vec![0; 64 * 1024]), "w1");
        // 128 MiB offered, far beyond what the sockets' buffers hold: the queue fills, the
        // rest is dropped, and no send waits.
        for _ in 0..2000 {
            link.send(&big);
            tokio::task::yield_now().await;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while link.outgoing.capacity() > 0 {
            assert!(Instant::now() < deadline, "the queue never filled");
            tokio::time::sleep(Duration::from_millis(10)).await;
            link.send(&big);
        }
        assert_eq!(link.outgoing.max_capacity(), OUTGOING);
        peer.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_frame_kills_the_link_with_the_reason() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut reader = zmtp::Reader::new(BufReader::new(read), MAX_FRAME);
            zmtp::handshake(&mut reader, &mut write, b"master")
                .await
                .unwrap();
            write.write_all(&zmtp::message(b"\xc1")).await.unwrap();
            let mut huge = vec![0x02];
            huge.extend_from_slice(&(1u64 << 40).to_be_bytes());
            write.write_all(&huge).await.unwrap();
            std::future::pending::<()>().await;
            drop((reader, write));
        });
        let mut link = Link::open(&address, "w1", Duration::from_secs(30))
            .await
            .unwrap();
        assert!(matches!(link.recv().await, Received::Refused(_)));
        let Received::Lost(error) = link.recv().await else {
            panic!("the link goes on after a 1 TiB frame");
        };
        assert!(error.to_string().contains("1099511627776"), "{error}");
        assert!(!link.alive());
        // A dead link stays quiet rather than answering at once, again and again.
        let again = tokio::time::timeout(Duration::from_millis(100), link.recv()).await;
        assert!(again.is_err());
    }
}
