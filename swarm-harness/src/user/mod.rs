//! `User`: one simulated client with its own HTTP session, typed state, access to run fixtures,
//! and timers that record into the trial's statistics.

pub(crate) mod feed;
pub(crate) mod fixture;
pub(crate) mod flow;
pub(crate) mod metrics;
pub(crate) mod middleware;
pub(crate) mod own_client;
pub(crate) mod request;
pub(crate) mod target;
pub(crate) mod transaction;
pub(crate) mod user_client;
pub(crate) mod watch;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use url::Url;

use crate::http::session::{ClientFactory, Session};
use crate::stats::{Origin, Recorder, RequestTap, Sample, Tapped};
use crate::user::fixture::{Fixture, FixtureStore};
use crate::user::request::{Request, RequestError};
use crate::user::transaction::Transaction;

/// What all users of one trial share.
#[derive(Debug)]
pub(crate) struct TrialContext {
    pub recorder: Arc<Recorder>,
    pub fixtures: Arc<FixtureStore>,
    pub clients: ClientFactory,
    pub base: Option<Url>,
    /// Cancelled when the trial should stop starting tasks.
    pub stop: CancellationToken,
    /// Cancelled when in-flight work must end now (after the stop grace period).
    pub kill: CancellationToken,
    /// Background work started by users; ended with the trial.
    pub background: TaskTracker,
    /// Problems of the runner itself (a panic outside any task): each fails the trial.
    pub errors: std::sync::Mutex<Vec<String>>,
    /// Tasks seen blocking their worker thread.
    pub blocked: crate::user::watch::Blocked,
    /// Set when a request with a query string was recorded under its path alone (the
    /// default name), for the report's warning.
    pub query_dropped: std::sync::atomic::AtomicBool,
    /// What its feeders did (ran out, started over), for the report's warnings.
    pub feeds: crate::user::feed::TrialFeeds,
    /// Where its requests go for the request sinks; `None` when no sink asks, which is all
    /// the hot path then checks.
    pub requests: Option<crate::stats::RequestTap>,
}

impl TrialContext {
    /// Notes a problem that fails the trial.
    pub(crate) fn error(&self, message: String) {
        crate::logging::error!("{message}");
        self.errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(message);
    }
}

impl TrialContext {
    /// A context of its own, for standalone users and fixture set-up: nothing it records is
    /// reported, and nothing stops it.
    pub(crate) fn detached(
        base: Option<Url>,
        clients: ClientFactory,
        fixtures: Arc<FixtureStore>,
    ) -> Arc<Self> {
        Arc::new(TrialContext {
            recorder: Arc::new(Recorder::new(1, None)),
            fixtures,
            clients,
            base,
            stop: CancellationToken::new(),
            kill: CancellationToken::new(),
            background: TaskTracker::new(),
            errors: std::sync::Mutex::default(),
            blocked: Default::default(),
            query_dropped: Default::default(),
            feeds: crate::user::feed::TrialFeeds::detached(),
            requests: None,
        })
    }
}

/// The future of one scenario or hook call.
pub type ScenarioFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// An `on_start` / `on_stop` hook (and a `UserClient`'s build): a call on one user.
pub type HookFn = for<'a> fn(&'a mut User) -> ScenarioFuture<'a>;

/// One simulated user.
///
/// Every user keeps its own cookie jar and connections for its whole life, so a login done in
/// `on_start` holds for every later task of that user.
pub struct User {
    id: usize,
    shard: usize,
    session: Session,
    pub(crate) ctx: Arc<TrialContext>,
    /// Cancelled when this user should stop starting tasks: the trial's stop, or a shape
    /// ramping users down.
    stop: CancellationToken,
    /// Cancelled when `measure` met the request limit: the running task ends there.
    parked: CancellationToken,
    /// This user's own reqwest clients, one per version asked for, built on first use
    /// (`User::reqwest`).
    pub(crate) own_clients: Vec<Box<dyn Any + Send + Sync>>,
    rng: fastrand::Rng,
    state: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
    fixtures: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    /// Iterations this user has started.
    pub(crate) iterations: u64,
    /// When its running task was due to start, when it was scheduled (for the request log).
    pub(crate) intended: Option<Instant>,
    /// Its transactions left unmarked, until their task's end says why.
    pub(crate) abandoned: crate::user::transaction::Abandoned,
    /// The feeders' rows it holds (`User::feed`).
    fed: Vec<crate::user::feed::Held>,
}

impl Drop for User {
    fn drop(&mut self) {
        // Flows left have no task error to name; later ones (moved into background work) are
        // recorded as they drop.
        self.abandoned.close(&self.ctx.recorder, self.shard);
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("base", &self.ctx.base)
            .finish_non_exhaustive()
    }
}

