//! The team's own typed client (`api::ApiClient`, on `reqwest_middleware`) in ordinary
//! `#[tokio::test]`s: the `Tenant` scenarios are called once, as the stress target calls them
//! in a swarm, and the platform's own counters say what happened.

use platform_tests::api::{ApiClient, ApiError};
use platform_tests::scenarios::{self, Tenant};
use platform_tests::service::AppStatus;
use platform_tests::{Platform, PlatformConfig, spawn};
use swarm_harness::{User, UserClient};

async fn tenant(platform: &Platform) -> Tenant {
    let defaults = PlatformConfig::default();
    let api = ApiClient::connect(&platform.url()).unwrap();
    let org = api
        .create_org(&defaults.admin_token, "test-org")
        .await
        .unwrap();
    api.login("alice", &defaults.password).await.unwrap();
    Tenant {
        api,
        org_id: org.id,
    }
}

#[tokio::test]
async fn a_wrong_password_is_an_api_error_with_the_status() {
    let platform = spawn(PlatformConfig::default()).await;
    let api = ApiClient::connect(&platform.url()).unwrap();
    let error = api.login("alice", "wrong").await.unwrap_err();
    assert!(
        matches!(&error, ApiError::Status { status, path, .. }
            if status.as_u16() == 401 && path == "/login"),
        "{error}"
    );
    assert_eq!(platform.counters().logins, 0);
}

#[tokio::test]
async fn the_catalog_needs_a_session() {
    let platform = spawn(PlatformConfig::default()).await;
    let api = ApiClient::connect(&platform.url()).unwrap();
    let error = api.catalog().await.unwrap_err();
    assert!(
        matches!(&error, ApiError::Status { status, .. } if status.as_u16() == 401),
        "{error}"
    );
}

#[tokio::test]
async fn tenant_scenarios_browse_and_list() {
    let platform = spawn(PlatformConfig::default()).await;
    let mut tenant = tenant(&platform).await;
    let services = scenarios::tenant_catalog(&mut tenant).await.unwrap();
    assert!(services.iter().any(|s| s.name == "postgres"));
    assert!(
        scenarios::tenant_list_apps(&mut tenant)
            .await
            .unwrap()
            .is_empty()
    );
    let counters = tenant.api.stats().await.unwrap();
    assert_eq!(counters.requests("GET /api/catalog"), 1);
    assert_eq!(counters.requests("GET /api/apps"), 1);
    assert_eq!(counters.logins, 1);
}

#[tokio::test]
async fn the_app_lifecycle_creates_reads_and_deletes() {
    let platform = spawn(PlatformConfig::default()).await;
    let mut tenant = tenant(&platform).await;
    let app = scenarios::tenant_app_lifecycle(&mut tenant).await.unwrap();
    assert_eq!(app.status, AppStatus::Provisioning);
    assert_eq!(app.org_id, tenant.org_id);
    let error = tenant.api.get_app(&app.id).await.unwrap_err();
    assert!(
        matches!(&error, ApiError::Status { status, .. } if status.as_u16() == 404),
        "deleted: {error}"
    );
    let counters = platform.counters();
    assert_eq!((counters.apps_created, counters.apps_deleted), (1, 1));
    assert_eq!(counters.requests("GET /api/apps/{id}"), 2);
}

/// Built the way the stress target builds it (on a `User`, with `SwarmMiddleware`), outside
/// a swarm: the middleware passes everything through and the client works the same.
#[tokio::test]
async fn the_stress_build_works_outside_a_swarm() {
    let platform = spawn(PlatformConfig::default()).await;
    let mut user = User::standalone(platform.url()).await;
    let mut tenant = Tenant::build(&mut user).await.unwrap();
    scenarios::tenant_app_lifecycle(&mut tenant).await.unwrap();
    let counters = platform.counters();
    assert_eq!(counters.logins, 1);
    assert_eq!(counters.orgs_created, 1, "the fixture org");
    assert_eq!(counters.apps_deleted, 1);
}
