//! Locust's worker messages as the installed package speaks them (`locust/rpc/protocol.py`):
//! one ZeroMQ frame holding the msgpack array `[type, data, node_id]`, where `data` is any
//! msgpack value (maps with integer keys included: the response-time buckets). Decoding is
//! bounded: a frame above [`MAX_FRAME`] is refused before it is read ([`super::zmtp`]), an
//! announced length reserves at most 64 KiB (rmpv's `PREALLOC_MAX`, arrays and maps none)
//! until the frame holds the data, and nesting deeper than [`MAX_DEPTH`] is an error before
//! the recursion that would overflow a worker thread's stack (a 1000-deep message did in a
//! debug build with rmpv's default of 1024).

use rmpv::Value;
use swarm_harness_syntax::limits;

/// The largest message a master may send (its `spawn` carries the parsed options; a few KiB).
pub(crate) const MAX_FRAME: usize = 1 << 20;

/// The most levels of arrays and maps a message may nest, its own `[type, data, node_id]`
/// included. Locust's deepest is a worker's `stats` (message → data → stats list → entry →
/// response-time buckets: 5).
pub(crate) const MAX_DEPTH: usize = 32;

/// [`MAX_DEPTH`] as rmpv counts: two per array or map (the value, then its items), and up to
/// three for the leaf (a string is a value, a string, then its bytes).
const RMPV_DEPTH: usize = 2 * MAX_DEPTH + 3;

/// One message, either way.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Message {
    pub kind: String,
    pub data: Value,
    pub node_id: String,
}

/// A frame that is not a Locust message.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum ProtocolError {
    #[error("a message of {0} bytes is above the limit of {MAX_FRAME}")]
    TooLarge(usize),
    #[error("not a Locust message: {0}")]
    Malformed(String),
    #[error("a message nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

impl Message {
    pub(crate) fn new(kind: &str, data: Value, node_id: &str) -> Self {
        Message {
            kind: kind.to_owned(),
            data,
            node_id: node_id.to_owned(),
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
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
    pub(crate) fn decode(frame: &[u8]) -> Result<Self, ProtocolError> {
        if frame.len() > MAX_FRAME {
            return Err(ProtocolError::TooLarge(frame.len()));
        }
        let mut rest = frame;
        let value = match rmpv::decode::read_value_with_max_depth(&mut rest, RMPV_DEPTH) {
            Ok(value) => value,
            Err(rmpv::decode::Error::DepthLimitExceeded) => return Err(ProtocolError::TooDeep),
            Err(error) => return Err(ProtocolError::Malformed(error.to_string())),
        };
        if !rest.is_empty() {
            return Err(ProtocolError::Malformed(format!(
                "{} bytes after the message",
                rest.len()
            )));
        }
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

/// A master's `spawn`, checked: a timestamp that orders it, and each user class's count
/// within [`limits::MAX_USERS`], the bound of the web API and every other way in.
#[derive(Debug, PartialEq)]
pub(crate) struct Spawn {
    pub timestamp: f64,
    pub host: Option<String>,
    /// The counts to apply, by user class (a trial's name).
    pub counts: Vec<(String, u32)>,
    /// Why the other entries of `user_classes_count` were refused, for the master to show.
    pub refused: Vec<String>,
}

/// The latest timestamp a spawn may carry: the end of the year 9999, in seconds since 1970.
/// `1e300`, infinity or NaN would order every later spawn out. The bound is absolute, not
/// relative to this machine's clock, so a worker whose clock is behind (a board without a
/// real-time clock, a VM after suspend) still takes its master's spawns.
pub(crate) const LATEST_TIMESTAMP: f64 = 253_402_300_799.0;

/// How far past the master's first spawn (and the time since) a later one may be.
pub(crate) const MAX_AHEAD_S: f64 = 86_400.0;

/// Refusals of one spawn's user classes reported one by one; the rest are counted in one
/// line, so a 1 MiB spawn of bad entries is not 350,000 messages.
const MOST_REFUSALS: usize = 10;

/// A `spawn` not applied.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum SpawnError {
    #[error("a spawn without a numeric timestamp")]
    NoTimestamp,
    #[error(
        "a spawn whose timestamp {0:?} is not a time (expected seconds since 1970, before the \
         year 10000 and at most a day past the master's first spawn and the time since)"
    )]
    BadTimestamp(f64),
    /// Locust's own worker discards these too: messages that arrived out of order.
    #[error("a spawn older than the last one applied ({timestamp} <= {last})")]
    Stale { timestamp: f64, last: f64 },
}

impl Spawn {
    /// Checks `data` of a `spawn`, given the timestamp of the last one applied (seconds since
    /// 1970).
    ///
    /// # Errors
    /// When the timestamp is missing, not finite, negative, after [`LATEST_TIMESTAMP`] or stale.
    #[cfg(test)]
    pub(crate) fn parse(data: &Value, last: f64) -> Result<Self, SpawnError> {
        Self::parse_before(data, last, LATEST_TIMESTAMP)
    }

