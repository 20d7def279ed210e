//! The team's own test app as the run's target: [`Harness::embedded_app`] starts the value its
//! integration tests build (`spawn_app()`: a server, its database, a mail mock) once, when the
//! run starts (never for `--list`), and scenarios, hooks, fixtures and clients reach it typed
//! through [`User::target`], for ground-truth queries against its database, say.
//! [`Harness::on_finish_app`] sees it after the last trial; then it is dropped, its teardown.
//!
//! [`Harness::embedded_app`]: crate::Harness::embedded_app
//! [`Harness::on_finish_app`]: crate::Harness::on_finish_app

use std::any::{Any, TypeId};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use crate::User;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How the target starts: its base URL, and the app value when it is a typed one.
pub(crate) type StartHook = Box<dyn FnOnce() -> BoxFuture<anyhow::Result<Started>>>;

/// A started target.
pub(crate) struct Started {
    pub url: String,
    pub app: Option<App>,
}

/// The app value, with its type's name for errors.
#[derive(Clone)]
pub(crate) struct App {
    value: Arc<dyn Any + Send + Sync>,
    type_name: &'static str,
}

impl App {
    pub(crate) fn new<T: Send + Sync + 'static>(value: T) -> Self {
        App {
            value: Arc::new(value),
            type_name: std::any::type_name::<T>(),
        }
    }

    fn get<T: Send + Sync + 'static>(&self) -> Result<Arc<T>, TargetError> {
        self.value
            .clone()
            .downcast::<T>()
            .map_err(|_| TargetError::OtherType {
                wanted: std::any::type_name::<T>(),
                started: self.type_name,
            })
    }
}

/// The run's app, from its start to its teardown.
#[derive(Default)]
pub(crate) struct AppSlot(Mutex<Option<App>>);

impl std::fmt::Debug for AppSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSlot").finish_non_exhaustive()
    }
}

impl AppSlot {
    pub(crate) fn set(&self, app: App) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(app);
    }

    /// The app, leaving the slot empty: what the end of the run tears down.
    pub(crate) fn take(&self) -> Option<App> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn get<T: Send + Sync + 'static>(&self) -> Result<Arc<T>, TargetError> {
        match &*self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(app) => app.get(),
            None => Err(TargetError::NotStarted {
                wanted: std::any::type_name::<T>(),
            }),
        }
    }
}

/// Why [`User::target`] has no app of the type asked for.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// No app runs: `PT_HOST` sends the load to another server, or the stress target has no
    /// `Harness::embedded_app`.
    #[error(
        "no embedded app of type {wanted} runs in this process: PT_HOST sends the load \
         elsewhere, or the stress target has no Harness::embedded_app"
    )]
    NotStarted {
        /// The type asked for.
        wanted: &'static str,
    },
    /// The app is of another type.
    #[error("the embedded app is a {started}, not a {wanted}")]
    OtherType {
        /// The type asked for.
        wanted: &'static str,
        /// The type `Harness::embedded_app` started.
        started: &'static str,
    },
}

impl User {
    /// The team's test app that [`Harness::embedded_app`](crate::Harness::embedded_app)
    /// started for this run, typed: its database pool for a ground-truth query, its mail
    /// mock, its settings.
    ///
    /// ```no_run
    /// # struct TestApp { address: String }
    /// # async fn f(user: &mut swarm_harness::User) -> anyhow::Result<()> {
    /// let app = user.target::<TestApp>()?;
    /// user.get(format!("{}/health_check", app.address)).send().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// When no app runs (`PT_HOST` was set) or it is of another type.
    pub fn target<T: Send + Sync + 'static>(&self) -> Result<Arc<T>, TargetError> {
        self.ctx.fixtures.app.get()
    }
}

/// Drops the fixtures and the app inside the runtime when the run ends, whichever way it
/// ends (`finish_run`, or an error after the app started: an unreachable Locust master, a web
/// UI that could not be served): an app's drop may spawn or need the runtime's handle.
pub(crate) struct Teardown {
    pub runtime: Arc<tokio::runtime::Runtime>,
    pub fixtures: Arc<crate::user::fixture::FixtureStore>,
}

impl Drop for Teardown {
    fn drop(&mut self) {
        let _inside = self.runtime.enter();
        self.fixtures.clear();
        drop(self.fixtures.app.take());
    }
}

/// What runs after the last trial: `on_finish`, and `on_finish_app` with the app.
#[derive(Default)]
pub(crate) struct Finish {
    pub plain: Option<Box<dyn FnOnce() -> Option<String>>>,
    pub app: Option<FinishApp>,
}

/// `on_finish_app`'s hook and the type it takes.
pub(crate) struct FinishApp {
    pub wanted: (TypeId, &'static str),
    pub run: Box<dyn FnOnce(App) -> BoxFuture<anyhow::Result<Option<String>>>>,
}

impl FinishApp {
    pub(crate) fn new<T, F, Fut>(finish: F) -> Self
    where
        T: Send + Sync + 'static,
        F: FnOnce(Arc<T>) -> Fut + 'static,
        Fut: Future<Output = anyhow::Result<Option<String>>> + Send + 'static,
    {
        FinishApp {
            wanted: (TypeId::of::<T>(), std::any::type_name::<T>()),
            run: Box::new(move |app: App| match app.get::<T>() {
                Ok(value) => Box::pin(finish(value)),
                Err(error) => Box::pin(async move { Err(error.into()) }),
            }),
        }
    }
}
