//! The shape of a team's `tests/api/helpers.rs` (consumers/newsletter has the real one), for
//! the typed-target example of docs/src/own-client.md: `spawn_app()` and the `TestApp` it returns.

/// One running app and what a test needs to drive and check it.
pub struct TestApp {
    /// `http://127.0.0.1:{port}`.
    pub address: String,
    /// The tests' own client.
    pub api_client: reqwest::Client,
}

impl TestApp {
    /// Ground truth from the database: (subscriptions, confirmed ones).
    pub fn subscription_rows(&self) -> (u64, u64) {
        (0, 0)
    }
}

/// Starts the app on a random port with its own database and mail mock.
pub async fn spawn_app() -> TestApp {
    TestApp {
        address: "http://127.0.0.1:8000".to_owned(),
        api_client: reqwest::Client::new(),
    }
}
