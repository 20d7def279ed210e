//! Failures grouped by (kind, name, error) with their occurrences and one sample response, so
//! an error can be traced back to what the server said. Error messages are normalised before
//! grouping (ids, UUIDs and long numbers become placeholders) so one kind of failure stays one
//! group, and the run's totals keep at most `PT_MAX_NAMES` groups: the rest fold into one.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// What identifies a failure group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FailureKey {
    /// The kind of what failed: an HTTP method, `transaction`, a measured kind, or `task`.
    pub kind: String,
    /// The name it is recorded under.
    pub name: String,
    /// The error message, normalised (ids, UUIDs and numbers become placeholders) and cut at
    /// 300 bytes; [`OTHER_ERRORS`] for the failures folded once a trial has `PT_MAX_NAMES`
    /// groups.
    pub error: String,
}

/// The first response seen for a failure group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FailureSample {
    /// The URL requested, its password redacted, at most 512 bytes (then cut, with `…`).
    /// Every request this crate records sets it; the format allows it to be absent.
    pub url: Option<String>,
    /// The response's HTTP status; `None` when no response came (a transport error).
    pub status: Option<u16>,
    /// The first 512 bytes of the body, lossily decoded; `None` when no body was read.
    pub body: Option<String>,
}

/// One failure group's figures: how often, and the first response seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailureGroup {
    /// How many times this failure happened.
    pub occurrences: u64,
    /// The first sample recorded for the group; `None` for tasks, transactions, measured
    /// operations and cut-off requests.
    pub sample: Option<FailureSample>,
}

/// One serialized group.
#[derive(Serialize, Deserialize)]
struct Row<K, G> {
    #[serde(flatten)]
    key: K,
    #[serde(flatten)]
    group: G,
}

/// Groups travel as a list, most frequent first.
impl Serialize for Failures {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.sorted()
                .into_iter()
                .map(|(key, group)| Row { key, group }),
        )
    }
}

impl<'de> Deserialize<'de> for Failures {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let rows = Vec::<Row<FailureKey, FailureGroup>>::deserialize(deserializer)?;
        let mut failures = Failures::default();
        for row in rows {
            failures.add(row.key, row.group.occurrences, row.group.sample.as_ref());
        }
        Ok(failures)
    }
}

/// The group failures fold into once a trial has `PT_MAX_NAMES` groups.
pub const OTHER_ERRORS: &str = "(other errors: more distinct failures than PT_MAX_NAMES)";

/// How long a normalised error message may be.
const MAX_MESSAGE: usize = 300;

/// Failure groups of one shard or of the whole run.
#[derive(Debug, Clone, Default)]
pub struct Failures {
    groups: HashMap<FailureKey, FailureGroup>,
}

impl Failures {
    /// Counts one failure of the group `key`, keeping `sample` if the group has none yet.
    pub fn record(&mut self, key: FailureKey, sample: Option<FailureSample>) {
        self.add(key, 1, sample.as_ref());
    }

    pub(crate) fn add(
        &mut self,
        key: FailureKey,
        occurrences: u64,
        sample: Option<&FailureSample>,
    ) {
        let group = self.groups.entry(key).or_insert(FailureGroup {
            occurrences: 0,
            sample: None,
        });
        group.occurrences += occurrences;
        if group.sample.is_none() {
            group.sample = sample.cloned();
        }
    }

    /// Adds `other`'s groups, uncapped.
    pub fn extend(&mut self, other: &Failures) {
        self.extend_capped(other, usize::MAX);
    }

    /// Adds `other`'s groups, keeping at most `max_groups`: a new group beyond them is added
    /// to the [`OTHER_ERRORS`] group of its kind and name.
    pub fn extend_capped(&mut self, other: &Failures, max_groups: usize) {
        for (key, theirs) in &other.groups {
            let key = if self.groups.contains_key(key) || self.groups.len() < max_groups {
                key.clone()
            } else {
                FailureKey {
                    error: OTHER_ERRORS.to_owned(),
                    ..key.clone()
                }
            };
            self.add(key, theirs.occurrences, theirs.sample.as_ref());
        }
    }

