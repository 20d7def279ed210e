//! Run-scoped fixtures: state built once per process, shared by every user of every trial, and
//! torn down when the process ends. Never once per task: that is what the seeds complain about.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt;
use tokio::sync::OnceCell;

use crate::User;
use crate::http::session::ClientFactory;

/// A value set up once per run and shared by all users, such as a tenant or an organization.
///
/// # Examples
/// ```no_run
/// use swarm_harness::{Fixture, User};
///
/// struct Org { id: String }
///
/// impl Fixture for Org {
///     async fn setup(user: &mut User) -> anyhow::Result<Self> {
///         let response = user.post("/api/orgs").send().await?.error_for_status()?;
///         Ok(Org { id: response.json::<serde_json::Value>()?["id"].to_string() })
///     }
/// }
/// ```
pub trait Fixture: Send + Sync + Sized + 'static {
    /// Builds the value. `user` is a session of its own whose requests are not counted in the
    /// trial's statistics.
    fn setup(user: &mut User) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// Releases what `setup` created; runs once, after the last trial.
    fn teardown(&self, user: &mut User) -> impl Future<Output = anyhow::Result<()>> + Send {
        let _ = user;
        async { Ok(()) }
    }
}

type Stored = Arc<dyn Any + Send + Sync>;
type BoxFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;
type Teardown = Box<dyn for<'a> FnOnce(&'a mut User) -> BoxFuture<'a> + Send>;

/// A fixture's teardown, with its name, and the target and HTTP client it was set up with (a
/// trial started from the web UI may have another host than `PT_HOST`, a trial its own
/// `http` option).
struct PendingTeardown {
    name: &'static str,
    base: Option<url::Url>,
    clients: ClientFactory,
    teardown: Teardown,
}

/// The fixtures of one process.
#[derive(Default)]
pub(crate) struct FixtureStore {
    cells: Mutex<HashMap<TypeId, Arc<OnceCell<Stored>>>>,
    teardowns: Mutex<Vec<PendingTeardown>>,
    /// The team's test app (`Harness::embedded_app`), run-scoped like the fixtures.
    pub(crate) app: crate::user::target::AppSlot,
    /// The feeders' rows, run-scoped too: a unique row stays unique across trials.
    pub(crate) feeds: crate::user::feed::FeedStore,
}

impl std::fmt::Debug for FixtureStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixtureStore").finish_non_exhaustive()
    }
}

impl FixtureStore {
    /// Drops every fixture value (after their teardown): one may hold the app, whose drop is
    /// its teardown, or a handle that needs the runtime, which is still there.
    pub(crate) fn clear(&self) {
        let cells = std::mem::take(&mut *self.cells.lock().unwrap_or_else(PoisonError::into_inner));
        drop(cells);
    }

    /// Makes `value` the fixture `T` without setting it up (and so without a teardown): how
    /// `swarm har replay` hands its plan to the replaying users.
    pub(crate) fn preset<T: Fixture>(&self, value: T) {
        let cell = OnceCell::new_with(Some(Arc::new(value) as Stored));
        self.cells
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(TypeId::of::<T>(), Arc::new(cell));
    }

    /// The fixture `T`, set up by the first caller; concurrent callers wait for that setup.
    pub(crate) async fn get<T: Fixture>(
        &self,
        make_user: impl FnOnce() -> User,
    ) -> anyhow::Result<Arc<T>> {
        let cell = self
            .cells
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(TypeId::of::<T>())
            .or_default()
            .clone();
        let value = cell
            .get_or_try_init(|| async {
                let mut user = make_user();
                let (base, clients) = (user.ctx.base.clone(), user.ctx.clients.clone());
                let value = Arc::new(T::setup(&mut user).await.map_err(|error| {
                    error.context(format!(
                        "fixture `{}` failed to set up",
                        std::any::type_name::<T>()
                    ))
                })?);
                let for_teardown = value.clone();
                let teardown: Teardown = Box::new(move |user: &mut User| {
                    Box::pin(async move { for_teardown.teardown(user).await })
                });
                self.teardowns
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(PendingTeardown {
                        name: std::any::type_name::<T>(),
                        base,
                        clients,
                        teardown,
                    });
                anyhow::Ok(value as Stored)
            })
            .await?;
        Ok(value
            .clone()
            .downcast::<T>()
            .expect("fixture cells are keyed by the fixture's type"))
    }

    /// Tears every fixture down, newest first, each with a user for the target and client it
    /// was set up with; returns the errors, each naming its fixture.
    pub(crate) async fn teardown_all(
        &self,
        mut make_user: impl FnMut(Option<url::Url>, ClientFactory) -> User,
    ) -> Vec<String> {
        let teardowns = std::mem::take(
            &mut *self
                .teardowns
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let mut errors = Vec::new();
        for PendingTeardown {
            name,
            base,
            clients,
            teardown,
        } in teardowns.into_iter().rev()
        {
            let mut user = make_user(base, clients);
            // A panicking teardown must not take the run's index and JUnit files with it.
            match AssertUnwindSafe(teardown(&mut user)).catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    errors.push(format!("fixture `{name}` failed to tear down: {error:#}"));
                }
                Err(panic) => errors.push(format!(
                    "fixture `{name}` failed to tear down: {}",
                    crate::stats::panic_message(&*panic)
                )),
            }
        }
        errors
    }
}
