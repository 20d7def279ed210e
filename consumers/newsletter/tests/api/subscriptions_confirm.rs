//! GET /subscriptions/confirm.

use crate::helpers::spawn_app;

#[tokio::test]
async fn confirmation_without_token_is_rejected_with_400() {
    let app = spawn_app().await;

    let response = app
        .api_client
        .get(format!("{}/subscriptions/confirm", app.address))
        .send()
        .await
        .unwrap();

    assert_eq!(400, response.status().as_u16());
}

#[tokio::test]
async fn confirmation_with_an_unknown_token_is_rejected_with_401() {
    let app = spawn_app().await;

    let response = app
        .api_client
        .get(format!(
            "{}/subscriptions/confirm?subscription_token=nosuchtoken",
            app.address
        ))
        .send()
        .await
        .unwrap();

    assert_eq!(401, response.status().as_u16());
}

#[tokio::test]
async fn the_link_returned_by_subscribe_confirms_a_subscriber() {
    let app = spawn_app().await;
    let body = "name=le%20guin&email=ursula_le_guin%40gmail.com";
    app.post_subscriptions(body.into()).await;
    let delivery = app.mail.deliveries().pop().expect("No e-mail was sent");
    let link = app.confirmation_link(&delivery);

    let response = app.api_client.get(link).send().await.unwrap();

    assert_eq!(200, response.status().as_u16());
    assert_eq!(app.subscription_rows(), (1, 1));
}
