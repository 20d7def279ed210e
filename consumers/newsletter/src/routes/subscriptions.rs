//! POST /subscriptions: stores a pending subscriber and sends the confirmation e-mail.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::distr::Alphanumeric;
use rand::{Rng, rng};
use rusqlite::{Connection, params};
use serde::Deserialize;

use crate::db::StoreError;
use crate::domain::{NewSubscriber, SubscriberEmail, SubscriberName};
use crate::reqwest;
use crate::startup::AppState;

/// The subscription form as browsers post it.
#[derive(Deserialize)]
pub struct FormData {
    pub name: String,
    pub email: String,
}

impl TryFrom<FormData> for NewSubscriber {
    type Error = String;

    fn try_from(form: FormData) -> Result<Self, Self::Error> {
        let name = SubscriberName::parse(form.name)?;
        let email = SubscriberEmail::parse(form.email)?;
        Ok(Self { email, name })
    }
}

/// Why a subscription failed, and so which status the client gets.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("{0}")]
    Validation(String),
    #[error("failed to store the new subscriber")]
    Store(#[source] StoreError),
    #[error("failed to send the confirmation e-mail")]
    SendEmail(#[source] reqwest::Error),
}

impl IntoResponse for SubscribeError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::Store(_) | Self::SendEmail(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        // Only our own failures are worth an operator's attention; bad forms are the client's.
        if status.is_server_error() {
            let cause = std::error::Error::source(&self).map(ToString::to_string);
            tracing::error!(error = %self, cause, "Subscription failed");
        }
        status.into_response()
    }
}

#[tracing::instrument(
    name = "Adding a new subscriber",
    skip_all,
    fields(subscriber_email = tracing::field::Empty)
)]
pub async fn subscribe(
    State(state): State<Arc<AppState>>,
    form: Result<Form<FormData>, FormRejection>,
) -> Result<StatusCode, SubscribeError> {
    // A missing field is the client's mistake like an invalid one: 400, where axum's own
    // rejection would answer 422 (or 415 without a content type).
    let Form(form) = form.map_err(|e| SubscribeError::Validation(e.body_text()))?;
    let subscriber = NewSubscriber::try_from(form).map_err(SubscribeError::Validation)?;
    tracing::Span::current().record("subscriber_email", subscriber.email.as_ref());
    let token = generate_subscription_token();
    let (row, row_token) = (subscriber.clone(), token.clone());
    state
        .db
        .call(move |conn| insert_subscriber(conn, &row, &row_token))
        .await
        .map_err(SubscribeError::Store)?;
    send_confirmation_email(&state, &subscriber, &token)
        .await
        .map_err(SubscribeError::SendEmail)?;
    Ok(StatusCode::OK)
}

/// 25 alphanumerics: about 149 bits, too many to guess, and safe in a URL as they are.
fn generate_subscription_token() -> String {
    rng()
        .sample_iter(&Alphanumeric)
        .map(char::from)
        .take(25)
        .collect()
}

#[tracing::instrument(name = "Saving new subscriber details in the database", skip_all)]
fn insert_subscriber(
    conn: &mut Connection,
    subscriber: &NewSubscriber,
    token: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO subscriptions (email, name, status, token)
         VALUES (?1, ?2, 'pending_confirmation', ?3)",
        params![subscriber.email.as_ref(), subscriber.name.as_ref(), token],
    )?;
    Ok(())
}

#[tracing::instrument(name = "Sending a confirmation e-mail", skip_all)]
async fn send_confirmation_email(
    state: &AppState,
    subscriber: &NewSubscriber,
    token: &str,
) -> Result<(), reqwest::Error> {
    let link = format!(
        "{}/subscriptions/confirm?subscription_token={token}",
        state.base_url
    );
    let html = format!(
        "<p>Welcome to our newsletter, {}!<br />\
         Click <a href=\"{link}\">here</a> to confirm your subscription.</p>",
        subscriber.name.as_ref()
    );
    state
        .email_client
        .send_email(&subscriber.email, "Welcome!", &html)
        .await
}
