//! Shards: `PT_SHARD=i/n` makes this process run its deterministic slice of every trial, so n
//! processes started by any orchestrator (a CI matrix, a Kubernetes Indexed Job, several
//! laptops) together send exactly the load one process would, and `swarm merge` adds their
//! reports back into one.
//!
//! The slicing is k6's execution segments: shard `i` of `n` owns the segment `((i-1)/n, i/n]`
//! of the whole. A whole number `N` (users, a request limit) is cut at `floor(N·i/n)`, so the
//! parts telescope to exactly `N` for any `n` (7 users over 3 shards: 2, 2, 3). A rate (hatch
//! rate, arrival rate, a stage's target in the open model) is divided by `n`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What `PT_SHARD` accepts, for error messages.
pub const SHARD_FORM: &str = "i/n with 1 <= i <= n, such as 2/4 (shards are numbered from 1)";

/// The most shards a run may be cut into.
pub const MAX_SHARDS: u32 = 10_000;

/// This process's shard: `index` of `count`, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardId {
    /// This shard's number, from 1 to `count`.
    pub index: u32,
    /// How many shards the run is cut into, at most [`MAX_SHARDS`].
    pub count: u32,
}

impl std::fmt::Display for ShardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shards a report covers: one for a shard's own report, several after `swarm merge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSet {
    /// How many shards the run was cut into.
    pub count: u32,
    /// The shards whose figures the report holds, ascending.
    pub indices: Vec<u32>,
}

impl ShardSet {
    /// The set of one shard's own report.
    pub fn of(shard: ShardId) -> Self {
        ShardSet {
            count: shard.count,
            indices: vec![shard.index],
        }
    }

    /// The shards of `1..=count` that are not here, as `2/4`, `3/4`.
    pub fn missing(&self) -> Vec<String> {
        (1..=self.count)
            .filter(|i| !self.indices.contains(i))
            .map(|i| format!("{i}/{}", self.count))
            .collect()
    }
}

/// Parses `i/n`; the error says what is wrong with it, in the manner of nextest's
/// `--partition`.
pub fn parse(text: &str) -> Result<ShardId, String> {
    let Some((index, count)) = text.split_once('/') else {
        return Err(format!("expected {SHARD_FORM}"));
    };
    let number = |part: &str, what: &str| -> Result<u32, String> {
        part.trim().parse::<u32>().map_err(|_| {
            format!("the shard {what} {part:?} is not a whole number; expected {SHARD_FORM}")
        })
    };
    let (index, count) = (number(index, "index")?, number(count, "count")?);
    if count == 0 {
        return Err(format!(
            "the shard count must be at least 1; expected {SHARD_FORM}"
        ));
    }
    if count > MAX_SHARDS {
        return Err(format!(
            "the shard count {count} is above the limit of {MAX_SHARDS}"
        ));
    }
    if index == 0 {
        return Err(format!(
            "the shard index must be at least 1 (shards are numbered from 1 to {count})"
        ));
    }
    if index > count {
        return Err(format!(
            "the shard index {index} is above the shard count {count} (shards are numbered from 1 to {count})"
        ));
    }
    Ok(ShardId { index, count })
}

impl ShardId {
    /// This shard's part of `whole` indivisible things: the parts of all shards add up to
    /// exactly `whole`.
    pub fn part(self, whole: u64) -> u64 {
        let range = self.range(whole);
        range.end - range.start
    }

    /// Which of `whole` numbered things (`0..whole`) are this shard's: `floor(whole·(i-1)/n)`
    /// up to `floor(whole·i/n)`, so the shards' ranges tile `0..whole` with no gap or overlap
    /// (the rows of a feeder are cut so).
    pub fn range(self, whole: u64) -> std::ops::Range<u64> {
        let cut = |i: u32| -> u64 {
            // u64 × u32 fits in u128; the quotient is at most `whole`.
            (u128::from(whole) * u128::from(i) / u128::from(self.count)) as u64
        };
        cut(self.index - 1)..cut(self.index)
    }

    /// This shard's part of a divisible amount (a rate).
    pub fn part_of_rate(self, whole: f64) -> f64 {
        whole / f64::from(self.count)
    }
}

/// A load shape cut to one shard: a closed model's user count is split into whole users (the
/// shards' parts add up to the target), an open model's rate is divided.
pub struct Sliced {
    /// The whole trial's shape.
    pub inner: Box<dyn crate::LoadShape>,
    /// The shard whose part it gives.
    pub shard: ShardId,
    /// Whether the target is an open model's rate (divided) rather than users (split).
    pub open: bool,
}

impl crate::LoadShape for Sliced {
    fn tick(&mut self, elapsed: Duration) -> Option<f64> {
        let target = self.inner.tick(elapsed)?;
        Some(if self.open {
            self.shard.part_of_rate(target)
        } else if target.is_finite() && target > 0.0 {
            self.shard.part(target.round().min(u64::MAX as f64) as u64) as f64
        } else {
            target
        })
    }

    fn spawn_rate(&mut self, elapsed: Duration) -> Option<f64> {
        // Each shard starts its part of the users at its part of the rate.
        let rate = self.inner.spawn_rate(elapsed)?;
        Some(self.shard.part_of_rate(rate))
    }
}

