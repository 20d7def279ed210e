//! One statistics entry (count, failures, exact min/max/mean, HDR histogram) and the table of
//! entries keyed by (kind, name). Merging belongs to the entry (`extend`).

use rustc_hash::FxHashMap;

use hdrhistogram::Histogram;

pub use swarm_harness_syntax::{PERCENTILES, quantile_of_percent};

/// Counts and response times of one request name or task, in microseconds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// Observations recorded, failures included.
    pub count: u64,
    /// How many of them failed.
    pub failures: u64,
    /// The sum of their times, in µs.
    pub total_micros: u64,
    /// The shortest time, in µs; `u64::MAX` while `count` is 0 (see [`Entry::min`]).
    pub min_micros: u64,
    /// The longest time, in µs; 0 while `count` is 0.
    pub max_micros: u64,
    /// The sum of the response body bytes received (0 for tasks and transactions).
    pub content_bytes: u64,
    /// Every time, in µs, at 3 significant digits (a 0 is recorded as 1).
    #[serde(with = "super::histogram")]
    pub histogram: Histogram<u64>,
}

impl Default for Entry {
    fn default() -> Self {
        Entry {
            count: 0,
            failures: 0,
            total_micros: 0,
            min_micros: u64::MAX,
            max_micros: 0,
            content_bytes: 0,
            histogram: new_histogram(),
        }
    }
}

/// An auto-resizing histogram with 3 significant digits: it only grows as far as the values
/// seen, which keeps idle entries small.
pub(super) fn new_histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is a valid histogram precision")
}

impl Entry {
    /// Records one observation. The hot path: no allocation once the histogram covers the value.
    #[inline]
    pub fn record(&mut self, micros: u64, success: bool, content_bytes: u64) {
        self.count += 1;
        self.failures += u64::from(!success);
        // Saturating: a trend's values come from user code and may be huge.
        self.total_micros = self.total_micros.saturating_add(micros);
        self.min_micros = self.min_micros.min(micros);
        self.max_micros = self.max_micros.max(micros);
        self.content_bytes = self.content_bytes.saturating_add(content_bytes);
        // Auto-resizing histograms only fail for values beyond u64's range.
        let _ = self.histogram.record(micros.max(1));
    }

    /// Adds another entry's observations; exact, since HDR histograms add bucket by bucket.
    /// The sums saturate rather than overflow: live entries never come near `u64::MAX`, and an
    /// entry read from a file goes through [`Entry::try_extend`], which refuses instead.
    pub fn extend(&mut self, other: &Entry) {
        self.count = self.count.saturating_add(other.count);
        self.failures = self.failures.saturating_add(other.failures);
        self.total_micros = self.total_micros.saturating_add(other.total_micros);
        self.min_micros = self.min_micros.min(other.min_micros);
        self.max_micros = self.max_micros.max(other.max_micros);
        self.content_bytes = self.content_bytes.saturating_add(other.content_bytes);
        // Auto-resizing histograms add whatever they are given (their counters saturate).
        let _ = self.histogram.add(&other.histogram);
    }

    /// [`Entry::extend`] for entries of untrusted origin (`swarm merge`): a sum beyond a u64
    /// is refused, naming it, and leaves this entry as it was.
    ///
    /// # Errors
    /// When a sum would overflow.
    pub fn try_extend(&mut self, other: &Entry) -> Result<(), Overflow> {
        let add = |a: u64, b: u64, field| {
            a.checked_add(b).ok_or(Overflow {
                field,
                limit: u64::MAX,
            })
        };
        let count = add(self.count, other.count, "count")?;
        let failures = add(self.failures, other.failures, "failures")?;
        let total_micros = add(self.total_micros, other.total_micros, "total_us")?;
        let content_bytes = add(self.content_bytes, other.content_bytes, "content_bytes")?;
        (self.count, self.failures) = (count, failures);
        (self.total_micros, self.content_bytes) = (total_micros, content_bytes);
        self.min_micros = self.min_micros.min(other.min_micros);
        self.max_micros = self.max_micros.max(other.max_micros);
        // The counts fit, and a histogram holds as many samples as its entry counts.
        let _ = self.histogram.add(&other.histogram);
        Ok(())
    }

