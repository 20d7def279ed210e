//! Settings of one running instance: the tests build them, `main` reads them from the environment.

use std::path::PathBuf;
use std::time::Duration;

/// Everything `startup::run` needs besides its listener.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The SQLite file; its schema is created beforehand with `db::migrate`.
    pub database_path: PathBuf,
    /// Where this app is reached from outside: confirmation links point here.
    pub base_url: String,
    pub email: EmailSettings,
}

/// The mail API that delivers our e-mails.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// The API's root; e-mails are POSTed to `{base_url}/email`.
    pub base_url: String,
    /// A slow mail API must not hold a subscriber's request for ever.
    pub timeout: Duration,
}

impl Settings {
    /// Reads `NEWSLETTER_*` variables, with defaults for a developer's machine.
    pub fn from_env(address: &str) -> Self {
        Self {
            database_path: env_or("NEWSLETTER_DATABASE_PATH", "newsletter.db").into(),
            base_url: env_or("NEWSLETTER_BASE_URL", &format!("http://{address}")),
            email: EmailSettings {
                base_url: env_or("NEWSLETTER_EMAIL_API", "http://127.0.0.1:8025"),
                timeout: Duration::from_secs(10),
            },
        }
    }
}

/// The variable `name`, or `default` when it is unset or not Unicode.
pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}
