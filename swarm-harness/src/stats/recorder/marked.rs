//! Requests that carry tags or checks: a shard keeps one row per distinct (kind, name, tags,
//! check names), found with one hash lookup, and splits it into the request, tag and check
//! tables only when the collector takes the shard, once a second, off the hot path.
//!
//! Why a row of its own: recording a tagged, checked request as the request, then one entry
//! per tag, then one lookup per check cost 59.2 ns against 28.5 ns for a bare request
//! (`cargo bench -p swarm-harness --bench record`, 2.07×), one hash lookup and one histogram
//! update per mark. A row costs one lookup and one histogram update whatever the request
//! carries; the split at collection adds the same histogram into each table, which is exact
//! (an HDR histogram merges without loss).
//!
//! A tag or check name written as a literal (`Cow::Borrowed`, a `&'static str`) is found by
//! its address and length, not its text: hashing and comparing every piece's text made the
//! row cost 84 ns against 43 ns for a bare request on the same machine, 1.96×. Two addresses
//! with the same text make two rows, added together at the split; equal addresses always hold
//! equal text, so no two texts ever share a row. Text made at run time is found by its text.
//!
//! The rows sit in a `Vec`, found through a `std` map from their hash to their index: as
//! fast as hashbrown's `HashTable` (34.6–34.9 ns against 34.3–35.0 ns, same bench), without
//! the crate it would add to the fewest-features build. Looking a row up through `std`'s
//! `entry` with the rows in the map cost 45 ns; a key holding the literals side by side, to
//! compare as one block, cost more than the walk it saved (50 ns).

use std::borrow::Cow;
use std::hash::Hasher;

use rustc_hash::FxHasher;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use std::sync::PoisonError;

use super::{
    FailureKey, FailureSample, Marks, OTHER_TAG_KEYS, OTHER_TAG_VALUES, Recorder, Sample, Shard,
    Tally, normalize_error,
};
use crate::stats::Entry;
use crate::stats::custom::Ratio;

/// Where a row's figures are counted: the names the trial admitted for it (its own, or the
/// buckets over `PT_MAX_NAMES`).
#[derive(Debug)]
pub(super) struct Counted {
    /// The request name.
    pub(super) name: Box<str>,
    /// Its tags, each a key and a value.
    pub(super) tags: Box<[(Box<str>, Box<str>)]>,
    /// Its checks' names, in the request's order.
    pub(super) checks: Box<[Box<str>]>,
}

