//! The little XML that `junit.xml` needs: elements with attributes, each on its own line and
//! indented 4 spaces a level, and text elements, on one line with their text. The layout is
//! quick-junit's (by way of quick-xml), so a diff of `junit.xml` across the change is empty.
//!
//! Text and attribute values are cleaned as quick-junit's `XmlString` cleaned them: ANSI
//! escape sequences (colours in an error message) and every control character but a line
//! feed are removed, since XML 1.0 cannot hold most of them and a CI page shows none. The one
//! difference: we also remove U+FFFE and U+FFFF, which XML 1.0 forbids and quick-junit let
//! through (a document holding them is not well-formed). Otherwise the bytes are quick-junit's.

/// A document being written.
pub(super) struct Xml {
    out: String,
    depth: usize,
}

impl Default for Xml {
    fn default() -> Self {
        Xml {
            out: String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#),
            depth: 0,
        }
    }
}

impl Xml {
    /// `<name attrs>` on a new line; what follows is inside it until [`Xml::close`].
    pub(super) fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push('>');
        self.depth += 1;
    }

    /// `<name attrs/>` on a new line.
    pub(super) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push_str("/>");
    }

    /// `</name>` on a new line, closing the last [`Xml::open`].
    pub(super) fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.new_line();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name attrs>text</name>` on a new line.
    pub(super) fn text_element(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start_tag(name, attrs);
        self.out.push('>');
        escape_into(&mut self.out, &clean(text));
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// The document, with the trailing line feed quick-junit wrote.
    pub(super) fn finish(mut self) -> String {
        self.out.push('\n');
        self.out
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.new_line();
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_into(&mut self.out, &clean(value));
            self.out.push('"');
        }
    }

    fn new_line(&mut self) {
        self.out.push('\n');
        self.out.extend(std::iter::repeat_n(' ', 4 * self.depth));
    }
}

/// `text` escaped as quick-xml escapes text and attribute values: all five specials, so `]]>`
/// is `]]&gt;` and a value never ends its quotes.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// Where [`clean`] is in an ANSI escape sequence (the states of a VT500 parser, as the
/// strip-ansi-escapes crate that quick-junit used runs it).
#[derive(Clone, Copy)]
enum Escape {
    /// Plain text.
    None,
    /// After ESC: a sequence's kind, or the final of a short one.
    Started,
    /// After ESC and an intermediate (` ` to `/`): more, then the short sequence's final.
    Intermediate,
    /// A control sequence (`ESC [` or CSI): parameters and intermediates, then a final.
    Control,
    /// An operating system command (`ESC ]`): its text, up to BEL or ESC.
    Command,
    /// A device control, privacy or application string (`ESC P`, `X`, `^`, `_`): up to ESC.
    String,
}

/// `text` without ANSI escape sequences and without control characters (C0 and C1) but line
/// feeds, nor U+FFFE and U+FFFF: what XML 1.0 can hold and a CI page shows.
pub(super) fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut state = Escape::None;
    for c in text.chars() {
        state = match (state, c) {
            // ESC starts a sequence anywhere, CAN and SUB cancel one anywhere.
            (_, '\x1b') => Escape::Started,
            (_, '\x18' | '\x1a') => Escape::None,
            (Escape::None, '\n') => {
                out.push('\n');
                Escape::None
            }
            // C1 controls (U+0080 to U+009F) act, and print nothing, as C0 controls do.
            (Escape::None, '\0'..='\x1f' | '\u{80}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}') => {
                Escape::None
            }
            (Escape::None, c) => {
                out.push(c);
                Escape::None
            }
            (Escape::Started | Escape::Intermediate | Escape::Control, '\n') => {
                // A control character inside a sequence still acts; the line feed is kept.
                out.push('\n');
                state
            }
            (Escape::Started, '[') => Escape::Control,
            (Escape::Started, ']') => Escape::Command,
            (Escape::Started, 'P' | 'X' | '^' | '_') => Escape::String,
            (Escape::Started | Escape::Intermediate, '\x20'..='\x2f') => Escape::Intermediate,
            (Escape::Started | Escape::Intermediate, '\x30'..='\x7e') => Escape::None,
            (Escape::Control, '\x40'..='\x7e') => Escape::None,
            (Escape::Command, '\x07') => Escape::None,
            (state, _) => state,
        };
    }
    out
}
