//! Failures grouped by (kind, name, error) with their occurrences and one sample response, so
//! an error can be traced back to what the server said.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// What identifies a failure group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FailureKey {
    pub kind: String,
    pub name: String,
    pub error: String,
}

/// The first response seen for a failure group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FailureSample {
    pub url: Option<String>,
    pub status: Option<u16>,
    /// The first bytes of the body, lossily decoded.
    pub body: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FailureGroup {
    pub occurrences: u64,
    pub sample: Option<FailureSample>,
}

/// Failure groups of one shard or of the whole run.
#[derive(Debug, Clone, Default)]
pub struct Failures {
    groups: HashMap<FailureKey, FailureGroup>,
}

impl Failures {
    pub fn record(&mut self, key: FailureKey, sample: Option<FailureSample>) {
        let group = self.groups.entry(key).or_insert(FailureGroup {
            occurrences: 0,
            sample: None,
        });
        group.occurrences += 1;
        if group.sample.is_none() {
            group.sample = sample;
        }
    }

    pub fn extend(&mut self, other: &Failures) {
        for (key, theirs) in &other.groups {
            let ours = self.groups.entry(key.clone()).or_insert(FailureGroup {
                occurrences: 0,
                sample: None,
            });
            ours.occurrences += theirs.occurrences;
            if ours.sample.is_none() {
                ours.sample = theirs.sample.clone();
            }
        }
    }

    /// Groups sorted by occurrences, most first.
    pub fn sorted(&self) -> Vec<(&FailureKey, &FailureGroup)> {
        let mut groups: Vec<_> = self.groups.iter().collect();
        groups.sort_by(|a, b| b.1.occurrences.cmp(&a.1.occurrences).then(a.0.cmp(b.0)));
        groups
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}
