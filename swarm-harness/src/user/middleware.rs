//! Recording requests made through a team's `reqwest_middleware::ClientWithMiddleware`
//! (cargo features `middleware-0-5` for reqwest-middleware 0.5 on reqwest 0.13,
//! `middleware-0-4` for 0.4 on reqwest 0.12; one `SwarmMiddleware` serves both):
//! [`SwarmMiddleware`] records each request into the statistics of the simulated user whose
//! task is running, found through a task-local the runner sets around every task and hook
//! (never a global). Outside a stress run (an ordinary
//! `#[tokio::test]`) there is no task-local: the request passes through untouched and nothing
//! is recorded. Without the feature, `within` is the task itself.

use crate::User;
use crate::user::ScenarioFuture;

#[cfg(not(any(feature = "middleware-0-4", feature = "middleware-0-5")))]
pub(crate) fn within<'a>(
    user: &'a mut User,
    task: impl FnOnce(&'a mut User) -> ScenarioFuture<'a>,
) -> impl std::future::Future<Output = anyhow::Result<()>> + 'a {
    task(user)
}

#[cfg(any(feature = "middleware-0-4", feature = "middleware-0-5"))]
pub(crate) use recording::within;
#[cfg(any(feature = "middleware-0-4", feature = "middleware-0-5"))]
pub use recording::{StatsName, SwarmMiddleware};

#[cfg(any(feature = "middleware-0-4", feature = "middleware-0-5"))]
mod recording {
    use std::sync::Arc;
    use std::time::Instant;

    use http::Extensions;
    use tokio_util::sync::CancellationToken;

    use super::{ScenarioFuture, User};
    use crate::stats::{FailureSample, Origin, Sample, Tapped};
    use crate::user::request::InFlight;
    use crate::user::{TrialContext, elapsed_micros};

    /// The simulated user a task runs as.
    #[derive(Clone)]
    struct ActiveUser {
        ctx: Arc<TrialContext>,
        shard: usize,
        /// The user's park: cancelled when the request limit is met, which ends the task.
        parked: CancellationToken,
        /// Who sends, for the request sinks.
        origin: Origin,
    }

    tokio::task_local! {
        static ACTIVE: ActiveUser;
    }

