//! The one precision rule for the times and rates people read, in the terminal summary, the
//! progress line, the HTML pages, the live page (`web/figure.js` is its twin), threshold
//! verdicts and `swarm compare`: **three significant digits, never finer than a thousandth**
//! (for a time in milliseconds, a whole microsecond: what the recorders measure, and the
//! histograms' own three significant digits).
//!
//! A figure is first rounded to whole thousandths (half up), then to three significant digits
//! (half up), carrying into the next unit when the rounding does: `0.430`, `0.005`, `1.00`,
//! `12.3`, `456`, `1230`, `60000` milliseconds; zero, and anything under half a microsecond, is
//! `0`. A column headed "ms" stays in milliseconds however large; a time with its unit moves
//! to the next one once it reaches a thousand (`850µs`, `1.10ms`, `999ms`, `1.00s`, `1230s`).
//! A value that is not finite is `-`, never `NaN` or `inf`, and one beyond `u64::MAX`
//! thousandths is shown as that.
//!
//! The CSV files keep Locust's own rounding and the JSON report its exact integers: they are
//! read by programs, not people.

/// A time in milliseconds, for a column headed "ms": `0.430`, `1.10`, `12.3`, `456`, `1230`.
pub fn ms(micros: f64) -> String {
    thousandths(micros)
}

/// A rate per second (requests, failures, a counter's): `0.500`, `12.3`, `1230`.
pub fn rate(per_s: f64) -> String {
    thousandths(per_s * 1000.0)
}

/// A time with its unit, µs, ms or s: `850µs`, `1.10ms`, `12.3ms`, `1.20s`, `1230s`.
pub fn time(micros: f64) -> String {
    match whole(micros) {
        Some((sign, n)) => format!("{sign}{}", self::micros(n)),
        None => "-".to_owned(),
    }
}

/// A whole number of microseconds with its unit, as [`time`].
pub fn micros(micros: u64) -> String {
    let (digits, exponent) = significant(micros);
    // Three digits from 1 µs to 999 µs, then from 1.00 ms: the exponent says which unit
    // they fit, after the rounding (999.5 ms is `1.00s`).
    let (shift, unit) = match exponent {
        0 => (0, "µs"),
        1..=3 => (3, "ms"),
        _ => (6, "s"),
    };
    format!("{}{unit}", place(digits, exponent as i32 - shift))
}

/// A value counted in thousandths of its unit, shown in that unit.
fn thousandths(value: f64) -> String {
    let Some((sign, n)) = whole(value) else {
        return "-".to_owned();
    };
    let (digits, exponent) = significant(n);
    match digits {
        0 => "0".to_owned(),
        _ => format!("{sign}{}", place(digits, exponent as i32 - 3)),
    }
}

/// The sign and whole magnitude of a finite value (half up, saturating at `u64::MAX`);
/// `None` for NaN and the infinities.
fn whole(value: f64) -> Option<(&'static str, u64)> {
    if !value.is_finite() {
        return None;
    }
    // `as` saturates: a magnitude past u64::MAX is shown as u64::MAX.
    let magnitude = value.abs().round() as u64;
    let sign = if value < 0.0 && magnitude > 0 {
        "-"
    } else {
        ""
    };
    Some((sign, magnitude))
}

/// `n` to three significant digits, half up: `(digits, exponent)` with
/// `n ≈ digits × 10^exponent` and `digits` below 1000 (100 or more once `exponent` is not 0).
fn significant(n: u64) -> (u64, u32) {
    let mut scale = 1_u64;
    let mut exponent = 0;
    while n / scale >= 1000 {
        scale *= 10;
        exponent += 1;
    }
    let mut digits = n / scale + u64::from(scale > 1 && n % scale >= scale / 2);
    // 999.5 rounds up to 1000: one digit more than three, so the unit of rounding moves up.
    if digits == 1000 {
        digits = 100;
        exponent += 1;
    }
    (digits, exponent)
}

/// `digits × 10^power` written out: trailing zeros for a positive power, a decimal point
/// (with leading zeros) for a negative one.
fn place(digits: u64, power: i32) -> String {
    let text = digits.to_string();
    if power >= 0 {
        return format!("{text}{}", "0".repeat(power as usize));
    }
    let decimals = power.unsigned_abs() as usize;
    let text = format!("{text:0>width$}", width = decimals + 1);
    let (whole, fraction) = text.split_at(text.len() - decimals);
    format!("{whole}.{fraction}")
}

#[cfg(test)]
mod tests;