    /// The mean time, in µs; 0 when empty.
    pub fn mean_micros(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total_micros as f64 / self.count as f64
        }
    }

    /// The shortest time, in µs; 0 when empty.
    pub fn min(&self) -> u64 {
        if self.count == 0 { 0 } else { self.min_micros }
    }

    /// The value at quantile `q` (0..=1), in microseconds; 0 when empty. The top quantile is
    /// the exact maximum rather than the bucket's upper bound.
    pub fn percentile(&self, q: f64) -> u64 {
        if self.count == 0 {
            0
        } else if q >= 1.0 {
            self.max_micros
        } else {
            self.histogram.value_at_quantile(q).min(self.max_micros)
        }
    }
}

/// A sum beyond its limit (a u64's, in [`Entry::try_extend`]), by its report field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the {field} values add up beyond {limit}")]
pub struct Overflow {
    /// The report field whose sum overflowed (`count`, `failures`, `total_us`,
    /// `content_bytes`).
    pub field: &'static str,
    /// The largest value it may hold.
    pub limit: u64,
}

/// Entries keyed by name, then kind (`GET`, `POST`, `task`, a custom kind, ...).
///
/// Keyed name-first so a lookup borrows the `&str` it is given and allocates only the first
/// time a (kind, name) pair is seen. Hashed with FxHash: the keys are our own short names, not
/// attacker-chosen, and SipHash showed up in the per-request profile.
#[derive(Debug, Clone, Default)]
pub struct EntryTable {
    by_name: FxHashMap<Box<str>, Vec<(Box<str>, Entry)>>,
}

impl EntryTable {
    /// The entry of (kind, name), created empty the first time.
    #[inline]
    pub fn entry(&mut self, kind: &str, name: &str) -> &mut Entry {
        if !self.by_name.contains_key(name) {
            self.by_name.insert(name.into(), Vec::with_capacity(1));
        }
        let kinds = self.by_name.get_mut(name).expect("inserted above");
        match kinds.iter().position(|(k, _)| &**k == kind) {
            Some(index) => &mut kinds[index].1,
            None => {
                kinds.push((kind.into(), Entry::default()));
                &mut kinds.last_mut().expect("pushed above").1
            }
        }
    }

    /// The entry of (kind, name) if it exists: the hot path's single lookup.
    #[inline]
    pub fn existing(&mut self, kind: &str, name: &str) -> Option<&mut Entry> {
        let kinds = self.by_name.get_mut(name)?;
        kinds
            .iter_mut()
            .find(|(k, _)| &**k == kind)
            .map(|(_, entry)| entry)
    }

    /// Whether any kind has an entry named `name`.
    #[inline]
    pub fn has_name(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Adds every entry of `other` into this table's entry of the same (kind, name).
    pub fn extend(&mut self, other: &EntryTable) {
        for (kind, name, entry) in other.iter() {
            self.entry(kind, name).extend(entry);
        }
    }

    /// Whether the table has no entry.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Every (kind, name, entry), sorted by name then kind so reports are stable.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Entry)> {
        let mut rows: Vec<_> = self
            .by_name
            .iter()
            .flat_map(|(name, kinds)| kinds.iter().map(move |(kind, e)| (&**kind, &**name, e)))
            .collect();
        rows.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
        rows.into_iter()
    }

    /// Whether the table holds the entry (kind, name).
    pub fn contains(&self, kind: &str, name: &str) -> bool {
        self.by_name
            .get(name)
            .is_some_and(|kinds| kinds.iter().any(|(k, _)| &**k == kind))
    }

    /// All entries added into one.
    pub fn aggregated(&self) -> Entry {
        self.aggregated_where(|_| true)
    }

