//! The settings table's parsers, layering and generated documents, against hand-written
//! cases.

use std::time::Duration;

use super::values::USERS_FORM;
use super::*;

fn raw(env: &str, value: &str) -> RawSetting {
    RawSetting {
        setting: by_env(env).unwrap_or_else(|| panic!("{env} is a setting")),
        value: value.to_owned(),
        source: Source::Env,
    }
}

#[test]
fn invalid_values_name_the_variable_value_and_form() {
    let error = Overrides::parse(&[raw("PT_NUM_CLIENTS", "abc")]).unwrap_err();
    assert_eq!(error.setting(), "PT_NUM_CLIENTS");
    assert_eq!(
        error.to_string(),
        format!("invalid PT_NUM_CLIENTS=\"abc\": expected {USERS_FORM}")
    );
    assert!(Overrides::parse(&[raw("PT_NUM_CLIENTS", "0")]).is_err());
    assert!(Overrides::parse(&[raw("PT_DURATION", "10x")]).is_err());
    assert!(Overrides::parse(&[raw("PT_HOST", "not-a-url")]).is_err());
    assert!(Overrides::parse(&[raw("PT_HOST", "ftp://x")]).is_err());
    let secret = Overrides::parse(&[raw("PT_HOST", "https://admin:s3cret@host:99999/x")])
        .unwrap_err()
        .to_string();
    assert!(secret.contains("\"https://***@host:99999/x\""), "{secret}");
    assert!(Overrides::parse(&[raw("PT_HATCH_RATE", "-1")]).is_err());
    for (key, bad) in [
        ("PT_DURATION", "0s"),
        ("PT_DURATION", "1e30"),
        ("PT_NUM_CLIENTS", "1000001"),
        ("PT_HATCH_RATE", "1e-300"),
        ("PT_HATCH_RATE", "inf"),
        ("PT_ARRIVAL_RATE", "0.0000001"),
        ("PT_STAGES", "1s:1e12"),
        ("PT_REQUEST_TIMEOUT", "0"),
        ("PT_STALL_TIMEOUT", "0"),
        ("PT_STALL_TIMEOUT", "never"),
        ("PT_MAX_BODY", "2GiB"),
        ("PT_MAX_BODY", "-1"),
        ("PT_MAX_NAMES", "0"),
        ("PT_LOCUST_PORT", "65536"),
        ("PT_LOCUST_PORT", "-1"),
        ("PT_LOCUST_PORT", "80a"),
        ("PT_WEB", "maybe"),
        ("PT_WEB_AUTOSTART", "2"),
        ("PT_WEB_HOST", "example.com"),
        ("PT_WEB_HOST", "127.0.0.1:80"),
        ("PT_WEB_TOKEN", "short"),
        ("PT_WEB_TOKEN", "has a space in it"),
        ("PT_WEB_TIMEOUT", "0"),
        ("PT_WEB_TIMEOUT", "2h"),
        ("PT_WEB_MAX_CONNECTIONS", "0"),
        ("PT_WEB_MAX_CONNECTIONS", "100000"),
        ("PT_HTTP", "curl"),
    ] {
        let error = Overrides::parse(&[raw(key, bad)]).unwrap_err();
        assert_eq!(error.setting(), key, "{key}={bad}");
    }
    // A token is a secret: never echoed, even when malformed.
    let token = Overrides::parse(&[raw("PT_WEB_TOKEN", "s3cr t")]).unwrap_err();
    assert!(!token.to_string().contains("s3cr"), "{token}");
    // The web UI's settings parse where it is built (elsewhere they are refused).
    #[cfg(feature = "web")]
    {
        let web = Overrides::parse(&[
            raw("PT_WEB", "off"),
            raw("PT_LOCUST_PORT", "0"),
            raw("PT_WEB_HOST", "::"),
            raw("PT_WEB_AUTOSTART", "false"),
        ])
        .unwrap();
        assert_eq!(
            (web.web, web.web_port, web.web_autostart),
            (Some(false), Some(0), Some(false))
        );
        assert!(web.web_host.is_some_and(|ip| ip.is_unspecified()));
    }
    let parsed =
        Overrides::parse(&[raw("PT_MAX_BODY", "8MiB"), raw("PT_MAX_NAMES", "50")]).unwrap();
    assert_eq!(
        (parsed.max_body, parsed.max_names),
        (Some(8 << 20), Some(50))
    );
    let flag = RawSetting {
        source: Source::Flag,
        ..raw("PT_NUM_CLIENTS", "x")
    };
    assert_eq!(
        Overrides::parse(&[flag]).unwrap_err().setting(),
        "--num-clients"
    );
    let thresholds = Overrides::parse(&[raw("PT_THRESHOLDS", "p95 < 2parsecs")]).unwrap_err();
    assert!(
        thresholds
            .to_string()
            .starts_with("invalid PT_THRESHOLDS: invalid threshold")
    );
}

