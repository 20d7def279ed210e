//! The subscriptions store: one SQLite connection, shared by every request.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::Connection;

/// Opens the database file with the settings every connection to it needs.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // Other connections (a test's ground-truth reads, a migration) use the same file: wait for
    // their locks rather than fail at once with SQLITE_BUSY.
    conn.busy_timeout(Duration::from_secs(5))?;
    // WAL lets those readers run beside our writer; `journal_mode` answers with a row, hence
    // the `_and_check` form.
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    // In WAL mode NORMAL loses no committed data on a crash of the app, only on power loss.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Creates the schema; running it again changes nothing.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS subscriptions (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            token TEXT NOT NULL UNIQUE,
            subscribed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
        );",
    )
}

/// Why a database call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("a database call panicked")]
    Panicked(#[from] tokio::task::JoinError),
}

/// The app's connection, cheap to clone into each request.
#[derive(Clone)]
pub struct Database {
    conn: Arc<Mutex<Connection>>,
}

impl Database {
    pub fn new(conn: Connection) -> Self {
        Self {
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    /// Runs `f` on the connection in tokio's blocking pool: SQLite calls block, and under load
    /// they would otherwise stall the runtime's workers. The lock is held for `f` only.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let result = tokio::task::spawn_blocking(move || {
            // A call that panicked left nothing half done (an open transaction rolls back when
            // dropped), so the connection is still good for the next one.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn)
        })
        .await?;
        Ok(result?)
    }
}
