//! Locust's worker messages as the installed package speaks them (`locust/rpc/protocol.py`):
//! one ZeroMQ frame holding the msgpack array `[type, data, node_id]`, where `data` is any
//! msgpack value (maps with integer keys included: the response-time buckets). Decoding is
//! bounded: a frame above [`MAX_FRAME`] is refused before it is read, and serde's cautious
//! size hints keep an announced length from reserving memory the frame does not hold.

use rmpv::Value;

/// The largest message a master may send (its `spawn` carries the parsed options; a few KiB).
pub const MAX_FRAME: usize = 1 << 20;

/// One message, either way.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: String,
    pub data: Value,
    pub node_id: String,
}

/// A frame that is not a Locust message.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProtocolError {
    #[error("a message of {0} bytes is above the limit of {MAX_FRAME}")]
    TooLarge(usize),
    #[error("not a Locust message: {0}")]
    Malformed(String),
}

impl Message {
    pub fn new(kind: &str, data: Value, node_id: &str) -> Self {
        Message {
            kind: kind.to_owned(),
            data,
            node_id: node_id.to_owned(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let triple = Value::Array(vec![
            Value::from(self.kind.as_str()),
            self.data.clone(),
            Value::from(self.node_id.as_str()),
        ]);
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &triple).expect("writing to a Vec cannot fail");
        bytes
    }

    /// # Errors
    /// When the frame is too large or is not `[type, data, node_id]`.
    pub fn decode(frame: &[u8]) -> Result<Self, ProtocolError> {
        if frame.len() > MAX_FRAME {
            return Err(ProtocolError::TooLarge(frame.len()));
        }
        let value: Value =
            rmp_serde::from_slice(frame).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
        let Value::Array(mut parts) = value else {
            return Err(ProtocolError::Malformed("not an array".to_owned()));
        };
        if parts.len() != 3 {
            return Err(ProtocolError::Malformed(format!(
                "an array of {} items, not [type, data, node_id]",
                parts.len()
            )));
        }
        let node_id = match parts.pop() {
            Some(Value::String(s)) => s.into_str().unwrap_or_default(),
            _ => String::new(),
        };
        let data = parts.pop().unwrap_or(Value::Nil);
        let kind = match parts.pop() {
            Some(Value::String(s)) => s
                .into_str()
                .ok_or_else(|| ProtocolError::Malformed("a type that is not UTF-8".to_owned()))?,
            other => {
                return Err(ProtocolError::Malformed(format!(
                    "a type that is not a string: {other:?}"
                )));
            }
        };
        Ok(Message {
            kind,
            data,
            node_id,
        })
    }
}

/// `map[key]` of a msgpack map with string keys.
pub fn get<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// A msgpack map with string keys.
pub fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_message_round_trips() {
        let message = Message::new(
            "stats",
            map(vec![
                ("user_count", Value::from(3)),
                (
                    "response_times",
                    Value::Map(vec![(Value::from(150), Value::from(2))]),
                ),
            ]),
            "host_abc",
        );
        assert_eq!(Message::decode(&message.encode()), Ok(message));
    }

    #[test]
    fn what_python_msgpack_writes_decodes() {
        // msgpack.dumps(("ack", {"index": 0}, "w1")) as Locust's master sends it.
        let frame = b"\x93\xa3ack\x81\xa5index\x00\xa2w1";
        let message = Message::decode(frame).unwrap();
        assert_eq!(message.kind, "ack");
        assert_eq!(get(&message.data, "index").and_then(Value::as_u64), Some(0));
        assert_eq!(message.node_id, "w1");
    }

    #[test]
    fn hostile_frames_are_errors() {
        for frame in [
            &b""[..],
            b"\xc1",
            b"\x92\xa3ack\xc0",
            b"\x93\x01\xc0\xa2w1",
            // An array announcing 4 billion items in 5 bytes: no reservation, an error.
            b"\xdd\xff\xff\xff\xff",
            b"\x93\xdb\xff\xff\xff\xff",
            b"\x93\xa3ack\xdf\xff\xff\xff\xff",
        ] {
            assert!(Message::decode(frame).is_err(), "{frame:?}");
        }
        assert_eq!(
            Message::decode(&vec![0x90; MAX_FRAME + 1]),
            Err(ProtocolError::TooLarge(MAX_FRAME + 1))
        );
    }

    proptest! {
        #[test]
        fn any_bytes_are_a_message_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Message::decode(&bytes);
        }

        #[test]
        fn any_strings_round_trip(kind in ".{0,20}", id in ".{0,40}", n in any::<i64>()) {
            let message = Message::new(&kind, map(vec![("n", Value::from(n))]), &id);
            prop_assert_eq!(Message::decode(&message.encode()), Ok(message));
        }
    }
}
