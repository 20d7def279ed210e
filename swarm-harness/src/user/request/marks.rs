//! What a request carries besides its timing: its tags (`kind=read`), and the checks made on
//! its response, recorded with it under one lock (`stats::Marks`).

use std::borrow::Cow;

use super::Response;
use crate::stats::{Marks, Tag};

/// A check on a response, given to [`Request::check`](super::Request::check): a plain `fn`
/// (a closure without captures), so a checked request allocates nothing for it.
pub type Predicate = fn(&Response) -> bool;

/// The longest tag key or value kept, in bytes; longer ones are cut at a character boundary
/// (a tag is a label to group by, not a place for data).
pub const MAX_TAG_LEN: usize = 128;

/// A request's tags and checks, from the builder to the recording.
#[derive(Debug, Default)]
pub(crate) struct Marked {
    pub(crate) tags: Vec<Tag>,
    /// Checks to run on the response when it is recorded.
    pub(crate) predicates: Vec<(Cow<'static, str>, Predicate)>,
    /// Checks with their outcome.
    pub(crate) checks: Vec<(Cow<'static, str>, bool)>,
}

fn bounded(text: Cow<'static, str>) -> Cow<'static, str> {
    if text.len() <= MAX_TAG_LEN {
        return text;
    }
    let mut end = MAX_TAG_LEN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(text[..end].to_owned())
}

impl Marked {
    /// Adds a tag; a key given twice keeps the value given last.
    pub(crate) fn tag(&mut self, key: Cow<'static, str>, value: Cow<'static, str>) {
        let (key, value) = (bounded(key), bounded(value));
        match self.tags.iter_mut().find(|(k, _)| *k == key) {
            Some(tag) => tag.1 = value,
            None => self.tags.push((key, value)),
        }
    }

    /// Runs the checks on the response.
    pub(crate) fn judge(&mut self, response: &Response) {
        for (name, predicate) in self.predicates.drain(..) {
            let pass = predicate(response);
            self.checks.push((name, pass));
        }
    }

    /// Fails the checks of a request that got no response: what they asked did not hold.
    pub(crate) fn no_response(&mut self) {
        for (name, _) in self.predicates.drain(..) {
            self.checks.push((name, false));
        }
    }

    /// What the recorder takes.
    pub(crate) fn marks(&self) -> Marks<'_> {
        Marks {
            tags: &self.tags,
            checks: &self.checks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_bounded_and_keys_kept_once() {
        let mut marked = Marked::default();
        marked.tag("kind".into(), "read".into());
        marked.tag("kind".into(), "write".into());
        let long = "é".repeat(MAX_TAG_LEN);
        marked.tag(long.clone().into(), long.into());
        assert_eq!(marked.tags.len(), 2);
        assert_eq!(marked.tags[0].1, "write");
        let (key, value) = &marked.tags[1];
        assert!(key.len() <= MAX_TAG_LEN && key.len() == value.len());
        assert!(key.chars().all(|c| c == 'é'));
    }
}
