//! Which recorded values are credentials, and where in a request they sit, so that none
//! reaches generated code. The rule is by name: a header, query parameter, form field or JSON
//! key whose lower-cased name contains one of [`WORDS`] holds a credential, and so does every
//! cookie. Import replaces each such value that no live capture supplies by a read of
//! `HAR_<NAME>` (the name upper-cased, every other character `_`); the spans found here say
//! exactly which bytes of the recorded text to replace, so the request around them is sent as
//! recorded.

use std::ops::Range;

use super::correlate::{MIN_TOKEN, find_word};
use super::plan::{Body, Encoding, Part, Secret, Step, Template};

/// Name fragments that mark a credential, matched anywhere in the lower-cased name: an
/// `author` parameter is read from the environment too, which costs a variable, never a leak.
pub const WORDS: [&str; 13] = [
    "token",
    "key",
    "secret",
    "auth",
    "session",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "credential",
    "cookie",
    "signature",
    "jwt",
];

pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    WORDS.iter().any(|word| name.contains(word))
}

/// The environment variable of a credential recorded under `name`: `x-api-key` →
/// `HAR_X_API_KEY`; a name with no ASCII letter or digit → `HAR_SECRET`.
pub fn variable_of(name: &str) -> String {
    let mut out = String::from("HAR_");
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_');
    if out == "HAR" {
        "HAR_SECRET".to_owned()
    } else {
        out.to_owned()
    }
}

/// A credential's bytes in a recorded text.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub range: Range<usize>,
    /// The name it was recorded under.
    pub name: String,
    /// Its value, decoded.
    pub value: String,
    /// How the value is written there.
    pub encoding: Encoding,
}

/// Credentials among `name=value` pairs separated by `&` (a query, after its `?`, or a
/// form body), at `offset` in the whole text.
pub fn form_spans(pairs: &str, offset: usize) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut at = offset;
    for pair in pairs.split('&') {
        if let Some((name, value)) = pair.split_once('=') {
            let name = decode_form(name);
            if !value.is_empty() && is_secret_name(&name) {
                let start = at + pair.len() - value.len();
                spans.push(Span {
                    range: start..at + pair.len(),
                    name,
                    value: decode_form(value),
                    encoding: Encoding::Form,
                });
            }
        }
        at += pair.len() + 1;
    }
    spans
}

/// Credentials in the query of a request target (`/path?api_key=…`).
pub fn query_spans(target: &str) -> Vec<Span> {
    match target.find('?') {
        Some(at) => form_spans(&target[at + 1..], at + 1),
        None => Vec::new(),
    }
}

fn decode_form(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// Credentials among the string values of a JSON text: a string whose nearest key before it
/// is a credential's name (`{"password": "…"}`, `{"tokens": ["…", "…"]}`), whatever escapes
/// the recording used.
pub fn json_spans(text: &str) -> Vec<Span> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut key: Option<String> = None;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < bytes.len() && bytes[end] != b'"' {
            end += if bytes[end] == b'\\' { 2 } else { 1 };
        }
        if end >= bytes.len() {
            break;
        }
        // Both ends are ASCII quotes: char boundaries.
        if let Ok(decoded) = serde_json::from_str::<String>(&text[i..=end]) {
            if text[end + 1..].trim_start().starts_with(':') {
                key = Some(decoded);
            } else if let Some(name) = key.as_ref().filter(|name| is_secret_name(name))
                && !decoded.is_empty()
            {
                spans.push(Span {
                    range: i + 1..end,
                    name: name.clone(),
                    value: decoded,
                    encoding: Encoding::Json,
                });
            }
        }
        i = end + 1;
    }
    spans
}

/// Credentials among the fields of a `multipart/form-data` body (not its files).
pub fn multipart_spans(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("\r\n\r\n") {
        let head_end = from + found;
        let start = head_end + 4;
        let end = text[start..]
            .find("\r\n--")
            .map_or(text.len(), |n| start + n);
        let head_start = text[..head_end].rfind("\r\n--").map_or(0, |n| n + 2);
        let head = &text[head_start..head_end];
        let name = head
            .split_once("name=\"")
            .and_then(|(_, rest)| rest.split('"').next());
        if let Some(name) = name
            && !head.contains("filename=")
            && start < end
            && is_secret_name(name)
        {
            spans.push(Span {
                range: start..end,
                name: name.to_owned(),
                value: text[start..end].to_owned(),
                encoding: Encoding::Raw,
            });
        }
        from = end.max(start);
    }
    spans
}

