//! Every Rust block of the README and of the book (`docs/src/*.md`) compiled as a module of
//! this crate (see `build.rs`), so an example that stops compiling fails the build, not a
//! newcomer. Blocks that say `use my_crate as _;` (the stress target of layout A) link this
//! crate. `tests/book.rs` keeps the book whole: every page in `SUMMARY.md`, every relative
//! link pointing to a file and heading that exist.

extern crate self as my_crate;

pub mod helpers;

include!(concat!(env!("OUT_DIR"), "/blocks.rs"));

// What the README and the book hold today (11 Rust blocks, 5 TOML blocks, 26 fenced blocks in
// all, 16 documents), less a little: fewer means the extractor missed blocks or pages.
const _: () = assert!(BLOCKS >= 10, "Rust blocks went missing");
const _: () = assert!(TOML_BLOCKS >= 4, "TOML blocks went missing");
const _: () = assert!(ALL_BLOCKS >= 24, "fenced blocks went missing");
const _: () = assert!(DOCUMENTS >= 12, "pages of docs/src went unread");
