//! Confidence intervals for the figures `swarm compare` judges, computed from what a report
//! holds, so a regression is called only when the two runs' intervals separate.
//!
//! - **A percentile** (p50, p95, p99): the distribution-free order-statistic interval. With
//!   `n` samples, the number of them below the true q-quantile is Binomial(n, q), so the
//!   interval between the `l`-th and `u`-th smallest sample, with `l` the smallest rank whose
//!   lower tail `P(B <= l - 1)` stays under `α/2` and `u - 1` the Binomial's `1 - α/2`
//!   quantile, covers the true quantile with probability at least `1 - α` whatever the
//!   distribution (see e.g. Conover, *Practical Nonparametric Statistics*, 3.2). The samples
//!   of those ranks are read from the report's HDR histogram, widened to the edges of their
//!   buckets (3 significant digits), so resolution can only make the interval wider. When `l`
//!   or `u` falls outside `1..=n` there are too few samples for that confidence.
//! - **Requests/s**: the count is taken as Poisson; the exact (Garwood) interval for its mean,
//!   from Gamma quantiles, divided by the measured duration.
//! - **The failure ratio**: failures out of the count as Binomial; the exact Clopper-Pearson
//!   interval, from Beta quantiles.
//!
//! The distributions come from `statrs`.

use hdrhistogram::Histogram;
use statrs::distribution::{Beta, Binomial, ContinuousCDF, DiscreteCDF, Gamma};

/// A closed interval `[low, high]` around an estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// Whether the two intervals share no point.
    pub fn separated_from(&self, other: &Interval) -> bool {
        self.high < other.low || other.high < self.low
    }
}

/// `1 - confidence`, for a confidence strictly between 0 and 1.
fn alpha(confidence: f64) -> Option<f64> {
    (confidence > 0.0 && confidence < 1.0).then_some(1.0 - confidence)
}

/// The 1-based ranks `(l, u)` of the order statistics that bound the `quantile` of `n`
/// samples with at least `confidence` coverage; `None` when there are too few samples.
pub fn quantile_ranks(n: u64, quantile: f64, confidence: f64) -> Option<(u64, u64)> {
    if n == 0 || !(0.0..1.0).contains(&quantile) || quantile <= 0.0 {
        return None;
    }
    let alpha = alpha(confidence)?;
    let binomial = Binomial::new(quantile, n).ok()?;
    // l = the smallest x with P(B <= x) >= α/2: then P(B <= l - 1) < α/2.
    let low = binomial_ppf(&binomial, n, alpha / 2.0);
    // u - 1 = the smallest x with P(B <= x) >= 1 - α/2.
    let high = binomial_ppf(&binomial, n, 1.0 - alpha / 2.0).checked_add(1)?;
    (low >= 1 && high <= n).then_some((low, high))
}