/// Credentials in a request body of MIME type `mime`.
pub fn body_spans(text: &str, mime: &str) -> Vec<Span> {
    let mime = mime.to_ascii_lowercase();
    if serde_json::from_str::<serde_json::Value>(text).is_ok() {
        json_spans(text)
    } else if mime.contains("x-www-form-urlencoded") {
        form_spans(text, 0)
    } else if mime.starts_with("multipart/form-data") {
        multipart_spans(text)
    } else {
        Vec::new()
    }
}

/// The credentials of a recording (`(name, value)` as requests sent and responses handed
/// them out) that are long enough to replace wherever they occur: a shorter one matches by
/// chance. One per value, the longest first, so no shorter one splits a longer one.
pub fn candidates<'a>(
    sent: impl Iterator<Item = &'a [(String, String)]>,
    offered: impl Iterator<Item = &'a [(String, String)]>,
) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = sent
        .chain(offered)
        .flatten()
        .filter(|(_, value)| value.chars().count() >= MIN_TOKEN)
        .cloned()
        .collect();
    all.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.1.cmp(&b.1)));
    all.dedup_by(|a, b| a.1 == b.1);
    all
}

/// The credentials of one plan, each registered when a template first needs it.
pub struct Registry {
    secrets: Vec<Secret>,
    /// Names of the plan's captured variables, which locals must not shadow.
    taken: Vec<String>,
}

impl Registry {
    pub fn new(taken: Vec<String>) -> Self {
        Registry {
            secrets: Vec::new(),
            taken,
        }
    }

    /// The credential `value` recorded under `name`: one variable per value, `HAR_<NAME>`,
    /// then `HAR_<NAME>_2` for another value under the same name.
    pub fn index(&mut self, name: &str, value: &str) -> usize {
        if let Some(index) = self.secrets.iter().position(|s| s.recorded == value) {
            return index;
        }
        let base = variable_of(name);
        let mut variable = base.clone();
        let mut n = 2;
        while self.secrets.iter().any(|s| s.variable == variable) {
            variable = format!("{base}_{n}");
            n += 1;
        }
        let base = variable.to_ascii_lowercase();
        let mut local = base.clone();
        let mut n = 2;
        while self.taken.contains(&local) || self.secrets.iter().any(|s| s.local == local) {
            local = format!("{base}_{n}");
            n += 1;
        }
        self.secrets.push(Secret {
            variable,
            local,
            name: name.to_owned(),
            recorded: value.to_owned(),
        });
        self.secrets.len() - 1
    }

    pub fn part(&mut self, name: &str, value: &str, encoding: Encoding) -> Part {
        Part::Secret {
            index: self.index(name, value),
            encoding,
        }
    }

    /// The parts that replace `spans` in a template: the variable a capture supplies when the
    /// request sends a bound token there, else the credential's variable.
    pub fn parts(
        &mut self,
        spans: &[Span],
        bound: &[(String, usize)],
    ) -> Vec<(Range<usize>, Part)> {
        spans
            .iter()
            .map(|span| {
                let part = match bound.iter().find(|(token, _)| token == &span.value) {
                    // Encoded only where encoding changes it, as templates write captures.
                    Some((_, var)) => Part::Var {
                        index: *var,
                        encoded: span.encoding == Encoding::Form
                            && swarm_harness::har::encode(&span.value) != span.value,
                    },
                    None => self.part(&span.name, &span.value, span.encoding),
                };
                (span.range.clone(), part)
            })
            .collect()
    }

    pub fn into_secrets(self) -> Vec<Secret> {
        self.secrets
    }
}

