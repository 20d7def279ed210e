//! GET /health_check: answers 200 while the server accepts requests.

use axum::http::StatusCode;

pub async fn health_check() -> StatusCode {
    StatusCode::OK
}
