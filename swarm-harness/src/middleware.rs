//! Recording requests made through a team's `reqwest_middleware::ClientWithMiddleware`
//! (cargo feature `reqwest-middleware`): [`SwarmMiddleware`] records each request into the
//! statistics of the simulated user whose task is running, found through a task-local the
//! runner sets around every task and hook (never a global). Outside a stress run (an ordinary
//! `#[tokio::test]`) there is no task-local: the request passes through untouched and nothing
//! is recorded. Without the feature, `within` is the task itself.

use crate::User;
use crate::entry::ScenarioFuture;

#[cfg(not(feature = "reqwest-middleware"))]
pub(crate) fn within<'a>(
    user: &'a mut User,
    task: impl FnOnce(&'a mut User) -> ScenarioFuture<'a>,
) -> impl std::future::Future<Output = anyhow::Result<()>> + 'a {
    task(user)
}

#[cfg(feature = "reqwest-middleware")]
pub(crate) use recording::within;
#[cfg(feature = "reqwest-middleware")]
pub use recording::{StatsName, SwarmMiddleware};

#[cfg(feature = "reqwest-middleware")]
mod recording {
    use std::sync::Arc;

    use http::Extensions;
    use reqwest::ResponseBuilderExt;
    use reqwest_middleware::{Middleware, Next};
    use tokio_util::sync::CancellationToken;

    use super::{ScenarioFuture, User};
    use crate::request::InFlight;
    use crate::stats::{FailureSample, Sample};
    use crate::user::{TrialContext, elapsed_micros};

    /// The simulated user a task runs as.
    #[derive(Clone)]
    struct ActiveUser {
        ctx: Arc<TrialContext>,
        shard: usize,
        /// The user's park: cancelled when the request limit is met, which ends the task.
        parked: CancellationToken,
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
        };
        ACTIVE.scope(active, task(user))
    }

    /// The name a request is reported under (`/api/apps/{id}`), as a request extension:
    /// `client.get(url).with_extension(StatsName::new("/api/apps/{id}"))`.
    #[derive(Debug, Clone)]
    pub struct StatsName(pub String);

    impl StatsName {
        pub fn new(name: impl Into<String>) -> Self {
            StatsName(name.into())
        }
    }

    /// Records every request of a `ClientWithMiddleware` in a stress run (response time to the
    /// end of the body, status >= 400 a failure, content size as the client sees it (decoded), a request cut off
    /// by the trial's end counted as cut off), named by its [`StatsName`], else by the first
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

    #[async_trait::async_trait]
    impl Middleware for SwarmMiddleware {
        async fn handle(
            &self,
            request: reqwest::Request,
            extensions: &mut Extensions,
            next: Next<'_>,
        ) -> reqwest_middleware::Result<reqwest::Response> {
            let Ok(active) = ACTIVE.try_with(ActiveUser::clone) else {
                return next.run(request, extensions).await;
            };
            let method = request.method().clone();
            let url = request.url().clone();
            let name = match extensions.get::<StatsName>() {
                Some(name) => name.0.clone(),
                None => self.name(url.path()),
            };
            let ctx = &*active.ctx;
            let recorder = &ctx.recorder;
            // Dropped before the end (the trial's grace period ran out, or the caller gave
            // up): recorded as cut off, never lost.
            let Some(in_flight) =
                InFlight::admit(ctx, active.shard, &active.parked, method.as_str(), &name)
            else {
                // The request limit is met: the runner ends this task when it sees the park
                // (whatever the team's client would make of an error), unrecorded.
                return std::future::pending().await;
            };
            let started = in_flight.started();
            let sample = |micros, content_bytes| Sample {
                kind: method.as_str(),
                name: &name,
                micros,
                content_bytes,
            };
            let fail = |micros, message: String, failure: Option<FailureSample>| {
                recorder.failure(active.shard, sample(micros, 0), message, failure);
            };
            let response = match next.run(request, extensions).await {
                Ok(response) => response,
                Err(error) => {
                    in_flight.disarm();
                    let failure = FailureSample {
                        url: Some(crate::request::sample_url(&url)),
                        status: None,
                        body: None,
                    };
                    let message = crate::request::error_chain(&error);
                    fail(elapsed_micros(started), message, Some(failure));
                    return Err(error);
                }
            };
            let (status, version, final_url) = (
                response.status(),
                response.version(),
                response.url().clone(),
            );
            let mut headers = response.headers().clone();
            let body = read_capped(response, ctx.clients.max_body()).await;
            in_flight.disarm();
            let micros = elapsed_micros(started);
            let body = match body {
                Ok(body) => body,
                Err(error) => {
                    let failure = FailureSample {
                        url: Some(crate::request::sample_url(&final_url)),
                        status: Some(status.as_u16()),
                        body: None,
                    };
                    fail(micros, error.to_string(), Some(failure));
                    return Err(match error {
                        // As reqwest itself reports a body that broke off.
                        BodyError::Read(error) => reqwest_middleware::Error::Reqwest(error),
                        too_large => reqwest_middleware::Error::middleware(too_large),
                    });
                }
            };
            let size = body.len() as u64;
            if status.is_client_error() || status.is_server_error() {
                let failure = FailureSample {
                    url: Some(crate::request::sample_url(&final_url)),
                    status: Some(status.as_u16()),
                    body: Some(crate::request::snippet(&body)),
                };
                recorder.failure(
                    active.shard,
                    sample(micros, size),
                    format!("HTTP {status}"),
                    Some(failure),
                );
            } else {
                recorder.success(active.shard, sample(micros, size));
            }
            let mut rebuilt = http::Response::builder()
                .status(status)
                .version(version)
                .url(final_url)
                .body(body)
                .map_err(reqwest_middleware::Error::middleware)?;
            std::mem::swap(rebuilt.headers_mut(), &mut headers);
            Ok(reqwest::Response::from(rebuilt))
        }
    }

    /// Why a body could not be read whole.
    #[derive(Debug, thiserror::Error)]
    enum BodyError {
        #[error("reading the body: {}", crate::request::error_chain(.0))]
        Read(reqwest::Error),
        #[error(
            "the body is larger than PT_MAX_BODY ({max} bytes); raise PT_MAX_BODY to read it \
             through SwarmMiddleware"
        )]
        TooLarge { max: usize },
    }

    /// The whole body, chunk by chunk, never more than `max` bytes (nothing reserved from
    /// what the peer announced).
    async fn read_capped(
        mut response: reqwest::Response,
        max: usize,
    ) -> Result<bytes::Bytes, BodyError> {
        let mut body = bytes::BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len().saturating_add(chunk.len()) > max {
                        return Err(BodyError::TooLarge { max });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body.freeze()),
                Err(error) => return Err(BodyError::Read(error)),
            }
        }
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
