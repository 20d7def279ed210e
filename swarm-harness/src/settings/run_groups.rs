//! `PT_RUN_TOGETHER`: which trials run at the same time, each with its own load model, as
//! the `run = ".."` attribute says in the code. `mix=browse,api` is the group `mix` of the
//! trials `browse` and `api`; groups are split by `;`; without `GROUP=` the group is named
//! [`DEFAULT_GROUP`].

/// The name of a group written without one (`PT_RUN_TOGETHER=browse,api`).
pub(crate) const DEFAULT_GROUP: &str = "together";

/// The most groups, and trials in all groups, a value may name: more than a run has trials,
/// and a bound on what a pasted value makes us keep.
pub(crate) const MAX_NAMED: usize = 1_000;

/// Run groups named in the environment: each a name and its trials, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunGroups(pub Vec<(String, Vec<String>)>);

impl RunGroups {
    /// Parses `GROUP=TRIAL,TRIAL[;GROUP=TRIAL,..]`; `None` when it is not that: an empty
    /// group or trial name, a trial named twice, a group named twice, more than
    /// [`MAX_NAMED`] names.
    pub fn parse(text: &str) -> Option<RunGroups> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        let mut named = 0usize;
        for part in text.split(';').map(str::trim) {
            if part.is_empty() {
                continue;
            }
            let (group, trials) = match part.split_once('=') {
                Some((group, trials)) => (group.trim(), trials),
                None => (DEFAULT_GROUP, part),
            };
            if !is_name(group) || groups.iter().any(|(known, _)| known == group) {
                return None;
            }
            let mut members: Vec<String> = Vec::new();
            for trial in trials.split(',').map(str::trim) {
                named = named.checked_add(1)?;
                let known = groups.iter().any(|(_, m)| m.iter().any(|t| t == trial));
                if named > MAX_NAMED || !is_name(trial) || known || members.contains(&trial.into())
                {
                    return None;
                }
                members.push(trial.to_owned());
            }
            groups.push((group.to_owned(), members));
        }
        (!groups.is_empty()).then_some(RunGroups(groups))
    }

    /// The group `trial` is named in, if any.
    pub fn group_of(&self, trial: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(_, members)| members.iter().any(|m| m == trial))
            .map(|(group, _)| group.as_str())
    }
}

/// A group or trial name as this setting writes it: some text without its separators, at
/// most 128 bytes (a group's name names its report file).
fn is_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 128 && !name.contains([',', '=', ';'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn groups(groups: &[(&str, &[&str])]) -> Option<RunGroups> {
        let groups = groups
            .iter()
            .map(|(g, m)| ((*g).to_owned(), m.iter().map(|t| (*t).to_owned()).collect()))
            .collect();
        Some(RunGroups(groups))
    }

    #[test]
    fn groups_are_named_or_together() {
        let parse = RunGroups::parse;
        assert_eq!(
            parse("browse,api"),
            groups(&[("together", &["browse", "api"])])
        );
        assert_eq!(
            parse(" mix = Browser , api_orgs ; night=batch "),
            groups(&[("mix", &["Browser", "api_orgs"]), ("night", &["batch"])])
        );
        assert_eq!(
            parse("create_app[small],x;"),
            groups(&[("together", &["create_app[small]", "x"])])
        );
        let parsed = parse("mix=a,b;c=d").unwrap();
        assert_eq!(parsed.group_of("b"), Some("mix"));
        assert_eq!(parsed.group_of("e"), None);
    }

    #[test]
    fn hostile_values_are_refused() {
        for text in [
            "",
            ";",
            " ; ; ",
            "=a",
            "mix=",
            "mix=a,,b",
            "mix=a,a",
            "mix=a;mix=b",
            "m=a;n=a",
            "a=b=c",
            "mix=a, ,b",
        ] {
            assert_eq!(RunGroups::parse(text), None, "{text:?}");
        }
        let long = "g".repeat(129);
        assert_eq!(RunGroups::parse(&format!("{long}=a")), None);
        assert_eq!(RunGroups::parse(&format!("g={long}")), None);
        let many: Vec<String> = (0..=MAX_NAMED).map(|i| format!("t{i}")).collect();
        assert_eq!(RunGroups::parse(&many.join(",")), None);
        let enough: Vec<String> = (0..MAX_NAMED).map(|i| format!("t{i}")).collect();
        assert!(RunGroups::parse(&enough.join(",")).is_some());
    }

    proptest! {
        /// Whatever the text, the parser ends without a panic, and what it accepts names each
        /// trial once, in groups with names of their own and at least one trial each.
        #[test]
        fn any_text_parses_or_is_refused(text in "[a-c=,; \\[\\]é]{0,40}") {
            if let Some(RunGroups(groups)) = RunGroups::parse(&text) {
                let mut trials: Vec<&String> = groups.iter().flat_map(|(_, m)| m).collect();
                let count = trials.len();
                trials.sort();
                trials.dedup();
                prop_assert_eq!(trials.len(), count);
                for (group, members) in &groups {
                    prop_assert!(is_name(group) && !members.is_empty());
                }
            }
        }
    }
}
