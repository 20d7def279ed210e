//! Checks and custom metrics, as a scenario records them: `user.check(..)` (k6's `check`: a
//! pass or a fail counted as a rate, the task going on), and metrics declared once by name
//! (`const ORDERS: Counter = Counter::new("orders placed");`) and recorded from any task or
//! hook. All of it lands in the user's shard of the trial's statistics, so it merges across
//! shards, processes and reports like the request entries do.

use std::time::Duration;

use crate::user::User;

impl User {
    /// Counts a check: `pass` or not, under `name` (`"status is 201"`), without failing the
    /// task; returns `pass`, so a task can still branch on it. Every report shows each
    /// check's pass rate; thresholds take `checks > 99.9%` and `checks{status is 201} > 99%`.
    ///
    /// Distinct check names are capped like request names (`PT_MAX_NAMES`); a name with an id
    /// in it is counted under one entry beyond the cap.
    pub fn check(&self, name: &str, pass: bool) -> bool {
        self.ctx.recorder.check(self.shard(), name, pass);
        pass
    }
}

/// A sum that only grows (orders placed, messages sent), declared once:
/// `const ORDERS: Counter = Counter::new("orders placed");`, then `ORDERS.add(user, 1)`.
/// Thresholds: `counter orders placed: count >= 100`, `... : rps > 5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    name: &'static str,
}

impl Counter {
    /// The counter `name`.
    pub const fn new(name: &'static str) -> Self {
        Counter { name }
    }

    /// Its name in reports.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Adds `n`.
    pub fn add(&self, user: &User, n: u64) {
        user.ctx.recorder.counter(user.shard(), self.name, n);
    }
}

/// A value set from time to time (a queue's depth): reports show the last one set (by any
/// user, shard or process) and the range. Thresholds: `gauge queue depth: max < 100`,
/// `...: value < 10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gauge {
    name: &'static str,
}

impl Gauge {
    /// The gauge `name`.
    pub const fn new(name: &'static str) -> Self {
        Gauge { name }
    }

    /// Its name in reports.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Sets it to `value`; a value that is not finite is ignored.
    pub fn set(&self, user: &User, value: f64) {
        if value.is_finite() {
            user.ctx.recorder.gauge(user.shard(), self.name, value);
        }
    }
}

/// The share of samples that were true (cache hits): `HITS.add(user, hit)`.
/// Thresholds: `rate cache hit: rate > 90%`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    name: &'static str,
}

impl Rate {
    /// The rate `name`.
    pub const fn new(name: &'static str) -> Self {
        Rate { name }
    }

    /// Its name in reports.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Counts one sample.
    pub fn add(&self, user: &User, hit: bool) {
        user.ctx.recorder.rate(user.shard(), self.name, hit);
    }
}

/// A distribution, kept in an HDR histogram like request times: of plain values
/// (`Trend::new`, items per page) or of durations (`Trend::time`, time spent in a queue).
/// Thresholds: `trend items: p95 < 40`, `trend queue wait: p99 < 2s` (a unit for times).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trend {
    name: &'static str,
    time: bool,
}

impl Trend {
    /// A trend of plain values.
    pub const fn new(name: &'static str) -> Self {
        Trend { name, time: false }
    }

    /// A trend of durations, shown as times.
    pub const fn time(name: &'static str) -> Self {
        Trend { name, time: true }
    }

    /// Its name in reports.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Records `value` (in µs for a trend of times).
    pub fn add(&self, user: &User, value: u64) {
        user.ctx
            .recorder
            .trend(user.shard(), self.name, self.time, value);
    }

    /// Records a duration (in µs; for a trend of times).
    pub fn add_duration(&self, user: &User, duration: Duration) {
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.add(user, micros);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_and_metrics_land_in_the_users_statistics() {
        const ORDERS: Counter = Counter::new("orders");
        const DEPTH: Gauge = Gauge::new("depth");
        const HIT: Rate = Rate::new("hit");
        const WAIT: Trend = Trend::time("wait");
        let user = User::standalone("http://h:1/").await;
        assert!(user.check("ok", true));
        assert!(!user.check("ok", false));
        ORDERS.add(&user, 2);
        ORDERS.add(&user, 3);
        DEPTH.set(&user, 4.0);
        DEPTH.set(&user, f64::NAN);
        HIT.add(&user, true);
        WAIT.add_duration(&user, Duration::from_millis(3));
        let taken = user.ctx.recorder.take();
        let ok = taken.checks.get("ok").unwrap();
        assert_eq!((ok.passes, ok.fails), (1, 1));
        assert_eq!(taken.metrics.counters.get("orders"), Some(&5));
        assert_eq!(taken.metrics.gauges.get("depth").unwrap().samples, 1);
        assert_eq!(taken.metrics.rates.get("hit").unwrap().passes, 1);
        let wait = taken.metrics.trends.get("wait").unwrap();
        assert!(wait.time && wait.entry.max_micros == 3_000);
    }
}
