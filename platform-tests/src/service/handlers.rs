//! The platform's HTTP handlers.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Json;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::Deserialize;

use super::PlatformState;
use super::counters::CounterSnapshot;
use super::store::{self, App, Org, Service};

const SESSION_COOKIE: &str = "pt_session";

type Shared = State<Arc<PlatformState>>;

/// An API error: a status and a JSON body `{"error": message}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: &'static str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

fn problem(status: StatusCode, message: &'static str) -> ApiError {
    ApiError { status, message }
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|cookie| {
            cookie
                .trim()
                .strip_prefix(SESSION_COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_owned)
        })
}

/// The logged-in user, or a 401.
fn require_user(state: &PlatformState, headers: &HeaderMap) -> Result<String, ApiError> {
    session_token(headers)
        .and_then(|token| state.store.session_user(&token))
        .ok_or_else(|| problem(StatusCode::UNAUTHORIZED, "log in first"))
}

fn require_admin(state: &PlatformState, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers.get("x-admin-token").and_then(|v| v.to_str().ok());
    if given == Some(state.config.admin_token.as_str()) {
        Ok(())
    } else {
        Err(problem(StatusCode::FORBIDDEN, "admin token required"))
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

pub async fn login(State(state): Shared, Form(form): Form<LoginForm>) -> Response {
    if form.username.is_empty() || form.password != state.config.password {
        return problem(StatusCode::UNAUTHORIZED, "wrong username or password").into_response();
    }
    state.counters.logins.fetch_add(1, Ordering::SeqCst);
    let token = state.store.open_session(&form.username);
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax");
    (
        [(header::SET_COOKIE, cookie)],
        Json(serde_json::json!({ "user": form.username })),
    )
        .into_response()
}

pub async fn logout(State(state): Shared, headers: HeaderMap) -> StatusCode {
    if let Some(token) = session_token(&headers) {
        state.store.close_session(&token);
    }
    StatusCode::NO_CONTENT
}

pub async fn stats(State(state): Shared) -> Json<CounterSnapshot> {
    Json(state.counters.snapshot())
}

pub async fn catalog(
    State(state): Shared,
    headers: HeaderMap,
) -> Result<Json<Vec<Service>>, ApiError> {
    require_user(&state, &headers)?;
    Ok(Json(store::catalog()))
}

#[derive(Deserialize)]
pub struct NewOrg {
    name: String,
}

pub async fn create_org(
    State(state): Shared,
    headers: HeaderMap,
    Json(new): Json<NewOrg>,
) -> Result<(StatusCode, Json<Org>), ApiError> {
    require_admin(&state, &headers)?;
    state.counters.orgs_created.fetch_add(1, Ordering::SeqCst);
    Ok((StatusCode::CREATED, Json(state.store.create_org(&new.name))))
}

pub async fn list_orgs(
    State(state): Shared,
    headers: HeaderMap,
) -> Result<Json<Vec<Org>>, ApiError> {
    require_user(&state, &headers)?;
    Ok(Json(state.store.orgs()))
}

pub async fn delete_org(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(denied) = require_admin(&state, &headers) {
        return denied.into_response();
    }
    if state.store.delete_org(&id) {
        state.counters.orgs_deleted.fetch_add(1, Ordering::SeqCst);
        StatusCode::NO_CONTENT.into_response()
    } else {
        problem(StatusCode::NOT_FOUND, "no such organization").into_response()
    }
}

#[derive(Deserialize)]
pub struct NewApp {
    org_id: String,
    name: String,
    size: String,
}

pub async fn create_app(
    State(state): Shared,
    headers: HeaderMap,
    Json(new): Json<NewApp>,
) -> Result<(StatusCode, Json<App>), ApiError> {
    require_user(&state, &headers)?;
    let scale = match new.size.as_str() {
        "small" => 1,
        "large" => 3,
        _ => {
            return Err(problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "size must be small or large",
            ));
        }
    };
    if !state.store.org_exists(&new.org_id) {
        return Err(problem(StatusCode::NOT_FOUND, "no such organization"));
    }
    let config = &state.config;
    let provision = Duration::from_millis(config.provision_ms * scale);
    let fails = config.provision_error_rate > 0.0
        && rand::rng().random_bool(config.provision_error_rate.min(1.0));
    let app = state
        .store
        .create_app(&new.org_id, &new.name, &new.size, provision, fails);
    state.counters.apps_created.fetch_add(1, Ordering::SeqCst);
    Ok((StatusCode::ACCEPTED, Json(app)))
}

#[derive(Deserialize)]
pub struct AppFilter {
    org_id: Option<String>,
}

pub async fn list_apps(
    State(state): Shared,
    headers: HeaderMap,
    Query(filter): Query<AppFilter>,
) -> Result<Json<Vec<App>>, ApiError> {
    require_user(&state, &headers)?;
    Ok(Json(state.store.apps(filter.org_id.as_deref())))
}

pub async fn get_app(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<App>, ApiError> {
    require_user(&state, &headers)?;
    state
        .store
        .app(&id)
        .map(Json)
        .ok_or_else(|| problem(StatusCode::NOT_FOUND, "no such app"))
}

pub async fn delete_app(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(denied) = require_user(&state, &headers) {
        return denied.into_response();
    }
    if state.store.delete_app(&id) {
        state.counters.apps_deleted.fetch_add(1, Ordering::SeqCst);
        StatusCode::NO_CONTENT.into_response()
    } else {
        problem(StatusCode::NOT_FOUND, "no such app").into_response()
    }
}
