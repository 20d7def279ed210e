//! A typed client for the platform's API, on a swarm-harness `User`: every call is timed and
//! named the way the report should group it (`/api/apps/{id}` rather than one row per id).

use anyhow::{Context, Result, bail};
use serde_json::json;
use swarm_harness::User;

use crate::service::{App, AppStatus, Org, Service};

/// Logs in with a form; the session cookie stays in the user's cookie jar.
pub async fn login(user: &User, username: &str, password: &str) -> Result<()> {
    user.post("/login")
        .form(&[("username", username), ("password", password)])
        .send()
        .await?
        .error_for_status()
        .context("login failed")?;
    Ok(())
}

pub async fn catalog(user: &User) -> Result<Vec<Service>> {
    Ok(user
        .get("/api/catalog")
        .send()
        .await?
        .error_for_status()?
        .json()?)
}

pub async fn list_apps(user: &User, org_id: &str) -> Result<Vec<App>> {
    Ok(user
        .get("/api/apps")
        .query(&[("org_id", org_id)])
        .send()
        .await?
        .error_for_status()?
        .json()?)
}

/// Creates an app; the request counts as a success only when the platform answers with an app
/// in `PROVISIONING` (Locust's `catch_response` on the JSON status).
pub async fn create_app(user: &User, org_id: &str, name: &str, size: &str) -> Result<App> {
    let response = user
        .post("/api/apps")
        .json(&json!({ "org_id": org_id, "name": name, "size": size }))
        .catch_response()
        .await?;
    if !response.status().is_success() {
        let status = response.status();
        let _ = response.failure(format!("HTTP {status}"));
        bail!("POST /api/apps: HTTP {status}");
    }
    match response.json::<App>() {
        Ok(app) if app.status == AppStatus::Provisioning => {
            let _ = response.success();
            Ok(app)
        }
        Ok(app) => {
            let message = format!("new app has status {:?}, expected PROVISIONING", app.status);
            let _ = response.failure(message.clone());
            bail!(message)
        }
        Err(error) => {
            let _ = response.failure("response is not an app");
            Err(error.into())
        }
    }
}

pub async fn get_app(user: &User, id: &str) -> Result<App> {
    Ok(user
        .get(format!("/api/apps/{id}"))
        .name("/api/apps/{id}")
        .send()
        .await?
        .error_for_status()?
        .json()?)
}

pub async fn delete_app(user: &User, id: &str) -> Result<()> {
    user.delete(format!("/api/apps/{id}"))
        .name("/api/apps/{id}")
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

pub async fn create_org(user: &User, admin_token: &str, name: &str) -> Result<Org> {
    Ok(user
        .post("/api/orgs")
        .header("x-admin-token", admin_token)
        .json(&json!({ "name": name }))
        .send()
        .await?
        .error_for_status()?
        .json()?)
}

pub async fn delete_org(user: &User, admin_token: &str, id: &str) -> Result<()> {
    user.delete(format!("/api/orgs/{id}"))
        .name("/api/orgs/{id}")
        .header("x-admin-token", admin_token)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