#[test]
fn unknown_variables_name_the_closest_known_one() {
    let warnings =
        unknown_variables(["PT_NUM_CLIENT", "PT_HOST", "PATH", "PT_ZZZZZZZZZZZZZ"].into_iter());
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("PT_NUM_CLIENT is ignored; did you mean PT_NUM_CLIENTS?"))
    );
}

#[test]
fn load_model_settings_parse() {
    let overrides = Overrides::parse(&[
        raw("PT_ARRIVAL_RATE", "200"),
        raw("PT_MAX_USERS", "50"),
        raw("PT_STAGES", "30s:10,1m:50,30s:0"),
    ])
    .unwrap();
    assert_eq!(
        (overrides.arrival_rate, overrides.max_users),
        (Some(200.0), Some(50))
    );
    let profile = LoadProfile::resolve(&AttributeLoad::default(), &overrides, None);
    assert_eq!(
        profile.duration,
        Duration::from_secs(120),
        "stages set the duration"
    );
    assert!(profile.describe(false).starts_with("open model"));
    for (key, bad) in [
        ("PT_ARRIVAL_RATE", "0"),
        ("PT_MAX_USERS", "-1"),
        ("PT_STAGES", "30s"),
    ] {
        let error = Overrides::parse(&[raw(key, bad)]).unwrap_err();
        assert_eq!(error.setting(), key);
    }
}

#[test]
fn layers_apply_in_order() {
    let attribute = AttributeLoad {
        users: Some(5),
        hatch_rate: Some(2.0),
        ..AttributeLoad::default()
    };
    let none = LoadProfile::resolve(&attribute, &Overrides::default(), None);
    assert_eq!((none.users, none.hatch_rate), (5, 2.0));
    assert_eq!(none.duration, DEFAULT_DURATION);
    let overrides = Overrides::parse(&[raw("PT_NUM_CLIENTS", "9")]).unwrap();
    let env = LoadProfile::resolve(&attribute, &overrides, None);
    assert_eq!((env.users, env.hatch_rate), (9, 2.0));
    let defaults = LoadProfile::resolve(&AttributeLoad::default(), &Overrides::default(), None);
    assert_eq!((defaults.users, defaults.hatch_rate), (2, 1.0));
}

#[test]
fn the_http_client_layers_like_the_load() {
    let attribute = AttributeLoad {
        http: Some(HttpClient::Reqwest),
        ..AttributeLoad::default()
    };
    let none = Overrides::default();
    assert_eq!(
        LoadProfile::resolve(&AttributeLoad::default(), &none, None).http,
        HttpClient::Lean
    );
    assert_eq!(
        LoadProfile::resolve(&attribute, &none, None).http,
        HttpClient::Reqwest
    );
    let lean = Overrides::parse(&[raw("PT_HTTP", "lean")]).unwrap();
    assert_eq!(
        LoadProfile::resolve(&attribute, &lean, None).http,
        HttpClient::Lean
    );
}

/// The default a row documents, through the row's own parser: its first word.
fn documented_default(env: &str) -> Overrides {
    let setting = by_env(env).unwrap();
    let first = setting.default.split_whitespace().next().unwrap();
    Overrides::parse(&[raw(env, first)])
        .unwrap_or_else(|e| panic!("{env}'s documented default {first:?}: {e}"))
}

