//! Spawns the app on a random port with its own database and mail API mock, for each test.
//!
//! Self-contained (no `crate::` paths), so another test target can include it with `#[path]`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use newsletter::configuration::{EmailSettings, Settings};
use newsletter::reqwest;
use newsletter::telemetry::{get_subscriber, init_subscriber};
use newsletter::{db, startup};
use serde_json::Value;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tracing::level_filters::LevelFilter;

// Tests share a process, and its global logger and subscriber can be set only once.
static TRACING: LazyLock<()> = LazyLock::new(|| {
    let (name, level) = ("newsletter", LevelFilter::DEBUG);
    // The two sinks are different types, hence a call in each branch.
    if std::env::var_os("TEST_LOG").is_some() {
        init_subscriber(get_subscriber(name, level, std::io::stdout));
    } else {
        init_subscriber(get_subscriber(name, level, std::io::sink));
    }
});

/// One running app and what a test needs to drive and check it.
pub struct TestApp {
    /// `http://127.0.0.1:{port}`, without a trailing slash.
    pub address: String,
    pub port: u16,
    pub db_path: PathBuf,
    pub mail: MailMock,
    pub api_client: reqwest::Client,
    // Removes the database's directory when the app is dropped.
    _db_dir: TempDir,
}

pub async fn spawn_app() -> TestApp {
    LazyLock::force(&TRACING);
    let mail = MailMock::start().await;
    let db_dir = tempfile::tempdir().expect("Failed to create a temporary directory");
    let db_path = db_dir.path().join("newsletter.db");
    let conn = db::open(&db_path).expect("Failed to create the database");
    db::migrate(&conn).expect("Failed to create the schema");
    drop(conn);

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("Failed to bind a random port");
    let port = listener.local_addr().unwrap().port();
    let address = format!("http://127.0.0.1:{port}");
    let settings = Settings {
        database_path: db_path.clone(),
        base_url: address.clone(),
        email: EmailSettings {
            base_url: mail.uri.clone(),
            timeout: Duration::from_secs(5),
        },
    };
    let server = startup::run(listener, settings).expect("Failed to build the application");
    tokio::spawn(server.into_future());

    let api_client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    TestApp {
        address,
        port,
        db_path,
        mail,
        api_client,
        _db_dir: db_dir,
    }
}

impl TestApp {
    /// POSTs `body`, already form-encoded, as the subscription form.
    pub async fn post_subscriptions(&self, body: String) -> reqwest::Response {
        self.api_client
            .post(format!("{}/subscriptions", self.address))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("Failed to execute request.")
    }

    /// The confirmation link in one e-mail the mail API received.
    pub fn confirmation_link(&self, delivery: &Value) -> String {
        let html = delivery["html"]
            .as_str()
            .expect("The e-mail has no html body");
        let start = html.find("href=\"").expect("The e-mail has no link") + "href=\"".len();
        let end = start + html[start..].find('"').expect("The link is not closed");
        let mut link = reqwest::Url::parse(&html[start..end]).expect("The link is no URL");
        // Following a link must never take a test to a host on the internet.
        assert_eq!(link.host_str(), Some("127.0.0.1"));
        link.set_port(Some(self.port)).unwrap();
        link.to_string()
    }

    /// Ground truth from the database: (subscriptions, confirmed ones).
    pub fn subscription_rows(&self) -> (u64, u64) {
        let conn = db::open(&self.db_path).expect("Failed to open the database");
        let (total, confirmed): (i64, i64) = conn
            .query_row(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'confirmed') FROM subscriptions",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .expect("Failed to count the subscriptions");
        (total as u64, confirmed as u64)
    }
}

/// The team's stand-in for the mail API: records every POST /email body and answers with the
/// status it was told (200 unless told otherwise).
#[derive(Clone)]
pub struct MailMock {
    /// The mock's root, the app's mail API base URL.
    pub uri: String,
    state: Arc<MailState>,
}

struct MailState {
    deliveries: Mutex<Vec<Value>>,
    status: AtomicU16,
}

impl MailMock {
    pub async fn start() -> Self {
        let state = Arc::new(MailState {
            deliveries: Mutex::new(Vec::new()),
            status: AtomicU16::new(200),
        });
        let app = axum::Router::new()
            .route("/email", post(record_email))
            .with_state(Arc::clone(&state));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("Failed to bind the mail mock");
        let uri = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(axum::serve(listener, app).into_future());
        Self { uri, state }
    }

    /// Every e-mail body received so far, in order of arrival.
    pub fn deliveries(&self) -> Vec<Value> {
        self.state.deliveries.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.state.deliveries.lock().unwrap().len()
    }

    /// Answers every later e-mail with `status`, to play a failing mail API.
    pub fn respond_with(&self, status: StatusCode) {
        self.state.status.store(status.as_u16(), Ordering::Relaxed);
    }
}

async fn record_email(State(state): State<Arc<MailState>>, Json(body): Json<Value>) -> StatusCode {
    state.deliveries.lock().unwrap().push(body);
    StatusCode::from_u16(state.status.load(Ordering::Relaxed)).unwrap()
}
