//! `PT_HTTP=reqwest`: the native `User` API over reqwest for what the lean client lacks. An
//! HTTP/2-only TLS server (ALPN `h2`) is reached over reqwest and refused by the lean client
//! with an error naming `PT_HTTP=reqwest`; a gzip response is decompressed, its content size
//! reported as the bytes transferred.

use swarm_harness_test_support as common;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::read_json;
use swarm_harness::reqwest_0_13 as reqwest;
use swarm_harness::{User, stress_test};

const PLAIN: &str = "hello, compressed world! hello, compressed world! hello, compressed world!";

#[stress_test(wait = constant(10ms))]
async fn h2_route(user: &mut User) -> anyhow::Result<()> {
    let response = user.get("/h2").send().await?.error_for_status()?;
    anyhow::ensure!(
        response.text() == "HTTP/2.0",
        "answered {:?}",
        response.text()
    );
    Ok(())
}

/// The same, with the client chosen by the attribute rather than `PT_HTTP`.
#[stress_test(http = "reqwest", wait = constant(10ms))]
async fn h2_by_attribute(user: &mut User) -> anyhow::Result<()> {
    h2_route(user).await
}

#[stress_test(wait = constant(10ms))]
async fn gzip_route(user: &mut User) -> anyhow::Result<()> {
    let response = user.get("/gzip").send().await?.error_for_status()?;
    anyhow::ensure!(response.text() == PLAIN, "body {:?}", response.text());
    Ok(())
}

/// An HTTP/2-only TLS server for `localhost` (ALPN `h2`, hyper's HTTP/2 server) answering
/// with the request's HTTP version; returns its port, the certificate's PEM and its count.
fn h2_server(runtime: &tokio::runtime::Runtime) -> (u16, String, Arc<AtomicU64>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let pem = certified.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(swarm_harness::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicU64::new(0));
    let counted = count.clone();
    runtime.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, counted) = (acceptor.clone(), counted.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let version = format!("{:?}", request.version());
                    async move {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from(version)),
                        ))
                    }
                });
                let _ =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
            });
        }
    });
    (port, pem, count)
}

/// Serves `app` on a loopback port on `runtime`; returns its base URL.
fn serve(runtime: &tokio::runtime::Runtime, app: axum::Router) -> String {
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await });
    url
}

#[test]
fn an_http2_only_target_needs_pt_http_reqwest_and_works_with_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (port, pem, count) = h2_server(&runtime);
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), pem).unwrap();
    let ca = ca.path().display().to_string();
    let url = format!("https://localhost:{port}");
    let args = |http: &'static str| {
        vec![
            "--duration",
            "1s",
            "--num-clients",
            "2",
            "--ca-cert",
            &ca,
            "--http",
            http,
        ]
    };

    let lean = tempfile::tempdir().unwrap();
    assert_ne!(
        common::run("h2_route", &url, lean.path(), &args("lean")),
        ExitCode::SUCCESS
    );
    let report = read_json(lean.path(), "h2_route");
    let error = report["failures"][0]["error"].as_str().unwrap().to_owned();
    assert!(error.contains("PT_HTTP=reqwest"), "{error}");

    let before = count.load(Ordering::SeqCst);
    let reqwest = tempfile::tempdir().unwrap();
    assert_eq!(
        common::run("h2_route", &url, reqwest.path(), &args("reqwest")),
        ExitCode::SUCCESS
    );
    let report = read_json(reqwest.path(), "h2_route");
    let requests = report["requests_total"]["count"].as_u64().unwrap();
    assert!(requests > 10, "{requests}");
    assert_eq!(
        requests,
        count.load(Ordering::SeqCst) - before,
        "the server's own count"
    );
    assert_eq!(report["requests_total"]["failures"], 0);
    assert_eq!(report["config"]["http"], "reqwest");

    // `http = "reqwest"` on the attribute does the same without the variable, and the
    // variable (here the flag) still overrides it.
    let by_attribute = tempfile::tempdir().unwrap();
    let mut attribute_args = args("reqwest");
    attribute_args.truncate(attribute_args.len() - 2);
    assert_eq!(
        common::run(
            "h2_by_attribute",
            &url,
            by_attribute.path(),
            &attribute_args
        ),
        ExitCode::SUCCESS
    );
    let report = read_json(by_attribute.path(), "h2_by_attribute");
    assert_eq!(report["requests_total"]["failures"], 0, "{report}");
    assert_eq!(report["config"]["http"], "reqwest");
    let overridden = tempfile::tempdir().unwrap();
    assert_ne!(
        common::run("h2_by_attribute", &url, overridden.path(), &args("lean")),
        ExitCode::SUCCESS
    );
    let report = read_json(overridden.path(), "h2_by_attribute");
    assert_eq!(report["config"]["http"], "lean");
}

