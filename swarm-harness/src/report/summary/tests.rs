//! The summary of a trial with checks, custom metrics and tags, and of one without them: the
//! same bytes as before those were shown.

use super::summary_table;
use crate::report::fixtures::{custom, plain};

/// The summary of [`plain`]'s trial as it was printed before checks, custom metrics and tags
/// were shown (its figures since by the one figure rule, `crate::figure`: three significant
/// digits): a trial without them must still print exactly this.
const PLAIN: &str = r#"
Latency users felt (from each task's intended start, coordinated omission corrected): p50 55.0ms | p95 90.0ms | p99 90.0ms | max 90.0ms over 2 tasks

Type Name              # reqs       # fails |      Avg      Min      Max      Med |    req/s   fail/s
---------------------------------------------------------------------------------------------------------------
GET /items                 10      1(10.00%) |     5.50     1.00     10.0     5.00 |     8.00    0.800
POST /orders                5      0( 0.00%) |     60.0     20.0      100     60.0 |     4.00        0
---------------------------------------------------------------------------------------------------------------
Aggregated                 15      1( 6.67%) |     23.7     1.00      100     8.00 |     12.0    0.800
(times in ms)

Response time percentiles (ms)
Type Name                 50%      66%      75%      80%      90%      95%      98%      99%    99.9%   99.99%     100%
GET /items               5.00     7.00     8.00     8.00     9.01     10.0     10.0     10.0     10.0     10.0     10.0
POST /orders             60.0     80.1     80.1     80.1      100      100      100      100      100      100      100
Aggregated               8.00     10.0     40.0     40.0     80.1      100      100      100      100      100      100

Tasks
browse                      2 runs      1 failed | avg    60.0ms | p95    70.0ms

Latency from the intended start (coordinated omission corrected) vs service time
browse               latency p50    55.0ms p99    90.0ms | service time p50    50.0ms p99    70.0ms

Failures
Occurrences  Error
          1  GET /items: HTTP 500 Internal Server Error

warning: a warning
"#;

/// What [`custom`]'s trial adds after the percentiles: its requests by tag.
const TAGS: &str = r#"
Requests by tag (times in ms)
Tag                      # reqs       # fails |      p50      p95      p99
kind=read                    10      0( 0.00%) |     5.00     10.0     10.0
region=eu\n<west>, "2"        5      1(20.00%) |     60.0      100      100
"#;

/// What it adds before its failures: its checks and custom metrics.
const CHECKS_AND_METRICS: &str = r#"
Checks: 97.00% — ✓ 973 / ✗ 30
  ✓ a <b> "c", d\ne      100.00% — ✓ 3 / ✗ 0
  ✗ status is 201         97.00% — ✓ 970 / ✗ 30

Custom metrics
counter a <b> "c", d\ne        12 total | 9.60/s
gauge depth <q>                 3 last  | min -1.5 | max 5
rate cache "hit"           75.00% — ✓ 3 / ✗ 1
trend items, per page         100 count | avg 50.5 | p50 50 | p95 95 | p99 99 | max 100
trend queue wait              100 count | avg 50.5ms | p50 50.0ms | p95 95.0ms | p99 99.0ms | max 100ms
"#;

#[test]
fn a_trial_without_checks_metrics_or_tags_prints_what_it_always_did() {
    assert_eq!(summary_table(&plain()), PLAIN);
}

#[test]
fn checks_metrics_and_tags_are_blocks_of_their_own() {
    let text = summary_table(&custom());
    let tasks = PLAIN.find("\nTasks\n").unwrap();
    let failures = PLAIN.find("\nFailures\n").unwrap();
    let expected = [
        &PLAIN[..tasks],
        TAGS,
        &PLAIN[tasks..failures],
        CHECKS_AND_METRICS,
        &PLAIN[failures..],
    ]
    .concat();
    assert_eq!(text, expected, "{text}");
}

#[test]
fn a_check_is_marked_as_held_only_when_it_never_failed() {
    let mut report = custom();
    report.checks[1].fails = 0;
    let text = summary_table(&report);
    assert!(text.contains("Checks: 100.00% — ✓ 973 / ✗ 0\n"), "{text}");
    assert!(
        text.contains("  ✓ status is 201        100.00% — ✓ 970 / ✗ 0\n"),
        "{text}"
    );
    assert!(!text.lines().any(|line| line.starts_with("  ✗")), "{text}");
}
