//! Extracts the fenced blocks of the README and of the book's pages (`docs/src/*.md`): every
//! `rust` block becomes a module of this crate (so `cargo build` compiles it), every `toml`
//! block is parsed. A block that names its file in a first-line comment (`// tests/stress.rs`)
//! is compiled all the same: items are items wherever they live, and `my_crate` is this crate.
//! The pages are read from the directory, sorted, so a new page is checked without a list to
//! edit here.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The book's pages, from this crate's directory.
const BOOK: &str = "../docs/src";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let book = manifest.join(BOOK);
    println!("cargo::rerun-if-changed={BOOK}");
    let mut documents = vec!["../README.md".to_owned()];
    let mut pages: Vec<String> = std::fs::read_dir(&book)
        .unwrap_or_else(|error| panic!("cannot read {BOOK}: {error}"))
        .map(|entry| entry.expect("a readable directory entry").file_name())
        .filter_map(|name| name.to_str().map(str::to_owned))
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("{BOOK}/{name}"))
        .collect();
    pages.sort();
    documents.extend(pages);

    let mut modules = String::new();
    let (mut rust, mut toml, mut all) = (0, 0, 0);
    for document in &documents {
        println!("cargo::rerun-if-changed={document}");
        let text = std::fs::read_to_string(manifest.join(document))
            .unwrap_or_else(|error| panic!("cannot read {document}: {error}"));
        for block in blocks(document, &text) {
            all += 1;
            match block.lang.as_str() {
                "rust" => {
                    rust += 1;
                    let _ = write!(
                        modules,
                        "/// {document} line {line}\n\
                         #[allow(dead_code, unused_imports)]\n\
                         mod block_{rust} {{\n{code}}}\n\n",
                        line = block.line,
                        code = block.code,
                    );
                }
                "toml" => {
                    toml += 1;
                    if let Err(error) = block.code.parse::<toml::Table>() {
                        panic!("{document} line {}: invalid TOML: {error}", block.line);
                    }
                }
                _ => {}
            }
        }
    }
    let _ = write!(
        modules,
        "/// Rust blocks compiled.\npub const BLOCKS: usize = {rust};\n\
         /// TOML blocks parsed.\npub const TOML_BLOCKS: usize = {toml};\n\
         /// Fenced blocks of every language found.\npub const ALL_BLOCKS: usize = {all};\n\
         /// Documents read: the README and the book's pages.\npub const DOCUMENTS: usize = {};\n",
        documents.len(),
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
fn blocks(document: &str, text: &str) -> Vec<Block> {
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
    if let Some((_, _, start, _)) = open {
        panic!("{document} line {start}: an unclosed ``` fence");
    }
    found
}
