//! What a failure sample shows of a request: its URL, redacted and bounded, and the start of
//! its body.

use url::Url;

use super::redact;

pub(crate) use bytes_text::snippet;

/// The failure sample's URL: redacted and at most this long.
const MAX_SAMPLE_URL: usize = 512;

pub(crate) fn sample_url(url: &Url) -> String {
    let mut text = redact(url);
    if text.len() > MAX_SAMPLE_URL {
        let mut end = MAX_SAMPLE_URL;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

mod bytes_text {
    /// How much of a body a failure sample keeps.
    const SNIPPET_BYTES: usize = 512;

    pub(crate) fn snippet(body: &[u8]) -> String {
        let end = body.len().min(SNIPPET_BYTES);
        String::from_utf8_lossy(&body[..end]).into_owned()
    }
}
