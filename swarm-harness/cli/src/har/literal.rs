//! Any recorded string or byte string as a Rust literal that means exactly it: raw strings
//! where they read better (quotes, backslashes), escapes where they must (control characters,
//! a bare carriage return, which no literal may hold), `{{`/`}}` in format strings, byte
//! strings for bodies that are not UTF-8. Tested against `syn`'s reading of the literal.

/// A string literal whose value is `text`.
pub fn string(text: &str) -> String {
    let plain = text.chars().all(|c| {
        matches!(c, '"' | '\\' | '\'') || {
            let mut escaped = c.escape_debug();
            escaped.next() == Some(c) && escaped.next().is_none()
        }
    });
    if plain && (text.contains('"') || text.contains('\\')) {
        // Enough `#` that no `"###…` inside ends the literal early.
        let mut longest = 0;
        let mut run: Option<usize> = None;
        for c in text.chars() {
            run = match (c, run) {
                ('"', _) => Some(0),
                ('#', Some(n)) => Some(n + 1),
                _ => None,
            };
            longest = longest.max(run.unwrap_or(0));
        }
        let hashes = "#".repeat(longest + 1);
        format!("r{hashes}\"{text}\"{hashes}")
    } else {
        format!("{text:?}")
    }
}

/// A byte string literal whose value is `bytes`.
pub fn bytes(bytes: &[u8]) -> String {
    format!("b\"{}\"", bytes.escape_ascii())
}

/// Literal text inside a format string: braces doubled.
pub fn format_text(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(literal: &str) -> String {
        syn::parse_str::<syn::LitStr>(literal)
            .unwrap_or_else(|e| panic!("{literal} is not a string literal: {e}"))
            .value()
    }

    #[test]
    fn hostile_strings_read_back_unchanged() {
        for text in [
            "",
            "plain",
            "quote \" and backslash \\",
            "\"#",
            "\"##\"#\"###",
            "{} {{ }} {name}",
            "cr\r lf\n tab\t nul\0 bell\u{7}",
            "é ü 日本 🦀 \u{301}\u{200b}\u{feff}",
            "r#\"raw\"#",
            "'single'",
            "\\u{41}",
        ] {
            assert_eq!(read(&string(text)), text, "{}", string(text));
        }
        assert_eq!(string("a \"b\""), "r#\"a \"b\"\"#");
        assert_eq!(string("\"#"), "r##\"\"#\"##");
    }

    #[test]
    fn bytes_read_back_unchanged() {
        let all: Vec<u8> = (0..=255).collect();
        let literal = bytes(&all);
        let read = syn::parse_str::<syn::LitByteStr>(&literal).unwrap().value();
        assert_eq!(read, all);
    }

    proptest! {
        #[test]
        fn any_string_round_trips(text in any::<String>()) {
            prop_assert_eq!(read(&string(&text)), text);
        }

        #[test]
        fn any_string_round_trips_through_a_format_string(text in any::<String>()) {
            let literal = string(&format_text(&text));
            let value = read(&literal);
            prop_assert_eq!(value.replace("{{", "{").replace("}}", "}"), text);
        }

        #[test]
        fn any_bytes_round_trip(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let read = syn::parse_str::<syn::LitByteStr>(&bytes(&data)).unwrap().value();
            prop_assert_eq!(read, data);
        }
    }
}
