//! reqwest 0.13 (cargo feature `reqwest-0-13`, on by default).

crate::http::reqwest_versions::versioned!(reqwest_0_13, tls_backend_preconfigured);
