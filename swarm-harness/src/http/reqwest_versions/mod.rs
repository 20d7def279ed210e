//! The seam between the harness and the reqwest of a team's tests: 0.13 (cargo feature
//! `reqwest-0-13`, on by default) and 0.12 (`reqwest-0-12`), either or both in one build.
//!
//! Why traits rather than one reqwest in our API: a team's `TestApp` holds the client its
//! integration tests build, and a `RequestBuilder` of another reqwest than ours is another
//! type (E0308, "multiple different versions of crate `reqwest`"). So [`User::send`],
//! [`User::reqwest`] and [`Harness::reqwest_client`] are generic over the sealed traits here,
//! implemented for each enabled version by [`versioned!`] from one text. What we need of a
//! version is small: split a builder into its client and request, execute it, read the
//! response as an `http::Response` (both versions convert), and build a client on our rustls
//! configuration. Everything else is written once against `http` and `url`, which both share.
//!
//! `PT_HTTP=reqwest` runs on 0.13 when it is enabled, else on 0.12; a build with neither has
//! no reqwest at all (the lean client only), and asking for it is a clear error.
//!
//! [`User::send`]: crate::User::send
//! [`User::reqwest`]: crate::User::reqwest
//! [`Harness::reqwest_client`]: crate::Harness::reqwest_client
#![cfg_attr(
    not(any(feature = "reqwest-0-12", feature = "reqwest-0-13")),
    allow(
        dead_code,
        unused_imports,
        unused_macros,
        reason = "the versions' shared helpers, in a build with neither version"
    )
)]

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method, StatusCode};
use url::Url;

use crate::http::error::{Fetched, RequestError};
use crate::http::session::ClientFactory;

#[cfg(feature = "reqwest-0-12")]
mod v0_12;
#[cfg(feature = "reqwest-0-13")]
mod v0_13;

#[cfg(all(feature = "reqwest-0-12", not(feature = "reqwest-0-13")))]
pub(crate) use v0_12::internal;
/// The reqwest `PT_HTTP=reqwest` sends with: 0.13 when it is enabled, else 0.12.
#[cfg(feature = "reqwest-0-13")]
pub(crate) use v0_13::internal;

/// Whether this build has a reqwest for `PT_HTTP=reqwest`.
pub(crate) const HAS_REQWEST: bool = cfg!(any(feature = "reqwest-0-12", feature = "reqwest-0-13"));

/// What `PT_HTTP=reqwest` (or `http = "reqwest"`) says in a build without reqwest.
pub(crate) const NO_REQWEST: &str = "this stress target is built without reqwest: enable the \
     swarm-harness feature reqwest-0-13 (or reqwest-0-12) for HTTP/2, proxies and compression";

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

mod sealed {
    /// Only the reqwest types of `versioned!` implement the traits of this module.
    pub trait Sealed {}
}

/// A request built with a reqwest client of a supported version (0.12 or 0.13), which
/// [`User::send`](crate::User::send) times: `user.send(client.post(url).json(&body))`.
pub trait ReqwestRequest: sealed::Sealed + Send + 'static {
    #[doc(hidden)]
    fn prepare(self) -> Result<Prepared, RequestError>;
}

/// A reqwest client type of a supported version, as [`User::reqwest`](crate::User::reqwest)
/// builds it for each user: `let client: reqwest::Client = user.reqwest();`.
pub trait ReqwestClient: sealed::Sealed + Clone + Send + Sync + 'static {
    #[doc(hidden)]
    fn own(factory: &ClientFactory) -> Self;
}

/// A reqwest `ClientBuilder` of a supported version, which
/// [`Harness::reqwest_client`](crate::Harness::reqwest_client) changes.
pub trait ReqwestClientBuilder: sealed::Sealed + Send + 'static {}

/// A request split for sending: what is recorded of it, and its exchange.
#[doc(hidden)]
pub struct Prepared {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) timeout: Option<Duration>,
    /// Sends it and reads the response, keeping at most the given number of body bytes.
    pub(crate) exchange: Box<dyn FnOnce(usize) -> BoxFuture<Result<Fetched, BoxError>> + Send>,
}

/// A team's change to one version's `ClientBuilder` (`Harness::reqwest_client`).
pub(crate) type OwnBuilder<B> = Arc<dyn Fn(B) -> B + Send + Sync>;

/// The team's builder changes, one per version at most, each an `OwnBuilder<B>`.
#[derive(Clone, Default)]
pub(crate) struct OwnBuilders(Vec<Arc<dyn Any + Send + Sync>>);

impl OwnBuilders {
    /// Makes `customize` the change of `B`'s clients, replacing an earlier one.
    pub(crate) fn set<B: ReqwestClientBuilder>(&mut self, customize: OwnBuilder<B>) {
        self.0.retain(|hook| !hook.is::<OwnBuilder<B>>());
        self.0.push(Arc::new(customize));
    }

    /// `builder` with the team's change, if it made one for this version.
    pub(crate) fn apply<B: ReqwestClientBuilder>(&self, builder: B) -> B {
        match self
            .0
            .iter()
            .find_map(|hook| hook.downcast_ref::<OwnBuilder<B>>())
        {
            Some(customize) => customize(builder),
            None => builder,
        }
    }
}