#[test]
fn the_documented_defaults_are_the_defaults_used() {
    assert_eq!(
        documented_default("PT_NUM_CLIENTS").users,
        Some(DEFAULT_USERS)
    );
    assert_eq!(
        documented_default("PT_HATCH_RATE").hatch_rate,
        Some(DEFAULT_HATCH_RATE)
    );
    assert_eq!(
        documented_default("PT_DURATION").duration,
        Some(DEFAULT_DURATION)
    );
    assert_eq!(
        documented_default("PT_STOP_TIMEOUT").stop_timeout,
        Some(DEFAULT_STOP_TIMEOUT)
    );
    assert_eq!(
        documented_default("PT_STALL_TIMEOUT").stall_timeout,
        Some(Some(DEFAULT_STALL_TIMEOUT))
    );
    assert_eq!(
        documented_default("PT_MAX_USERS").max_users,
        Some(DEFAULT_MAX_USERS)
    );
    assert_eq!(
        documented_default("PT_REQUEST_TIMEOUT").request_timeout,
        Some(DEFAULT_REQUEST_TIMEOUT)
    );
    assert_eq!(
        documented_default("PT_MAX_BODY").max_body,
        Some(DEFAULT_MAX_BODY)
    );
    assert_eq!(
        documented_default("PT_MAX_NAMES").max_names,
        Some(DEFAULT_MAX_NAMES)
    );
    assert_eq!(
        documented_default("PT_REQUEST_LOG_MAX").request_log_max,
        Some(crate::settings::DEFAULT_REQUEST_LOG_MAX)
    );
    #[cfg(feature = "web")]
    assert_eq!(
        documented_default("PT_LOCUST_PORT").web_port,
        Some(DEFAULT_WEB_PORT)
    );
    #[cfg(feature = "web")]
    assert_eq!(
        documented_default("PT_WEB_TIMEOUT").web_timeout,
        Some(DEFAULT_WEB_TIMEOUT)
    );
    #[cfg(feature = "web")]
    assert_eq!(
        documented_default("PT_WEB_MAX_CONNECTIONS").web_max_connections,
        Some(DEFAULT_WEB_MAX_CONNECTIONS)
    );
    #[cfg(feature = "locust")]
    assert_eq!(
        documented_default("PT_LOCUST_MASTER_TIMEOUT").locust_master_timeout,
        Some(DEFAULT_MASTER_TIMEOUT)
    );
    assert_eq!(
        documented_default("PT_HTTP").http,
        Some(HttpClient::default())
    );
    #[cfg(feature = "web")]
    assert_eq!(
        documented_default("PT_WEB_AUTOSTART").web_autostart,
        Some(true)
    );
    #[cfg(feature = "web")]
    assert_eq!(
        documented_default("PT_WEB_HOST").web_host,
        Some([127, 0, 0, 1].into())
    );
}

#[test]
fn every_row_is_one_setting() {
    let mut seen = std::collections::HashSet::new();
    for setting in SETTINGS {
        assert!(setting.env.starts_with("PT_"), "{}", setting.env);
        for key in [
            ("id", setting.id),
            ("env", setting.env),
            ("flag", setting.flag),
        ] {
            assert!(seen.insert(key), "{key:?} is declared twice");
        }
        assert!(!setting.help_text().is_empty() && !setting.default.is_empty());
        assert!(markdown_table().contains(&format!("`{}`", setting.env)));
    }
}

/// The README's and the book's settings tables are the table's; `SWARM_UPDATE_DOCS=1`
/// rewrites them.
#[test]
fn the_documented_tables_are_the_settings_table() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let update = std::env::var_os("SWARM_UPDATE_DOCS").is_some();
    for document in ["README.md", "docs/src/settings.md"] {
        let path = root.join(document);
        let Ok(text) = std::fs::read_to_string(&path) else {
            assert_ne!(document, "README.md", "the README is missing");
            continue;
        };
        let generated = with_table(&text)
            .unwrap_or_else(|| panic!("{document} has no {TABLE_BEGIN} .. {TABLE_END} markers"));
        if update {
            std::fs::write(&path, &generated).unwrap();
        } else {
            assert!(
                generated == text,
                "{document}'s settings table is not the settings table of \
                 swarm-harness/src/settings/table.rs; regenerate it with \
                 SWARM_UPDATE_DOCS=1 cargo test -p swarm-harness --lib settings"
            );
        }
    }
}

proptest::proptest! {
    /// Any text in any setting, from the environment or a flag: a value or one error naming
    /// that setting as it was given, never a panic, and never a secret's text echoed.
    #[test]
    fn any_text_in_any_setting_is_a_value_or_an_error_naming_it(
        row in 0..SETTINGS.len(),
        value in "(?s).{0,64}",
        flag in proptest::bool::ANY,
    ) {
        let setting = &SETTINGS[row];
        let source = if flag { Source::Flag } else { Source::Env };
        let raw = RawSetting { setting, value: value.clone(), source };
        if let Err(error) = Overrides::parse(std::slice::from_ref(&raw)) {
            let named = if flag { setting.long_flag() } else { setting.env.to_owned() };
            proptest::prop_assert_eq!(error.setting(), named.as_str());
            let shown = error.to_string();
            proptest::prop_assert!(shown.contains(&named), "{}", shown);
            if setting.secret && value.trim().len() >= 4 {
                proptest::prop_assert!(!shown.contains(value.trim()), "{}", shown);
            }
        }
    }
}

#[test]
fn every_url_in_a_text_has_its_credentials_masked() {
    let text = "for url (http://a:pw1@h/x) then \"https://b:pw2@k:8\" and ftp://c@d";
    let shown = super::profile::redact_userinfo_text(text);
    assert_eq!(
        shown,
        "for url (http://***@h/x) then \"https://***@k:8\" and ftp://***@d"
    );
    for plain in ["abc:5", "C:\\Certs\\My CA.pem", "http://h/x@y", "://"] {
        assert_eq!(super::profile::redact_userinfo_text(plain), plain);
    }
}