    /// [`Spawn::parse`] with a timestamp at most `latest`: the worker bounds a master's later
    /// spawns by its first one (plus the time since and a day), so one far-future timestamp
    /// cannot order every later spawn out.
    ///
    /// # Errors
    /// As [`Spawn::parse`], and when the timestamp is after `latest`.
    pub(crate) fn parse_before(data: &Value, last: f64, latest: f64) -> Result<Self, SpawnError> {
        let timestamp = get(data, "timestamp")
            .and_then(Value::as_f64)
            .ok_or(SpawnError::NoTimestamp)?;
        let latest = latest.min(LATEST_TIMESTAMP);
        if !(timestamp.is_finite() && (0.0..=latest).contains(&timestamp)) {
            return Err(SpawnError::BadTimestamp(timestamp));
        }
        if timestamp <= last {
            return Err(SpawnError::Stale { timestamp, last });
        }
        let host = get(data, "host")
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty())
            .map(str::to_owned);
        let mut counts = Vec::new();
        let mut refused = Vec::new();
        let entries = get(data, "user_classes_count")
            .and_then(Value::as_map)
            .map_or(&[][..], Vec::as_slice);
        for (key, value) in entries {
            let Some(name) = key.as_str() else {
                refused.push(format!("a user class named {} (not a string)", brief(key)));
                continue;
            };
            match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(users) if users <= limits::MAX_USERS => counts.push((name.to_owned(), users)),
                _ => refused.push(format!(
                    "{}: {} users refused: expected a whole number of users from 0 to {} a \
                     worker",
                    brief(key),
                    brief(value),
                    limits::MAX_USERS
                )),
            }
        }
        if refused.len() > MOST_REFUSALS {
            let more = refused.len() - MOST_REFUSALS;
            refused.truncate(MOST_REFUSALS);
            refused.push(format!("and {more} more user classes refused"));
        }
        Ok(Spawn {
            timestamp,
            host,
            counts,
            refused,
        })
    }
}

