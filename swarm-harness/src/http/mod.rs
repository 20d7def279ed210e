//! The HTTP layer, below the simulated user: a user's `session` (its connections and cookie
//! jar, on one TLS configuration), the `transport` that sends one hop over the lean HTTP/1.1
//! client (`http1`) or reqwest (`reqwest_versions`, 0.12 or 0.13), the `tls` of HTTPS targets
//! (feature `tls`; `tls_left_out.rs` without it), and the `error` a request ends with. Nothing
//! here knows users, trials or statistics.

pub(crate) mod error;
pub(crate) mod http1;
pub(crate) mod reqwest_versions;
pub(crate) mod session;
#[cfg(feature = "tls")]
pub(crate) mod tls;
#[cfg(not(feature = "tls"))]
#[path = "tls_left_out.rs"]
pub(crate) mod tls;
pub(crate) mod transport;
