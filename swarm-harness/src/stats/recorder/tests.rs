//! Shards merge and empty on `take`; names, checks and tags are capped at `PT_MAX_NAMES`
//! whatever order they come in, every request and check counted once.

use super::*;
use proptest::prelude::*;

#[test]
fn take_merges_shards_and_empties_them() {
    let recorder = Recorder::new(4, None);
    for shard in 0..8 {
        let sample = Sample {
            kind: "GET",
            name: "/x",
            micros: 100 + shard as u64,
            content_bytes: 3,
        };
        recorder.success(shard, sample);
    }
    let sample = Sample {
        kind: "GET",
        name: "/x",
        micros: 7,
        content_bytes: 0,
    };
    recorder.failure(1, sample, "HTTP 500".into(), None);
    recorder.task(2, "browse", 900, None);
    let taken = recorder.take();
    let entry = taken.requests.aggregated();
    assert_eq!(
        (entry.count, entry.failures, entry.content_bytes),
        (9, 1, 24)
    );
    assert_eq!(taken.tasks.aggregated().count, 1);
    assert_eq!(taken.failures.sorted()[0].1.occurrences, 1);
    assert!(recorder.take().requests.is_empty());
}

#[test]
fn names_beyond_the_cap_fold_into_one_entry() {
    let recorder = Recorder::new(2, None).with_max_names(3);
    for i in 0..100 {
        let name = format!("/item/{i}");
        let sample = Sample {
            kind: "GET",
            name: &name,
            micros: 10,
            content_bytes: 0,
        };
        recorder.success(i % 2, sample);
    }
    let taken = recorder.take();
    let rows: Vec<_> = taken
        .requests
        .iter()
        .map(|(_, n, e)| (n.to_owned(), e.count))
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.contains(&(OTHER_NAMES.to_owned(), 97)));
    assert_eq!(recorder.folded(), 97);
    // Known names stay known after a collection.
    let sample = Sample {
        kind: "GET",
        name: "/item/0",
        micros: 10,
        content_bytes: 0,
    };
    recorder.success(0, sample);
    assert_eq!(recorder.take().requests.iter().next().unwrap().1, "/item/0");
}

#[test]
fn cut_off_requests_keep_their_name_while_there_is_room() {
    let recorder = Recorder::new(1, None).with_max_names(2);
    recorder.cancelled(0, "GET", "/slow", CutOff::AtStop);
    recorder.cancelled(0, "GET", "/slower", CutOff::AtStop);
    recorder.cancelled(0, "GET", "/slowest", CutOff::AtStop);
    // Dropped by their tasks: named only when known, so ids cannot fill the cap.
    recorder.cancelled(0, "GET", "/slow", CutOff::ByTask);
    recorder.cancelled(0, "GET", "/item/1", CutOff::ByTask);
    let taken = recorder.take();
    let mut names: Vec<String> = taken
        .cancelled
        .sorted()
        .into_iter()
        .map(|(key, _)| key.name.clone())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [OTHER_NAMES, OTHER_NAMES, "/slow", "/slow", "/slower"]
    );
    assert_eq!(recorder.folded(), 0, "cut-offs are not recorded requests");
}

#[test]
fn marks_record_tags_and_checks_with_the_request_and_are_capped() {
    let recorder = Recorder::new(2, None).with_max_names(2);
    let tags: Vec<Tag> = vec![
        ("kind".into(), "read".into()),
        ("tier".into(), "gold".into()),
    ];
    let checks = vec![("ok".into(), true), ("fast".into(), false)];
    let sample = Sample {
        kind: "GET",
        name: "/a",
        micros: 50,
        content_bytes: 2,
    };
    let marks = Marks {
        tags: &tags,
        checks: &checks,
    };
    recorder.marked(0, sample, None, marks);
    recorder.marked(1, sample, Some(("HTTP 500".into(), None)), marks);
    let other: Vec<Tag> = vec![("kind".into(), "write".into())];
    let marks = Marks {
        tags: &other,
        checks: &[],
    };
    recorder.marked(1, sample, None, marks);
    recorder.check(0, "third", true);
    let taken = recorder.take();
    assert_eq!(taken.requests.aggregated().count, 3);
    assert_eq!(taken.failures.sorted().len(), 1);
    let read: Vec<_> = taken
        .tags
        .iter()
        .map(|(k, v, e)| (k, v, e.count, e.failures))
        .collect();
    assert_eq!(
        read,
        [
            ("kind", OTHER_TAG_VALUES, 1, 0),
            ("tier", "gold", 2, 1),
            ("kind", "read", 2, 1)
        ]
    );
    assert_eq!(
        taken.checks.get("ok"),
        Some(&Ratio {
            passes: 2,
            fails: 0
        })
    );
    assert_eq!(
        taken.checks.get("fast"),
        Some(&Ratio {
            passes: 0,
            fails: 2
        })
    );
    assert_eq!(
        taken.checks.get(OTHER_CHECKS),
        Some(&Ratio {
            passes: 1,
            fails: 0
        })
    );
}

