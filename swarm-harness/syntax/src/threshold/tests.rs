//! The documented forms, errors that point at their token, and hostile text: any string is a
//! threshold or one error (never a panic), every threshold re-parses from its expression, and
//! every caret stays under its expression.

use super::*;
use proptest::prelude::{Strategy, prop_oneof};

#[test]
fn parses_the_documented_forms() {
    let t = Threshold::parse("p95 < 200ms").unwrap();
    assert_eq!(
        (t.metric, t.op, t.value, t.scope.clone()),
        (
            Metric::Percentile(0.95),
            Op::Lt,
            200_000.0,
            Scope::Aggregated
        )
    );
    let t = Threshold::parse("p99.9 <= 1s").unwrap();
    assert_eq!(
        (t.metric, t.op, t.value),
        (Metric::Percentile(0.999), Op::Le, 1e6)
    );
    assert_eq!(Threshold::parse("fail_ratio < 1%").unwrap().value, 0.01);
    assert_eq!(Threshold::parse("rps > 100").unwrap().metric, Metric::Rps);
    assert_eq!(Threshold::parse("count >= 1000").unwrap().op, Op::Ge);
    let t = Threshold::parse("GET /apps/{id}: p99 < 500ms").unwrap();
    assert_eq!(
        t.scope,
        Scope::Request {
            kind: "GET".into(),
            name: "/apps/{id}".into()
        }
    );
    let t = Threshold::parse("task create_app[large]: p95 < 2s abort_on_fail").unwrap();
    assert_eq!(
        t.scope,
        Scope::Task {
            name: "create_app[large]".into()
        }
    );
    assert!(t.abort_on_fail);
}

#[test]
fn errors_point_at_the_bad_token() {
    let error = Threshold::parse("p95 < 200xs").unwrap_err();
    assert!(error.message.contains("unknown time unit `xs`"), "{error}");
    assert_eq!(error.caret, "         ^^");
    let error = Threshold::parse("p95 << 200ms").unwrap_err();
    assert_eq!(error.caret, "    ^^");
    let error = Threshold::parse("latency < 2s").unwrap_err();
    assert!(error.message.contains("unknown metric `latency`"));
    assert_eq!(error.caret, "^^^^^^^");
    assert!(
        Threshold::parse("p95 < 200")
            .unwrap_err()
            .message
            .contains("needs a unit")
    );
    assert!(Threshold::parse("fail_ratio < 5").is_err());
    assert!(Threshold::parse("p95 < 1s now").is_err());
    assert!(Threshold::parse("apps: p95 < 1s").is_err());
}

#[test]
fn checks_tags_and_custom_metrics() {
    let t = Threshold::parse("checks > 99.9%").unwrap();
    assert_eq!(
        (t.scope, t.metric),
        (Scope::Checks { name: None }, Metric::Rate)
    );
    assert!((t.value - 0.999).abs() < 1e-12);
    let t = Threshold::parse("checks{status is 201} >= 0.99").unwrap();
    let name = Some("status is 201".to_owned());
    assert_eq!((t.scope, t.value), (Scope::Checks { name }, 0.99));
    let t = Threshold::parse("p95{kind:read} < 200ms abort_on_fail").unwrap();
    let tag = Scope::Tag {
        key: "kind".into(),
        value: "read".into(),
    };
    assert_eq!((t.scope, t.value, t.timed), (tag, 200_000.0, true));
    let t = Threshold::parse("GET /a/{b:c}: p95 < 1s").unwrap();
    assert_eq!(
        t.scope,
        Scope::Request {
            kind: "GET".into(),
            name: "/a/{b:c}".into()
        }
    );
    let custom = |kind, name: &str| Scope::Custom {
        kind,
        name: name.into(),
    };
    let t = Threshold::parse("counter orders placed: count >= 10").unwrap();
    assert_eq!(
        (t.scope, t.metric),
        (custom(CustomKind::Counter, "orders placed"), Metric::Count)
    );
    let t = Threshold::parse("gauge queue: value < -2.5").unwrap();
    assert_eq!((t.metric, t.value), (Metric::Value, -2.5));
    let t = Threshold::parse("trend items: p95 < 40").unwrap();
    assert_eq!((t.value, t.timed), (40.0, false));
    let t = Threshold::parse("trend wait: p95 < 40ms").unwrap();
    assert_eq!((t.value, t.timed), (40_000.0, true));
    assert_eq!(Threshold::parse("rate hit: rate > 90%").unwrap().value, 0.9);
}

#[test]
fn misplaced_checks_tags_and_metrics_are_refused() {
    let refused = |text: &str, message: &str| {
        let error = Threshold::parse(text).unwrap_err();
        assert!(error.message.contains(message), "{text}: {error}");
    };
    refused("GET /a: checks > 99%", "takes no scope");
    refused("GET /a: p95{kind:read} < 1s", "takes no scope");
    refused("p95{kind} < 1s", "{KEY:VALUE}");
    refused("p95{kind:read < 1s", "without its `}`");
    refused("counter orders: p95 < 1s", "a counter takes count or rps");
    refused("gauge q: count > 1", "a gauge takes value, min or max");
    refused("rate < 50%", "metric of custom rates");
    refused("checks > 101%", "a ratio is from 0 to 1");
    refused("checks > 2", "a ratio is from 0 to 1");
    refused("counter orders: count > 1ms", "unexpected unit");
    refused("p95 < -", "expected a number");
}