/// The smallest `x` in `0..=n` with `P(B <= x) >= p`, by bisection on the exact CDF
/// (statrs' default `inverse_cdf` can panic when its own bisection fails to converge).
fn binomial_ppf(binomial: &Binomial, n: u64, p: f64) -> u64 {
    let (mut low, mut high) = (0u64, n);
    while low < high {
        let middle = low + (high - low) / 2;
        if binomial.cdf(middle) >= p {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    low
}

/// The `rank`-th smallest recorded value (1-based), as the `(lowest, highest)` value of its
/// bucket.
fn value_at_rank(histogram: &Histogram<u64>, rank: u64) -> Option<(u64, u64)> {
    let mut seen = 0u64;
    for value in histogram.iter_recorded() {
        seen = seen.saturating_add(value.count_at_value());
        if seen >= rank {
            let at = value.value_iterated_to();
            return Some((
                histogram.lowest_equivalent(at),
                histogram.highest_equivalent(at),
            ));
        }
    }
    None
}

/// The order-statistic interval of the `quantile` of the samples in `histogram`, in its
/// unit; `None` when there are too few samples for `confidence`.
pub fn quantile(histogram: &Histogram<u64>, quantile: f64, confidence: f64) -> Option<Interval> {
    let (low, high) = quantile_ranks(histogram.len(), quantile, confidence)?;
    Some(Interval {
        low: value_at_rank(histogram, low)?.0 as f64,
        high: value_at_rank(histogram, high)?.1 as f64,
    })
}

/// The exact (Garwood) interval of a rate: `count` events in `seconds`.
pub fn rate(count: u64, seconds: f64, confidence: f64) -> Option<Interval> {
    if !seconds.is_finite() || seconds <= 0.0 {
        return None;
    }
    let alpha = alpha(confidence)?;
    let k = count as f64;
    // The Poisson mean's bounds are Gamma(k, 1) and Gamma(k + 1, 1) quantiles.
    let low = if count == 0 {
        0.0
    } else {
        Gamma::new(k, 1.0).ok()?.inverse_cdf(alpha / 2.0)
    };
    let high = Gamma::new(k + 1.0, 1.0)
        .ok()?
        .inverse_cdf(1.0 - alpha / 2.0);
    Some(Interval {
        low: low / seconds,
        high: high / seconds,
    })
}

/// The exact (Clopper-Pearson) interval of a proportion: `failures` out of `count`.
pub fn proportion(failures: u64, count: u64, confidence: f64) -> Option<Interval> {
    if count == 0 || failures > count {
        return None;
    }
    let alpha = alpha(confidence)?;
    let (x, n) = (failures as f64, count as f64);
    let low = if failures == 0 {
        0.0
    } else {
        Beta::new(x, n - x + 1.0).ok()?.inverse_cdf(alpha / 2.0)
    };
    let high = if failures == count {
        1.0
    } else {
        Beta::new(x + 1.0, n - x)
            .ok()?
            .inverse_cdf(1.0 - alpha / 2.0)
    };
    Some(Interval { low, high })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from SciPy 1.x (`scipy.stats`), computed as noted on each line.
    #[test]
    fn quantile_ranks_match_the_binomial_tables() {
        // The median of 20 at 95 %: ranks 6 and 15 (binom.ppf(0.025, 20, 0.5) = 6,
        // binom.ppf(0.975, 20, 0.5) + 1 = 15; coverage 0.9586).
        assert_eq!(quantile_ranks(20, 0.5, 0.95), Some((6, 15)));
        // p95 of 1000 at 95 %: binom.ppf(0.025, 1000, 0.95) = 936, binom.ppf(0.975, ..) + 1 = 964.
        assert_eq!(quantile_ranks(1000, 0.95, 0.95), Some((936, 964)));
        // p99 of 320 at 95 %: binom.ppf(0.975, 320, 0.99) + 1 = 321 > 320: too few.
        assert_eq!(quantile_ranks(320, 0.99, 0.95), None);
        // Five samples never bound a median at 95 % (ranks 1..5 cover 0.9375 at most).
        assert_eq!(quantile_ranks(5, 0.5, 0.95), None);
        assert_eq!(quantile_ranks(6, 0.5, 0.95), Some((1, 6)));
        assert_eq!(quantile_ranks(0, 0.5, 0.95), None);
        // The fewest samples that bound a p99 at 95 %: 368 (found with binom.ppf as above).
        assert_eq!(quantile_ranks(367, 0.99, 0.95), None);
        assert!(quantile_ranks(368, 0.99, 0.95).is_some());
    }

    proptest::proptest! {
        /// Whatever the sample count, quantile and confidence, the ranks cover the quantile
        /// with at least the confidence: P(l <= B <= u - 1) >= confidence.
        #[test]
        fn ranks_cover_at_least_the_confidence(
            n in 1u64..5_000,
            q in 0.01f64..0.999,
            confidence in 0.5f64..0.999,
        ) {
            if let Some((l, u)) = quantile_ranks(n, q, confidence) {
                let binomial = Binomial::new(q, n).unwrap();
                let below_l = binomial.cdf(l - 1);
                let coverage = binomial.cdf(u - 1) - below_l;
                proptest::prop_assert!(coverage >= confidence - 1e-9, "{l} {u} {coverage}");
                proptest::prop_assert!(l <= u && u <= n);
            }
        }

        /// Hostile numbers never panic.
        #[test]
        fn hostile_inputs_never_panic(n: u64, q: f64, confidence: f64, count: u64, seconds: f64) {
            let _ = quantile_ranks(n % 100_000, q, confidence);
            let _ = rate(count, seconds, confidence);
            let _ = proportion(count % 1000, n % 1000, confidence);
        }
    }

    #[test]
    fn a_histograms_interval_is_read_at_its_ranks() {
        let mut histogram = Histogram::<u64>::new(3).unwrap();
        for value in 1..=20u64 {
            histogram.record(value * 100).unwrap();
        }
        let interval = quantile(&histogram, 0.5, 0.95).unwrap();
        assert_eq!(
            interval,
            Interval {
                low: 600.0,
                high: 1500.0
            }
        );
    }

    #[test]
    fn rate_and_proportion_intervals_match_the_exact_formulas() {
        // Garwood, 10 events in 1 s at 95 %: chi2.ppf(0.025, 20)/2 = 4.7954,
        // chi2.ppf(0.975, 22)/2 = 18.3904.
        let rate = rate(10, 1.0, 0.95).unwrap();
        assert!((rate.low - 4.7954).abs() < 1e-3, "{rate:?}");
        assert!((rate.high - 18.3904).abs() < 1e-3, "{rate:?}");
        // Clopper-Pearson, 3 of 100 at 95 %: beta.ppf(0.025, 3, 98) = 0.006229,
        // beta.ppf(0.975, 4, 97) = 0.085176.
        let ratio = proportion(3, 100, 0.95).unwrap();
        assert!((ratio.low - 0.006229).abs() < 1e-5, "{ratio:?}");
        assert!((ratio.high - 0.085176).abs() < 1e-5, "{ratio:?}");
        // 0 of 100: [0, 1 - 0.025^(1/100)] = [0, 0.036217].
        let none = proportion(0, 100, 0.95).unwrap();
        assert_eq!(none.low, 0.0);
        assert!((none.high - 0.036217).abs() < 1e-5, "{none:?}");
        assert_eq!(proportion(1, 0, 0.95), None);
        assert_eq!(super::rate(5, 0.0, 0.95), None);
    }
}