/// A response read to its end.
pub(crate) struct Received {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body, or its first `max_body` bytes when `truncated`.
    pub body: Vec<u8>,
    /// Body bytes received, kept or not.
    pub body_len: u64,
    pub truncated: bool,
}

impl Received {
    /// A response whose body is still to come.
    pub(crate) fn new(status: StatusCode, headers: HeaderMap) -> Self {
        Received {
            status,
            headers,
            body: Vec::new(),
            body_len: 0,
            truncated: false,
        }
    }

    /// Adds a chunk, keeping at most `max_body` bytes in all. Nothing is reserved for a length
    /// the server announces: chunks are kept as they come, up to the cap.
    pub(crate) fn push(&mut self, chunk: &[u8], max_body: usize) {
        self.body_len = self.body_len.saturating_add(chunk.len() as u64);
        let room = max_body.saturating_sub(self.body.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        self.body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
}

/// A response's fetched form, its final `url` given (reqwest follows redirects inside one
/// request).
pub(crate) fn fetched(url: Url, received: Received) -> Fetched {
    Fetched {
        url,
        status: received.status,
        headers: received.headers,
        body: received.body.into(),
        body_len: received.body_len,
        truncated: received.truncated,
    }
}

/// The traits of this module for one reqwest version, and its `internal` functions for
/// `PT_HTTP=reqwest`. `$reqwest` is the crate; `$preconfigured` its `ClientBuilder` method
/// that takes a rustls configuration (0.12 and 0.13 name it differently).
macro_rules! versioned {
    ($reqwest:ident, $preconfigured:ident) => {
        use $crate::http::error::RequestError;
        use $crate::http::reqwest_versions::{
            Prepared, Received, ReqwestClient, ReqwestClientBuilder, ReqwestRequest, fetched,
            sealed,
        };
        use $crate::http::session::ClientFactory;

        /// Reads `response` to its end through reqwest's own `chunk` (so a body that breaks
        /// off is reqwest's decode error, as ever), keeping at most `max_body` bytes.
        pub(crate) async fn read(
            mut response: $reqwest::Response,
            max_body: usize,
        ) -> Result<Received, $reqwest::Error> {
            let headers = std::mem::take(response.headers_mut());
            let mut received = Received::new(response.status(), headers);
            while let Some(chunk) = response.chunk().await? {
                received.push(&chunk, max_body);
            }
            Ok(received)
        }

        impl sealed::Sealed for $reqwest::RequestBuilder {}
        impl sealed::Sealed for $reqwest::Client {}
        impl sealed::Sealed for $reqwest::ClientBuilder {}
        impl ReqwestClientBuilder for $reqwest::ClientBuilder {}

        impl ReqwestRequest for $reqwest::RequestBuilder {
            fn prepare(self) -> Result<Prepared, RequestError> {
                let (client, request) = self.build_split();
                let request = request.map_err(|error| RequestError::Build {
                    message: $crate::http::error::error_chain(&error),
                })?;
                Ok(Prepared {
                    method: request.method().clone(),
                    url: request.url().clone(),
                    timeout: request.timeout().copied(),
                    exchange: Box::new(move |max_body| {
                        Box::pin(async move {
                            let response = client.execute(request).await?;
                            let url = response.url().clone();
                            Ok(fetched(url, read(response, max_body).await?))
                        })
                    }),
                })
            }
        }

        impl ReqwestClient for $reqwest::Client {
            fn own(factory: &ClientFactory) -> Self {
                let ours = $reqwest::Client::builder()
                    .$preconfigured(factory.tls().for_reqwest())
                    .cookie_store(true)
                    .timeout(factory.timeout());
                factory
                    .own_builders()
                    .apply(ours)
                    .build()
                    .unwrap_or_else(|error| {
                        panic!("User::reqwest: the client does not build: {error}")
                    })
            }
        }

        /// What `PT_HTTP=reqwest` sends with when this version is its reqwest.
        #[allow(dead_code, reason = "the other version may be PT_HTTP's")]
        pub(crate) mod internal {
            use http::{HeaderMap, Method};
            use url::Url;

            use $crate::http::reqwest_versions::Received;

            pub(crate) type Client = $reqwest::Client;

            /// A client of its own (connections, HTTP/2 sessions) on `tls`; redirects and
            /// cookies are left to the session, decompression to `transport.rs` (so the size
            /// reported is the bytes transferred, whatever features the team's reqwest has).
            pub(crate) fn client(tls: &$crate::http::tls::Tls) -> Client {
                $reqwest::Client::builder()
                    .$preconfigured(tls.for_reqwest())
                    .redirect($reqwest::redirect::Policy::none())
                    .no_gzip()
                    .no_brotli()
                    .no_deflate()
                    .no_zstd()
                    .build()
                    .expect("reqwest builds on the process's rustls configuration")
            }

            /// One hop, read under `max_body`.
            pub(crate) async fn send(
                client: &Client,
                max_body: usize,
                method: &Method,
                url: &Url,
                headers: HeaderMap,
                body: &[u8],
            ) -> Result<Received, $crate::http::reqwest_versions::BoxError> {
                let mut request = client.request(method.clone(), url.clone()).headers(headers);
                if !body.is_empty() {
                    request = request.body(body.to_vec());
                }
                let response = request.send().await?;
                Ok(super::read(response, max_body).await?)
            }
        }
    };
}
pub(crate) use versioned;
