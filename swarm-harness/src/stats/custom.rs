//! What a scenario records besides timings: checks (a pass or a fail that does not end the
//! task, k6's `check`) and custom metrics declared by name (counters, gauges, rates, trends),
//! each merging exactly across shards, processes and reports.
//!
//! Keyed by name in an [`FxHashMap`] like the request entries (a lookup borrows the `&str`),
//! sorted only when a report or a file is written.

use rustc_hash::FxHashMap;

use super::Entry;

/// Passes and fails of one check, or true and false samples of one rate metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ratio {
    /// Checks that passed; samples that were true.
    pub passes: u64,
    /// Checks that failed; samples that were false.
    pub fails: u64,
}

impl Ratio {
    /// Counts one observation.
    #[inline]
    pub fn record(&mut self, pass: bool) {
        if pass {
            self.passes += 1;
        } else {
            self.fails += 1;
        }
    }

    /// Adds another's counts, saturating (live counts never come near `u64::MAX`).
    pub fn extend(&mut self, other: &Ratio) {
        self.passes = self.passes.saturating_add(other.passes);
        self.fails = self.fails.saturating_add(other.fails);
    }

    /// Observations, passes and fails together.
    pub fn total(&self) -> u64 {
        self.passes.saturating_add(self.fails)
    }

    /// The share of passes, 0 to 1; `None` with no observation.
    pub fn rate(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| self.passes as f64 / total as f64)
    }
}

/// A gauge: the value last set, and the range it went through.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GaugeReading {
    /// The value set last.
    pub value: f64,
    /// When it was set, µs since the Unix epoch: across shards and processes the latest wins.
    pub at_unix_us: u64,
    /// The smallest value set.
    pub min: f64,
    /// The largest value set.
    pub max: f64,
    /// How many times it was set.
    pub samples: u64,
}

impl GaugeReading {
    /// A gauge set once, to `value`, at `at_unix_us`.
    pub fn new(value: f64, at_unix_us: u64) -> Self {
        GaugeReading {
            value,
            at_unix_us,
            min: value,
            max: value,
            samples: 1,
        }
    }

    /// Adds another gauge's settings: the later value (the larger one at the same
    /// microsecond, so the result does not depend on the order shards merge in), the
    /// wider range, the samples added.
    pub fn extend(&mut self, other: &GaugeReading) {
        if (other.at_unix_us, other.value) > (self.at_unix_us, self.value) {
            (self.value, self.at_unix_us) = (other.value, other.at_unix_us);
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.samples = self.samples.saturating_add(other.samples);
    }
}

/// A trend: every value recorded, in an [`Entry`] (its `_micros` fields hold the values, in
/// µs when `time` is set).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TrendEntry {
    /// Whether it records durations (µs), shown as times; plain values otherwise.
    pub time: bool,
    /// The values.
    pub entry: Entry,
}

/// Values by name, serialized as a list sorted by name (`[{"name": .., ..}]`).
#[derive(Debug, Clone)]
pub struct Named<V>(FxHashMap<Box<str>, V>);

impl<V> Default for Named<V> {
    fn default() -> Self {
        Named(FxHashMap::default())
    }
}

impl<V> Named<V> {
    /// The value of `name`, made with `make` the first time.
    #[inline]
    pub fn entry(&mut self, name: &str, make: impl FnOnce() -> V) -> &mut V {
        if !self.0.contains_key(name) {
            self.0.insert(name.into(), make());
        }
        self.0.get_mut(name).expect("inserted above")
    }

    /// The value of `name` to change, if there is one: the hot path's single lookup.
    #[inline]
    pub fn get_mut(&mut self, name: &str) -> Option<&mut V> {
        self.0.get_mut(name)
    }

