//! The HAR 1.2 document as recordings really contain it: only what import and replay read,
//! every other field ignored, and optional what exporters leave out (Safari and Charles omit
//! fields Chrome writes; Firefox writes `null` where others write nothing).

use serde::Deserialize;

/// A whole `.har` file.
#[derive(Debug, Deserialize)]
pub struct Har {
    pub log: Log,
}

#[derive(Debug, Deserialize)]
pub struct Log {
    #[serde(default)]
    pub creator: Option<Creator>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Creator {
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub version: String,
}

/// One request and its response.
#[derive(Debug, Deserialize)]
pub struct Entry {
    /// RFC 3339; think times come from the gaps between entries.
    #[serde(rename = "startedDateTime", default)]
    pub started: Option<String>,
    /// Milliseconds the whole exchange took (`-1` or absent when unknown).
    #[serde(default)]
    pub time: Option<f64>,
    pub request: HarRequest,
    /// Absent in some exports of failed requests.
    #[serde(default)]
    pub response: Option<HarResponse>,
    /// Chrome: `document`, `xhr`, `fetch`, `script`, `image`, `websocket`, …
    #[serde(rename = "_resourceType", default)]
    pub resource_type: Option<String>,
    /// Chrome and Firefox: why the request failed (no response).
    #[serde(rename = "_error", default)]
    pub error: Option<serde_json::Value>,
    #[serde(rename = "_webSocketMessages", default)]
    pub websocket_messages: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct HarRequest {
    pub method: String,
    pub url: String,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub headers: Vec<Pair>,
    #[serde(rename = "postData", default)]
    pub post_data: Option<PostData>,
}

/// A request body: `text`, or only `params` (form fields), or neither.
#[derive(Debug, Deserialize)]
pub struct PostData {
    #[serde(rename = "mimeType", default, deserialize_with = "lenient_string")]
    pub mime_type: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub params: Vec<Param>,
    /// Not in HAR 1.2, written by some tools for binary bodies.
    #[serde(default)]
    pub encoding: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Param {
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(rename = "fileName", default)]
    pub file_name: Option<String>,
    #[serde(rename = "contentType", default)]
    pub content_type: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct HarResponse {
    /// `0` or `-1` when no response arrived.
    #[serde(default)]
    pub status: Option<f64>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub headers: Vec<Pair>,
    #[serde(default)]
    pub content: Option<Content>,
    #[serde(rename = "redirectURL", default)]
    pub redirect_url: Option<String>,
    #[serde(rename = "_error", default)]
    pub error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct Content {
    #[serde(rename = "mimeType", default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    /// `base64` when `text` is the body encoded.
    #[serde(default)]
    pub encoding: Option<String>,
}

/// A header (`name`, `value`).
#[derive(Debug, Deserialize, Clone)]
pub struct Pair {
    pub name: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub value: String,
}

/// A string that exporters sometimes write as `null`.
fn lenient_string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

/// A list that exporters sometimes write as `null`.
fn lenient_vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

impl HarResponse {
    pub fn status(&self) -> i64 {
        self.status
            .filter(|status| status.is_finite())
            .map_or(0, |status| status as i64)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The body as recorded (base64 decoded), if it was recorded.
    pub fn body(&self) -> Option<Vec<u8>> {
        let content = self.content.as_ref()?;
        let text = content.text.as_ref()?;
        match content.encoding.as_deref() {
            Some(encoding) if encoding.eq_ignore_ascii_case("base64") => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .ok()
            }
            _ => Some(text.clone().into_bytes()),
        }
    }

    pub fn mime_type(&self) -> &str {
        self.content
            .as_ref()
            .and_then(|content| content.mime_type.as_deref())
            .or_else(|| self.header("content-type"))
            .unwrap_or("")
    }
}

impl HarRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// The first header of that name, in any case.
pub fn header<'a>(headers: &'a [Pair], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|pair| pair.name.eq_ignore_ascii_case(name))
        .map(|pair| pair.value.as_str())
}

/// A HAR that cannot be read, with the JSON path of the problem.
#[derive(Debug, thiserror::Error)]
pub enum HarError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not a HAR file: {path}: {problem}")]
    Invalid {
        file: String,
        path: String,
        problem: String,
    },
    #[error("{file}: no entry of the recording can be replayed ({skipped})")]
    Empty { file: String, skipped: String },
    #[error("--host {pattern:?} matches none of the recording's hosts: {hosts}")]
    NoSuchHost { pattern: String, hosts: String },
}

/// Parses a HAR document; `file` names it in errors.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Har, HarError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let har: Har = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        // serde says "missing field `url`" at the struct that lacks it: name the field.
        let (path, problem) = match message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
        {
            Some((field, _)) if path == "." => (field.to_owned(), "missing".to_owned()),
            Some((field, _)) => (format!("{path}.{field}"), "missing".to_owned()),
            None if path == "." => ("(document)".to_owned(), message),
            None => (path, message),
        };
        HarError::Invalid {
            file: file.to_owned(),
            path,
            problem,
        }
    })?;
    deserializer.end().map_err(|error| HarError::Invalid {
        file: file.to_owned(),
        path: "(document)".to_owned(),
        problem: error.to_string(),
    })?;
    Ok(har)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> String {
        parse("x.har", text.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_json_path_of_the_problem() {
        let entry = r#"{"request":{"method":"GET","url":"http://a/"}}"#;
        let missing_url =
            format!(r#"{{"log":{{"entries":[{entry},{{"request":{{"method":"GET"}}}}]}}}}"#);
        assert_eq!(
            problem(&missing_url),
            "x.har: not a HAR file: log.entries[1].request.url: missing"
        );
        assert_eq!(problem("{}"), "x.har: not a HAR file: log: missing");
        assert!(
            problem(r#"{"log":{"entries":[{"request":{"method":1,"url":"u"}}]}}"#)
                .starts_with("x.har: not a HAR file: log.entries[0].request.method: invalid type")
        );
        assert!(problem("[1, 2").contains("not a HAR file: [0]: invalid type"));
        assert!(problem("{\"log\": ").contains("log: EOF while parsing"));
        assert!(problem(r#"{"log":{"entries":[]}} trailing"#).contains("(document)"));
        assert!(problem("").contains("(document)"));
    }

    #[test]
    fn a_bom_nulls_and_missing_optional_fields_are_accepted() {
        let text = "\u{feff}{\"log\":{\"creator\":null,\"entries\":[{\"request\":{\"method\":\"GET\",\
                    \"url\":\"http://a/\",\"headers\":null},\"response\":{\"status\":200,\
                    \"headers\":[{\"name\":\"X\",\"value\":null}],\"content\":{\"mimeType\":null}}}]}}";
        let har = parse("x.har", text.as_bytes()).unwrap();
        let response = har.log.entries[0].response.as_ref().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.header("x"), Some(""));
        assert_eq!(response.mime_type(), "");
    }

    #[test]
    fn base64_content_is_decoded_and_bad_base64_is_no_body() {
        let make = |text: &str| HarResponse {
            status: Some(200.0),
            headers: vec![],
            content: Some(Content {
                mime_type: None,
                text: Some(text.to_owned()),
                encoding: Some("base64".to_owned()),
            }),
            redirect_url: None,
            error: None,
        };
        assert_eq!(make("/w==").body(), Some(vec![0xff]));
        assert_eq!(make("!!").body(), None);
    }
}