/// Replaces every whole-word occurrence of a candidate credential (form-encoded, JSON-escaped
/// or as it is) left in the text of any step by a read of its variable.
pub fn hide_everywhere(
    steps: &mut [Step],
    candidates: &[(String, String)],
    registry: &mut Registry,
) {
    for (name, value) in candidates {
        let mut forms: Vec<(String, Encoding)> = Vec::new();
        for encoding in [Encoding::Form, Encoding::Json, Encoding::Raw] {
            let form = encoding.apply(value);
            if encoding == Encoding::Raw || form != *value {
                forms.push((form, encoding));
            }
        }
        for step in steps.iter_mut() {
            let body = match &mut step.body {
                Some(Body::Text(template)) => Some(template),
                _ => None,
            };
            let templates = std::iter::once(&mut step.target)
                .chain(step.headers.iter_mut().map(|(_, template)| template))
                .chain(body);
            for template in templates {
                for (form, encoding) in &forms {
                    let found = template.0.iter().any(
                        |part| matches!(part, Part::Text(text) if find_word(text, form, 0).is_some()),
                    );
                    if found {
                        let part = registry.part(name, value, *encoding);
                        split(template, form, &part);
                    }
                }
            }
        }
    }
}

/// `template` with each whole-word `form` in its text replaced by `part`.
fn split(template: &mut Template, form: &str, part: &Part) {
    let mut out = Vec::with_capacity(template.0.len() + 2);
    for piece in std::mem::take(&mut template.0) {
        let Part::Text(text) = piece else {
            out.push(piece);
            continue;
        };
        let mut rest = 0;
        while let Some(at) = find_word(&text, form, rest) {
            if at > rest {
                out.push(Part::Text(text[rest..at].to_owned()));
            }
            out.push(part.clone());
            rest = at + form.len();
        }
        if rest < text.len() {
            out.push(Part::Text(text[rest..].to_owned()));
        }
    }
    if out.is_empty() {
        out.push(Part::Text(String::new()));
    }
    template.0 = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(spans: &[Span], text: &str) -> Vec<(String, String, String)> {
        spans
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.value.clone(),
                    text[s.range.clone()].to_owned(),
                )
            })
            .collect()
    }

    fn triple(name: &str, value: &str, raw: &str) -> (String, String, String) {
        (name.into(), value.into(), raw.into())
    }

    #[test]
    fn names_follow_the_documented_rule() {
        for name in [
            "Authorization",
            "x-api-key",
            "apiKey",
            "access_token",
            "X-CSRFToken",
            "client_secret",
            "sessionid",
            "Password",
            "pwd",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["username", "q", "content-type", "page", "sku"] {
            assert!(!is_secret_name(name), "{name}");
        }
        assert_eq!(variable_of("x-api-key"), "HAR_X_API_KEY");
        assert_eq!(variable_of("authorization"), "HAR_AUTHORIZATION");
        assert_eq!(variable_of("пароль"), "HAR_SECRET");
    }

    #[test]
    fn query_and_form_values_are_found_as_recorded() {
        let target = "/a?q=1&api_key=K%2By+z&token=&x=2";
        assert_eq!(
            values(&query_spans(target), target),
            vec![triple("api_key", "K+y z", "K%2By+z")]
        );
        let body = "user=bob&pass%77ord=p%40ss";
        assert_eq!(
            values(&form_spans(body, 0), body),
            vec![triple("password", "p@ss", "p%40ss")]
        );
    }

    #[test]
    fn json_values_under_secret_keys_are_found_whatever_their_escapes() {
        let text = r#"{"user":"bob","password":"p\u0040ss\"","nested":{"tokens":["a1","b2"]},"n":"password"}"#;
        assert_eq!(
            values(&json_spans(text), text),
            vec![
                triple("password", "p@ss\"", r#"p\u0040ss\""#),
                triple("tokens", "a1", "a1"),
                triple("tokens", "b2", "b2"),
            ]
        );
    }

    #[test]
    fn multipart_fields_are_found_and_files_are_not() {
        let text = "--b\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\nK-123\r\n\
                    --b\r\nContent-Disposition: form-data; name=\"token\"; filename=\"t\"\r\n\r\n\
                    file\r\n--b--\r\n";
        assert_eq!(
            values(&multipart_spans(text), text),
            vec![triple("api_key", "K-123", "K-123")]
        );
    }
}