/// `text` as a failure message shows it: its first 60 characters.
fn short(text: &str) -> String {
    let head: String = text.chars().take(60).collect();
    format!("{head:?} ({} chars)", text.chars().count())
}

/// `text`'s parse, held to what every parse must satisfy: an error's caret no wider than its
/// expression (and one past its end), a threshold that re-parses to itself.
fn parse_soundly(text: &str) -> Result<Threshold, ThresholdError> {
    let parsed = Threshold::parse(text);
    match &parsed {
        Ok(threshold) => assert!(
            Threshold::parse(&threshold.expression).as_ref() == Ok(threshold),
            "{} does not re-parse from its expression",
            short(text)
        ),
        Err(error) => {
            let (caret, width) = (error.caret.chars().count(), text.chars().count() + 1);
            assert!(caret <= width, "{}: caret of {caret} chars", short(text));
            assert!(error.caret.trim_start().starts_with('^'), "{}", short(text));
            assert!(error.caret.trim_start().chars().all(|c| c == '^'));
            assert!(!error.to_string().is_empty());
        }
    }
    parsed
}

#[track_caller]
fn refused(text: &str, message: &str) {
    match parse_soundly(text) {
        Ok(threshold) => panic!("{} parsed: {:?}", short(text), threshold.scope),
        Err(error) => assert!(
            error.message.contains(message),
            "{}: {}",
            short(text),
            error.message
        ),
    }
}

#[test]
fn a_brace_added_or_lost_anywhere_is_a_threshold_or_one_error() {
    for base in [
        "checks{status is 201} > 99%",
        "p95{kind:read} < 200ms abort_on_fail",
        "GET /apps/{id}: p99 < 500ms",
        "trend wait {x}: p95 < 40ms",
    ] {
        let boundaries = base.char_indices().map(|(at, _)| at).chain([base.len()]);
        for at in boundaries {
            for brace in ["{", "}"] {
                parse_soundly(&format!("{}{brace}{}", &base[..at], &base[at..])).ok();
            }
            if let Some(c) = base[at..].chars().next().filter(|c| matches!(c, '{' | '}')) {
                parse_soundly(&format!("{}{}", &base[..at], &base[at + c.len_utf8()..])).ok();
            }
        }
    }
    refused("p95{kind:read < 1s", "without its `}`");
    refused("checks{ok > 99%", "without its `}`");
    refused("p95}kind:read{ < 1s", "a scope is `KIND NAME:`");
    refused("p95{kind:read}} < 1s", "expected a comparison");
    refused("{p95 < 1s", "without its `}`");
    refused("p95 < 1s}", "unknown time unit `s}`");
}

#[test]
fn empty_selectors_and_scopes_without_a_name_are_refused() {
    refused("checks{} > 99%", "names no check");
    refused("checks{   } > 99%", "names no check");
    assert_eq!(
        Threshold::parse("checks{} > 99%").unwrap_err().caret,
        "      ^^"
    );
    refused("p95{:} < 1s", "neither of them empty");
    refused("p95{kind:} < 1s", "neither of them empty");
    refused("p95{ :read} < 1s", "neither of them empty");
    refused("{a:b}: p95 < 1s", "a scope is `KIND NAME:`");
    refused(": p95 < 1s", "a scope is `KIND NAME:`");
    for kind in ["counter", "gauge", "rate", "trend", "task"] {
        refused(&format!("{kind}: count > 1"), &format!("`{kind} NAME:`"));
        refused(
            &format!("  {kind}  : count > 1"),
            &format!("`{kind} NAME:`"),
        );
    }
}

#[test]
fn braces_nest_in_check_names_and_thousands_of_them_stay_linear() {
    let t = parse_soundly("checks{a{b}c} > 1%").unwrap();
    assert_eq!(
        t.scope,
        Scope::Checks {
            name: Some("a{b}c".into())
        }
    );
    let t = parse_soundly("checks{status: 201} > 1%").unwrap();
    let name = Some("status: 201".into());
    assert_eq!(t.scope, Scope::Checks { name });
    refused("checks{a}b} > 1%", "expected a comparison");
    let deep = 20_000;
    refused(&"{".repeat(deep), "without its `}`");
    refused(&format!("p95{} < 1s", "{".repeat(deep)), "without its `}`");
    refused(
        &format!("{}: p95 < 1s", "{".repeat(deep)),
        "without its `}`",
    );
    refused(&format!("{}p95 < 1s", "}".repeat(deep)), "unknown metric");
    let nested = format!("checks{}{} > 1%", "{".repeat(deep), "}".repeat(deep));
    let t = parse_soundly(&nested).unwrap();
    let Scope::Checks { name: Some(name) } = t.scope else {
        panic!("{:?}", t.scope)
    };
    assert_eq!(name.len(), 2 * (deep - 1));
    // A selector's text splits at its first colon, braces and all.
    let tag = format!("p95{}:{} < 1s", "{".repeat(deep), "}".repeat(deep));
    let Scope::Tag { key, value } = parse_soundly(&tag).unwrap().scope else {
        panic!("not a tag selector")
    };
    assert_eq!((key.len(), value.len()), (deep - 1, deep - 1));
}

