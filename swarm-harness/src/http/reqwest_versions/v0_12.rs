//! reqwest 0.12 (cargo feature `reqwest-0-12`), still the most used version.

crate::http::reqwest_versions::versioned!(reqwest_0_12, use_preconfigured_tls);