    /// Every group, in no order.
    pub fn iter(&self) -> impl Iterator<Item = (&FailureKey, &FailureGroup)> {
        self.groups.iter()
    }

    /// Every group sorted by occurrences, most first (ties by key).
    pub fn sorted(&self) -> Vec<(&FailureKey, &FailureGroup)> {
        let mut groups: Vec<_> = self.groups.iter().collect();
        groups.sort_by(|a, b| b.1.occurrences.cmp(&a.1.occurrences).then(a.0.cmp(b.0)));
        groups
    }

    /// Whether there is no failure group.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// All occurrences together.
    pub fn total(&self) -> u64 {
        self.groups.values().map(|g| g.occurrences).sum()
    }
}

/// An error message as a group key, so an id in a message does not make every failure a group
/// of its own: UUIDs become `{uuid}`, hex strings of 12 or more characters `{hex}`, and
/// numbers `{n}`, except status codes and numbers next to `.` or `:` (addresses, ports,
/// versions, decimals). A status code is a number from 100 to 599 that follows the word
/// `HTTP`, `status` or `code`; or a registered status after `got`, `expected`, `returned`,
/// `received` or `answered` when it ends the phrase (`expected 200, got 500`; not
/// `got 512 bytes`, a count, nor `got 248`); or that comes
/// before its reason phrase (`500 Internal Server Error`): what failed is worth more than the
/// few groups it adds. Cut at 300 characters.
pub fn normalize_error(message: &str) -> String {
    // A URL's credentials never reach a report, whichever error quoted the URL.
    let message: &str = &crate::settings::redact_userinfo_text(message);
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE));
    let mut rest = message;
    while let Some(c) = rest.chars().next() {
        if out.len() >= MAX_MESSAGE {
            out.push('…');
            break;
        }
        if !c.is_ascii_alphanumeric() {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if is_uuid(rest) {
            out.push_str("{uuid}");
            rest = &rest[36..];
            continue;
        }
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let word = &rest[..end];
        let digits = word.bytes().all(|b| b.is_ascii_digit());
        let hex =
            word.bytes().all(|b| b.is_ascii_hexdigit()) && word.bytes().any(|b| b.is_ascii_digit());
        // Status codes and the protocol's own version, `HTTP/2`, are not ids.
        let status = (digits && is_status_code(word, &out, &rest[end..])) || out.ends_with("HTTP/");
        // `1.5`, `127.0.0.1:9`: a separator with a digit on its other side.
        let joined = |a: Option<char>, b: Option<char>| {
            matches!(a, Some('.' | ':')) && b.is_some_and(|c| c.is_ascii_digit())
        };
        let mut after = rest[end..].chars();
        let mut before = out.chars().rev();
        let dotted = joined(after.next(), after.next()) || joined(before.next(), before.next());
        if digits && !status && !dotted {
            out.push_str("{n}");
        } else if hex && word.len() >= 12 {
            out.push_str("{hex}");
        } else {
            // A word longer than the room left (a peer's garbage) is cut too.
            let mut room = MAX_MESSAGE.saturating_sub(out.len()).min(word.len());
            while !word.is_char_boundary(room) {
                room -= 1;
            }
            out.push_str(&word[..room]);
        }
        rest = &rest[end..];
    }
    out
}

