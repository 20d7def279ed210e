//! Where a token came from, and the templates that send it: the earliest response that offered
//! it (a JSON leaf, a cookie, the text between two boundaries), and a request's text with each
//! bound token, the origin and the credentials replaced.

use swarm_harness::__private::har::{between_text, json_text};

use super::recorded::{Offered, Recorded};
use super::{find_word, leaves};
use crate::har::plan::{Part, Source, Template};

/// The earliest response before step `k` that offers `token`, unless the recording sent it
/// before (then it is the user's value, not the server's). Boundaries never hold a
/// `forbidden` value (a credential next to the one captured).
pub(super) fn find_source(
    token: &str,
    k: usize,
    recorded: &[Recorded],
    offered: &[Offered<'_>],
    forbidden: &[String],
) -> Option<(usize, Source)> {
    for i in 0..k {
        if recorded[i].sent.contains(token) {
            return None;
        }
        let offer = &offered[i];
        if let Some(json) = &offer.json {
            let mut found = None;
            leaves(json, &mut String::new(), &mut |pointer, leaf| {
                if found.is_none() && leaf == token {
                    found = Some(pointer.to_owned());
                }
            });
            if let Some(pointer) = found
                && json_text(json, &pointer).as_deref() == Some(token)
            {
                return Some((i, Source::Json { pointer }));
            }
        }
        if let Some((name, _)) = offer.cookies.iter().find(|(_, value)| value == token) {
            return Some((i, Source::Cookie { name: name.clone() }));
        }
        for (name, value) in &offer.headers {
            if let Some((left, right)) = boundaries(value, token, forbidden) {
                return Some((
                    i,
                    Source::Between {
                        header: Some(name.to_ascii_lowercase()),
                        left,
                        right,
                    },
                ));
            }
        }
        if offer.json.is_none()
            && let Some(text) = &offer.text
            && let Some((left, right)) = boundaries(text, token, forbidden)
        {
            return Some((
                i,
                Source::Between {
                    header: None,
                    left,
                    right,
                },
            ));
        }
    }
    None
}

/// Boundaries around the first whole-word occurrence of `token` in `text` that
/// [`between_text`] turns back into exactly `token`: the left one grows until it is
/// unambiguous (up to 64 characters, never across a line break) and holds no `forbidden`
/// value (these are written into the code).
fn boundaries(text: &str, token: &str, forbidden: &[String]) -> Option<(String, String)> {
    let allowed = |left: &str, right: &str| {
        !forbidden
            .iter()
            .any(|value| left.contains(value.as_str()) || right.contains(value.as_str()))
    };
    let at = find_word(text, token, 0)?;
    let end = at + token.len();
    let right: String = text[end..]
        .chars()
        .next()
        .map(String::from)
        .unwrap_or_default();
    let before = &text[..at];
    // The most telling left boundary first: back to the start of the line or tag, at most
    // 48 bytes (`name="csrf" value="`), as long as it finds the value again.
    let natural = before
        .char_indices()
        .rev()
        .take_while(|&(i, c)| !matches!(c, '\n' | '>' | '<') && at - i <= 48)
        .last()
        .map(|(i, _)| &before[i..]);
    if let Some(left) = natural
        && left.len() >= 2
        && between_text(text, left, &right) == Some(token)
        && allowed(left, &right)
    {
        return Some((left.to_owned(), right));
    }
    let starts: Vec<usize> = before
        .char_indices()
        .map(|(i, _)| i)
        .rev()
        .take(64)
        .collect();
    for start in starts {
        let left = &before[start..];
        if left.contains('\n') {
            break;
        }
        if left.len() >= 2 && between_text(text, left, &right) == Some(token) {
            // A longer one would hold the forbidden value too.
            return allowed(left, &right).then(|| (left.to_owned(), right));
        }
    }
    None
}

/// `text` with each bound token (as sent, or form-encoded), the recorded origin and the given
/// spans (credentials, by byte range) replaced.
pub(super) fn templatize(
    text: &str,
    bound: &[(String, usize)],
    origin: Option<&str>,
    spans: &[(std::ops::Range<usize>, Part)],
) -> Template {
    let mut parts: Vec<Part> = Vec::new();
    let mut literal = String::new();
    let mut at = 0;
    // A match must not swallow the start of a span.
    let fits = |at: usize, len: usize| {
        !spans
            .iter()
            .any(|(r, _)| r.start > at && r.start < at + len)
    };
    'scan: while at < text.len() {
        if let Some((range, part)) = spans.iter().find(|(range, _)| range.start == at) {
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(part.clone());
            at = range.end.max(at + 1);
            continue;
        }
        for (token, var) in bound {
            let encoded = swarm_harness::har::encode(token);
            for (form, is_encoded) in [(token.as_str(), false), (encoded.as_str(), true)] {
                if is_encoded && form == token {
                    continue;
                }
                if text[at..].starts_with(form)
                    && find_word(text, form, at) == Some(at)
                    && fits(at, form.len())
                {
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Var {
                        index: *var,
                        encoded: is_encoded,
                    });
                    at += form.len();
                    continue 'scan;
                }
            }
        }
        if let Some(origin) = origin
            && text[at..].starts_with(origin)
            && fits(at, origin.len())
        {
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Origin);
            at += origin.len();
            continue;
        }
        let c = text[at..].chars().next().expect("inside the text");
        literal.push(c);
        at += c.len_utf8();
    }
    if !literal.is_empty() || parts.is_empty() {
        parts.push(Part::Text(literal));
    }
    Template(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_find_the_recorded_value_again() {
        let html = r#"<form><input type="hidden" name="csrf" value="tok123"><input name="x" value="tok1234"></form>"#;
        let (left, right) = boundaries(html, "tok123", &[]).unwrap();
        assert_eq!(between_text(html, &left, &right), Some("tok123"));
        assert_eq!(right, "\"");
        assert!(
            boundaries("xxabcdxx", "abcd", &[]).is_none(),
            "not a whole word"
        );
        let (left, right) = boundaries("/api/apps/app-7", "app-7", &[]).unwrap();
        assert_eq!(right, "");
        assert_eq!(
            between_text("/api/apps/app-9", &left, &right),
            Some("app-9")
        );
    }

    #[test]
    fn templates_replace_whole_words_and_the_origin() {
        let bound = vec![("app-1".to_owned(), 0), ("a b+c".to_owned(), 1)];
        let template = templatize(
            "/apps/app-1/x?q=a+b%2Bc&n=app-12 http://o:1/r",
            &bound,
            Some("http://o:1"),
            &[],
        );
        assert_eq!(
            template.0,
            vec![
                Part::Text("/apps/".into()),
                Part::Var {
                    index: 0,
                    encoded: false
                },
                Part::Text("/x?q=".into()),
                Part::Var {
                    index: 1,
                    encoded: true
                },
                Part::Text("&n=app-12 ".into()),
                Part::Origin,
                Part::Text("/r".into()),
            ]
        );
        let values = vec!["app-9".to_owned(), "x&y".to_owned()];
        assert_eq!(
            template.render(&values, &[], "http://live:2"),
            "/apps/app-9/x?q=x%26y&n=app-12 http://live:2/r"
        );
    }
}
