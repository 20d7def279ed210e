//! Scenarios that take the team's own API client instead of `&mut User`: the client type
//! implements [`UserClient`], each simulated user builds it once when it starts (a login, say;
//! recorded as the task `build <Type>`, after `on_start`), and every task of that user
//! borrows it. An existing `#[tokio::test]` body then moves into a scenario unchanged.

use std::future::Future;

use crate::User;
use crate::user::{HookFn, ScenarioFuture};

/// A value each simulated user builds once and every client-typed scenario of that user
/// borrows: the team's typed API client, logged in.
///
/// # Examples
/// ```no_run
/// use swarm_harness::{stress_test, User, UserClient};
///
/// /// The team's client, as its integration tests use it.
/// # use swarm_harness::reqwest_0_13 as reqwest;
/// struct Api { http: reqwest::Client, base: url::Url }
///
/// impl UserClient for Api {
///     async fn build(user: &mut User) -> anyhow::Result<Self> {
///         Ok(Api { http: user.reqwest(), base: user.url("/")? })
///     }
/// }
///
/// #[stress_test]
/// async fn health(api: &mut Api) -> anyhow::Result<()> {
///     api.http.get(api.base.join("/health")?).send().await?.error_for_status()?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
/// Requests of a plain `reqwest::Client` are not timed one by one (the task is); build the
/// client on `reqwest_middleware` with `SwarmMiddleware` (cargo feature `middleware-0-5`, or
/// `middleware-0-4` for reqwest 0.12),
/// or send through [`User::send`], for per-request rows.
pub trait UserClient: Send + Sync + Sized + 'static {
    /// Builds this user's value. `user` is the simulated user (its `reqwest()` client, base
    /// URL, fixtures); the requests made here count in the trial like `on_start`'s. When it
    /// fails, the failure is recorded and the user leaves the swarm, as after a failed
    /// `on_start`.
    fn build(user: &mut User) -> impl Future<Output = anyhow::Result<Self>> + Send;
}

/// How a user builds the client a scenario takes: its row name and the build, run as a hook.
#[derive(Clone, Copy)]
pub struct ClientHook {
    /// The client's type name (`my_crate::api::Api`).
    pub type_name: fn() -> &'static str,
    /// The client's type, which tells two clients apart (names may coincide).
    pub type_id: fn() -> std::any::TypeId,
    /// Builds the client ([`UserClient::build`]) and stores it in the user.
    pub build: HookFn,
}

impl ClientHook {
    /// The task row its build is recorded under: `build Api`.
    pub fn row_name(&self) -> String {
        let full = (self.type_name)();
        // `a::b::Api<c::D>` reads as `Api<c::D>`: the last segment before any generics.
        let head = full.split('<').next().unwrap_or(full);
        let short = head.rsplit("::").next().unwrap_or(head);
        format!("build {short}{}", &full[head.len()..])
    }
}

/// What a `#[stress_test]` function's first argument may be: `&mut User`, or `&mut T` for a
/// [`UserClient`] `T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the argument of a #[stress_test] function",
    label = "take `&mut User`, or implement `swarm_harness::UserClient` for `{Self}`"
)]
pub trait ScenarioArg: Send + 'static {
    /// The build every user runs when it starts, for client types.
    const CLIENT: Option<ClientHook>;

    /// The argument, borrowed from the user for one task.
    fn get(user: &mut User) -> impl Future<Output = anyhow::Result<&mut Self>> + Send;
}

impl ScenarioArg for User {
    const CLIENT: Option<ClientHook> = None;

    async fn get(user: &mut User) -> anyhow::Result<&mut Self> {
        Ok(user)
    }
}

impl<T: UserClient> ScenarioArg for T {
    const CLIENT: Option<ClientHook> = Some(ClientHook {
        type_name: std::any::type_name::<T>,
        type_id: std::any::TypeId::of::<T>,
        build: build::<T>,
    });

    async fn get(user: &mut User) -> anyhow::Result<&mut Self> {
        if user.state::<T>().is_none() {
            // Built at the user's start already, unless the task runs outside the runner's
            // user life (a hand-made `User`).
            build::<T>(user).await?;
        }
        Ok(user
            .state_get_mut::<T>()
            .expect("stored by the build above"))
    }
}

/// Builds `T` into the user's state.
fn build<T: UserClient>(user: &mut User) -> ScenarioFuture<'_> {
    Box::pin(async move {
        let value = T::build(user).await.map_err(|error| {
            error.context(format!(
                "building `{}` for user {} failed",
                std::any::type_name::<T>(),
                user.id()
            ))
        })?;
        user.set_state(value);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(type_name: fn() -> &'static str) -> ClientHook {
        ClientHook {
            type_name,
            type_id: std::any::TypeId::of::<()>,
            build: |_| Box::pin(async { Ok(()) }),
        }
    }

    #[test]
    fn rows_are_named_by_the_short_type_name() {
        assert_eq!(hook(|| "a::b::Api").row_name(), "build Api");
        assert_eq!(hook(|| "Api").row_name(), "build Api");
        assert_eq!(
            hook(|| "a::Api<b::C, d::E>").row_name(),
            "build Api<b::C, d::E>"
        );
    }
}
