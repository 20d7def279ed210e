//! Durations in reports are seconds as floating-point numbers.

use std::time::Duration;

use serde::Serializer;

pub fn seconds<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}
