//! The platform's settings as flags with `PLATFORM_*` environment twins, shared by the
//! `platform` binary and the embedded server of the stress target.

use clap::Parser;

use crate::service::{ErrorRates, PlatformConfig};

#[derive(Parser, Debug)]
#[command(
    name = "platform",
    about = "The sample platform service of platform-tests."
)]
pub struct PlatformArgs {
    /// Port to listen on (127.0.0.1); 0 picks a free one.
    #[arg(long, default_value_t = 8000, env = "PLATFORM_PORT")]
    pub port: u16,
    /// Latency added to every /api request, in milliseconds.
    #[arg(long, default_value_t = 0, env = "PLATFORM_LATENCY_MS")]
    pub latency_ms: u64,
    /// Injected errors: "METHOD /route=share,…", e.g. "POST /api/apps=0.1".
    #[arg(long, default_value = "", env = "PLATFORM_ERROR_RATE")]
    pub error_rate: ErrorRates,
    /// How long a small app stays PROVISIONING (large: 3x), in milliseconds.
    #[arg(long, default_value_t = 300, env = "PLATFORM_PROVISION_MS")]
    pub provision_ms: u64,
    /// Share of apps that end in ERROR instead of ACTIVE.
    #[arg(long, default_value_t = 0.0, env = "PLATFORM_PROVISION_ERROR_RATE")]
    pub provision_error_rate: f64,
}

impl PlatformArgs {
    /// The settings from `PLATFORM_*` variables alone.
    ///
    /// # Errors
    /// When a variable holds an invalid value; the message names it.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::try_parse_from(["platform"]).map_err(|error| anyhow::anyhow!("{}", error.render()))
    }

    pub fn into_config(self) -> PlatformConfig {
        PlatformConfig {
            latency_ms: self.latency_ms,
            error_rates: self.error_rate,
            provision_ms: self.provision_ms,
            provision_error_rate: self.provision_error_rate.clamp(0.0, 1.0),
            ..PlatformConfig::default()
        }
    }
}
