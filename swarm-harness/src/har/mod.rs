//! What a scenario generated from a HAR recording calls at run time. `swarm har import` (the
//! `swarm` command, crate swarm-harness-cli) writes `#[stress_test]` code that does
//! `use swarm_harness::{User, har, stress_test}` and captures the values the server hands out
//! with these functions: `har::json(&response, "/id")`, `har::cookie(user, "csrftoken")`,
//! `har::between(..)`; reads each recorded credential it did not copy with
//! `har::secret("HAR_PASSWORD")`; and accepts an error status the recording also got with
//! `har::expect_status(..)`. `swarm har replay` runs a recording with the same functions.
//!
//! The failures they return name a place (a redacted URL, a JSON pointer, a cookie name or a
//! variable), never a recorded or live value: they become failure groups in every report.

// pub(crate): import's rules (`json_text`, `between_text`, `looks_like_id`) are `pub` in it for
// `__private::har`, not public API.
pub(crate) mod extract;

pub use extract::{
    CaptureError, SecretError, between, cookie, encode, expect_status, json, json_escape, origin,
    secret,
};
