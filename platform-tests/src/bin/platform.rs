//! Runs the sample platform on its own: `cargo run -p platform-tests --bin platform -- --port 8000`.

use std::net::SocketAddr;

use clap::Parser;
use platform_tests::config::PlatformArgs;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = PlatformArgs::parse();
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    match platform_tests::service::serve(addr, args.into_config()).await {
        Ok(platform) => {
            println!("platform listening on {}", platform.url());
            let _ = tokio::signal::ctrl_c().await;
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: failed to listen on {addr}: {error}");
            std::process::ExitCode::from(2)
        }
    }
}