#[test]
fn request_limit_is_exact() {
    let recorder = Recorder::new(1, Some(3));
    let granted = (0..10).filter(|_| recorder.reserve_request()).count();
    assert_eq!(granted, 3);
}

#[test]
fn tags_with_ids_in_their_keys_fold_into_one_entry() {
    let recorder = Recorder::new(2, None).with_max_names(2);
    let sample = Sample {
        kind: "GET",
        name: "/a",
        micros: 5,
        content_bytes: 0,
    };
    for i in 0..100 {
        let tags: Vec<Tag> = vec![(format!("user-{i}").into(), "x".into())];
        let marks = Marks {
            tags: &tags,
            checks: &[],
        };
        recorder.marked(i % 2, sample, None, marks);
    }
    let taken = recorder.take();
    let rows: Vec<_> = taken.tags.iter().map(|(k, v, e)| (k, v, e.count)).collect();
    assert_eq!(
        rows,
        [
            (OTHER_TAG_KEYS, OTHER_TAG_VALUES, 98),
            ("user-0", "x", 1),
            ("user-1", "x", 1)
        ]
    );
}

/// A request's tags (key, value) and checks, or a check of its own, into a shard.
#[derive(Debug, Clone)]
enum Mark {
    Request {
        shard: usize,
        tags: Vec<(u8, u8)>,
        checks: Vec<(u8, bool)>,
    },
    Check {
        shard: usize,
        name: u8,
        pass: bool,
    },
    /// The collector takes what the shards gathered.
    Take,
}

fn mark() -> impl Strategy<Value = Mark> {
    prop_oneof![
        6 => (
            0_usize..3,
            proptest::collection::vec((0_u8..4, 0_u8..4), 0..4),
            proptest::collection::vec((0_u8..8, any::<bool>()), 0..3),
        )
            .prop_map(|(shard, tags, checks)| Mark::Request { shard, tags, checks }),
        3 => (0_usize..3, 0_u8..8, any::<bool>())
            .prop_map(|(shard, name, pass)| Mark::Check { shard, name, pass }),
        1 => Just(Mark::Take),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn caps_hold_and_counts_are_kept_in_any_interleaving(
        cap in 1_usize..5,
        marks in proptest::collection::vec(mark(), 0..60),
    ) {
        let recorder = Recorder::new(3, None).with_max_names(cap);
        let mut taken = Tally::default();
        let (mut requests, mut tagged, mut checked) = (0_u64, 0_u64, 0_u64);
        let sample = Sample { kind: "GET", name: "/a", micros: 9, content_bytes: 1 };
        for mark in &marks {
            match mark {
                Mark::Request { shard, tags, checks } => {
                    let tags: Vec<Tag> = tags
                        .iter()
                        .map(|(k, v)| (format!("k{k}").into(), format!("v{v}").into()))
                        .collect();
                    let checks: Vec<_> = checks
                        .iter()
                        .map(|(name, pass)| (format!("c{name}").into(), *pass))
                        .collect();
                    let marks = Marks { tags: &tags, checks: &checks };
                    recorder.marked(*shard, sample, None, marks);
                    requests += 1;
                    tagged += tags.len() as u64;
                    checked += checks.len() as u64;
                }
                Mark::Check { shard, name, pass } => {
                    recorder.check(*shard, &format!("c{name}"), *pass);
                    checked += 1;
                }
                Mark::Take => taken.extend(&recorder.take()),
            }
        }
        taken.extend(&recorder.take());

        // Checks: at most `cap` names of their own, and the one they fold into.
        let names: Vec<&str> = taken.checks.sorted().into_iter().map(|(n, _)| n).collect();
        let own = names.iter().filter(|n| **n != OTHER_CHECKS).count();
        prop_assert!(own <= cap, "{names:?}");
        prop_assert_eq!(taken.checks_total().total(), checked);

        // Tags: at most `cap` of their own; a folded one beside a key that has one of its
        // own, or in the one entry for the rest.
        let tags: Vec<(&str, &str, u64)> =
            taken.tags.iter().map(|(k, v, e)| (k, v, e.count)).collect();
        let own: Vec<&str> = tags
            .iter()
            .filter(|(_, v, _)| *v != OTHER_TAG_VALUES)
            .map(|(k, _, _)| *k)
            .collect();
        prop_assert!(own.len() <= cap, "{tags:?}");
        for (key, value, _) in &tags {
            prop_assert!(
                *value != OTHER_TAG_VALUES || *key == OTHER_TAG_KEYS || own.contains(key),
                "{tags:?}"
            );
        }
        prop_assert_eq!(tags.iter().map(|(_, _, n)| n).sum::<u64>(), tagged);
        prop_assert_eq!(taken.requests.aggregated().count, requests);
    }
}

#[test]
fn a_gauge_keeps_the_value_set_last_in_its_shard_whatever_the_clock() {
    let recorder = Recorder::new(1, None);
    // Back to back, often in one microsecond: the later one is the value, not the larger.
    recorder.gauge(0, "queue", 10.0);
    recorder.gauge(0, "queue", 0.0);
    let taken = recorder.take();
    let gauge = taken.metrics.gauges.get("queue").unwrap();
    assert_eq!(
        (gauge.value, gauge.min, gauge.max, gauge.samples),
        (0.0, 0.0, 10.0, 2)
    );
}

#[test]
fn check_names_are_cut_like_tags() {
    let recorder = Recorder::new(1, None);
    let long = "é".repeat(MAX_CHECK_NAME);
    recorder.check(0, &long, true);
    let taken = recorder.take();
    let (name, _) = taken.checks.sorted()[0];
    assert!(name.len() <= MAX_CHECK_NAME && name.chars().all(|c| c == 'é'));
}

/// The texts the rows' property test draws tags and checks from, and a second copy of the
/// first at another address (two literals with one text).
const TEXTS: [&str; 3] = ["read", "write", "status is 200"];

fn other_read() -> &'static str {
    static OTHER: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    OTHER.get_or_init(|| Box::leak(String::from("read").into_boxed_str()))
}

