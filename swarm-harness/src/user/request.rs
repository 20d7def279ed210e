//! Timed HTTP requests: a builder in the style of reqwest's, sent on the user's session
//! (`crate::http::session`) with its cookies, redirects followed, and recorded into the trial's
//! statistics. The response comes back with its body read, so the time includes the download,
//! as a user feels it.
//!
//! The parts, each in `request/`:
//! - `builder`: `Request`, what a scenario builds (headers, query, body, auth, timeout) and
//!   sends.
//! - `exchange`: sending and recording: `perform` (the request limit, the timeout, a transport
//!   failure), `InFlight` (a request cut off before it completed is still recorded), and the
//!   hops of one request on a session (redirects followed, cookies kept).
//! - `response`: `Response`, with its body read, and `CaughtResponse`, recorded when marked or
//!   dropped.
//! - `marks`: a request's tags and the checks on its response, recorded with it.
//! - `failure`: what a failure sample shows of a request (its URL redacted, the start of its
//!   body); the error itself, `RequestError`, is `crate::http::error`'s, shared by both
//!   transports.

mod builder;
mod exchange;
mod failure;
mod marks;
mod response;

pub use crate::http::error::RequestError;
pub(crate) use crate::http::error::{Fetched, error_chain, redact};
pub use builder::Request;
pub(crate) use exchange::{InFlight, perform};
pub(crate) use failure::{sample_url, snippet};
pub(crate) use marks::Marked;
pub use marks::{MAX_TAG_LEN, Predicate};
pub use response::{CaughtResponse, Response};
