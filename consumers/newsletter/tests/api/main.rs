//! The service's integration tests: one test binary, one module per endpoint.

mod health_check;
mod helpers;
mod subscriptions;
mod subscriptions_confirm;
