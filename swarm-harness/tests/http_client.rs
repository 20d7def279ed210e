//! The HTTP client of a user, against real loopback servers: cookies across redirects, bodies
//! and encodings, chunked responses, closed keep-alive connections and timeouts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, RawQuery};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use swarm_harness::{RequestError, User};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn app() -> Router {
    Router::new()
        .route(
            "/login",
            post(|| async {
                (
                    StatusCode::SEE_OTHER,
                    [
                        (header::SET_COOKIE, "session=abc; Path=/"),
                        (header::LOCATION, "/whoami"),
                    ],
                )
            }),
        )
        .route(
            "/whoami",
            get(|headers: HeaderMap| async move {
                headers
                    .get(header::COOKIE)
                    .map(|c| c.to_str().unwrap().to_owned())
                    .unwrap_or_default()
            }),
        )
        .route(
            "/echo",
            any(
                |method: axum::http::Method,
                 RawQuery(query): RawQuery,
                 headers: HeaderMap,
                 body: String| async move {
                    let get = |name| {
                        headers
                            .get(name)
                            .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
                    };
                    serde_json::json!({
                        "method": method.as_str(),
                        "query": query,
                        "content_type": get(header::CONTENT_TYPE),
                        "authorization": get(header::AUTHORIZATION),
                        "body": body,
                    })
                    .to_string()
                },
            ),
        )
        .route(
            "/chunked",
            get(|| async {
                let parts =
                    ["one ", "two ", "three"].map(|p| Ok::<_, std::io::Error>(p.to_owned()));
                Body::from_stream(futures_util::stream::iter(parts))
            }),
        )
        .route(
            "/close",
            get(|| async { ([(header::CONNECTION, "close")], "closing").into_response() }),
        )
        .route(
            "/sleep",
            get(
                |Query(q): Query<std::collections::HashMap<String, u64>>| async move {
                    tokio::time::sleep(Duration::from_millis(q["ms"])).await;
                    "slept"
                },
            ),
        )
}

#[tokio::test]
async fn cookies_set_on_a_redirect_are_kept_and_sent() {
    let url = serve(app()).await;
    let user = User::standalone(&url).await;
    let response = user
        .post("/login")
        .form(&[("user", "u")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().path(), "/whoami");
    assert_eq!(response.text(), "session=abc");
    // The jar is the user's: a second user has no session.
    let other = User::standalone(&url).await;
    assert_eq!(other.get("/whoami").send().await.unwrap().text(), "");
    assert_eq!(
        user.get("/whoami").send().await.unwrap().text(),
        "session=abc"
    );
}

#[tokio::test]
async fn bodies_queries_and_credentials_are_encoded() {
    let url = serve(app()).await;
    let user = User::standalone(&url).await;
    let echo: serde_json::Value = user
        .put("/echo?a=1")
        .query(&[("b", "two words")])
        .json(&serde_json::json!({ "k": [1, 2] }))
        .basic_auth("ann", Some("secret"))
        .send()
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["query"], "a=1&b=two+words");
    assert_eq!(echo["content_type"], "application/json");
    assert_eq!(echo["body"], r#"{"k":[1,2]}"#);
    assert_eq!(echo["authorization"], "Basic YW5uOnNlY3JldA==");
    let form: serde_json::Value = user
        .post("/echo")
        .form(&[("x", "y&z")])
        .bearer_auth("t0k")
        .send()
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(form["body"], "x=y%26z");
    assert_eq!(form["content_type"], "application/x-www-form-urlencoded");
    assert_eq!(form["authorization"], "Bearer t0k");
}

#[tokio::test]
async fn chunked_and_closing_responses_are_read_whole() {
    let url = serve(app()).await;
    let user = User::standalone(&url).await;
    assert_eq!(
        user.get("/chunked").send().await.unwrap().text(),
        "one two three"
    );
    for _ in 0..3 {
        assert_eq!(user.get("/close").send().await.unwrap().text(), "closing");
    }
    assert_eq!(user.head("/chunked").send().await.unwrap().bytes(), b"");
}

#[tokio::test]
async fn a_timeout_is_a_transport_failure() {
    let url = serve(app()).await;
    let user = User::standalone(&url).await;
    let error = user
        .get("/sleep?ms=500")
        .timeout(Duration::from_millis(50))
        .send()
        .await
        .unwrap_err();
    match error {
        RequestError::Transport { message, .. } => {
            assert!(message.contains("timed out"), "{message}")
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        user.get("/sleep?ms=1").send().await.unwrap().text(),
        "slept"
    );
}

#[tokio::test]
async fn a_keep_alive_connection_closed_by_the_server_is_replaced() {
    // A server that answers one request per connection, says nothing about closing, and
    // closes: the next request finds the idle connection dead and must use a new one.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await;
            drop(socket);
        }
    });
    let user = User::standalone(&url).await;
    for _ in 0..3 {
        assert_eq!(user.get("/").send().await.unwrap().text(), "ok");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let user = User::standalone(format!("http://127.0.0.1:{port}")).await;
    match user.get("/").send().await.unwrap_err() {
        RequestError::Transport { message, .. } => {
            assert!(
                message.contains("tcp connect error") && message.contains("refused"),
                "{message}"
            )
        }
        other => panic!("{other}"),
    }
}