/// Whether the number `word`, between the text `before` and `after` it, is a status code.
fn is_status_code(word: &str, before: &str, after: &str) -> bool {
    // These words name a status whatever follows; the others only when the number ends the
    // phrase.
    const STATUS: [&str; 3] = ["http", "status", "code"];
    const VERBS: [&str; 5] = ["got", "expected", "returned", "received", "answered"];
    let Some(code) = word.parse::<u16>().ok().filter(|c| (100..600).contains(c)) else {
        return false;
    };
    let lead = before.trim_end_matches([' ', '(', ':', '=', '[']);
    let follows = |name: &&str| {
        let Some(start) = lead.len().checked_sub(name.len()) else {
            return false;
        };
        // The whole word: `barcode 123` names no status.
        lead.is_char_boundary(start)
            && lead[start..].eq_ignore_ascii_case(name)
            && !lead[..start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric())
    };
    // A named number ends its phrase; one a word follows is a count (`got 512 bytes`).
    let ends = after
        .trim_start_matches([')', ']', '"', '\''])
        .chars()
        .next()
        .is_none_or(|c| matches!(c, ',' | ';' | '.' | '\n'));
    let reason = http::StatusCode::from_u16(code)
        .ok()
        .and_then(|status| status.canonical_reason());
    let before_reason = reason.is_some_and(|reason| {
        after
            .strip_prefix(' ')
            .is_some_and(|a| a.starts_with(reason))
    });
    // After a verb, only a registered status (200, 404, 503; not 248) counts as one.
    let verb = VERBS.iter().any(follows) && ends && reason.is_some();
    STATUS.iter().any(follows) || verb || before_reason
}

fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 36
        && bytes[..36].iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
        && !bytes.get(36).is_some_and(|b| b.is_ascii_alphanumeric())
}

/// `panicked: <message>`, for a caught panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string payload".to_owned());
    format!("panicked: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages() {
        let payload: Box<dyn std::any::Any + Send> = Box::new("boom");
        assert_eq!(panic_message(&*payload), "panicked: boom");
        let payload: Box<dyn std::any::Any + Send> = Box::new(format!("id {}", 7));
        assert_eq!(panic_message(&*payload), "panicked: id 7");
    }

    #[test]
    fn ids_do_not_split_groups() {
        assert_eq!(
            normalize_error("app 123456 not found (req 6f1c2a7e-0b2d-4c1e-9a57-1f2e3d4c5b6a)"),
            "app {n} not found (req {uuid})"
        );
        assert_eq!(
            normalize_error("GET /apps/{id}: HTTP 500"),
            "GET /apps/{id}: HTTP 500"
        );
        assert_eq!(
            normalize_error("GET /apps/12: call 3"),
            "GET /apps/{n}: call {n}"
        );
        assert_eq!(
            normalize_error("tcp connect error to 127.0.0.1:9: refused after 1.5s, 300ms"),
            "tcp connect error to 127.0.0.1:9: refused after 1.5s, 300ms"
        );
        assert_eq!(normalize_error("etag deadbeef00112233"), "etag {hex}");
        assert_eq!(normalize_error("naïve 12"), "naïve {n}");
        assert_eq!(normalize_error("speaks HTTP/2 only"), "speaks HTTP/2 only");
        // Status codes survive, wherever a message names them; ids beside them do not.
        for kept in [
            "expected 200, got 500",
            "status: 503 for order {n}",
            "HTTP status server error (500 Internal Server Error) for url",
            "returned 404",
        ] {
            assert_eq!(normalize_error(kept), kept);
        }
        assert_eq!(normalize_error("order 500 failed"), "order {n} failed");
        assert_eq!(normalize_error("received 512 bytes"), "received {n} bytes");
        assert_eq!(
            normalize_error("expected 250 apps, got 248"),
            "expected {n} apps, got {n}"
        );
        assert_eq!(normalize_error("barcode 123"), "barcode {n}");
        assert_eq!(normalize_error("got 1234"), "got {n}");
        assert!(normalize_error(&"x ".repeat(1000)).chars().count() <= MAX_MESSAGE + 1);
        assert!(normalize_error(&"z".repeat(100_000)).len() <= MAX_MESSAGE + 3);
    }

    #[test]
    fn groups_beyond_the_cap_fold() {
        let mut shard = Failures::default();
        for i in 0..10 {
            let key = FailureKey {
                kind: "GET".into(),
                name: "/x".into(),
                error: format!("e{i}"),
            };
            shard.record(key, None);
        }
        let mut totals = Failures::default();
        totals.extend_capped(&shard, 3);
        assert_eq!(totals.sorted().len(), 4);
        assert_eq!(totals.total(), 10);
        assert!(
            totals
                .sorted()
                .iter()
                .any(|(k, g)| k.error == OTHER_ERRORS && g.occurrences == 7)
        );
    }
}
