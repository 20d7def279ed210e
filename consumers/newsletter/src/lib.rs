//! The newsletter service: subscriptions stored in SQLite and confirmed by e-mail.

#[cfg(not(any(feature = "reqwest-0-12", feature = "reqwest-0-13")))]
compile_error!("enable the feature `reqwest-0-12` (the default) or `reqwest-0-13`");

// One name for whichever reqwest this build picked, so no other file (nor the tests) needs a
// cfg of its own. With both features on, 0.13 wins.
#[cfg(all(feature = "reqwest-0-12", not(feature = "reqwest-0-13")))]
pub use ::reqwest;
#[cfg(feature = "reqwest-0-13")]
pub use reqwest13 as reqwest;

pub mod configuration;
pub mod db;
pub mod domain;
pub mod email_client;
pub mod routes;
pub mod startup;
pub mod telemetry;