#[test]
fn numbers_beyond_an_f64_and_odd_spellings_are_refused() {
    let huge = "9".repeat(400);
    refused(&format!("count > {huge}"), "too large");
    refused(&format!("p95 < {huge}ms"), "too large");
    // Finite, but not once it is in µs.
    refused(&format!("p95 < 1{}m", "0".repeat(305)), "beyond any time");
    refused("p95 < 1e309ms", "unknown time unit `e309ms`");
    refused("gauge q: value < 1e309", "unexpected unit `e309`");
    for spelling in ["NaN", "nan", "inf", "-inf", "infinity", "+1", "∞", "１"] {
        refused(&format!("gauge q: value < {spelling}"), "expected a number");
        refused(&format!("p95 < {spelling}ms"), "expected a number");
    }
    refused("p95 < 1..2ms", "expected a number");
    refused("p95 < --1ms", "expected a number");
    refused("p95 < 1-ms", "expected a number");
    refused("checks > -1%", "a ratio is from 0 to 1");
    refused("rate r: rate > 100.5%", "a ratio is from 0 to 1");
    refused("fail_ratio < 1.0001", "a ratio is from 0 to 1");
    refused("p1e400 < 1s", "unknown metric");
    refused("pNaN < 1s", "unknown metric");
    refused("p0 < 1s", "unknown metric");
    assert_eq!(parse_soundly("gauge q: value > -0").unwrap().value, 0.0);
    assert_eq!(parse_soundly("checks >= -0%").unwrap().value, 0.0);
    assert_eq!(parse_soundly("checks <= 100%").unwrap().value, 1.0);
    assert_eq!(
        parse_soundly("p100 < 1µs").unwrap().metric,
        Metric::Percentile(1.0)
    );
}

/// Mostly one of `good`, sometimes one of `bad`.
fn piece(
    good: &'static [&'static str],
    bad: &'static [&'static str],
) -> impl Strategy<Value = &'static str> {
    prop_oneof![
        6 => proptest::sample::select(good),
        1 => proptest::sample::select(bad),
    ]
}

/// Thresholds made of the grammar's own pieces in its order (scope, metric, selector,
/// comparison, number, unit, flag), so that many parse, with wrong pieces among them.
fn pieces() -> impl Strategy<Value = String> {
    let scope = piece(
        &[
            "",
            "",
            "GET /a: ",
            "GET /a/{id}: ",
            "task t: ",
            "counter c: ",
            "gauge g: ",
            "rate r: ",
            "trend w: ",
            "é ü: ",
        ],
        &["counter: ", "{a:b}: ", ": ", "x:y: ", "{: ", "}: "],
    );
    let metric = piece(
        &[
            "p95",
            "p99.9",
            "p100",
            "avg",
            "med",
            "min",
            "max",
            "count",
            "rps",
            "failures",
            "fail_ratio",
            "checks",
            "value",
            "rate",
        ],
        &["p0", "pNaN", "p1e400", "", "é", "latency"],
    );
    let selector = piece(
        &["", "", "", "", "{kind:read}", "{ok}", "{a{b}c}", "{a:b:c}"],
        &["{}", "{:}", "{k:}", "{", "}", "{{"],
    );
    let op = piece(&["<", "<=", ">", ">="], &["=", "<<", "", "!"]);
    let number = piece(
        &["0", "-0", "1", "1.5", "-2.5", "99", "0.5", "100"],
        &[
            "1e309",
            "NaN",
            "inf",
            "1..2",
            "-",
            "",
            "99999999999999999999",
        ],
    );
    let unit = piece(
        &["", "", "%", "ms", "s", "us", "µs", "m", "/s"],
        &["xs", "e309", "{"],
    );
    let flag = piece(
        &["", "", " abort_on_fail"],
        &[" now", " abort_on_fail x", ":"],
    );
    let space = || piece(&[" ", " ", ""], &["  ", "\t", "\u{a0}", "\n"]);
    (
        scope,
        metric,
        selector,
        space(),
        op,
        space(),
        number,
        unit,
        flag,
    )
        .prop_map(
            |(scope, metric, selector, before, op, after, number, unit, flag)| {
                format!("{scope}{metric}{selector}{before}{op}{after}{number}{unit}{flag}")
            },
        )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_is_a_threshold_or_one_error(text in prop_oneof![
        proptest::prelude::any::<String>(),
        "[ a-z0-9{}:%.<>=_/µé-]{0,40}",
    ]) {
        let _ = parse_soundly(&text);
    }

    #[test]
    fn the_grammars_pieces_right_and_wrong_parse_soundly(text in pieces()) {
        let _ = parse_soundly(&text);
    }
}
