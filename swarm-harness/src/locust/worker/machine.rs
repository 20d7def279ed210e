//! What the worker tells the master about where it runs: the machine's name (the start of
//! its worker id) and, in every heartbeat, this process's CPU share and resident memory.

use std::time::Instant;

/// The machine's name, as Locust's worker ids begin with it.
pub(super) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && h.len() < 128)
        .unwrap_or_else(|| "swarm-harness".to_owned())
}

/// This process's CPU share and resident memory, for the heartbeat (Linux `/proc`; zero
/// elsewhere).
pub(super) struct CpuClock {
    last: Option<(Instant, u64)>,
}

impl CpuClock {
    pub(super) fn new() -> Self {
        CpuClock { last: None }
    }

    /// CPU percent since the last sample, and resident bytes.
    pub(super) fn sample(&mut self) -> (f64, u64) {
        let ticks = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                // Fields after the parenthesised command: utime and stime are the 12th and 13th.
                let rest = s.rsplit_once(')')?.1;
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let utime: u64 = fields.get(11)?.parse().ok()?;
                let stime: u64 = fields.get(12)?.parse().ok()?;
                Some(utime + stime)
            });
        let memory = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map_or(0, |pages| pages.saturating_mul(4096));
        let now = Instant::now();
        let cpu = match (ticks, self.last) {
            (Some(ticks), Some((then, before))) => {
                let seconds = now.duration_since(then).as_secs_f64().max(1e-3);
                // Linux reports in USER_HZ, 100 per second.
                (ticks.saturating_sub(before) as f64 / 100.0 / seconds * 100.0).min(10_000.0)
            }
            _ => 0.0,
        };
        if let Some(ticks) = ticks {
            self.last = Some((now, ticks));
        }
        (cpu, memory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heartbeat_reads_this_process() {
        let mut clock = CpuClock::new();
        let (_, memory) = clock.sample();
        let (cpu, _) = clock.sample();
        assert!(cpu >= 0.0);
        if cfg!(target_os = "linux") {
            assert!(memory > 0);
        }
    }
}
