//! Per-user HTTP sessions: every user has its own connections and its own cookie jar, all
//! sharing one TLS configuration.
//!
//! Why not reqwest, which DESIGN.md first named: reqwest is hyper plus layers a load
//! generator pays for on every request (its cookie layer parses the URL twice per request;
//! redirect, retry and timeout layers box and move large futures), and hyper gives each
//! connection a task, a channel and buffers worth ~20 KiB. Measured with
//! `scripts/bench/throughput.sh` and `memory.sh`: reqwest held the harness near 0.4 x wrk's
//! requests per CPU-second and 28 KiB per user; hyper-util's client 0.55 x and 24 KiB. The same
//! work (cookies through `cookie_store`, the jar reqwest itself uses; redirects; timeouts) now
//! happens once per request in `user/request/exchange.rs`, on the lean HTTP/1.1 client of `http1`. reqwest
//! stays available behind the same seam (`transport.rs`, `PT_HTTP=reqwest`) for HTTP/2,
//! proxies and compressed responses, and as each user's own client (`User::reqwest`).
//! The TLS configuration (`tls.rs`) is built once per factory and shared.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cookie_store::CookieStore;

use crate::http::http1::{Connections, DEFAULT_MAX_BODY, Limits};
use crate::http::reqwest_versions::OwnBuilders;
use crate::http::tls::{CaCert, Tls};
use crate::http::transport::{HttpClient, Transport};

/// The default of `PT_REQUEST_TIMEOUT`: a request (connect, TLS, redirects and the whole
/// body) that takes longer fails. k6's and Locust's FastHttpUser's default too.
pub(crate) use crate::settings::DEFAULT_REQUEST_TIMEOUT;

/// How every session of a process treats requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HttpSettings {
    /// `PT_REQUEST_TIMEOUT`: the most a request may take, unless it sets its own.
    pub timeout: Duration,
    /// `PT_MAX_BODY`: response body bytes kept in memory; the rest is drained and counted.
    pub max_body: usize,
    /// `PT_HTTP`: the lean client or reqwest.
    pub client: HttpClient,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: DEFAULT_REQUEST_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
            client: HttpClient::Lean,
        }
    }
}

/// Builds the sessions of a process.
#[derive(Clone)]
pub struct ClientFactory {
    tls: Tls,
    settings: HttpSettings,
    /// The team's changes to `User::reqwest`'s builders (`Harness::reqwest_client`).
    own_builders: OwnBuilders,
}

impl std::fmt::Debug for ClientFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientFactory").finish_non_exhaustive()
    }
}

impl ClientFactory {
    /// Loads the platform's certificate verifier once. When that fails (no system store),
    /// HTTPS requests fail with the verifier's error, HTTP works.
    pub fn new() -> Self {
        Self::configured(Vec::new(), HttpSettings::default())
    }

    /// Like [`ClientFactory::new`], also trusting `roots` (`PT_CA_CERT`: the CA of a staging
    /// environment, a self-signed certificate), with `settings` for every request.
    pub fn configured(roots: Vec<CaCert>, settings: HttpSettings) -> Self {
        let tls = Tls::new(roots);
        ClientFactory {
            tls,
            settings,
            own_builders: OwnBuilders::default(),
        }
    }

    /// The same factory, `User::reqwest`'s clients built through `customize` last.
    pub(crate) fn with_own_builders(mut self, customize: OwnBuilders) -> Self {
        self.own_builders = customize;
        self
    }

    /// The same factory, its sessions on `client` (a trial's `http` option).
    pub(crate) fn with_client(&self, client: HttpClient) -> Self {
        let mut factory = self.clone();
        factory.settings.client = client;
        factory
    }

    /// Response body bytes kept per response (`PT_MAX_BODY`).
    pub(crate) fn max_body(&self) -> usize {
        self.settings.max_body
    }

    /// A fresh session: its own connections and cookie jar.
    pub fn session(&self) -> Session {
        let limits = Limits {
            max_body: self.settings.max_body,
        };
        let transport = match self.settings.client {
            HttpClient::Lean => Transport::Lean(Connections::new(self.tls.clone(), limits)),
            #[cfg(any(feature = "reqwest-0-12", feature = "reqwest-0-13"))]
            HttpClient::Reqwest => Transport::Reqwest {
                client: crate::http::reqwest_versions::internal::client(&self.tls),
                limits,
            },
            // Refused where it is set (PT_HTTP, the `http` option) with NO_REQWEST.
            #[cfg(not(any(feature = "reqwest-0-12", feature = "reqwest-0-13")))]
            HttpClient::Reqwest => unreachable!("{}", crate::http::reqwest_versions::NO_REQWEST),
        };
        Session {
            transport,
            cookies: Arc::default(),
            timeout: self.settings.timeout,
        }
    }

