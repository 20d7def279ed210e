//! Runs the newsletter service, configured from `NEWSLETTER_*` environment variables.

use newsletter::configuration::{Settings, env_or};
use newsletter::db;
use newsletter::startup::run;
use newsletter::telemetry::{get_subscriber, init_subscriber};
use tokio::net::TcpListener;
use tracing::level_filters::LevelFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_subscriber(get_subscriber(
        "newsletter",
        LevelFilter::INFO,
        std::io::stdout,
    ));
    let address = env_or("NEWSLETTER_ADDRESS", "127.0.0.1:8000");
    let settings = Settings::from_env(&address);
    db::migrate(&db::open(&settings.database_path)?)?;
    let listener = TcpListener::bind(&address).await?;
    tracing::info!(%address, "Listening");
    run(listener, settings)?.await?;
    Ok(())
}
