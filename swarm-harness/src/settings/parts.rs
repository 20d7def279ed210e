//! The parts of the harness a cargo feature may leave out of a stress binary (the web UI, the
//! Locust worker, TLS), and the refusal of a setting that asks for one: before any load, one
//! message naming the setting and the feature, rather than a run that silently lacks it.

use super::{ConfigError, RawSetting};

/// A part of the harness behind a cargo feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The live web UI, Locust's HTTP API and `/metrics` (feature `web`).
    Web,
    /// The Locust worker (feature `locust`).
    Locust,
    /// HTTPS (feature `tls`, which `ring` or `aws-lc-rs` enable).
    Tls,
}

impl Part {
    /// Whether this build has it.
    pub const fn built(self) -> bool {
        match self {
            Part::Web => cfg!(feature = "web"),
            Part::Locust => cfg!(feature = "locust"),
            Part::Tls => cfg!(feature = "tls"),
        }
    }

    /// What it is, as a message names it.
    const fn what(self) -> &'static str {
        match self {
            Part::Web => "the web UI",
            Part::Locust => "the Locust worker",
            Part::Tls => "HTTPS",
        }
    }

    /// The cargo feature that adds it, as a user enables it.
    const fn feature(self) -> &'static str {
        match self {
            Part::Web => "`web`",
            Part::Locust => "`locust`",
            // `tls` alone has no crypto provider: name the features that bring one.
            Part::Tls => "`ring` (or `aws-lc-rs`)",
        }
    }

    /// The end of every message about it: `needs the web UI, which ...`.
    pub fn missing(self) -> String {
        format!(
            "needs {}, which this stress target is built without: enable swarm-harness's \
             cargo feature {}",
            self.what(),
            self.feature()
        )
    }
}

impl RawSetting {
    /// The refusal of this setting in a build without `part`.
    pub(crate) fn left_out(&self, part: Part) -> ConfigError {
        ConfigError::LeftOut {
            setting: self.name(),
            value: self.shown(),
            part,
        }
    }
}

/// `PT_WEB`: `on` asks for the web UI; `off` asks for nothing, so it is fine in any build.
pub(crate) fn web_switch(raw: &RawSetting) -> Result<bool, ConfigError> {
    let on = raw.parse_with(super::values::switch, "on or off")?;
    if on && !Part::Web.built() {
        return Err(raw.left_out(Part::Web));
    }
    Ok(on)
}

/// `PT_HOST`: an https:// one asks for TLS.
pub(crate) fn host(raw: &RawSetting) -> Result<url::Url, ConfigError> {
    let url = raw.parse_with(super::values::parse_host, super::values::HOST_FORM)?;
    if url.scheme() == "https" && !Part::Tls.built() {
        return Err(raw.left_out(Part::Tls));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Overrides, Source, by_env};

    fn parse(env: &str, value: &str) -> Result<Overrides, ConfigError> {
        let setting = by_env(env).expect("a row");
        Overrides::parse(&[RawSetting {
            setting,
            value: value.to_owned(),
            source: Source::Env,
        }])
    }

    #[test]
    fn a_setting_of_a_part_left_out_is_refused_naming_the_setting_and_the_feature() {
        let cases = [
            ("PT_WEB", "on", Part::Web, "`web`"),
            ("PT_LOCUST_PORT", "8089", Part::Web, "`web`"),
            ("PT_WEB_TOKEN", "secret-token", Part::Web, "`web`"),
            (
                "PT_LOCUST_MASTER",
                "127.0.0.1:5557",
                Part::Locust,
                "`locust`",
            ),
            ("PT_LOCUST_MASTER_TIMEOUT", "5s", Part::Locust, "`locust`"),
            ("PT_HOST", "https://example.com", Part::Tls, "`ring`"),
        ];
        for (env, value, part, feature) in cases {
            match parse(env, value) {
                Ok(_) => assert!(part.built(), "{env}={value} passed without {part:?}"),
                Err(error) => {
                    assert!(!part.built(), "{env}={value}: {error}");
                    let message = error.to_string();
                    assert!(message.starts_with(env), "{message}");
                    assert!(message.contains(feature), "{message}");
                    assert_eq!(error.setting(), env);
                }
            }
        }
        // The message itself, whichever features this build has.
        let raw = RawSetting {
            setting: by_env("PT_WEB").expect("a row"),
            value: "on".to_owned(),
            source: Source::Env,
        };
        assert_eq!(
            raw.left_out(Part::Web).to_string(),
            "PT_WEB=\"on\" needs the web UI, which this stress target is built without: \
             enable swarm-harness's cargo feature `web`"
        );
    }

    #[test]
    fn ca_certs_are_refused_without_tls_before_their_file_is_read() {
        // Without TLS the row holds no certificate type (http/tls_left_out.rs): the refusal
        // names the feature, whatever the file; with TLS a missing file is a bad value.
        let error = parse("PT_CA_CERT", "/no/such/ca.pem").unwrap_err();
        let message = error.to_string();
        assert_eq!(error.setting(), "PT_CA_CERT", "{message}");
        assert_eq!(message.contains("`ring`"), !Part::Tls.built(), "{message}");
        assert_eq!(message.contains("PEM file"), Part::Tls.built(), "{message}");
    }

    #[test]
    fn what_asks_for_nothing_passes_in_every_build() {
        assert_eq!(parse("PT_WEB", "off").unwrap().web, Some(false));
        assert!(parse("PT_HOST", "http://127.0.0.1:8000").is_ok());
        // A secret is never shown, not even in a refusal.
        if !Part::Web.built() {
            let message = parse("PT_WEB_TOKEN", "secret-token")
                .unwrap_err()
                .to_string();
            assert!(!message.contains("secret-token"), "{message}");
        }
    }
}
