//! GET /subscriptions/confirm: the link from the confirmation e-mail lands here.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rusqlite::{Connection, params};
use serde::Deserialize;

use crate::db::StoreError;
use crate::startup::AppState;

/// The link's query; without a token axum's `Query` rejects the request with 400.
#[derive(Deserialize)]
pub struct Parameters {
    pub subscription_token: String,
}

/// Why a confirmation failed, and so which status the client gets.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("no subscriber has this token")]
    UnknownToken,
    #[error("failed to confirm the subscriber")]
    Store(#[source] StoreError),
}

impl IntoResponse for ConfirmError {
    fn into_response(self) -> Response {
        match self {
            Self::UnknownToken => StatusCode::UNAUTHORIZED.into_response(),
            Self::Store(ref e) => {
                tracing::error!(error = %self, cause = %e, "Confirmation failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

#[tracing::instrument(name = "Confirming a pending subscriber", skip_all)]
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    Query(parameters): Query<Parameters>,
) -> Result<StatusCode, ConfirmError> {
    let token = parameters.subscription_token;
    let confirmed = state
        .db
        .call(move |conn| confirm_subscriber(conn, &token))
        .await
        .map_err(ConfirmError::Store)?;
    if confirmed {
        Ok(StatusCode::OK)
    } else {
        Err(ConfirmError::UnknownToken)
    }
}

/// Marks the token's subscriber confirmed; `false` when no subscriber has it. Confirming twice
/// is fine: people click links twice.
fn confirm_subscriber(conn: &mut Connection, token: &str) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "UPDATE subscriptions SET status = 'confirmed' WHERE token = ?1",
        params![token],
    )?;
    Ok(changed > 0)
}
