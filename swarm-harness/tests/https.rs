//! HTTPS targets: a local TLS server with a self-signed certificate is refused with a clear TLS
//! error, and trusted once its certificate is given with `--ca-cert` (`PT_CA_CERT`).

use swarm_harness_test_support as common;

use std::process::ExitCode;
use std::sync::Arc;

use common::read_json;

use swarm_harness::{User, stress_test};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[stress_test(wait = constant(10ms))]
async fn https_route(user: &mut User) -> anyhow::Result<()> {
    user.get("/secure").send().await?;
    Ok(())
}

/// A TLS server for `localhost` answering every request with `ok`; returns its port and the
/// certificate's PEM.
fn tls_server(runtime: &tokio::runtime::Runtime) -> (u16, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let pem = certified.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(swarm_harness::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                loop {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                    while let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        request.drain(..end + 4);
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if tls.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (port, pem)
}

fn run(url: &str, dir: &std::path::Path, extra: &[&str]) -> ExitCode {
    let mut args = vec!["--duration", "1s", "--num-clients", "2"];
    args.extend_from_slice(extra);
    common::run("https_route", url, dir, &args)
}

#[test]
fn a_self_signed_target_is_refused_then_trusted_with_its_certificate() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (port, pem) = tls_server(&runtime);
    let url = format!("https://localhost:{port}");

    let refused = tempfile::tempdir().unwrap();
    assert_ne!(run(&url, refused.path(), &[]), ExitCode::SUCCESS);
    let failure = &read_json(refused.path(), "https_route")["failures"][0];
    let error = failure["error"].as_str().unwrap();
    assert!(
        error.contains("TLS handshake with localhost failed"),
        "{error}"
    );

    let trusted = tempfile::tempdir().unwrap();
    let ca = trusted.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let code = run(&url, trusted.path(), &["--ca-cert", ca.to_str().unwrap()]);
    assert_eq!(code, ExitCode::SUCCESS);
    let total = &read_json(trusted.path(), "https_route")["requests_total"];
    assert!(total["count"].as_u64().unwrap() > 10, "{total}");
    assert_eq!(total["failures"], 0);

    let not_pem = trusted.path().join("not.pem");
    std::fs::write(&not_pem, "no certificate here").unwrap();
    assert_eq!(
        run(
            &url,
            trusted.path(),
            &["--ca-cert", not_pem.to_str().unwrap()]
        ),
        ExitCode::from(2)
    );
}
