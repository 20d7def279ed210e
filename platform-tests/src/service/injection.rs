//! Injected latency and errors, so a demo can show a slow or failing service.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;

use super::PlatformState;
use super::counters::route_key;

/// Error shares per route: `POST /api/apps=0.1,GET /api/catalog=0.05`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorRates(pub BTreeMap<String, f64>);

#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "invalid error rate {given:?}: expected `METHOD /route=share` with a share from 0 to 1, such as \"POST /api/apps=0.1\""
)]
pub struct InjectionError {
    pub given: String,
}

impl FromStr for ErrorRates {
    type Err = InjectionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut rates = BTreeMap::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let error = || InjectionError {
                given: item.to_owned(),
            };
            let (route, share) = item.rsplit_once('=').ok_or_else(error)?;
            let share: f64 = share.trim().parse().map_err(|_| error())?;
            let route = route.trim();
            let valid_route = route
                .split_once(' ')
                .is_some_and(|(_, path)| path.starts_with('/'));
            if !(0.0..=1.0).contains(&share) || !valid_route {
                return Err(error());
            }
            rates.insert(route.to_owned(), share);
        }
        Ok(ErrorRates(rates))
    }
}

/// Middleware: sleeps the configured latency, then answers a share of requests with a 500.
pub async fn inject(
    State(state): State<Arc<PlatformState>>,
    request: Request,
    next: Next,
) -> Response {
    let config = &state.config;
    if config.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(config.latency_ms)).await;
    }
    if !config.error_rates.0.is_empty() {
        let key = route_key(&request);
        if let Some(&share) = config.error_rates.0.get(&key)
            && rand::rng().random_bool(share)
        {
            state.counters.injected(&key);
            return (StatusCode::INTERNAL_SERVER_ERROR, "injected error").into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_routes_and_shares() {
        let rates: ErrorRates = "POST /api/apps=0.1, GET /api/catalog=1".parse().unwrap();
        assert_eq!(rates.0["POST /api/apps"], 0.1);
        assert_eq!(rates.0["GET /api/catalog"], 1.0);
        assert_eq!("".parse::<ErrorRates>().unwrap(), ErrorRates::default());
        for bad in [
            "POST /api/apps",
            "POST /api/apps=2",
            "apps=0.1",
            "POST /x=abc",
        ] {
            assert!(bad.parse::<ErrorRates>().is_err(), "{bad}");
        }
    }
}