/// A piece of text as a request gives it: the literal, another literal with its text, or text
/// made at run time.
fn piece(text: u8, form: u8) -> std::borrow::Cow<'static, str> {
    let text = TEXTS[usize::from(text) % TEXTS.len()];
    match form % 3 {
        0 => text.into(),
        1 if text == "read" => other_read().into(),
        _ => text.to_owned().into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The rows a shard keeps for marked requests, split at the take, give exactly what
    /// counting each request, tag and check on its own gives: however a text is given (one
    /// literal, two literals with one text, text made at run time), whatever the order.
    #[test]
    fn marked_rows_split_into_the_counts_of_each_request_tag_and_check(
        requests in proptest::collection::vec(
            (
                0_usize..3,
                proptest::collection::vec(((0_u8..3, 0_u8..3), (0_u8..3, 0_u8..3)), 0..3),
                proptest::collection::vec(((0_u8..3, 0_u8..3), any::<bool>()), 0..3),
                any::<bool>(),
            ),
            0..40,
        ),
        takes in proptest::collection::vec(any::<bool>(), 40),
    ) {
        let recorder = Recorder::new(3, None);
        let mut taken = Tally::default();
        let mut tags = std::collections::BTreeMap::<(String, String), (u64, u64)>::new();
        let mut checks = std::collections::BTreeMap::<String, Ratio>::new();
        let mut failed = 0;
        for (i, (shard, drawn_tags, drawn_checks, ok)) in requests.iter().enumerate() {
            let given: Vec<Tag> = drawn_tags
                .iter()
                .map(|((k, kf), (v, vf))| (piece(*k, *kf), piece(*v, *vf)))
                .collect();
            let judged: Vec<_> =
                drawn_checks.iter().map(|((c, cf), pass)| (piece(*c, *cf), *pass)).collect();
            let sample = Sample { kind: "GET", name: "/a", micros: 10 + i as u64, content_bytes: 1 };
            let failure = (!ok).then(|| ("HTTP 500".to_owned(), None));
            recorder.marked(*shard, sample, failure, Marks { tags: &given, checks: &judged });
            for (key, value) in &given {
                let counts = tags.entry((key.to_string(), value.to_string())).or_default();
                counts.0 += 1;
                counts.1 += u64::from(!ok);
            }
            for (name, pass) in &judged {
                checks.entry(name.to_string()).or_default().record(*pass);
            }
            failed += u64::from(!ok);
            if takes[i] {
                taken.extend(&recorder.take());
            }
        }
        taken.extend(&recorder.take());

        let got: std::collections::BTreeMap<_, _> = taken
            .tags
            .iter()
            .map(|(k, v, e)| ((k.to_owned(), v.to_owned()), (e.count, e.failures)))
            .collect();
        prop_assert_eq!(got, tags);
        let got: std::collections::BTreeMap<_, _> =
            taken.checks.sorted().into_iter().map(|(n, r)| (n.to_owned(), *r)).collect();
        prop_assert_eq!(got, checks);
        let all = taken.requests.aggregated();
        prop_assert_eq!((all.count, all.failures), (requests.len() as u64, failed));
        let groups: u64 = taken.failures.sorted().iter().map(|(_, g)| g.occurrences).sum();
        prop_assert_eq!(groups, failed);
    }
}