/// A tag's key or value or a check's name, as a row keeps it to find it again: a literal
/// (borrowed, so free to keep) found by its address, text made at run time by its text.
#[derive(Debug)]
struct Piece(Cow<'static, str>);

// Whether a text is borrowed (a literal) or owned is what a row is found by, so these take
// the `Cow` itself, not the `&str` it derefs to.
#[expect(clippy::ptr_arg, reason = "the Cow's variant is what is compared")]
impl Piece {
    fn of(text: &Cow<'static, str>) -> Piece {
        Piece(text.clone())
    }

    /// Whether `text` is this piece. The same address and length is the same text, whatever
    /// either is, since both are alive (two live allocations never share an address; empty
    /// texts are equal anyway): one comparison of two words for a literal, where matching on
    /// both sides' variants first cost a tagged, checked request 4 ns of its 35. Text made at
    /// run time is compared by its text.
    #[inline(always)]
    fn is(&self, text: &Cow<'static, str>) -> bool {
        let (mine, given) = (&*self.0, &**text);
        if std::ptr::eq(mine.as_ptr(), given.as_ptr()) && mine.len() == given.len() {
            return true;
        }
        matches!((&self.0, text), (Cow::Owned(_), Cow::Owned(_))) && mine == given
    }
}

/// Adds a piece to the hash: a literal's address into `literals`, folded there so that all
/// of them cost the hasher one multiply (two each, address and length, were 6 ns of a tagged,
/// checked request's 42); text made at run time into the hasher. Equal pieces hash equally
/// ([`Piece::is`]); a collision is told apart by the comparison.
#[inline(always)]
#[expect(clippy::ptr_arg, reason = "the Cow's variant is what is hashed")]
fn add_piece(hasher: &mut FxHasher, literals: &mut usize, text: &Cow<'static, str>) {
    match text {
        Cow::Borrowed(literal) => {
            *literals = literals.rotate_left(7) ^ literal.as_ptr() as usize;
        }
        Cow::Owned(text) => {
            hasher.write(text.as_bytes());
            hasher.write_u8(0xFF);
        }
    }
}

/// One distinct marked request in a shard, and what it gathered since the last collection.
#[derive(Debug)]
pub(super) struct Row {
    hash: u64,
    /// The request as it was given, to find the row again.
    kind: Box<str>,
    name: Box<str>,
    tags: Box<[(Piece, Piece)]>,
    /// Its checks, each with its passes and fails (kept together: one array to walk).
    checks: Box<[(Piece, Ratio)]>,
    /// Where it is counted.
    pub(super) to: Counted,
    entry: Entry,
}

impl Row {
    /// Whether the row is the one of `sample` with `marks`.
    #[inline(always)]
    fn matches(&self, sample: &Sample<'_>, marks: &Marks<'_>) -> bool {
        if self.tags.len() != marks.tags.len() || self.checks.len() != marks.checks.len() {
            return false;
        }
        // Indexed loops: `zip(..).all(..)` was left a call of its own (4 ns of 42 in the
        // profile).
        for i in 0..self.tags.len() {
            let ((key, value), (given_key, given_value)) = (&self.tags[i], &marks.tags[i]);
            if !key.is(given_key) || !value.is(given_value) {
                return false;
            }
        }
        for i in 0..self.checks.len() {
            if !self.checks[i].0.is(&marks.checks[i].0) {
                return false;
            }
        }
        *self.name == *sample.name && *self.kind == *sample.kind
    }

    /// Counts one request: its timing, and each of its checks.
    #[inline]
    pub(super) fn record(&mut self, sample: &Sample<'_>, success: bool, marks: &Marks<'_>) {
        self.entry
            .record(sample.micros, success, sample.content_bytes);
        for ((_, ratio), (_, pass)) in self.checks.iter_mut().zip(marks.checks) {
            ratio.record(*pass);
        }
    }
}

/// The marked requests of one shard: the rows, and where the first row of each hash is (a
/// row whose hash another row has, a collision, rare, is found by a walk).
#[derive(Debug, Default)]
pub(super) struct MarkedRows {
    rows: Vec<Row>,
    by_hash: HashMap<u64, usize, BuildHasherDefault<Mixed>>,
}

/// A hasher for keys that are already hashes (FxHash of the request's pieces): it keeps them
/// as they are. With it a `std` map finds a row by its hash and a comparison, where
/// hashbrown's `HashTable` would add a crate to the fewest-features build.
#[derive(Debug, Default)]
struct Mixed(u64);

impl Hasher for Mixed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed; any other input is folded in all the same.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

/// The hash a row of `sample` with `marks` is kept under. The kind and the counts of tags
/// and checks are left to the rows' comparison: one name rarely has two kinds.
#[inline(always)]
pub(super) fn hash_of(sample: &Sample<'_>, marks: &Marks<'_>) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(sample.name.as_bytes());
    let mut literals = 0;
    for (key, value) in marks.tags {
        add_piece(&mut hasher, &mut literals, key);
        add_piece(&mut hasher, &mut literals, value);
    }
    for (name, _) in marks.checks {
        add_piece(&mut hasher, &mut literals, name);
    }
    hasher.write_usize(literals);
    hasher.finish()
}

impl MarkedRows {
    /// The row of `sample` with `marks`, made with the names `counted` gives the first time.
    /// Inlined, the new row's making apart: the calls were 3 ns of a tagged request's 32.
    #[inline(always)]
    pub(super) fn row(
        &mut self,
        hash: u64,
        sample: &Sample<'_>,
        marks: &Marks<'_>,
        counted: impl FnOnce() -> Counted,
    ) -> &mut Row {
        // The map lends an index, not the row: the row is borrowed only when it is the one,
        // and a miss may then add to the rows.
        if let Some(&index) = self.by_hash.get(&hash)
            && self.rows[index].matches(sample, marks)
        {
            return &mut self.rows[index];
        }
        self.other(hash, sample, marks, counted)
    }

    /// A row not first of its hash: one of a collision, found by a walk, or a new one.
    #[cold]
    #[inline(never)]
    fn other(
        &mut self,
        hash: u64,
        sample: &Sample<'_>,
        marks: &Marks<'_>,
        counted: impl FnOnce() -> Counted,
    ) -> &mut Row {
        let found = self
            .rows
            .iter()
            .position(|row| row.hash == hash && row.matches(sample, marks));
        let index = match found {
            Some(index) => index,
            None => {
                self.rows.push(Row {
                    hash,
                    kind: sample.kind.into(),
                    name: sample.name.into(),
                    tags: marks
                        .tags
                        .iter()
                        .map(|(key, value)| (Piece::of(key), Piece::of(value)))
                        .collect(),
                    checks: marks
                        .checks
                        .iter()
                        .map(|(name, _)| (Piece::of(name), Ratio::default()))
                        .collect(),
                    to: counted(),
                    entry: Entry::default(),
                });
                self.rows.len() - 1
            }
        };
        self.by_hash.entry(hash).or_insert(index);
        &mut self.rows[index]
    }

    /// Adds every row into `tally`: its timing under its request and under each of its tags,
    /// its checks under theirs.
    pub(super) fn fold_into(self, tally: &mut Tally) {
        for row in self.rows {
            tally
                .requests
                .entry(&row.kind, &row.to.name)
                .extend(&row.entry);
            for (key, value) in &row.to.tags {
                tally.tags.entry(key, value).extend(&row.entry);
            }
            for (name, (_, ratio)) in row.to.checks.iter().zip(&row.checks) {
                tally.checks.entry(name, Ratio::default).extend(ratio);
            }
        }
    }
}