    #[cfg_attr(
        not(any(feature = "reqwest-0-12", feature = "reqwest-0-13")),
        allow(dead_code)
    )]
    /// The TLS configuration every session and reqwest client is built on.
    pub(crate) fn tls(&self) -> &Tls {
        &self.tls
    }

    #[cfg_attr(
        not(any(feature = "reqwest-0-12", feature = "reqwest-0-13")),
        allow(dead_code)
    )]
    /// The longest a request may take unless it says otherwise (`PT_REQUEST_TIMEOUT`).
    pub(crate) fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    #[cfg_attr(
        not(any(feature = "reqwest-0-12", feature = "reqwest-0-13")),
        allow(dead_code)
    )]
    /// The team's changes to `User::reqwest`'s builders, applied after ours (its own cookie
    /// jar and connections, reqwest's redirects, `PT_REQUEST_TIMEOUT`), so they may replace
    /// any of those (a redirect policy, default headers, a timeout), never the TLS setup.
    pub(crate) fn own_builders(&self) -> &OwnBuilders {
        &self.own_builders
    }
}

impl Default for ClientFactory {
    fn default() -> Self {
        Self::new()
    }
}

/// The most cookies one session keeps. A browser keeps some 180 per site (RFC 6265 asks for at
/// least 50 per domain); a simulated user talks to a few origins. Without a cap, a target that
/// sets a fresh cookie on every response grows every user's jar, and the generator's memory,
/// without end.
pub(crate) const MAX_COOKIES: usize = 300;

/// The largest cookie (name and value) kept, as browsers do (RFC 6265 §6.1 asks for at least
/// 4096 bytes): with [`MAX_COOKIES`], a jar holds at most about 1.2 MB however hostile the target.
pub(crate) const MAX_COOKIE_BYTES: usize = 4096;

/// Stores a response's cookies in a jar holding at most [`MAX_COOKIES`] live ones: once full,
/// deleted and expired cookies are purged, and a cookie that would still be new is dropped (one
/// that replaces or deletes a kept one still applies); a cookie above [`MAX_COOKIE_BYTES`] is
/// dropped too. Returns how many were dropped.
pub(crate) fn store_cookies(
    jar: &mut CookieStore,
    cookies: impl Iterator<Item = cookie_store::RawCookie<'static>>,
    url: &url::Url,
) -> usize {
    let mut dropped = 0;
    for cookie in cookies {
        if cookie.name().len() + cookie.value().len() > MAX_COOKIE_BYTES {
            dropped += 1;
            continue;
        }
        if jar.iter_any().count() >= MAX_COOKIES && !holds(jar, &cookie, url) {
            // cookie_store keeps a deleted cookie as an expired entry, forever: drop those first.
            if jar.iter_unexpired().count() < jar.iter_any().count() {
                let live = jar
                    .iter_unexpired()
                    .cloned()
                    .map(Ok::<_, std::convert::Infallible>);
                *jar = CookieStore::from_cookies(live, false).unwrap_or_default();
            }
            if jar.iter_any().count() >= MAX_COOKIES {
                dropped += 1;
                continue;
            }
        }
        let _ = jar.insert_raw(&cookie, url);
    }
    dropped
}

/// Whether the jar has a cookie (live or not) that `cookie` would replace.
fn holds(jar: &CookieStore, cookie: &cookie_store::RawCookie<'_>, url: &url::Url) -> bool {
    cookie_store::Cookie::try_from_raw_cookie(cookie, url).is_ok_and(|parsed| {
        jar.contains_any(
            &String::from(&parsed.domain),
            &String::from(&parsed.path),
            parsed.name(),
        )
    })
}

/// One user's connections and cookies; clones share both (`User::fork`).
#[derive(Clone)]
pub struct Session {
    pub(crate) transport: Transport,
    pub(crate) cookies: Arc<Mutex<CookieStore>>,
    /// The timeout of requests that set none.
    pub(crate) timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_process_default_provider_is_needed_with_both_providers_built() {
        // The dev-dependencies enable `ring` beside `aws-lc-rs`: rustls then picks no process
        // default, and the builder without a provider would panic here.
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
        let factory = ClientFactory::new();
        let _session = factory.session();
        #[cfg(any(feature = "reqwest-0-12", feature = "reqwest-0-13"))]
        let _reqwest = factory.with_client(HttpClient::Reqwest).session();
        #[cfg(feature = "reqwest-0-13")]
        let _own = <reqwest_0_13::Client as crate::ReqwestClient>::own(&factory);
        #[cfg(feature = "reqwest-0-12")]
        let _own = <reqwest_0_12::Client as crate::ReqwestClient>::own(&factory);
    }
}
