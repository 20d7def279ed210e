//! A repeated warning said at most once every ten seconds, with the count of those held back:
//! a peer that floods us (a Locust master sending garbage, sockets beyond the web UI's cap)
//! does not flood the log. Shared by the web UI and the Locust worker.

use std::time::{Duration, Instant};

/// Lets a repeated warning through at most once every [`Throttle::EVERY`].
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    last: Option<Instant>,
    held: u64,
}

impl Throttle {
    /// The least time between two warnings.
    pub(crate) const EVERY: Duration = Duration::from_secs(10);

    /// `Some(held back since the last one)` when this one may be said.
    pub(crate) fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < Self::EVERY)
        {
            self.held = self.held.saturating_add(1);
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_then_a_count_of_those_held_back() {
        let mut throttle = Throttle::default();
        assert_eq!(throttle.allow(), Some(0));
        assert_eq!(throttle.allow(), None);
        assert_eq!(throttle.allow(), None);
        throttle.last = throttle.last.map(|last| last - Throttle::EVERY);
        assert_eq!(throttle.allow(), Some(2));
    }
}
