//! POST /subscriptions.

use axum::http::StatusCode;

use crate::helpers::spawn_app;

const VALID_BODY: &str = "name=le%20guin&email=ursula_le_guin%40gmail.com";

#[tokio::test]
async fn subscribe_returns_200_for_valid_form_data() {
    let app = spawn_app().await;

    let response = app.post_subscriptions(VALID_BODY.into()).await;

    assert_eq!(200, response.status().as_u16());
}

#[tokio::test]
async fn subscribe_persists_the_new_subscriber() {
    let app = spawn_app().await;

    app.post_subscriptions(VALID_BODY.into()).await;

    let conn = rusqlite::Connection::open(&app.db_path).unwrap();
    let (email, name, status): (String, String, String) = conn
        .query_row("SELECT email, name, status FROM subscriptions", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .expect("Failed to fetch the saved subscription");
    assert_eq!(email, "ursula_le_guin@gmail.com");
    assert_eq!(name, "le guin");
    assert_eq!(status, "pending_confirmation");
    assert_eq!(app.subscription_rows(), (1, 0));
}

#[tokio::test]
async fn subscribe_sends_a_confirmation_email() {
    let app = spawn_app().await;

    app.post_subscriptions(VALID_BODY.into()).await;

    let deliveries = app.mail.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["to"], "ursula_le_guin@gmail.com");
    let link = app.confirmation_link(&deliveries[0]);
    assert!(link.starts_with(&format!("{}/subscriptions/confirm?", app.address)));
}

#[tokio::test]
async fn subscribe_returns_400_when_data_is_missing() {
    let app = spawn_app().await;
    let test_cases = [
        ("name=le%20guin", "missing the email"),
        ("email=ursula_le_guin%40gmail.com", "missing the name"),
        ("", "missing both name and email"),
        ("name=&email=ursula_le_guin%40gmail.com", "empty name"),
        ("name=Ursula&email=", "empty email"),
        ("name=Ursula&email=definitely-not-an-email", "invalid email"),
    ];

    for (invalid_body, error_message) in test_cases {
        let response = app.post_subscriptions(invalid_body.into()).await;

        assert_eq!(
            400,
            response.status().as_u16(),
            "The API did not fail with 400 Bad Request when the payload was {error_message}."
        );
    }
    assert_eq!(app.subscription_rows(), (0, 0));
    assert_eq!(app.mail.count(), 0);
}

#[tokio::test]
async fn subscribe_fails_with_500_when_the_mail_api_fails() {
    let app = spawn_app().await;
    app.mail.respond_with(StatusCode::INTERNAL_SERVER_ERROR);

    let response = app.post_subscriptions(VALID_BODY.into()).await;

    assert_eq!(500, response.status().as_u16());
    assert_eq!(app.mail.count(), 1);
}
