//! The counting server as a process, for the benchmark scripts: `e2e-server PORT`.
//! `GET /timed` sleeps 20 ms and records its own handling time; `GET /timed-stats` returns the
//! server's p50/p99 of those times (and resets them).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        Some(Ok(port)) => port,
        _ => {
            eprintln!("usage: e2e-server PORT");
            return std::process::ExitCode::from(2);
        }
    };
    let server = swarm_harness_e2e::CountingServer::start_on(port).await;
    println!("listening on {}", server.url);
    let _ = tokio::signal::ctrl_c().await;
    std::process::ExitCode::SUCCESS
}