impl User {
    pub(crate) fn new(id: usize, ctx: Arc<TrialContext>, seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        User {
            id,
            shard: id % ctx.recorder.shard_count(),
            session: ctx.clients.session(),
            stop: ctx.stop.child_token(),
            parked: CancellationToken::new(),
            own_clients: Vec::new(),
            ctx,
            rng,
            state: HashMap::new(),
            fixtures: HashMap::new(),
            iterations: 0,
            intended: None,
            abandoned: Default::default(),
            fed: Vec::new(),
        }
    }

    /// A user outside any swarm, for ordinary integration tests: requests are sent and checked
    /// the same way, nothing is reported, fixtures are set up on first use for this user alone.
    ///
    /// # Panics
    /// When `base_url` is not an absolute URL.
    pub async fn standalone(base_url: impl AsRef<str>) -> Self {
        let base = Url::parse(base_url.as_ref())
            .unwrap_or_else(|error| panic!("invalid base URL {:?}: {error}", base_url.as_ref()));
        let ctx = TrialContext::detached(
            Some(base),
            ClientFactory::new(),
            Arc::new(FixtureStore::default()),
        );
        User::new(0, ctx, None)
    }

    /// This user's number within its trial, from 0.
    pub fn id(&self) -> usize {
        self.id
    }

    /// How many iterations (tasks picked by the user loop) this user has started: 1 during its
    /// first task, 0 in `on_start`.
    pub fn iteration(&self) -> u64 {
        self.iterations
    }

    /// A value no other call returns in this run, in any user, trial, shard or worker process:
    /// `{prefix}{process}-{user}-{n}`, such as `user+3f9c1a0b77e2-4-17` for an e-mail that
    /// must not collide with another sign-up (`format!("{}@example.test", user.unique("user+"))`).
    /// `process` is 48 random bits drawn once per process (so shards and Locust workers, which
    /// share a run id, still differ), `n` a sequence of the process.
    pub fn unique(&self, prefix: &str) -> String {
        // Process-wide by nature (like a pid): one tag and one sequence for every user.
        static TAG: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let tag = TAG.get_or_init(|| fastrand::u64(..) & 0xffff_ffff_ffff);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{prefix}{tag:012x}-{}-{n}", self.id)
    }

    /// The target's base URL (`PT_HOST` or the embedded server).
    pub fn base_url(&self) -> Option<&Url> {
        self.ctx.base.as_ref()
    }

