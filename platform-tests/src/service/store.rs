//! The platform's data: sessions, organizations and applications behind locks that concurrent
//! users really contend on, as they would on a real service's database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Org {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppStatus {
    Provisioning,
    Active,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct App {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub size: String,
    pub status: AppStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Service {
    pub name: String,
    pub description: String,
    pub plans: Vec<String>,
}

/// An app as stored: its outcome is decided at creation and revealed when provisioning ends.
#[derive(Debug, Clone)]
struct StoredApp {
    app: App,
    ready_at: Instant,
    fails: bool,
}

#[derive(Debug, Default)]
pub struct Store {
    next_id: AtomicU64,
    sessions: RwLock<HashMap<String, String>>,
    orgs: RwLock<HashMap<String, Org>>,
    apps: RwLock<HashMap<String, StoredApp>>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    fn id(&self, prefix: &str) -> String {
        format!(
            "{prefix}-{}",
            self.next_id.fetch_add(1, Ordering::Relaxed) + 1
        )
    }

    pub fn open_session(&self, username: &str) -> String {
        let token = format!("{:032x}", rand::random::<u128>());
        write(&self.sessions).insert(token.clone(), username.to_owned());
        token
    }

    pub fn session_user(&self, token: &str) -> Option<String> {
        read(&self.sessions).get(token).cloned()
    }

    pub fn close_session(&self, token: &str) {
        write(&self.sessions).remove(token);
    }

    pub fn create_org(&self, name: &str) -> Org {
        let org = Org {
            id: self.id("org"),
            name: name.to_owned(),
        };
        write(&self.orgs).insert(org.id.clone(), org.clone());
        org
    }

    pub fn orgs(&self) -> Vec<Org> {
        let mut orgs: Vec<Org> = read(&self.orgs).values().cloned().collect();
        orgs.sort_by(|a, b| a.id.cmp(&b.id));
        orgs
    }

    pub fn org_exists(&self, id: &str) -> bool {
        read(&self.orgs).contains_key(id)
    }

    /// Removes the org and its apps; `false` when it did not exist.
    pub fn delete_org(&self, id: &str) -> bool {
        let existed = write(&self.orgs).remove(id).is_some();
        write(&self.apps).retain(|_, stored| stored.app.org_id != id);
        existed
    }

    pub fn create_app(
        &self,
        org_id: &str,
        name: &str,
        size: &str,
        provision: Duration,
        fails: bool,
    ) -> App {
        let app = App {
            id: self.id("app"),
            org_id: org_id.to_owned(),
            name: name.to_owned(),
            size: size.to_owned(),
            status: AppStatus::Provisioning,
        };
        let stored = StoredApp {
            app: app.clone(),
            ready_at: Instant::now() + provision,
            fails,
        };
        write(&self.apps).insert(app.id.clone(), stored);
        app
    }

    fn current(stored: &StoredApp) -> App {
        let mut app = stored.app.clone();
        if Instant::now() >= stored.ready_at {
            app.status = if stored.fails {
                AppStatus::Error
            } else {
                AppStatus::Active
            };
        }
        app
    }

    pub fn app(&self, id: &str) -> Option<App> {
        read(&self.apps).get(id).map(Self::current)
    }

    pub fn apps(&self, org_id: Option<&str>) -> Vec<App> {
        let mut apps: Vec<App> = read(&self.apps)
            .values()
            .filter(|stored| org_id.is_none_or(|org| stored.app.org_id == org))
            .map(Self::current)
            .collect();
        apps.sort_by(|a, b| a.id.cmp(&b.id));
        apps
    }

    pub fn delete_app(&self, id: &str) -> bool {
        write(&self.apps).remove(id).is_some()
    }
}

/// The service catalog.
pub fn catalog() -> Vec<Service> {
    [
        (
            "postgres",
            "Relational database",
            &["small", "large", "ha"][..],
        ),
        ("redis", "In-memory key-value store", &["small", "large"]),
        ("kafka", "Event streaming", &["shared", "dedicated"]),
        ("rabbitmq", "Message broker", &["small", "large"]),
        ("elasticsearch", "Search engine", &["small", "large"]),
        ("object-store", "S3-compatible storage", &["standard"]),
        ("mongodb", "Document database", &["small", "large"]),
        ("grafana", "Dashboards", &["free"]),
    ]
    .into_iter()
    .map(|(name, description, plans)| Service {
        name: name.to_owned(),
        description: description.to_owned(),
        plans: plans.iter().map(|p| (*p).to_owned()).collect(),
    })
    .collect()
}