/// `PT_START_AT`: RFC 3339 (`2026-12-02T10:00:00Z`) or Unix seconds (`1796205600`).
pub const START_AT_FORM: &str =
    "an RFC 3339 time such as 2026-12-02T10:00:00Z, or Unix seconds such as 1796205600";

/// The longest a process waits for `PT_START_AT`: a start further away is a mistake.
pub const MAX_START_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Parses `PT_START_AT`.
pub fn parse_start_at(text: &str) -> Option<time::OffsetDateTime> {
    if let Ok(seconds) = text.parse::<i64>() {
        return time::OffsetDateTime::from_unix_timestamp(seconds).ok();
    }
    if let Ok(seconds) = text.parse::<f64>() {
        let nanos = seconds * 1e9;
        if nanos.is_finite() && nanos.abs() < 1e19 {
            return time::OffsetDateTime::from_unix_timestamp_nanos(nanos as i128).ok();
        }
        return None;
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bad_shards_are_named() {
        for (text, wanted) in [
            ("0/3", "must be at least 1"),
            ("4/3", "the shard index 4 is above the shard count 3"),
            ("x", "expected i/n"),
            ("1/0", "count must be at least 1"),
            ("a/3", "index \"a\" is not a whole number"),
            ("1/b", "count \"b\" is not a whole number"),
            ("-1/3", "is not a whole number"),
            ("1/3/4", "is not a whole number"),
            ("1/99999999999", "is not a whole number"),
            ("1/10001", "above the limit"),
            ("", "expected i/n"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(wanted), "{text}: {error}");
        }
        assert_eq!(parse("2/4"), Ok(ShardId { index: 2, count: 4 }));
        assert_eq!(parse(" 1 / 1 "), Ok(ShardId { index: 1, count: 1 }));
    }

    #[test]
    fn a_profile_is_sliced_and_the_slices_add_up() {
        let overrides = crate::settings::Overrides {
            users: Some(7),
            hatch_rate: Some(3.0),
            num_requests: Some(10),
            arrival_rate: Some(9.0),
            max_users: Some(2),
            ..Default::default()
        };
        let whole = crate::settings::LoadProfile::resolve(&Default::default(), &overrides, None);
        let slices: Vec<crate::settings::LoadProfile> = (1..=3)
            .map(|index| whole.slice(ShardId { index, count: 3 }))
            .collect();
        let users: Vec<u32> = slices.iter().map(|p| p.users).collect();
        assert_eq!(users, [2, 2, 3]);
        let requests: Vec<Option<u64>> = slices.iter().map(|p| p.num_requests).collect();
        assert_eq!(requests, [Some(3), Some(3), Some(4)]);
        for profile in &slices {
            assert!((profile.hatch_rate - 1.0).abs() < 1e-12);
            assert_eq!(profile.arrival_rate, Some(3.0));
            // 2 users over 3 shards leaves one with none; the open model still needs one.
            assert!(profile.max_users >= 1);
        }
        let few = crate::settings::Overrides {
            users: Some(2),
            ..Default::default()
        };
        let whole = crate::settings::LoadProfile::resolve(&Default::default(), &few, None);
        let first = ShardId { index: 1, count: 3 };
        let idle = whole
            .idle_reason(&whole.slice(first), first, false)
            .unwrap();
        assert_eq!(idle, "shard 1/3 has no part of 2 users: nothing ran here");
    }

    #[test]
    fn seven_users_over_three_shards() {
        let parts: Vec<u64> = (1..=3)
            .map(|i| ShardId { index: i, count: 3 }.part(7))
            .collect();
        assert_eq!(parts, [2, 2, 3]);
    }

    proptest! {
        #[test]
        fn the_parts_add_up_to_the_whole(whole in any::<u64>(), count in 1u32..=64) {
            let parts: Vec<u64> = (1..=count).map(|index| ShardId { index, count }.part(whole)).collect();
            prop_assert_eq!(parts.iter().map(|&p| u128::from(p)).sum::<u128>(), u128::from(whole));
            // The ranges tile 0..whole in order.
            let mut next = 0;
            for index in 1..=count {
                let range = ShardId { index, count }.range(whole);
                prop_assert_eq!(range.start, next);
                next = range.end;
            }
            prop_assert_eq!(next, whole);
            // No shard gets more than one above another.
            let fair = whole / u64::from(count);
            for part in parts {
                prop_assert!(part == fair || part == fair + 1, "{} of {}", part, whole);
            }
        }

        #[test]
        fn a_rate_divides_evenly(rate in 0.001f64..1e6, count in 1u32..=MAX_SHARDS) {
            let part = ShardId { index: 1, count }.part_of_rate(rate);
            prop_assert!((part * f64::from(count) - rate).abs() <= rate * 1e-12);
        }

        #[test]
        fn any_text_is_a_shard_or_an_error(text in ".{0,24}") {
            if let Ok(shard) = parse(&text) {
                prop_assert!(1 <= shard.index && shard.index <= shard.count);
            }
        }

        #[test]
        fn any_text_is_a_start_or_none(text in ".{0,40}") {
            let _ = parse_start_at(&text);
        }
    }

    #[test]
    fn start_times_read_both_ways() {
        let at = parse_start_at("2026-12-02T10:00:00Z").unwrap();
        assert_eq!(parse_start_at(&at.unix_timestamp().to_string()), Some(at));
        assert!(parse_start_at("1e300").is_none());
        assert!(parse_start_at("tomorrow").is_none());
    }
}