    /// The entries of the kinds `include` accepts, added into one.
    pub fn aggregated_where(&self, include: impl Fn(&str) -> bool) -> Entry {
        let mut total = Entry::default();
        for (kind, _, entry) in self.iter() {
            if include(kind) {
                total.extend(entry);
            }
        }
        total
    }
}

/// One row of a serialized table.
#[derive(serde::Serialize, serde::Deserialize)]
struct Row<E> {
    kind: String,
    name: String,
    #[serde(flatten)]
    entry: E,
}

/// A table travels as a list of rows, sorted like [`EntryTable::iter`].
impl serde::Serialize for EntryTable {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(|(kind, name, entry)| Row {
            kind: kind.to_owned(),
            name: name.to_owned(),
            entry,
        }))
    }
}

impl<'de> serde::Deserialize<'de> for EntryTable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let rows = Vec::<Row<Entry>>::deserialize(deserializer)?;
        let mut table = EntryTable::default();
        for row in rows {
            // A repeated row adds up, as a merge would.
            table.entry(&row.kind, &row.name).extend(&row.entry);
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_counts_and_percentiles() {
        let mut entry = Entry::default();
        for micros in 1..=1000 {
            entry.record(micros, micros % 10 != 0, 2);
        }
        assert_eq!(entry.count, 1000);
        assert_eq!(entry.failures, 100);
        assert_eq!(entry.min(), 1);
        assert_eq!(entry.percentile(1.0), 1000);
        assert_eq!(entry.percentile(0.5), 500);
        assert_eq!(entry.percentile(0.99), 990);
        assert!((entry.mean_micros() - 500.5).abs() < 1e-9);
        assert_eq!(entry.content_bytes, 2000);
    }

    #[test]
    fn merging_is_exact() {
        let (mut a, mut b, mut both) = (Entry::default(), Entry::default(), Entry::default());
        for micros in [5, 70, 900, 12_000, 150_000] {
            a.record(micros, true, 0);
            both.record(micros, true, 0);
        }
        for micros in [1, 33, 4_000_000] {
            b.record(micros, false, 1);
            both.record(micros, false, 1);
        }
        a.extend(&b);
        assert_eq!(a.count, both.count);
        assert_eq!(a.failures, both.failures);
        assert_eq!((a.min(), a.max_micros), (both.min(), both.max_micros));
        for q in PERCENTILES {
            assert_eq!(a.percentile(q), both.percentile(q), "q={q}");
        }
    }

    #[test]
    fn sums_beyond_a_u64_saturate_or_are_refused() {
        let mut near = Entry::default();
        near.record(5, true, 0);
        near.count = u64::MAX - 1;
        let mut one = Entry::default();
        one.record(7, false, 0);
        let mut refused = near.clone();
        one.count = 2;
        let beyond = Overflow {
            field: "count",
            limit: u64::MAX,
        };
        assert_eq!(refused.try_extend(&one), Err(beyond));
        assert_eq!(
            (refused.count, refused.failures),
            (near.count, near.failures)
        );
        let mut saturated = near.clone();
        saturated.extend(&one);
        assert_eq!(saturated.count, u64::MAX);
        one.count = 1;
        near.try_extend(&one).unwrap();
        assert_eq!(
            (near.count, near.failures, near.max_micros),
            (u64::MAX, 1, 7)
        );
    }

    #[test]
    fn table_keys_by_kind_and_name() {
        let mut table = EntryTable::default();
        table.entry("GET", "/a").record(10, true, 0);
        table.entry("POST", "/a").record(20, true, 0);
        table.entry("GET", "/a").record(30, true, 0);
        let rows: Vec<_> = table.iter().map(|(k, n, e)| (k, n, e.count)).collect();
        assert_eq!(rows, vec![("GET", "/a", 2), ("POST", "/a", 1)]);
        assert_eq!(table.aggregated().count, 3);
    }
}
