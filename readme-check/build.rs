//! Extracts the fenced blocks of the README and the docs: every `rust` block becomes a module
//! of this crate (so `cargo build` compiles it), every `toml` block is parsed. A block that
//! names its file in a first-line comment (`// tests/stress.rs`) is compiled all the same:
//! items are items wherever they live, and `my_crate` is this crate.

use std::fmt::Write;
use std::path::Path;

/// The documents whose blocks are checked, from this crate's directory.
const DOCUMENTS: &[&str] = &["../README.md", "../docs/from-locust.md"];

fn main() {
    let mut modules = String::new();
    let mut count = 0;
    for document in DOCUMENTS {
        println!("cargo::rerun-if-changed={document}");
        let text = std::fs::read_to_string(document)
            .unwrap_or_else(|error| panic!("cannot read {document}: {error}"));
        for block in blocks(&text) {
            match block.lang.as_str() {
                "rust" => {
                    count += 1;
                    let _ = write!(
                        modules,
                        "/// {document} line {line}\n\
                         #[allow(dead_code, unused_imports)]\n\
                         mod block_{count} {{\n{code}}}\n\n",
                        line = block.line,
                        code = block.code,
                    );
                }
                "toml" => {
                    if let Err(error) = block.code.parse::<toml::Table>() {
                        panic!("{document} line {}: invalid TOML: {error}", block.line);
                    }
                }
                _ => {}
            }
        }
    }
    let _ = writeln!(
        modules,
        "/// Rust blocks compiled.\npub const BLOCKS: usize = {count};"
    );
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out).join("blocks.rs"), modules).expect("OUT_DIR is writable");
}

struct Block {
    lang: String,
    /// The line of its opening fence, 1-based.
    line: usize,
    code: String,
}

/// The fenced blocks of a Markdown text, each dedented by its fence's indent (blocks inside
/// list items are indented).
fn blocks(text: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<(usize, String, usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let lang = info.split([' ', ',']).next().unwrap_or("").to_owned();
                    open = Some((indent, lang, index + 1, String::new()));
                }
            }
            Some((fence_indent, lang, start, code)) => {
                if trimmed == "```" {
                    found.push(Block {
                        lang: std::mem::take(lang),
                        line: *start,
                        code: std::mem::take(code),
                    });
                    open = None;
                } else {
                    let cut = indent.min(*fence_indent);
                    code.push_str(&line[cut..]);
                    code.push('\n');
                }
            }
        }
    }
    assert!(open.is_none(), "an unclosed ``` fence");
    found
}
