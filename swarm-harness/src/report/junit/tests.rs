//! quick-junit is the oracle of our hand-written JUnit XML: for the same reports, hostile names
//! and messages included, our document must read (with quick-xml's reader) as the same
//! elements, attributes and text as quick-junit's, and quick-junit's own reader must make the
//! same report of it. For text without U+FFFE or U+FFFF the bytes are the same too.

use std::time::Duration;

use proptest::prelude::*;
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use quick_xml::events::Event;

use super::{details, junit_xml, properties, summary_line};
use crate::report::fixtures::{custom, plain};
use crate::report::{BuildInput, Outcome, Report, TrialIdentity};

/// What `junit_xml` wrote when it was built on quick-junit (the code before the change).
fn oracle(reports: &[Report]) -> String {
    let mut suite = TestSuite::new("swarm-harness");
    let mut total = Duration::ZERO;
    for report in reports {
        let status = if report.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let verdict = report.verdict.clone().unwrap_or_default();
            status.set_message(verdict.lines().next().unwrap_or("failed").to_owned());
            status.set_type("stress trial failed");
            status.set_description(details(report));
            status
        };
        let mut case = TestCase::new(report.identity.trial.clone(), status);
        case.set_classname(format!("stress.{}", report.identity.scenario));
        case.add_properties(properties(report));
        let time = Duration::try_from_secs_f64(report.duration_s).unwrap_or_default();
        total = total.saturating_add(time);
        case.set_time(time);
        case.set_system_out(summary_line(report));
        suite.add_test_case(case);
    }
    suite.set_time(total);
    let mut junit = quick_junit::Report::new("stress");
    junit.set_time(total);
    junit.add_test_suite(suite);
    junit.to_string().expect("a JUnit report always serializes")
}

/// An element as a reader sees it: its name, attributes in order, children, and its text
/// (a parent's whitespace between children is layout, not text).
#[derive(Debug, PartialEq)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
}

/// `xml` read by quick-xml into its tree of elements (the root's); panics if malformed.
fn tree(xml: &str) -> Node {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack = vec![node("document", Vec::new())];
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(tag) => stack.push(node_of(&tag)),
            Event::Empty(tag) => stack.last_mut().unwrap().children.push(node_of(&tag)),
            Event::End(_) => {
                let mut done = stack.pop().unwrap();
                if !done.children.is_empty() {
                    assert!(done.text.trim().is_empty(), "mixed content: {done:?}");
                    done.text.clear();
                }
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Text(text) => {
                let text = text.xml10_content().expect("UTF-8");
                stack.last_mut().unwrap().text.push_str(&text);
            }
            Event::GeneralRef(entity) => {
                let name = entity.decode().expect("UTF-8");
                let text = quick_xml::escape::resolve_xml_entity(&name).expect("a known entity");
                stack.last_mut().unwrap().text.push_str(text);
            }
            Event::CData(text) => {
                let text = text.decode().expect("UTF-8");
                stack.last_mut().unwrap().text.push_str(&text);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::DocType(_) | Event::Comment(_) => {}
        }
    }
    let mut document = stack.pop().unwrap();
    assert!(stack.is_empty(), "unclosed elements");
    assert_eq!(document.children.len(), 1, "one root element");
    document.children.pop().unwrap()
}

fn node(name: &str, attrs: Vec<(String, String)>) -> Node {
    Node {
        name: name.to_owned(),
        attrs,
        children: Vec::new(),
        text: String::new(),
    }
}

fn node_of(tag: &quick_xml::events::BytesStart<'_>) -> Node {
    let attrs = tag
        .attributes()
        .map(|attr| {
            let attr = attr.expect("a well-formed attribute");
            let key = String::from_utf8(attr.key.as_ref().to_vec()).unwrap();
            let value = attr.normalized_value(quick_xml::XmlVersion::Implicit1_0);
            (key, value.expect("a valid value").into_owned())
        })
        .collect();
    node(&String::from_utf8_lossy(tag.name().as_ref()), attrs)
}

/// A report of a trial named `trial` whose verdict (when it failed) is `verdict`.
fn report(trial: &str, scenario: &str, verdict: Option<&str>) -> Report {
    let mut report = Report::build(BuildInput {
        identity: TrialIdentity {
            trial: trial.into(),
            scenario: scenario.into(),
            param: None,
        },
        config: serde_json::Value::Null,
        started_at: String::new(),
        elapsed_s: 1.25,
        outcome: Outcome::Completed,
        dropped_iterations: 0,
        folded_requests: 0,
        max_names: 1000,
        errors: Vec::new(),
        totals: &crate::stats::Tally::default(),
        timeline: Vec::new(),
    });
    if let Some(verdict) = verdict {
        report.passed = false;
        report.verdict = Some(verdict.to_owned());
    }
    report
}

/// Ours and quick-junit's agree on `reports`: the same bytes, the same tree, and quick-junit
/// reads ours as it reads its own.
fn agree(reports: &[Report]) {
    let (ours, theirs) = (junit_xml(reports), oracle(reports));
    assert_eq!(tree(&ours), tree(&theirs));
    assert_eq!(
        quick_junit::Report::deserialize_from_str(&ours).expect("quick-junit reads ours"),
        quick_junit::Report::deserialize_from_str(&theirs).expect("quick-junit reads its own"),
    );
    assert_eq!(ours, theirs);
}

const HOSTILE: &[&str] = &[
    "p95 < 1ms && \"quoted\" 'single' > x",
    "]]> <![CDATA[ x ]]> --> <!-- <?pi?> &amp; &#10; &unknown;",
    "controls \0\x01\x07\x08\t\x0b\x0c\r\x0e\x1f\x7f end",
    "colour \x1b[1;31mred\x1b[0m \x1b]0;title\x07 \x1b(B \x1b[38;5;196mx\x1b[m",
    "replacement \u{fffd} bytes \u{fffd}\u{fffd} and é 日本 🦀 \u{85} \u{2028}",
    "line one\nline two\n\n  indented\n",
    "\n",
    "",
    "   ",
];

