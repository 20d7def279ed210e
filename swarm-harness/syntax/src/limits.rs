//! The bounds of load settings, the same for an attribute (checked at compile time) and for
//! its `PT_*` variable: beyond them a run would exhaust the machine or the arithmetic of its
//! schedule, so they are refused with a message naming the bound.

use std::time::Duration;

/// The most users a trial may have (`PT_NUM_CLIENTS`, `users`, `PT_MAX_USERS`, stage
/// targets): about 2.6 GiB of sessions at the measured 2.6 KiB per idle user.
pub const MAX_USERS: u32 = 1_000_000;

/// The slowest hatch or arrival rate: one per 1,000 seconds.
pub const MIN_RATE: f64 = 0.001;

/// The fastest hatch or arrival rate, per second.
pub const MAX_RATE: f64 = 1_000_000.0;

/// The longest duration any setting takes: a year.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Whether `rate` is a usable hatch or arrival rate.
pub fn rate_in_range(rate: f64) -> bool {
    rate.is_finite() && (MIN_RATE..=MAX_RATE).contains(&rate)
}

/// Whether `users` is a usable user count.
pub fn users_in_range(users: u64) -> bool {
    (1..=u64::from(MAX_USERS)).contains(&users)
}
