//! The run id: what the processes of one invocation share, so run-level files (`index.html`,
//! `junit.xml`) gather every trial of the run and none of an older run's. A runner that starts
//! one process per trial (cargo-nextest) gives its own run id to each (`NEXTEST_RUN_ID`);
//! `PT_RUN_ID` (`--run-id`) sets one by hand (a CI job id, say); otherwise each process is a
//! run of its own with a fresh random id.

/// What a run id may hold: what CI systems and nextest use (UUIDs, job ids), nothing that
/// needs escaping anywhere it is written.
pub(crate) const RUN_ID_FORM: &str =
    "1 to 128 letters, digits, '.', '_', ':' or '-', such as a UUID or a CI job id";

/// `text` as a run id, if it has the [`RUN_ID_FORM`].
pub(crate) fn parse(text: &str) -> Option<String> {
    let valid = (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    valid.then(|| text.to_owned())
}

/// The run id: `explicit` (`PT_RUN_ID`) if given, else nextest's `NEXTEST_RUN_ID`, else a new
/// one. A `NEXTEST_RUN_ID` that is no run id is an error naming it.
pub(crate) fn resolve(explicit: Option<String>, nextest: Option<String>) -> Result<String, String> {
    if let Some(id) = explicit {
        return Ok(id);
    }
    match nextest {
        Some(text) => parse(&text)
            .ok_or_else(|| format!("invalid NEXTEST_RUN_ID={text:?}: expected {RUN_ID_FORM}")),
        None => Ok(generate()),
    }
}

/// A random id in the UUID (version 4) text form.
fn generate() -> String {
    // Unique, not secret: fastrand's per-thread generator is seeded from std's RandomState.
    let bits = fastrand::u128(..);
    // Version 4, variant 10xx: what a reader expects of a UUID.
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_explicit_id_wins_then_nextests_then_a_new_one() {
        let nextest = "1f79aa0d-4ec8-4a5c-aa83-5e8dc2f36573";
        let given = || Some(nextest.to_owned());
        assert_eq!(resolve(Some("ci-42".into()), given()).unwrap(), "ci-42");
        assert_eq!(resolve(None, given()).unwrap(), nextest);
        let (a, b) = (resolve(None, None).unwrap(), resolve(None, None).unwrap());
        assert_ne!(a, b);
        assert_eq!(parse(&a), Some(a.clone()), "a new id is a valid id");
        assert_eq!(&a[14..15], "4", "version 4: {a}");
        assert!("89ab".contains(&a[19..20]), "variant: {a}");
        let error = resolve(None, Some("a b".into())).unwrap_err();
        assert!(
            error.starts_with("invalid NEXTEST_RUN_ID=\"a b\""),
            "{error}"
        );
    }

    #[test]
    fn hostile_ids_are_refused() {
        for bad in ["", "a/b", "../x", "a\nb", "<script>", "é", &"x".repeat(129)] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    proptest! {
        /// Whatever the text, an accepted id is the text itself and only of the allowed bytes.
        #[test]
        fn accepted_ids_are_plain(text in ".{0,140}") {
            if let Some(id) = parse(&text) {
                prop_assert_eq!(&id, &text);
                prop_assert!(id.len() <= 128);
                prop_assert!(!id.contains(['/', '\\', '"', '<', ' ']));
            }
        }
    }
}
