//! Binding the web UI's port from the settings, before any load is sent.

use super::{Bound, DEFAULT_MAX_CONNECTIONS, DEFAULT_PORT, DEFAULT_TIMEOUT, WebConfig, WebError};
use crate::settings::Overrides;

/// Binds the web UI's port, before any load: a taken port is a usage error when it was asked
/// for (`PT_LOCUST_PORT`); Locust's default 8089 taken (another run, a Locust) gives way to a
/// free port, printed with the UI's address. A Locust worker serves no UI unless `PT_WEB=on` or
/// `PT_LOCUST_PORT` asks for one: its master is the UI, and workers side by side would fight
/// over the port.
pub(crate) fn bind(overrides: &Overrides) -> Result<Option<Bound>, String> {
    // A worker asked for a port (`PT_LOCUST_PORT`) is asked for the UI too.
    let wanted = overrides.locust_master.is_none() || overrides.web_port.is_some();
    if !overrides.web.unwrap_or(wanted) {
        return Ok(None);
    }
    let config = |port| WebConfig {
        host: overrides
            .web_host
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
        port,
        token: overrides.web_token.clone(),
        timeout: overrides.web_timeout.unwrap_or(DEFAULT_TIMEOUT),
        max_connections: overrides
            .web_max_connections
            .unwrap_or(DEFAULT_MAX_CONNECTIONS),
    };
    let port = overrides.web_port.unwrap_or(DEFAULT_PORT);
    match Bound::bind(config(port)) {
        Err(WebError::Bind { source, .. })
            if overrides.web_port.is_none() && source.kind() == std::io::ErrorKind::AddrInUse =>
        {
            let bound = Bound::bind(config(0)).map_err(|e| e.to_string())?;
            eprintln!(
                "note: port {port} is taken; the web UI is at {} instead (set PT_LOCUST_PORT \
                 to choose one)",
                bound.url()
            );
            Ok(Some(bound))
        }
        bound => bound.map(Some).map_err(|e| e.to_string()),
    }
}
