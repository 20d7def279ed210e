//! The platform's integration tests: each calls a scenario function once, as an ordinary
//! `#[tokio::test]`, and asserts its functional result. The stress target runs the very same
//! functions as swarms.

use platform_tests::client;
use platform_tests::scenarios;
use platform_tests::service::AppStatus;
use platform_tests::{PlatformConfig, spawn};
use swarm_harness::User;

async fn logged_in(url: &str) -> User {
    let mut user = User::standalone(url).await;
    scenarios::login(&mut user).await.expect("login works");
    user
}

#[tokio::test]
async fn login_with_a_wrong_password_is_refused() {
    let platform = spawn(PlatformConfig::default()).await;
    let user = User::standalone(platform.url()).await;
    let error = client::login(&user, "someone", "wrong").await.unwrap_err();
    assert!(format!("{error:#}").contains("401"), "{error:#}");
    assert_eq!(platform.counters().logins, 0);
}

#[tokio::test]
async fn the_api_needs_a_session() {
    let platform = spawn(PlatformConfig::default()).await;
    let mut user = User::standalone(platform.url()).await;
    let error = scenarios::browse_catalog(&mut user).await.unwrap_err();
    assert!(format!("{error:#}").contains("401"), "{error:#}");
}

#[tokio::test]
async fn browse_catalog_lists_services() {
    let platform = spawn(PlatformConfig::default()).await;
    let mut user = logged_in(&platform.url()).await;
    let services = scenarios::browse_catalog(&mut user).await.unwrap();
    assert!(services.iter().any(|s| s.name == "postgres"));
    assert_eq!(platform.counters().requests("GET /api/catalog"), 1);
}

#[tokio::test]
async fn create_app_starts_provisioning_in_the_fixture_org() {
    let platform = spawn(PlatformConfig::default()).await;
    let mut user = logged_in(&platform.url()).await;
    let app = scenarios::create_app(&mut user, "large").await.unwrap();
    assert_eq!(app.status, AppStatus::Provisioning);
    assert_eq!(app.size, "large");
    let org = scenarios::test_org(&mut user).await.unwrap();
    assert_eq!(app.org_id, org.0.id);
    let listed = scenarios::list_apps(&mut user).await.unwrap();
    assert_eq!(listed.iter().map(|a| &a.id).collect::<Vec<_>>(), [&app.id]);
    // The fixture was created once, however often it was asked for.
    assert_eq!(platform.counters().orgs_created, 1);
}

#[tokio::test]
async fn create_app_and_wait_ends_active() {
    let platform = spawn(PlatformConfig {
        provision_ms: 50,
        ..PlatformConfig::default()
    })
    .await;
    let mut user = logged_in(&platform.url()).await;
    let app = scenarios::create_app_and_wait(&mut user, "small")
        .await
        .unwrap();
    assert_eq!(app.status, AppStatus::Active);
}

#[tokio::test]
async fn create_app_and_wait_fails_when_the_app_goes_to_error() {
    let platform = spawn(PlatformConfig {
        provision_ms: 20,
        provision_error_rate: 1.0,
        ..PlatformConfig::default()
    })
    .await;
    let mut user = logged_in(&platform.url()).await;
    let error = scenarios::create_app_and_wait(&mut user, "small")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("app went to ERROR"), "{error:#}");
}

#[tokio::test]
async fn delete_app_removes_it() {
    let platform = spawn(PlatformConfig::default()).await;
    let mut user = logged_in(&platform.url()).await;
    let id = scenarios::delete_app(&mut user).await.unwrap();
    let error = client::get_app(&user, &id).await.unwrap_err();
    assert!(format!("{error:#}").contains("404"), "{error:#}");
    let counters = platform.counters();
    assert_eq!((counters.apps_created, counters.apps_deleted), (1, 1));
}

#[tokio::test]
async fn background_creation_returns_at_once() {
    let platform = spawn(PlatformConfig::default()).await;
    let mut user = logged_in(&platform.url()).await;
    let app = scenarios::create_app_in_background(&mut user)
        .await
        .unwrap();
    assert_eq!(app.status, AppStatus::Provisioning);
}

#[tokio::test]
async fn injected_errors_are_counted_by_the_server() {
    let platform = spawn(PlatformConfig {
        error_rates: "GET /api/catalog=1".parse().unwrap(),
        ..PlatformConfig::default()
    })
    .await;
    let mut user = logged_in(&platform.url()).await;
    assert!(scenarios::browse_catalog(&mut user).await.is_err());
    assert_eq!(platform.counters().injected("GET /api/catalog"), 1);
}
