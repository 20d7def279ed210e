//! The rule against its table of cases (`cases.txt`, which the live page's twin is held to as
//! well), and the forms built on it: rates, and times with their unit.

use super::{micros, ms, rate, time};

/// `cases.txt`'s rows: a value in thousandths as text, and how it is shown.
fn cases() -> Vec<(&'static str, &'static str)> {
    include_str!("cases.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| line.split_once('\t').expect("a case is `input<TAB>shown`"))
        .collect()
}

/// JavaScript's spelling of the infinities, which Rust's parser does not take.
fn number(text: &str) -> f64 {
    match text {
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        text => text.parse().unwrap_or_else(|e| panic!("{text}: {e}")),
    }
}

#[test]
fn every_case_of_the_table_is_shown_as_it_says() {
    let cases = cases();
    assert!(cases.len() > 20, "{} cases", cases.len());
    for (input, shown) in cases {
        assert_eq!(ms(number(input)), shown, "{input} µs");
    }
}

#[test]
fn a_rate_keeps_three_significant_digits_to_the_thousandth() {
    for (per_s, shown) in [
        (0.0, "0"),
        (0.0004, "0"),
        (0.0005, "0.001"),
        (0.5, "0.500"),
        (8.0, "8.00"),
        (12.345, "12.3"),
        (0.8, "0.800"),
        (99.95, "100"),
        (1234.5, "1230"),
        (f64::NAN, "-"),
        (f64::INFINITY, "-"),
    ] {
        assert_eq!(rate(per_s), shown, "{per_s}/s");
    }
}

#[test]
fn a_time_with_its_unit_moves_up_once_it_rounds_to_a_thousand() {
    for (us, shown) in [
        (0.0, "0µs"),
        (0.4, "0µs"),
        (1.0, "1µs"),
        (850.0, "850µs"),
        (999.4, "999µs"),
        (999.5, "1.00ms"),
        (1_000.0, "1.00ms"),
        (12_345.0, "12.3ms"),
        (90_000.0, "90.0ms"),
        (300_000.0, "300ms"),
        (999_499.0, "999ms"),
        (999_500.0, "1.00s"),
        (1_200_000.0, "1.20s"),
        (59_999_000.0, "60.0s"),
        (1_234_000_000.0, "1230s"),
        (-1_500.0, "-1.50ms"),
        (1e300, "18400000000000s"),
        (f64::NAN, "-"),
        (f64::INFINITY, "-"),
        (f64::NEG_INFINITY, "-"),
    ] {
        assert_eq!(time(us), shown, "{us} µs");
    }
    assert_eq!(micros(0), "0µs");
    assert_eq!(micros(95_000), "95.0ms");
    assert_eq!(micros(u64::MAX), "18400000000000s");
}