impl Recorder {
    /// Records a request with its tags and checks, all under one lock and one lookup of its
    /// row (`marked`); `failure` is its error and what its response showed when it failed.
    pub fn marked(
        &self,
        shard: usize,
        sample: Sample<'_>,
        failure: Option<(String, Option<FailureSample>)>,
        marks: Marks<'_>,
    ) {
        if marks.is_empty() {
            return match failure {
                None => self.success(shard, sample),
                Some((error, response)) => self.failure(shard, sample, error, response),
            };
        }
        match failure {
            None => self.marked_in(shard, sample, marks, None),
            Some((error, response)) => self.marked_failure(shard, sample, marks, error, response),
        }
    }

    /// A failed marked request: its error normalised outside the lock, apart from the
    /// success path so that path moves no failure onto the stack before the lock.
    #[cold]
    fn marked_failure(
        &self,
        shard: usize,
        sample: Sample<'_>,
        marks: Marks<'_>,
        error: String,
        response: Option<FailureSample>,
    ) {
        let error = normalize_error(&error);
        self.marked_in(shard, sample, marks, Some((error, response)));
    }

    #[inline(always)]
    fn marked_in(
        &self,
        shard: usize,
        sample: Sample<'_>,
        marks: Marks<'_>,
        error: Option<(String, Option<FailureSample>)>,
    ) {
        let hash = hash_of(&sample, &marks);
        let mut locked = self.lock(shard);
        let Shard { tally, marked } = &mut *locked;
        let row = marked.row(hash, &sample, &marks, || {
            self.counted(tally, &sample, &marks)
        });
        row.record(&sample, error.is_none(), &marks);
        if let Some((error, response)) = error {
            let key = FailureKey {
                kind: sample.kind.to_owned(),
                name: row.to.name.to_string(),
                error,
            };
            tally.failures.record(key, response);
        }
    }

    /// The names a marked request is counted under, admitted now: asked once per row and
    /// collection, so the trial-wide sets are locked only then.
    fn counted(&self, tally: &Tally, sample: &Sample<'_>, marks: &Marks<'_>) -> Counted {
        Counted {
            name: self.name_in(tally, sample.name).into(),
            tags: marks
                .tags
                .iter()
                .map(|(key, value)| {
                    let (key, value) = self.tag_of(key, value);
                    (key.into(), value.into())
                })
                .collect(),
            checks: marks
                .checks
                .iter()
                .map(|(name, _)| self.check_name(name).into())
                .collect(),
        }
    }

    /// The tag a request's tag is counted under: its own while the trial has room for it;
    /// beyond, [`OTHER_TAG_VALUES`] under its key when the key has a tag of its own, and
    /// under [`OTHER_TAG_KEYS`] when not. So a trial holds at most `max_names` tags, as many
    /// folded ones beside their keys, and one more.
    fn tag_of<'t>(&self, key: &'t str, value: &'t str) -> (&'t str, &'t str) {
        let mut tags = self
            .tag_pairs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let pair = (Box::<str>::from(key), Box::<str>::from(value));
        if tags.pairs.contains(&pair) {
            return (key, value);
        }
        if tags.pairs.len() < self.max_names {
            tags.keys.insert(pair.0.clone());
            tags.pairs.insert(pair);
            return (key, value);
        }
        if tags.keys.contains(key) {
            (key, OTHER_TAG_VALUES)
        } else {
            (OTHER_TAG_KEYS, OTHER_TAG_VALUES)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::recorder::Tag;

    /// Two rows of one hash (a collision) stay apart, each found again.
    #[test]
    fn rows_of_one_hash_stay_apart() {
        let sample = Sample {
            kind: "GET",
            name: "/a",
            micros: 5,
            content_bytes: 0,
        };
        let read: &'static [Tag] = vec![("kind".into(), "read".into())].leak();
        let write: &'static [Tag] = vec![("kind".into(), "write".into())].leak();
        let counted = |value: &str| Counted {
            name: "/a".into(),
            tags: vec![("kind".into(), value.into())].into(),
            checks: Box::default(),
        };
        let mut rows = MarkedRows::default();
        for (tags, value, times) in [(read, "read", 2), (write, "write", 3), (read, "read", 1)] {
            let marks = Marks { tags, checks: &[] };
            for _ in 0..times {
                let row = rows.row(7, &sample, &marks, || counted(value));
                row.record(&sample, true, &marks);
            }
        }
        assert_eq!(rows.rows.len(), 2);
        let mut tally = Tally::default();
        rows.fold_into(&mut tally);
        let tags: Vec<_> = tally.tags.iter().map(|(k, v, e)| (k, v, e.count)).collect();
        assert_eq!(tags, [("kind", "read", 3), ("kind", "write", 3)]);
        assert_eq!(tally.requests.aggregated().count, 6);
    }
}