/// A value as text for a message, cut to a line: a hostile master's 1 MiB string or
/// 1000-item array is not worth repeating.
pub(crate) fn brief(value: &Value) -> String {
    const MOST: usize = 60;
    let text = match value.as_str() {
        Some(text) => format!("{text:?}"),
        None => value.to_string(),
    };
    match text.char_indices().nth(MOST) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// `map[key]` of a msgpack map with string keys.
pub(crate) fn get<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

/// A msgpack map with string keys.
pub(crate) fn map(entries: Vec<(&str, Value)>) -> Value {
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

    /// `[kind, data, "w1"]` with `data` nested `depth` arrays deep.
    fn nested(kind: &str, depth: usize) -> Vec<u8> {
        let mut frame = vec![0x93];
        rmpv::encode::write_value(&mut frame, &Value::from(kind)).unwrap();
        frame.extend(std::iter::repeat_n(0x91, depth));
        // The deepest leaf a string: rmpv counts it deeper than a nil.
        frame.extend_from_slice(b"\xa1z");
        frame.extend_from_slice(b"\xa2w1");
        frame
    }

    #[test]
    fn deep_nesting_is_refused_before_it_recurses() {
        // Run on a small stack, as a runtime's worker thread: 1000 levels overflowed one.
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                for depth in [MAX_DEPTH + 1, 1000, 100_000, MAX_FRAME - 16] {
                    assert_eq!(
                        Message::decode(&nested("spawn", depth)),
                        Err(ProtocolError::TooDeep)
                    );
                }
                // Maps nest as deep: {0: {0: ...}}.
                let mut maps = vec![0x93, 0xa1, b'x'];
                maps.extend(std::iter::repeat_n([0x81, 0x00], 5000).flatten());
                maps.extend_from_slice(b"\xc0\xa0");
                assert_eq!(Message::decode(&maps), Err(ProtocolError::TooDeep));
                assert!(Message::decode(&nested("spawn", MAX_DEPTH - 3)).is_ok());
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut frame = Message::new("ack", Value::Nil, "w1").encode();
        frame.push(0xc0);
        assert!(matches!(
            Message::decode(&frame),
            Err(ProtocolError::Malformed(_))
        ));
    }

    fn spawn_data(timestamp: Value, counts: Vec<(Value, Value)>) -> Value {
        map(vec![
            ("timestamp", timestamp),
            ("user_classes_count", Value::Map(counts)),
            ("host", Value::from("http://127.0.0.1:1")),
        ])
    }

    const NOW: f64 = 1.7e9;

    #[test]
    fn a_spawn_is_checked() {
        let two = vec![(Value::from("a"), Value::from(2))];
        let spawn = Spawn::parse(&spawn_data(Value::from(NOW), two.clone()), 0.0).unwrap();
        assert_eq!(spawn.counts, vec![("a".to_owned(), 2)]);
        assert_eq!(spawn.host.as_deref(), Some("http://127.0.0.1:1"));
        for bad in [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -1.0,
            1e300,
            LATEST_TIMESTAMP * 2.0,
        ] {
            let data = spawn_data(Value::from(bad), two.clone());
            assert!(
                matches!(Spawn::parse(&data, 0.0), Err(SpawnError::BadTimestamp(_))),
                "{bad}"
            );
        }
        let no_time = spawn_data(Value::from("now"), two.clone());
        assert_eq!(Spawn::parse(&no_time, 0.0), Err(SpawnError::NoTimestamp));
        let stale = spawn_data(Value::from(NOW), two);
        assert!(matches!(
            Spawn::parse(&stale, NOW),
            Err(SpawnError::Stale { .. })
        ));
    }

    #[test]
    fn counts_above_the_web_apis_bound_are_refused() {
        let counts = vec![
            (Value::from("huge"), Value::from(u32::MAX)),
            (Value::from("above"), Value::from(limits::MAX_USERS + 1)),
            (Value::from("negative"), Value::from(-3)),
            (Value::from("float"), Value::from(2.5)),
            (Value::from(7), Value::from(1)),
            (Value::from("max"), Value::from(limits::MAX_USERS)),
        ];
        let spawn = Spawn::parse(&spawn_data(Value::from(NOW), counts), 0.0).unwrap();
        assert_eq!(spawn.counts, vec![("max".to_owned(), limits::MAX_USERS)]);
        assert_eq!(spawn.refused.len(), 5, "{:?}", spawn.refused);
        assert!(
            spawn.refused[0].contains("4294967295 users refused"),
            "{:?}",
            spawn.refused
        );
        assert!(
            spawn.refused[0].contains("from 0 to 1000000"),
            "{:?}",
            spawn.refused
        );
        // A hostile name is cut short in the message.
        let long = vec![(Value::from("x".repeat(100_000)), Value::from(u64::MAX))];
        let spawn = Spawn::parse(&spawn_data(Value::from(NOW), long), 0.0).unwrap();
        assert!(spawn.refused[0].len() < 200, "{}", spawn.refused[0]);
    }

    #[test]
    fn a_flood_of_bad_user_classes_is_one_bounded_list() {
        let bad = (0..100_000)
            .map(|i| (Value::from(format!("c{i}")), Value::from(-1)))
            .collect();
        let spawn = Spawn::parse(&spawn_data(Value::from(NOW), bad), 0.0).unwrap();
        assert_eq!(spawn.refused.len(), MOST_REFUSALS + 1);
        assert_eq!(
            spawn.refused[MOST_REFUSALS],
            "and 99990 more user classes refused"
        );
    }

    #[test]
    fn a_far_future_spawn_after_the_first_is_refused_and_orders_nothing_out() {
        let first = NOW;
        let latest = first + 5.0 + MAX_AHEAD_S;
        let far = spawn_data(Value::from(4e10), vec![]);
        assert!(matches!(
            Spawn::parse_before(&far, first, latest),
            Err(SpawnError::BadTimestamp(_))
        ));
        // The next real one still applies: the last applied stays the first.
        let next = spawn_data(Value::from(first + 5.0), vec![]);
        assert!(Spawn::parse_before(&next, first, latest).is_ok());
    }

    #[test]
    fn a_master_ahead_of_this_clock_is_still_obeyed() {
        // The bound is absolute: a worker whose clock is days behind its master takes spawns.
        let ahead = spawn_data(Value::from(NOW + 30.0 * 86_400.0), vec![]);
        assert!(Spawn::parse(&ahead, 0.0).is_ok());
    }

    proptest! {
        #[test]
        fn any_bytes_are_a_message_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Message::decode(&bytes);
        }

        #[test]
        fn any_nesting_decodes_within_the_limit_and_is_refused_beyond(depth in 0..5000usize) {
            let decoded = Message::decode(&nested("x", depth));
            // The triple is one level: MAX_DEPTH levels in all decode, whatever the leaf.
            if depth < MAX_DEPTH {
                prop_assert!(decoded.is_ok(), "{depth}: {decoded:?}");
            } else if depth > MAX_DEPTH {
                prop_assert_eq!(decoded, Err(ProtocolError::TooDeep));
            }
        }

        #[test]
        fn any_spawn_applies_only_bounded_counts_and_sane_times(
            timestamp in prop_oneof![any::<f64>(), 0.0..2e9f64],
            last in 0.0..2e9f64,
            users in any::<u64>(),
        ) {
            let data = spawn_data(Value::from(timestamp), vec![(Value::from("a"), Value::from(users))]);
            match Spawn::parse(&data, last) {
                Ok(spawn) => {
                    prop_assert!(timestamp.is_finite() && timestamp > last);
                    prop_assert!(timestamp <= LATEST_TIMESTAMP);
                    for (_, n) in &spawn.counts {
                        prop_assert!(*n <= limits::MAX_USERS);
                    }
                    prop_assert_eq!(spawn.counts.len() + spawn.refused.len(), 1);
                    prop_assert_eq!(spawn.counts.is_empty(), users > u64::from(limits::MAX_USERS));
                }
                Err(SpawnError::Stale { .. }) => prop_assert!(timestamp <= last),
                Err(_) => prop_assert!(!(timestamp.is_finite() && (0.0..=LATEST_TIMESTAMP).contains(&timestamp))),
            }
        }

        #[test]
        fn any_strings_round_trip(kind in ".{0,20}", id in ".{0,40}", n in any::<i64>()) {
            let message = Message::new(&kind, map(vec![("n", Value::from(n))]), &id);
            prop_assert_eq!(Message::decode(&message.encode()), Ok(message));
        }
    }
}
