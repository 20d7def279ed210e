//! The platform's test scenarios. Each is an ordinary async function that the integration
//! tests call once, and that `#[stress_test]` also registers for the stress target, where a
//! swarm of users runs it for minutes: the same code, two lives.
//!
//! The seed's complaints are answered here: users log in once (`on_start = login`, the cookie
//! jar keeps the session), the organization is a run-scoped fixture built once, and every
//! request is reported on its own as well as every task.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use swarm_harness::{Fixture, SwarmMiddleware, User, UserClient, stress_test};

use crate::api::{ApiClient, ApiError};
use crate::client;
use crate::service::{App, AppStatus, Org, Service};

/// Credentials the scenarios use; the platform's defaults unless `PLATFORM_PASSWORD` or
/// `PLATFORM_ADMIN_TOKEN` say otherwise.
pub struct Credentials {
    pub password: String,
    pub admin_token: String,
}

impl Credentials {
    pub fn from_env() -> Self {
        let defaults = crate::service::PlatformConfig::default();
        Credentials {
            password: std::env::var("PLATFORM_PASSWORD").unwrap_or(defaults.password),
            admin_token: std::env::var("PLATFORM_ADMIN_TOKEN").unwrap_or(defaults.admin_token),
        }
    }
}

/// How long a created app may stay `PROVISIONING` before the wait counts as failed.
pub const PROVISION_TIMEOUT: Duration = Duration::from_secs(10);

/// The run-scoped organization every scenario works in: created once through the admin API,
/// deleted after the last trial.
pub struct TestOrg(pub Org);

impl Fixture for TestOrg {
    async fn setup(user: &mut User) -> Result<Self> {
        let admin_token = Credentials::from_env().admin_token;
        Ok(TestOrg(
            client::create_org(user, &admin_token, "stress-test-org").await?,
        ))
    }

    async fn teardown(&self, user: &mut User) -> Result<()> {
        client::delete_org(user, &Credentials::from_env().admin_token, &self.0.id).await
    }
}

/// The user-scoped start hook: one login per simulated user.
pub async fn login(user: &mut User) -> Result<()> {
    let username = format!("user-{}", user.id());
    client::login(user, &username, &Credentials::from_env().password).await
}

async fn org_id(user: &mut User) -> Result<String> {
    Ok(user.fixture::<TestOrg>().await?.0.id.clone())
}

fn app_name(user: &mut User) -> String {
    format!("app-{}-{:08x}", user.id(), user.rng().u32(..))
}

#[stress_test(
    user = "Browser",
    weight = 3,
    on_start = login,
    wait = between(50ms, 250ms),
    thresholds = ["p95 < 500ms", "fail_ratio < 1%", "GET /api/catalog: p99 < 1s"]
)]
pub async fn browse_catalog(user: &mut User) -> Result<Vec<Service>> {
    let services = client::catalog(user).await?;
    anyhow::ensure!(!services.is_empty(), "the catalog is empty");
    Ok(services)
}

#[stress_test(user = "Browser", weight = 2)]
pub async fn list_apps(user: &mut User) -> Result<Vec<App>> {
    let org = org_id(user).await?;
    client::list_apps(user, &org).await
}

/// Creates a small app and deletes it; returns its id.
#[stress_test(user = "Browser", weight = 1)]
pub async fn delete_app(user: &mut User) -> Result<String> {
    let org = org_id(user).await?;
    let name = app_name(user);
    let id = client::create_app(user, &org, &name, "small").await?.id;
    client::delete_app(user, &id).await?;
    Ok(id)
}

/// Creates an app and polls it in the background (seed 002's pattern), so the user goes on
/// with other tasks; the poll is cancelled when the trial stops instead of leaking.
#[stress_test(user = "Browser", weight = 1)]
pub async fn create_app_in_background(user: &mut User) -> Result<App> {
    let org = org_id(user).await?;
    let name = app_name(user);
    let app = client::create_app(user, &org, &name, "small").await?;
    let poller = user.fork();
    let id = app.id.clone();
    user.spawn(async move {
        let deadline = Instant::now() + PROVISION_TIMEOUT;
        while Instant::now() < deadline {
            match client::get_app(&poller, &id).await {
                Ok(app) if app.status != AppStatus::Provisioning => return,
                _ => poller.sleep(Duration::from_millis(100)).await,
            }
        }
    });
    Ok(app)
}

