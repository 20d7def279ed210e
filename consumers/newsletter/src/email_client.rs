//! The client of the mail API that delivers our e-mails.

use serde::Serialize;

use crate::configuration::EmailSettings;
use crate::domain::SubscriberEmail;
use crate::reqwest;

/// Sends e-mails through the mail API; clones share one connection pool.
#[derive(Clone)]
pub struct EmailClient {
    http: reqwest::Client,
    endpoint: String,
}

/// The mail API's request body.
#[derive(Serialize)]
struct SendEmailRequest<'a> {
    to: &'a str,
    subject: &'a str,
    html: &'a str,
}

impl EmailClient {
    pub fn new(settings: &EmailSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()?;
        let endpoint = format!("{}/email", settings.base_url.trim_end_matches('/'));
        Ok(Self { http, endpoint })
    }

    /// Hands one e-mail to the API; any answer but a 2xx is an error.
    pub async fn send_email(
        &self,
        to: &SubscriberEmail,
        subject: &str,
        html: &str,
    ) -> Result<(), reqwest::Error> {
        let body = SendEmailRequest {
            to: to.as_ref(),
            subject,
            html,
        };
        self.http
            .post(&self.endpoint)
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}