    /// The value of this user's cookie `name`, whatever its domain and path (the jar keeps
    /// what every response set, redirects included), such as a CSRF cookie to echo in a header.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let jar = self
            .session
            .cookies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        jar.iter_unexpired()
            .find(|cookie| cookie.name() == name)
            .map(|cookie| cookie.value().to_owned())
    }

    /// The user's HTTP session: its connections and cookie jar.
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// The user's random number generator (seeded from `PT_SEED` when set), a
    /// [`fastrand::Rng`]: `user.rng().u32(..)`, `user.rng().usize(0..n)`, `user.rng().bool()`.
    pub fn rng(&mut self) -> &mut fastrand::Rng {
        &mut self.rng
    }

    /// Whether the trial is stopping; long loops in a task should end when it is.
    pub fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Lets `stop` (a child of the trial's stop) end this user, for shapes that ramp down.
    pub(crate) fn set_stop(&mut self, stop: CancellationToken) {
        self.stop = stop;
    }

    /// The token that stops this user.
    pub(crate) fn stop_token(&self) -> &CancellationToken {
        &self.stop
    }

    /// Cancelled when an operation met the request limit; the runner ends the task then.
    pub(crate) fn parked(&self) -> &CancellationToken {
        &self.parked
    }

    /// Clears a park, so the `on_stop` hook is not cut short by it.
    pub(crate) fn unpark(&mut self) {
        if self.parked.is_cancelled() {
            self.parked = CancellationToken::new();
        }
    }

    /// A timed `GET` request; see [`User::request`].
    pub fn get(&self, url: impl AsRef<str>) -> Request<'_> {
        self.request(Method::GET, url)
    }
    /// A timed `POST` request; see [`User::request`].
    pub fn post(&self, url: impl AsRef<str>) -> Request<'_> {
        self.request(Method::POST, url)
    }
    /// A timed `PUT` request; see [`User::request`].
    pub fn put(&self, url: impl AsRef<str>) -> Request<'_> {
        self.request(Method::PUT, url)
    }
    /// A timed `PATCH` request; see [`User::request`].
    pub fn patch(&self, url: impl AsRef<str>) -> Request<'_> {
        self.request(Method::PATCH, url)
    }
    /// A timed `DELETE` request; see [`User::request`].
    pub fn delete(&self, url: impl AsRef<str>) -> Request<'_> {
        self.request(Method::DELETE, url)
    }
    /// A timed `HEAD` request; see [`User::request`].
    pub fn head(&self, url: impl AsRef<str>) -> Request<'_> {
        self.request(Method::HEAD, url)
    }

    /// A timed request. `url` is a path joined to the base URL, or an absolute URL.
    pub fn request(&self, method: Method, url: impl AsRef<str>) -> Request<'_> {
        Request::new(self, method, url.as_ref())
    }

    pub(crate) fn resolve(&self, url: &str) -> Result<Url, RequestError> {
        let base = match (
            &self.ctx.base,
            url.starts_with('/') && !url.starts_with("//"),
        ) {
            // The common case, a path from the root: set it on a copy of the base instead of
            // parsing the whole URL again (host parsing and IDNA cost microseconds a request).
            (Some(base), true) => {
                let mut resolved = base.clone();
                let (rest, fragment) = match url.split_once('#') {
                    Some((rest, fragment)) => (rest, Some(fragment)),
                    None => (url, None),
                };
                let (path, query) = match rest.split_once('?') {
                    Some((path, query)) => (path, Some(query)),
                    None => (rest, None),
                };
                resolved.set_path(path);
                resolved.set_query(query);
                resolved.set_fragment(fragment);
                return Ok(resolved);
            }
            (Some(base), false) => base,
            (None, _) => {
                return Url::parse(url).map_err(|_| RequestError::NoHost {
                    path: url.to_owned(),
                });
            }
        };
        if let Ok(absolute) = Url::parse(url) {
            return Ok(absolute);
        }
        base.join(url).map_err(|_| RequestError::BadUrl {
            url: url.to_owned(),
        })
    }

    /// The name of a request without `.name()`: its path, prefixed with its origin when it
    /// goes to another origin than the target's, so it is not merged with the target's row.
    /// The query string is left out (ids and search terms in it would make a row per
    /// request); the report says so when it happened (Locust keeps it).
    pub(crate) fn default_name(&self, url: &Url) -> String {
        match &self.ctx.base {
            Some(base)
                if base.scheme() != url.scheme()
                    || base.host() != url.host()
                    || base.port_or_known_default() != url.port_or_known_default() =>
            {
                format!("{}{}", url.origin().ascii_serialization(), url.path())
            }
            _ => {
                // Read before written: a store on every such request would bounce the flag's
                // cache line between the cores of every user.
                let dropped = &self.ctx.query_dropped;
                if url.query().is_some() && !dropped.load(std::sync::atomic::Ordering::Relaxed) {
                    dropped.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                url.path().to_owned()
            }
        }
    }

    pub(crate) fn shard(&self) -> usize {
        self.shard
    }

    /// The trial's request tap and who is sending, when a request sink asks; `None` (the
    /// common case, one check) otherwise.
    #[inline]
    pub(crate) fn request_tap(&self) -> Option<(&RequestTap, Origin)> {
        let tap = self.ctx.requests.as_ref()?;
        let origin = Origin {
            user: self.id,
            iteration: self.iterations,
            intended: self.intended,
        };
        Some((tap, origin))
    }

    /// Measures any operation (a database call, a gRPC request, a message on a queue) into the
    /// same statistics as HTTP requests, under `kind` and `name`. An `Err` is a failure.
    ///
    /// Measured operations count like HTTP requests: in the Aggregated row and towards
    /// `PT_NUM_REQUESTS`. Once that limit is reached the operation is not started and the task
    /// running it ends there (nothing is recorded for it).
    pub async fn measure<T, E, F>(&self, kind: &str, name: &str, operation: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        let Some(guard) = crate::user::request::InFlight::admit(
            &self.ctx,
            self.shard(),
            &self.parked,
            kind,
            name,
        ) else {
            // The runner drops this task as soon as it sees `parked`; there is no `E` to return.
            return std::future::pending().await;
        };
        let started = guard.started();
        let result = operation.await;
        guard.disarm();
        let micros = elapsed_micros(started);
        let sample = Sample {
            kind,
            name,
            micros,
            content_bytes: 0,
        };
        let error = result.as_ref().err().map(ToString::to_string);
        if let Some((tap, origin)) = self.request_tap() {
            let tapped = Tapped {
                kind,
                name,
                started,
                micros,
                bytes: 0,
                status: None,
                error: error.as_deref(),
                tags: &[],
            };
            tap.push(origin, tapped);
        }
        match error {
            None => self.ctx.recorder.success(self.shard, sample),
            Some(error) => self.ctx.recorder.failure(self.shard, sample, error, None),
        }
        result
    }

    /// Starts a timer for a multi-step flow, recorded as kind `transaction` when it is marked
    /// [`success`](Transaction::success) or [`failure`](Transaction::failure) (or dropped
    /// unmarked, which counts as a failure).
    pub fn transaction(&self, name: impl Into<String>) -> Transaction {
        Transaction::start(self, name.into())
    }

    /// The run-scoped fixture `T`, set up by whichever user asks first and shared by all.
    ///
    /// # Errors
    /// When `T::setup` fails; the next call tries again.
    pub async fn fixture<T: Fixture>(&mut self) -> anyhow::Result<Arc<T>> {
        if let Some(cached) = self.fixtures.get(&TypeId::of::<T>()) {
            return Ok(cached.clone().downcast::<T>().expect("keyed by type"));
        }
        let ctx = &self.ctx;
        let value = ctx
            .fixtures
            .get::<T>(|| {
                let detached = TrialContext::detached(
                    ctx.base.clone(),
                    ctx.clients.clone(),
                    ctx.fixtures.clone(),
                );
                User::new(usize::MAX, detached, None)
            })
            .await?;
        self.fixtures.insert(TypeId::of::<T>(), value.clone());
        Ok(value)
    }

    /// This user's state of type `T`, if set.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.state.get(&TypeId::of::<T>())?.downcast_ref()
    }

    /// This user's state of type `T`, created with `Default` on first use.
    pub fn state_mut<T: Default + Send + Sync + 'static>(&mut self) -> &mut T {
        self.state
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut()
            .expect("keyed by type")
    }

    /// This user's state of type `T`, if set, to change.
    pub(crate) fn state_get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        self.state.get_mut(&TypeId::of::<T>())?.downcast_mut()
    }

    /// Sets this user's state of type `T`, returning the previous value.
    pub fn set_state<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        self.state
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast().ok().map(|boxed| *boxed))
    }

    /// Sleeps inside a task (a poll interval, say). When the trial stops, the task gets the
    /// stop grace period to finish and is then cancelled, sleep included.
    pub async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await
    }

    /// The wait between tasks: ends early when the trial stops.
    pub(crate) async fn wait_or_stop(&self, duration: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(duration) => {}
            _ = self.stop.cancelled() => {}
        }
    }

    /// [`User::sleep`] for `millis` milliseconds.
    pub async fn sleep_ms(&self, millis: u64) {
        self.sleep(Duration::from_millis(millis)).await
    }

    /// Runs `work` in the background (seed 002's pattern of polling without blocking the user),
    /// cancelled when the trial ends instead of leaking past it.
    pub fn spawn<F>(&self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let kill = self.ctx.kill.clone();
        self.ctx.background.spawn(async move {
            tokio::select! {
                _ = work => {}
                _ = kill.cancelled() => {}
            }
        });
    }

    /// A handle for background work ([`User::spawn`]): the same session (cookies and
    /// connections), base URL, fixtures and statistics; its own state and random numbers.
    pub fn fork(&self) -> User {
        let mut forked = User::new(self.id, self.ctx.clone(), None);
        forked.session = self.session.clone();
        // The same rows too: background work of a per-user feeder's user is that user.
        forked.fed = self.fed.clone();
        forked.iterations = self.iterations;
        forked.intended = self.intended;
        // Background work has no task end to settle its flows with: they record as they drop.
        forked.abandoned = crate::user::transaction::Abandoned::closed();
        forked
    }
}

