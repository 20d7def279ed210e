//! The service's HTTP endpoints, one module each.

mod health_check;
mod subscriptions;
mod subscriptions_confirm;

pub use health_check::health_check;
pub use subscriptions::{FormData, SubscribeError, subscribe};
pub use subscriptions_confirm::{ConfirmError, Parameters, confirm};
