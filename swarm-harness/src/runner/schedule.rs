//! The spawn schedule as pure functions: when each user starts, and how many run at a time.

use std::time::Duration;

/// When each of `users` users starts, at `hatch_rate` users per second: user `i` at `i / rate`.
/// An offset beyond what a `Duration` holds (a rate below the configured bounds) saturates.
pub fn spawn_offsets(users: u32, hatch_rate: f64) -> impl Iterator<Item = Duration> {
    (0..users).map(move |index| {
        Duration::try_from_secs_f64(f64::from(index) / hatch_rate).unwrap_or(Duration::MAX)
    })
}

/// How many users have been spawned `elapsed` after the start.
pub fn users_at(users: u32, hatch_rate: f64, elapsed: Duration) -> u32 {
    // The epsilon keeps `users_at(spawn_offsets[i])` counting user i despite rounding
    // (offsets are whole nanoseconds).
    let started = (elapsed.as_secs_f64() * hatch_rate + 1e-6).floor() as u64 + 1;
    started.min(u64::from(users)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_users_at_five_per_second_take_two_seconds() {
        let offsets: Vec<_> = spawn_offsets(10, 5.0).collect();
        assert_eq!(offsets.len(), 10);
        assert_eq!(offsets[0], Duration::ZERO);
        assert_eq!(offsets[5], Duration::from_secs(1));
        assert_eq!(offsets[9], Duration::from_millis(1800));
        assert_eq!(users_at(10, 5.0, Duration::from_millis(999)), 5);
        assert_eq!(users_at(10, 5.0, Duration::from_secs(2)), 10);
        assert_eq!(users_at(10, 5.0, Duration::from_secs(60)), 10);
    }

    #[test]
    fn tiny_rates_saturate() {
        let offsets: Vec<_> = spawn_offsets(3, 1e-300).collect();
        assert_eq!(offsets, [Duration::ZERO, Duration::MAX, Duration::MAX]);
        assert_eq!(users_at(3, 1e-300, Duration::from_secs(1)), 1);
    }

    #[test]
    fn offsets_agree_with_users_at() {
        for (users, rate) in [(7, 0.5), (20, 20.0), (3, 100.0), (50, 3.0)] {
            for (index, offset) in spawn_offsets(users, rate).enumerate() {
                assert!(
                    users_at(users, rate, offset) as usize > index,
                    "{users} {rate} {index}"
                );
            }
        }
    }
}