pub(crate) fn elapsed_micros(started: Instant) -> u64 {
    started.elapsed().as_micros().min(u128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unique_values_never_repeat_across_users() {
        let (a, b) = (
            User::standalone("http://h:1/").await,
            User::standalone("http://h:1/").await,
        );
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            assert!(seen.insert(a.unique("u+")));
            assert!(seen.insert(b.unique("u+")));
        }
        let one = a.unique("user+");
        assert!(
            one.starts_with("user+") && one.split('-').count() == 3,
            "{one}"
        );
        assert_eq!(a.iteration(), 0);
    }

    #[tokio::test]
    async fn urls_resolve_against_the_base() {
        let user = User::standalone("http://h:1/api/").await;
        let resolve = |url: &str| user.resolve(url).unwrap().to_string();
        assert_eq!(resolve("/x?y=1#f"), "http://h:1/x?y=1#f");
        assert_eq!(resolve("/a b"), "http://h:1/a%20b");
        assert_eq!(resolve("rel"), "http://h:1/api/rel");
        assert_eq!(resolve("https://other/z"), "https://other/z");
        assert_eq!(resolve("//other/p"), "http://other/p");
        let fork = user.fork();
        assert_eq!(fork.resolve("/q").unwrap().as_str(), "http://h:1/q");
    }

    #[test]
    fn without_a_base_only_absolute_urls_resolve() {
        let ctx = TrialContext::detached(None, ClientFactory::new(), Arc::default());
        let user = User::new(0, ctx, Some(1));
        assert!(matches!(
            user.resolve("/x"),
            Err(RequestError::NoHost { .. })
        ));
        assert_eq!(user.resolve("http://a/b").unwrap().as_str(), "http://a/b");
    }
}
