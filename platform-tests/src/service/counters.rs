//! What the platform counts about itself: requests per route, logins, organizations, apps and
//! injected errors. Tests compare reports against these numbers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::PlatformState;

#[derive(Debug, Default)]
pub struct Counters {
    requests: Mutex<BTreeMap<String, u64>>,
    /// Requests per Unix second, per route: when each load reached the platform.
    per_second: Mutex<BTreeMap<i64, BTreeMap<String, u64>>>,
    injected_errors: Mutex<BTreeMap<String, u64>>,
    pub logins: AtomicU64,
    pub orgs_created: AtomicU64,
    pub orgs_deleted: AtomicU64,
    pub apps_created: AtomicU64,
    pub apps_deleted: AtomicU64,
}

/// The counters at one moment, as `GET /api/stats` returns them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CounterSnapshot {
    /// Requests per `METHOD /route` (routes with ids as `/api/apps/{id}`).
    pub requests: BTreeMap<String, u64>,
    /// Requests per Unix second (the second a request arrived in), per route.
    #[serde(default)]
    pub per_second: BTreeMap<i64, BTreeMap<String, u64>>,
    /// 500s answered on purpose, per route.
    pub injected_errors: BTreeMap<String, u64>,
    pub logins: u64,
    pub orgs_created: u64,
    pub orgs_deleted: u64,
    pub apps_created: u64,
    pub apps_deleted: u64,
}

impl CounterSnapshot {
    pub fn requests(&self, route: &str) -> u64 {
        self.requests.get(route).copied().unwrap_or(0)
    }

    pub fn injected(&self, route: &str) -> u64 {
        self.injected_errors.get(route).copied().unwrap_or(0)
    }
}

impl Counters {
    pub fn injected(&self, route: &str) {
        *lock(&self.injected_errors)
            .entry(route.to_owned())
            .or_default() += 1;
    }

    pub fn snapshot(&self) -> CounterSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::SeqCst);
        CounterSnapshot {
            requests: lock(&self.requests).clone(),
            per_second: lock(&self.per_second).clone(),
            injected_errors: lock(&self.injected_errors).clone(),
            logins: load(&self.logins),
            orgs_created: load(&self.orgs_created),
            orgs_deleted: load(&self.orgs_deleted),
            apps_created: load(&self.apps_created),
            apps_deleted: load(&self.apps_deleted),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `METHOD /route` of a request, with the route as matched (ids stay `{id}`).
pub fn route_key(request: &Request) -> String {
    let path = request.extensions().get::<MatchedPath>().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    format!("{} {path}", request.method())
}

/// Middleware: counts every routed request.
pub async fn count(
    State(state): State<Arc<PlatformState>>,
    request: Request,
    next: Next,
) -> Response {
    let key = route_key(&request);
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64);
    *lock(&state.counters.per_second)
        .entry(second)
        .or_default()
        .entry(key.clone())
        .or_default() += 1;
    *lock(&state.counters.requests).entry(key).or_default() += 1;
    next.run(request).await
}