    /// Runs `task` with its user known to [`SwarmMiddleware`] (no allocation beyond the
    /// task's own: the scope wraps its future in place).
    pub(crate) fn within<'a>(
        user: &'a mut User,
        task: impl FnOnce(&'a mut User) -> ScenarioFuture<'a>,
    ) -> impl std::future::Future<Output = anyhow::Result<()>> + 'a {
        let active = ActiveUser {
            ctx: user.ctx.clone(),
            shard: user.shard(),
            parked: user.parked().clone(),
            origin: Origin {
                user: user.id(),
                iteration: user.iterations,
                intended: user.intended,
            },
        };
        ACTIVE.scope(active, task(user))
    }

    /// The name a request is reported under (`/api/apps/{id}`), as a request extension:
    /// `client.get(url).with_extension(StatsName::new("/api/apps/{id}"))`.
    #[derive(Debug, Clone)]
    pub struct StatsName(pub String);

    impl StatsName {
        /// The name `name`.
        pub fn new(name: impl Into<String>) -> Self {
            StatsName(name.into())
        }
    }

    /// Records every request of a `ClientWithMiddleware` in a stress run (response time to the
    /// end of the body, status >= 400 a failure, content size as the client sees it (decoded),
    /// a request cut off by the trial's end counted as cut off), named by its [`StatsName`], else by the first
    /// [`route`](SwarmMiddleware::route) template its path matches, else by its path; passes
    /// requests through untouched outside one.
    ///
    /// The body is read here, whole, so the time is to its end: a body larger than
    /// `PT_MAX_BODY` (8 MiB) fails the request with an error naming the variable, rather than
    /// holding unbounded memory per simulated user.
    #[derive(Debug, Clone, Default)]
    pub struct SwarmMiddleware {
        routes: Arc<[Route]>,
    }

    impl SwarmMiddleware {
        /// Records requests named by their path.
        pub fn new() -> Self {
            Self::default()
        }

        /// Names requests whose path matches `template` by the template, so ids do not make
        /// a row each: `/api/apps/{id}` matches `/api/apps/42`; `{name}` is one non-empty
        /// segment, a final `{*rest}` any remainder. The first matching template wins.
        ///
        /// # Panics
        /// When `template` does not start with `/`, or has an empty or unclosed `{..}`, or
        /// a `{*..}` that is not last: a programming error, like an invalid axum route.
        #[must_use]
        pub fn route(self, template: &str) -> Self {
            let route = Route::parse(template)
                .unwrap_or_else(|error| panic!("invalid route template {template:?}: {error}"));
            let mut routes = self.routes.to_vec();
            routes.push(route);
            SwarmMiddleware {
                routes: routes.into(),
            }
        }

        fn name(&self, path: &str) -> String {
            self.routes
                .iter()
                .find(|route| route.matches(path))
                .map_or_else(|| path.to_owned(), |route| route.template.clone())
        }
    }

    /// A route template, split into segments.
    #[derive(Debug, Clone)]
    struct Route {
        template: String,
        segments: Vec<Segment>,
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Segment {
        Literal(String),
        /// `{name}`: one non-empty segment.
        Any,
        /// `{*rest}`: whatever is left, possibly nothing.
        Rest,
    }

    impl Route {
        fn parse(template: &str) -> Result<Self, &'static str> {
            let rest = template
                .strip_prefix('/')
                .ok_or("a template starts with `/`")?;
            let parts: Vec<&str> = rest.split('/').collect();
            let mut segments = Vec::with_capacity(parts.len());
            for (index, part) in parts.iter().enumerate() {
                let segment = match part.strip_prefix('{') {
                    None if part.contains(['{', '}']) => {
                        return Err("braces must enclose a whole segment");
                    }
                    None => Segment::Literal((*part).to_owned()),
                    Some(inner) => {
                        let name = inner.strip_suffix('}').ok_or("unclosed `{`")?;
                        let (wildcard, name) = match name.strip_prefix('*') {
                            Some(name) => (true, name),
                            None => (false, name),
                        };
                        if name.is_empty() || name.contains(['{', '}']) {
                            return Err("a `{..}` needs a plain name");
                        }
                        if wildcard && index + 1 != parts.len() {
                            return Err("`{*..}` must be the last segment");
                        }
                        if wildcard {
                            Segment::Rest
                        } else {
                            Segment::Any
                        }
                    }
                };
                segments.push(segment);
            }
            Ok(Route {
                template: template.to_owned(),
                segments,
            })
        }

        fn matches(&self, path: &str) -> bool {
            let Some(path) = path.strip_prefix('/') else {
                return false;
            };
            let mut parts = path.split('/');
            for segment in &self.segments {
                match segment {
                    Segment::Rest => return true,
                    Segment::Any => match parts.next() {
                        Some(part) if !part.is_empty() => {}
                        _ => return false,
                    },
                    Segment::Literal(literal) => {
                        if parts.next() != Some(literal.as_str()) {
                            return false;
                        }
                    }
                }
            }
            parts.next().is_none()
        }
    }

    /// A request of the task running now, recorded once, whatever ends it.
    struct Recording {
        active: ActiveUser,
        method: http::Method,
        url: url::Url,
        name: String,
    }

    impl Recording {
        /// A request of the task running now; `None` outside a stress run.
        fn new(
            middleware: &SwarmMiddleware,
            method: &http::Method,
            url: &url::Url,
            extensions: &Extensions,
        ) -> Option<Recording> {
            let active = ACTIVE.try_with(ActiveUser::clone).ok()?;
            let name = match extensions.get::<StatsName>() {
                Some(name) => name.0.clone(),
                None => middleware.name(url.path()),
            };
            Some(Recording {
                active,
                method: method.clone(),
                url: url.clone(),
                name,
            })
        }

        /// Admits it, armed: dropped before the end (the trial's grace period ran out, or
        /// the caller gave up), it is recorded as cut off, never lost. `None` when the
        /// request limit is met: the runner ends this task when it sees the park (whatever
        /// the team's client would make of an error), unrecorded.
        fn admit(&self) -> Option<InFlight<'_>> {
            let active = &self.active;
            InFlight::admit(
                &active.ctx,
                active.shard,
                &active.parked,
                self.method.as_str(),
                &self.name,
            )
        }

        /// `PT_MAX_BODY`: the most of a body the middleware holds.
        fn max_body(&self) -> usize {
            self.active.ctx.clients.max_body()
        }

        fn sample(&self, micros: u64, content_bytes: u64) -> Sample<'_> {
            Sample {
                kind: self.method.as_str(),
                name: &self.name,
                micros,
                content_bytes,
            }
        }

        /// Hands the request to the request sinks, when any asks.
        fn tap(
            &self,
            started: Instant,
            sample: Sample<'_>,
            status: Option<u16>,
            error: Option<&str>,
        ) {
            if let Some(tap) = &self.active.ctx.requests {
                let tapped = Tapped {
                    kind: sample.kind,
                    name: sample.name,
                    started,
                    micros: sample.micros,
                    bytes: sample.content_bytes,
                    status,
                    error,
                    tags: &[],
                };
                tap.push(self.active.origin, tapped);
            }
        }

        fn fail(&self, started: Instant, micros: u64, message: String, failure: FailureSample) {
            let sample = self.sample(micros, 0);
            self.tap(started, sample, failure.status, Some(&message));
            let recorder = &self.active.ctx.recorder;
            recorder.failure(self.active.shard, sample, message, Some(failure));
        }

        /// The request failed before a response: a transport error.
        fn failed(&self, in_flight: InFlight<'_>, error: &(dyn std::error::Error + 'static)) {
            let started = in_flight.started();
            in_flight.disarm();
            let failure = FailureSample {
                url: Some(crate::user::request::sample_url(&self.url)),
                status: None,
                body: None,
            };
            let micros = elapsed_micros(started);
            self.fail(
                started,
                micros,
                crate::user::request::error_chain(error),
                failure,
            );
        }

        /// Records the response (its body read whole, so the time is to its end) and hands
        /// the body back.
        fn finish<E: std::error::Error + 'static>(
            &self,
            in_flight: InFlight<'_>,
            final_url: &url::Url,
            status: http::StatusCode,
            body: Result<bytes::Bytes, BodyError<E>>,
        ) -> Result<bytes::Bytes, BodyError<E>> {
            let started = in_flight.started();
            in_flight.disarm();
            let micros = elapsed_micros(started);
            let body = match body {
                Ok(body) => body,
                Err(error) => {
                    let failure = FailureSample {
                        url: Some(crate::user::request::sample_url(final_url)),
                        status: Some(status.as_u16()),
                        body: None,
                    };
                    self.fail(started, micros, error.to_string(), failure);
                    return Err(error);
                }
            };
            let size = body.len() as u64;
            let shard = self.active.shard;
            if status.is_client_error() || status.is_server_error() {
                let failure = FailureSample {
                    url: Some(crate::user::request::sample_url(final_url)),
                    status: Some(status.as_u16()),
                    body: Some(crate::user::request::snippet(&body)),
                };
                let (message, sample) = (format!("HTTP {status}"), self.sample(micros, size));
                self.tap(started, sample, Some(status.as_u16()), Some(&message));
                self.active
                    .ctx
                    .recorder
                    .failure(shard, sample, message, Some(failure));
            } else {
                let sample = self.sample(micros, size);
                self.tap(started, sample, Some(status.as_u16()), None);
                self.active.ctx.recorder.success(shard, sample);
            }
            Ok(body)
        }
    }

    /// [`SwarmMiddleware`] as the `Middleware` of one reqwest-middleware version, in a
    /// module of its own.
    macro_rules! middleware_for {
        ($module:ident, $middleware:ident, $reqwest:ident) => {
            mod $module {
                use $reqwest::ResponseBuilderExt as _;

                use super::{BodyError, Extensions, Recording, SwarmMiddleware};

                #[async_trait::async_trait]
                impl $middleware::Middleware for SwarmMiddleware {
                    async fn handle(
                        &self,
                        request: $reqwest::Request,
                        extensions: &mut Extensions,
                        next: $middleware::Next<'_>,
                    ) -> $middleware::Result<$reqwest::Response> {
                        let (method, url) = (request.method(), request.url());
                        let Some(recording) = Recording::new(self, method, url, extensions) else {
                            return next.run(request, extensions).await;
                        };
                        let Some(in_flight) = recording.admit() else {
                            return std::future::pending().await;
                        };
                        let mut response = match next.run(request, extensions).await {
                            Ok(response) => response,
                            Err(error) => {
                                recording.failed(in_flight, &error);
                                return Err(error);
                            }
                        };
                        let max = recording.max_body();
                        let body = read_capped(&mut response, max).await;
                        let (status, url) = (response.status(), response.url().clone());
                        let body = match recording.finish(in_flight, &url, status, body) {
                            Ok(body) => body,
                            // As reqwest itself reports a body that broke off.
                            Err(BodyError::Read(error)) => {
                                return Err($middleware::Error::Reqwest(error));
                            }
                            Err(too_large) => {
                                return Err($middleware::Error::middleware(too_large));
                            }
                        };
                        let mut rebuilt = http::Response::builder()
                            .status(status)
                            .version(response.version())
                            .url(url)
                            .body(body)
                            .map_err($middleware::Error::middleware)?;
                        std::mem::swap(rebuilt.headers_mut(), response.headers_mut());
                        // The peer's address, TLS details: what the team's code may look at.
                        rebuilt
                            .extensions_mut()
                            .extend(std::mem::take(response.extensions_mut()));
                        Ok($reqwest::Response::from(rebuilt))
                    }
                }

                /// The whole body through reqwest's own `chunk` (so a body that breaks off is
                /// reqwest's decode error), never more than `max` bytes (nothing reserved
                /// from what the peer announced).
                async fn read_capped(
                    response: &mut $reqwest::Response,
                    max: usize,
                ) -> Result<bytes::Bytes, BodyError<$reqwest::Error>> {
                    let mut kept = bytes::BytesMut::new();
                    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
                        if kept.len().saturating_add(chunk.len()) > max {
                            return Err(BodyError::TooLarge { max });
                        }
                        kept.extend_from_slice(&chunk);
                    }
                    Ok(kept.freeze())
                }
            }
        };
    }

    #[cfg(feature = "middleware-0-4")]
    middleware_for!(v0_4, reqwest_middleware_0_4, reqwest_0_12);
    #[cfg(feature = "middleware-0-5")]
    middleware_for!(v0_5, reqwest_middleware_0_5, reqwest_0_13);

    /// Why a body could not be read whole.
    #[derive(Debug, thiserror::Error)]
    enum BodyError<E: std::error::Error + 'static> {
        #[error("reading the body: {}", crate::user::request::error_chain(.0))]
        Read(E),
        #[error(
            "the body is larger than PT_MAX_BODY ({max} bytes); raise PT_MAX_BODY to read it \
             through SwarmMiddleware"
        )]
        TooLarge { max: usize },
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use proptest::prelude::*;

        fn named(routes: &[&str], path: &str) -> String {
            routes
                .iter()
                .fold(SwarmMiddleware::new(), |m, route| m.route(route))
                .name(path)
        }

        #[test]
        fn templates_name_matching_paths() {
            let routes = ["/api/apps/{id}", "/api/apps", "/files/{*path}", "/a/{x}/b"];
            assert_eq!(named(&routes, "/api/apps/42"), "/api/apps/{id}");
            assert_eq!(named(&routes, "/api/apps"), "/api/apps");
            assert_eq!(named(&routes, "/files/a/b/c"), "/files/{*path}");
            assert_eq!(named(&routes, "/files/"), "/files/{*path}");
            assert_eq!(named(&routes, "/a/1/b"), "/a/{x}/b");
            // Not matched: other lengths, empty segments, other literals.
            assert_eq!(named(&routes, "/api/apps/"), "/api/apps/");
            assert_eq!(named(&routes, "/api/apps/42/x"), "/api/apps/42/x");
            assert_eq!(named(&routes, "/a//b"), "/a//b");
            assert_eq!(named(&routes, "/a/1/c"), "/a/1/c");
            assert_eq!(named(&[], "/x"), "/x");
        }

        #[test]
        fn malformed_templates_are_refused() {
            for bad in [
                "",
                "api",
                "/a/{",
                "/a/{}",
                "/a/{*}",
                "/a/{*x}/b",
                "/a/x{y}",
                "/a/{b}c",
            ] {
                assert!(Route::parse(bad).is_err(), "{bad:?} accepted");
            }
        }

        proptest! {
            /// A path made from a template, any segment values, always matches it; changing
            /// a literal segment never does.
            #[test]
            fn filled_templates_match(
                literals in prop::collection::vec("[a-z]{1,6}", 1..5),
                values in prop::collection::vec("[A-Za-z0-9._~-]{1,12}", 5),
                holes in prop::collection::vec(any::<bool>(), 5),
            ) {
                let mut template = String::new();
                let mut path = String::new();
                let mut altered = String::new();
                for (index, literal) in literals.iter().enumerate() {
                    if holes[index] {
                        template.push_str(&format!("/{{p{index}}}"));
                        path.push('/');
                        path.push_str(&values[index]);
                        altered.push('/');
                        altered.push_str(&values[index]);
                    } else {
                        template.push('/');
                        template.push_str(literal);
                        path.push('/');
                        path.push_str(literal);
                        altered.push_str("/Z");
                        altered.push_str(literal);
                    }
                }
                let route = Route::parse(&template).unwrap();
                prop_assert!(route.matches(&path), "{} !~ {}", path, template);
                if holes.iter().take(literals.len()).any(|hole| !hole) {
                    prop_assert!(!route.matches(&altered));
                }
            }

            /// Any text as a template or a path: parsing and matching never panic.
            #[test]
            fn hostile_templates_and_paths_never_panic(template in ".{0,40}", path in ".{0,40}") {
                if let Ok(route) = Route::parse(&template) {
                    let _ = route.matches(&path);
                }
            }
        }
    }
}
