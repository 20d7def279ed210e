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
pub const INCOMING: usize = 8;
/// Our frames not yet written: heartbeats and figures come a few a second.
pub const OUTGOING: usize = 64;

/// What [`Link::recv`] gives.
#[derive(Debug)]
pub enum Received {
    Message(Message),
    /// A frame that is not a Locust message: refused, the link goes on.
    Refused(ProtocolError),
    /// The connection ended (or was dropped for breaking the protocol): the link is dead.
    Lost(ZmtpError),
}

/// A connection to the master.
pub struct Link {
    outgoing: mpsc::Sender<Vec<u8>>,
    incoming: mpsc::Receiver<Result<Vec<u8>, ZmtpError>>,
    alive: bool,
    tasks: [tokio::task::JoinHandle<()>; 2],
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
    pub async fn open(address: &str, node_id: &str, timeout: Duration) -> Result<Self, ZmtpError> {
        let deadline = Instant::now() + timeout;
        let (mut reader, mut write) =
            zmtp::connect(address, node_id.as_bytes(), deadline, MAX_FRAME).await?;
        let (outgoing, mut out_rx) = mpsc::channel::<Vec<u8>>(OUTGOING);
        let sender = tokio::spawn(async move {
            while let Some(wire) = out_rx.recv().await {
                if let Err(error) = write.write_all(&wire).await {
                    log::warn!("locust worker: sending to the master failed: {error}");
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
        })
    }

    /// Queues `message`; a full queue drops it with a warning.
    pub fn send(&self, message: &Message) {
        if !self.alive {
            return;
        }
        let wire = zmtp::message(&message.encode());
        if let Err(mpsc::error::TrySendError::Full(_)) = self.outgoing.try_send(wire) {
            log::warn!(
                "locust worker: the master has not read our last {OUTGOING} messages: \
                 dropped a {:?} message",
                message.kind
            );
        }
    }

    /// The next thing the master sent. A dead link never answers again (the conversation
    /// goes on with its timers until it opens a new one).
    pub async fn recv(&mut self) -> Received {
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
    pub fn alive(&self) -> bool {
        self.alive
    }
}