#[test]
fn hostile_names_and_messages_read_as_quick_junits() {
    for (n, text) in HOSTILE.iter().enumerate() {
        let failed = report(text, text, Some(text));
        let passed = report(&format!("{text}{n}"), "plain", None);
        agree(&[passed, failed]);
    }
    let long = "x<&>\u{fffd}\x1b[31m".repeat(20_000);
    agree(&[report(&long, &long, Some(&long))]);
    agree(&[]);
}

#[test]
fn a_failure_holds_its_thresholds_failures_and_warnings() {
    let mut failed = report(
        "checkout",
        "checkout",
        Some("threshold `p95 < 1ms` breached"),
    );
    failed.warnings.push("names folded at PT_MAX_NAMES".into());
    let mut passed = report("browse", "browse", None);
    passed.warnings.push("a <warning> & more".into());
    agree(&[failed, passed]);
    let xml = junit_xml(&[report("slow", "slow", Some("p95 < 1ms\nmore"))]);
    assert!(xml.contains(r#"<testcase name="slow" classname="stress.slow" time="1.250">"#));
    assert!(xml.contains(r#"<failure message="p95 &lt; 1ms" type="stress trial failed">"#));
}

#[test]
fn characters_xml_forbids_are_removed() {
    let text = "a\u{fffe}b\u{ffff}c";
    let xml = junit_xml(&[report(text, text, Some(text))]);
    assert!(!xml.contains(['\u{fffe}', '\u{ffff}']), "{xml}");
    assert!(
        xml.contains(r#"<testcase name="abc" classname="stress.abc""#),
        "{xml}"
    );
}

#[test]
fn checks_and_custom_metrics_are_the_test_cases_properties() {
    let mut report = custom();
    agree(&[report.clone(), plain()]);
    let xml = junit_xml(std::slice::from_ref(&report));
    let case = &tree(&xml).children[0].children[0];
    let (properties, failure) = (&case.children[0], &case.children[1]);
    assert_eq!(
        (properties.name.as_str(), failure.name.as_str()),
        ("properties", "failure")
    );
    let found: Vec<(&str, &str)> = properties
        .children
        .iter()
        .map(|p| (p.attrs[0].1.as_str(), p.attrs[1].1.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("check.a <b> \"c\", d\\ne", "3/3 (100.00%)"),
            ("check.status is 201", "970/1000 (97.00%)"),
            ("metric.counter.a <b> \"c\", d\\ne", "12 (9.60/s)"),
            ("metric.gauge.depth <q>", "3 (min -1.5, max 5)"),
            ("metric.rate.cache \"hit\"", "3/4 (75.00%)"),
            (
                "metric.trend.items, per page",
                "count 100, avg 50.5, p50 50, p95 95, p99 99, max 100"
            ),
            (
                "metric.trend.queue wait",
                "count 100, avg 50.5ms, p50 50.0ms, p95 95.0ms, p99 99.0ms, max 100ms"
            ),
        ]
    );
    assert!(
        xml.contains(
            r#"<property name="check.a &lt;b&gt; &quot;c&quot;, d\ne" value="3/3 (100.00%)"/>"#
        ),
        "{xml}"
    );
    assert!(
        xml.contains(
            "p99 100ms\n\nchecks:\n  ✓ a &lt;b&gt; &quot;c&quot;, d\\ne 100.00% — ✓ 3 / ✗ 0\n  \
             ✗ status is 201 97.00% — ✓ 970 / ✗ 30\n\nwarning: a warning</system-out>"
        ),
        "{xml}"
    );
    // A failing check alone fails nothing: only a threshold on it would.
    (report.passed, report.verdict) = (true, None);
    let xml = junit_xml(&[report]);
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(xml.contains(r#"failures="0""#), "{xml}");
}

#[test]
fn a_trial_without_checks_or_metrics_has_no_properties() {
    let xml = junit_xml(&[plain()]);
    assert!(!xml.contains("<properties"), "{xml}");
    assert!(!xml.contains("checks:"), "{xml}");
}

/// Text made of what makes XML and terminals hard: specials, controls, escapes, non-ASCII.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "a",
        "Z",
        " ",
        "<",
        ">",
        "&",
        "\"",
        "'",
        "]]>",
        "\n",
        "\t",
        "\r",
        "\0",
        "\x07",
        "\x1b",
        "\x1b[",
        "\x1b[0m",
        "\x1b[1;31m",
        "\x1b]0;t\x07",
        "[",
        "]",
        "m",
        ";",
        "7",
        "\x7f",
        "é",
        "\u{fffd}",
        "🦀",
        "&amp;",
        "\u{85}",
        "\u{9b}",
        "\x18",
        "\x1a",
        "\x1b&",
        "\x1b(",
        "\x1b ",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn any_hostile_text_reads_as_quick_junits(
        name in hostile_text(),
        message in hostile_text(),
        failed in any::<bool>(),
    ) {
        agree(&[report(&name, &message, failed.then_some(message.as_str()))]);
    }
}

proptest! {
    #[test]
    fn any_hostile_check_or_metric_name_reads_as_quick_junits(
        name in hostile_text(),
        passes in 0..5_u64,
        fails in 0..5_u64,
    ) {
        let mut report = custom();
        report.checks[0].name = name.clone();
        (report.checks[0].passes, report.checks[0].fails) = (passes, fails);
        report.metrics.counters[0].name = name.clone();
        report.metrics.trends[0].name = name;
        agree(&[report]);
    }
}