/// The API at a fixed arrival rate (the open model), whatever its response times: the
/// organizations a tenant sees. It is the open half of the mixed run, so it is left out of
/// the suite's own trials (`ignore`): `PT_RUN_TOGETHER=mix=Browser,api_orgs` with
/// `--include-ignored mix` runs it at the same time as the closed-model `Browser` trial,
/// each with its own report.
#[stress_test(
    ignore,
    arrival_rate = 20,
    max_users = 10,
    on_start = login,
    thresholds = ["p95 < 500ms", "fail_ratio < 1%"]
)]
pub async fn api_orgs(user: &mut User) -> Result<()> {
    user.get("/api/orgs").send().await?.error_for_status()?;
    Ok(())
}

/// Creates an app of the given size; the request succeeds only if the app is `PROVISIONING`.
#[stress_test(
    params = ["small", "large"],
    on_start = login,
    wait = between(100ms, 300ms),
    thresholds = ["p95 < 500ms", "fail_ratio < 1%"]
)]
pub async fn create_app(user: &mut User, size: &str) -> Result<App> {
    let org = org_id(user).await?;
    let name = app_name(user);
    client::create_app(user, &org, &name, size).await
}

/// Creates an app and waits until it is `ACTIVE`, measured as one transaction: a success when
/// it becomes `ACTIVE`, a failure when it goes to `ERROR`, fails to be created or times out.
#[stress_test(
    params = ["small", "large"],
    on_start = login,
    wait = constant(100ms),
    thresholds = ["p95 < 500ms", "fail_ratio < 1%"]
)]
pub async fn create_app_and_wait(user: &mut User, size: &str) -> Result<App> {
    let flow = user.transaction(format!("create {size} app until ACTIVE"));
    let org = org_id(user).await?;
    let name = app_name(user);
    let app = match client::create_app(user, &org, &name, size).await {
        Ok(app) => app,
        Err(error) => return flow.failure(format!("create failed: {error}")),
    };
    let deadline = Instant::now() + PROVISION_TIMEOUT;
    while Instant::now() < deadline {
        let now = client::get_app(user, &app.id).await?;
        match now.status {
            AppStatus::Active => {
                flow.success()?;
                return Ok(now);
            }
            AppStatus::Error => return flow.failure("app went to ERROR"),
            AppStatus::Provisioning => user.sleep(Duration::from_millis(100)).await,
        }
    }
    flow.failure(format!("still PROVISIONING after {PROVISION_TIMEOUT:?}"))
}

/// The fixture, for callers outside a swarm.
pub async fn test_org(user: &mut User) -> Result<Arc<TestOrg>> {
    user.fixture::<TestOrg>().await
}

/// What each user of the `Tenant` trial holds: the team's own [`ApiClient`], logged in once,
/// and the run's organization. Its scenarios take only this, as the team's `#[tokio::test]`s
/// do, and run unchanged in both lives.
pub struct Tenant {
    pub api: ApiClient,
    pub org_id: String,
}

impl UserClient for Tenant {
    /// The client on this user's own reqwest client (its cookie jar keeps the session), with
    /// `SwarmMiddleware` so each call is a row, ids folded into `/api/apps/{id}`.
    async fn build(user: &mut User) -> Result<Self> {
        let org_id = user.fixture::<TestOrg>().await?.0.id.clone();
        let http = reqwest_middleware::ClientBuilder::new(user.reqwest())
            .with(SwarmMiddleware::new().route("/api/apps/{id}"))
            .build();
        let api = ApiClient::new(http, user.url("/")?);
        let username = format!("user-{}", user.id());
        api.login(&username, &Credentials::from_env().password)
            .await?;
        Ok(Tenant { api, org_id })
    }
}

#[stress_test(
    user = "Tenant",
    weight = 3,
    wait = between(50ms, 250ms),
    thresholds = ["p95 < 500ms", "fail_ratio < 1%"]
)]
pub async fn tenant_catalog(tenant: &mut Tenant) -> Result<Vec<Service>, ApiError> {
    tenant.api.catalog().await
}

#[stress_test(user = "Tenant", weight = 2)]
pub async fn tenant_list_apps(tenant: &mut Tenant) -> Result<Vec<App>, ApiError> {
    tenant.api.list_apps(&tenant.org_id).await
}

/// Creates an app, reads it back and deletes it; returns it as read.
#[stress_test(user = "Tenant", weight = 1)]
pub async fn tenant_app_lifecycle(tenant: &mut Tenant) -> Result<App> {
    let name = format!("tenant-app-{:08x}", rand::random::<u32>());
    let created = tenant
        .api
        .create_app(&tenant.org_id, &name, "small")
        .await?;
    anyhow::ensure!(
        created.status == AppStatus::Provisioning,
        "new app has status {:?}",
        created.status
    );
    let read = tenant.api.get_app(&created.id).await?;
    tenant.api.delete_app(&created.id).await?;
    Ok(read)
}
