//! Every Rust block of the README and of `docs/` compiled as a module of this crate (see
//! `build.rs`), so an example that stops compiling fails the build, not a newcomer. Blocks
//! that say `use my_crate as _;` (the stress target of layout A) link this crate.

extern crate self as my_crate;

pub mod helpers;

include!(concat!(env!("OUT_DIR"), "/blocks.rs"));

// The README alone has seven: fewer means the extractor missed blocks.
const _: () = assert!(BLOCKS >= 7, "the README's Rust blocks were not all found");