    /// The value of `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&V> {
        self.0.get(name)
    }

    /// Whether `name` has a value.
    #[inline]
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no name.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every (name, value), sorted by name.
    pub fn sorted(&self) -> Vec<(&str, &V)> {
        let mut rows: Vec<_> = self.0.iter().map(|(k, v)| (&**k, v)).collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        rows
    }

    /// Adds `other`'s values by name, `add` combining two of the same name.
    pub fn extend_with(&mut self, other: &Named<V>, add: impl Fn(&mut V, &V))
    where
        V: Clone,
    {
        for (name, value) in &other.0 {
            match self.0.get_mut(name) {
                Some(mine) => add(mine, value),
                None => {
                    self.0.insert(name.clone(), value.clone());
                }
            }
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct NamedRow<V> {
    name: String,
    #[serde(flatten)]
    value: V,
}

/// A counter's row: `{"name": .., "value": ..}`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Value<V> {
    value: V,
}

impl<V: serde::Serialize> serde::Serialize for Named<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.sorted().into_iter().map(|(name, value)| NamedRow {
            name: name.to_owned(),
            value: Value { value },
        }))
    }
}

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for Named<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let rows = Vec::<NamedRow<Value<V>>>::deserialize(deserializer)?;
        let mut named = Named::default();
        for row in rows {
            // A repeated name keeps its last row; the report reader refuses repeats first.
            named.0.insert(row.name.into(), row.value.value);
        }
        Ok(named)
    }
}

/// Custom metrics, by kind and name.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Metrics {
    /// Sums that only grow (orders placed).
    #[serde(default)]
    pub counters: Named<u64>,
    /// Values set from time to time (queue depth).
    #[serde(default)]
    pub gauges: Named<GaugeReading>,
    /// Shares of true samples (cache hits).
    #[serde(default)]
    pub rates: Named<Ratio>,
    /// Distributions of values or times (items per page, time in a queue).
    #[serde(default)]
    pub trends: Named<TrendEntry>,
}

impl Metrics {
    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.counters.is_empty()
            && self.gauges.is_empty()
            && self.rates.is_empty()
            && self.trends.is_empty()
    }

    /// Adds `other`'s metrics: counters and rates add, gauges keep the later value, trends
    /// add their histograms (exact).
    pub fn extend(&mut self, other: &Metrics) {
        self.counters
            .extend_with(&other.counters, |a, b| *a = a.saturating_add(*b));
        self.gauges.extend_with(&other.gauges, GaugeReading::extend);
        self.rates.extend_with(&other.rates, Ratio::extend);
        self.trends
            .extend_with(&other.trends, |a, b| a.entry.extend(&b.entry));
    }
}

/// Microseconds since the Unix epoch, now: when a gauge was set.
pub(crate) fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_keep_the_latest_value_whatever_the_merge_order() {
        let early = GaugeReading::new(5.0, 100);
        let late = GaugeReading::new(-1.0, 200);
        let tie = GaugeReading::new(3.0, 200);
        let mut forward = early;
        forward.extend(&late);
        forward.extend(&tie);
        let mut backward = tie;
        backward.extend(&late);
        backward.extend(&early);
        assert_eq!(forward, backward);
        assert_eq!(
            (forward.value, forward.min, forward.max, forward.samples),
            (3.0, -1.0, 5.0, 3)
        );
    }

    #[test]
    fn metrics_merge_by_name_and_round_trip() {
        let mut a = Metrics::default();
        *a.counters.entry("orders", || 0) += 2;
        a.rates.entry("hit", Ratio::default).record(true);
        let mut b = Metrics::default();
        *b.counters.entry("orders", || 0) += 3;
        b.rates.entry("hit", Ratio::default).record(false);
        b.trends
            .entry("items", TrendEntry::default)
            .entry
            .record(7, true, 0);
        a.extend(&b);
        assert_eq!(a.counters.get("orders"), Some(&5));
        assert_eq!(a.rates.get("hit").and_then(Ratio::rate), Some(0.5));
        let json = serde_json::to_string(&a).unwrap();
        assert!(
            json.contains(r#""counters":[{"name":"orders","value":5}]"#),
            "{json}"
        );
        let back: Metrics = serde_json::from_str(&json).unwrap();
        assert_eq!(back.trends.get("items").unwrap().entry.count, 1);
    }
}
