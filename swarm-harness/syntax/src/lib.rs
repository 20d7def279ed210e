//! The small languages of swarm-harness, shared by the runtime and the `#[stress_test]` macro so
//! an attribute is rejected at compile time for exactly what the environment variable would be
//! rejected for at run time: durations, thresholds and load stages.

pub mod duration;
pub mod limits;
pub mod stages;
pub mod threshold;

/// The percentiles every report shows, as quantiles.
pub const PERCENTILES: [f64; 11] = [
    0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];

/// The quantile of a percentage (`99.9` → `0.999`), snapped to the exact constant in
/// [`PERCENTILES`] when it is one of them, so lookups by quantile compare equal.
pub fn quantile_of_percent(percent: f64) -> f64 {
    let q = percent / 100.0;
    PERCENTILES
        .iter()
        .copied()
        .find(|p| (p - q).abs() < 1e-9)
        .unwrap_or(q)
}