#[test]
fn a_gzip_response_is_decoded_and_counted_as_transferred() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(PLAIN.as_bytes()).unwrap();
    let compressed = encoder.finish().unwrap();
    let size = compressed.len() as u64;
    assert!(size < PLAIN.len() as u64);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = axum::Router::new().route(
        "/gzip",
        axum::routing::get(move || {
            let body = compressed.clone();
            async move { ([("content-encoding", "gzip")], body) }
        }),
    );
    let url = serve(&runtime, app);

    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--duration",
        "1s",
        "--num-clients",
        "2",
        "--http",
        "reqwest",
    ];
    assert_eq!(
        common::run("gzip_route", &url, dir.path(), &args),
        ExitCode::SUCCESS
    );
    let report = read_json(dir.path(), "gzip_route");
    let total = &report["requests_total"];
    assert_eq!(total["failures"], 0, "{report}");
    assert_eq!(
        total["avg_content_bytes"].as_f64(),
        Some(size as f64),
        "bytes transferred"
    );
}

/// A team's own reqwest client: its cookie jar keeps the login, a redirect is counted once
/// under the request's name.
#[stress_test(wait = constant(10ms))]
async fn own_client_route(user: &mut User) -> anyhow::Result<()> {
    let client: reqwest::Client = user.reqwest();
    user.send(client.post(user.url("/login")?))
        .await?
        .error_for_status()?;
    user.send(client.get(user.url("/old")?))
        .name("/old (redirected)")
        .await?
        .error_for_status()?;
    Ok(())
}

#[test]
fn a_users_own_reqwest_client_is_timed_like_native_requests() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let (login, old, me) = (counts.clone(), counts.clone(), counts.clone());
    let app = axum::Router::new()
        .route(
            "/login",
            axum::routing::post(move || {
                login[0].fetch_add(1, Ordering::SeqCst);
                async { ([("set-cookie", "session=s1; Path=/")], "in") }
            }),
        )
        .route(
            "/old",
            axum::routing::get(move || {
                old[1].fetch_add(1, Ordering::SeqCst);
                async { (axum::http::StatusCode::FOUND, [("location", "/me")], "") }
            }),
        )
        .route(
            "/me",
            axum::routing::get(move |headers: axum::http::HeaderMap| {
                me[2].fetch_add(1, Ordering::SeqCst);
                let logged_in = headers
                    .get("cookie")
                    .is_some_and(|c| c.to_str().unwrap_or_default().contains("session=s1"));
                async move {
                    if logged_in {
                        (axum::http::StatusCode::OK, "me")
                    } else {
                        (axum::http::StatusCode::UNAUTHORIZED, "who?")
                    }
                }
            }),
        );
    let url = serve(&runtime, app);

    let dir = tempfile::tempdir().unwrap();
    let args = ["--duration", "1s", "--num-clients", "2"];
    assert_eq!(
        common::run("own_client_route", &url, dir.path(), &args),
        ExitCode::SUCCESS
    );
    let report = read_json(dir.path(), "own_client_route");
    assert_eq!(report["requests_total"]["failures"], 0, "{report}");
    let count = |kind: &str, name: &str| {
        report["requests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == kind && e["name"] == name)
            .map_or(0, |e| e["count"].as_u64().unwrap())
    };
    assert_eq!(count("POST", "/login"), counts[0].load(Ordering::SeqCst));
    let redirected = count("GET", "/old (redirected)");
    assert!(redirected > 5, "{report}");
    assert_eq!(redirected, counts[1].load(Ordering::SeqCst));
    // The redirect's second hop is part of the one request, not a row of its own.
    assert_eq!(counts[2].load(Ordering::SeqCst), redirected);
    assert_eq!(count("GET", "/me"), 0);
}
