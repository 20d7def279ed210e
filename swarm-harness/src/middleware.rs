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
    use std::time::Instant;

    use http::Extensions;
    use reqwest::ResponseBuilderExt;
    use reqwest_middleware::{Middleware, Next};

    use super::{ScenarioFuture, User};
    use crate::stats::{FailureSample, Sample};
    use crate::user::{TrialContext, elapsed_micros};

    /// The simulated user a task runs as.
    #[derive(Clone)]
    struct ActiveUser {
        ctx: Arc<TrialContext>,
        shard: usize,
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
    /// end of the body, status >= 400 a failure, content size as received), named by its path
    /// or its [`StatsName`]; passes requests through untouched outside one.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct SwarmMiddleware;

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
            let name = extensions
                .get::<StatsName>()
                .map_or_else(|| url.path().to_owned(), |n| n.0.clone());
            let recorder = &active.ctx.recorder;
            if !recorder.reserve_request() {
                active.ctx.stop.cancel();
                return Err(reqwest_middleware::Error::middleware(
                    crate::RequestError::LimitReached,
                ));
            }
            let started = Instant::now();
            let sample = |micros, content_bytes| Sample {
                kind: method.as_str(),
                name: &name,
                micros,
                content_bytes,
            };
            let response = match next.run(request, extensions).await {
                Ok(response) => response,
                Err(error) => {
                    let micros = elapsed_micros(started);
                    let failure = FailureSample {
                        url: Some(crate::request::sample_url(&url)),
                        status: None,
                        body: None,
                    };
                    let message = crate::request::error_chain(&error);
                    recorder.failure(active.shard, sample(micros, 0), message, Some(failure));
                    return Err(error);
                }
            };
            // The body is read here, whole (the caller would read it anyway), so the time is
            // to its end and its size is known; the response is rebuilt around it.
            let (status, version, final_url) = (
                response.status(),
                response.version(),
                response.url().clone(),
            );
            let mut headers = response.headers().clone();
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(error) => {
                    let micros = elapsed_micros(started);
                    let message = crate::request::error_chain(&error);
                    recorder.failure(active.shard, sample(micros, 0), message, None);
                    return Err(error.into());
                }
            };
            let micros = elapsed_micros(started);
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
}
