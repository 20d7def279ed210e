//! Record and replay, end to end with real parts: a session against the platform recorded
//! through a real `mitmdump` (reverse mode, `hardump`), imported with `swarm_harness_cli::har`
//! (what `swarm har import` runs), compiled in a scratch crate, and run as a stress trial
//! against a fresh platform whose own counters say what happened. Then every recording of the public corpus in `tests/har/`
//! imports and compiles.
//!
//! `mitmdump` comes from `MITMDUMP`, else the virtualenv `scripts/install-deps.sh test` makes
//! (`~/.cache/swarm-harness/mitmproxy-venv`), else `PATH`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use platform_tests::{Platform, PlatformConfig};
use swarm_harness_cli::har;

const ADMIN: &str = "admin-token";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("platform-tests is in the workspace")
        .to_owned()
}

fn mitmdump() -> PathBuf {
    if let Some(path) = std::env::var_os("MITMDUMP") {
        return path.into();
    }
    let venv = std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".cache/swarm-harness/mitmproxy-venv/bin/mitmdump"));
    if let Some(venv) = venv.filter(|path| path.exists()) {
        return venv;
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("mitmdump"))
            .find(|path| path.exists())
    });
    found.unwrap_or_else(|| {
        panic!(
            "mitmdump not found (MITMDUMP, ~/.cache/swarm-harness/mitmproxy-venv, PATH): \
             run scripts/install-deps.sh test"
        )
    })
}

/// A port free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `mitmdump` in reverse mode in front of `target`, writing `har` when it exits.
struct Recorder {
    child: Child,
    url: String,
}

impl Recorder {
    fn start(target: &str, har: &Path) -> Recorder {
        let port = free_port();
        let child = Command::new(mitmdump())
            .args(["--mode", &format!("reverse:{target}")])
            .args([
                "--listen-host",
                "127.0.0.1",
                "--listen-port",
                &port.to_string(),
            ])
            .args(["--set", &format!("hardump={}", har.display())])
            .args(["--set", "connection_strategy=lazy", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mitmdump starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        wait_until("mitmdump listening", Duration::from_secs(60), || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        Recorder {
            child,
            url: format!("http://{addr}"),
        }
    }

    /// Stops mitmdump the way a user does (Ctrl-C), which writes the HAR.
    fn finish(mut self, har: &Path) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(status.success());
        let start = Instant::now();
        loop {
            if self.child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "mitmdump did not exit"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(har.exists(), "mitmdump wrote no {}", har.display());
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An organization created (and one deleted first, so ids differ from a fresh platform's).
async fn seed_org(platform: &Platform, filler: bool) -> String {
    let client = reqwest::Client::new();
    let create = |name: &'static str| {
        client
            .post(format!("{}/api/orgs", platform.url()))
            .header("x-admin-token", ADMIN)
            .json(&serde_json::json!({ "name": name }))
            .send()
    };
    if filler {
        let org: serde_json::Value = create("filler").await.unwrap().json().await.unwrap();
        let id = org["id"].as_str().unwrap();
        let deleted = client
            .delete(format!("{}/api/orgs/{id}", platform.url()))
            .header("x-admin-token", ADMIN)
            .send()
            .await
            .unwrap();
        assert!(deleted.status().is_success());
    }
    let org: serde_json::Value = create("acme").await.unwrap().json().await.unwrap();
    org["id"].as_str().unwrap().to_owned()
}

/// What a person clicking through the platform does: log in, look at the organizations,
/// create an app, watch it until it is ACTIVE, delete it. Returns the app's id.
async fn click_through(base: &str) -> String {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let ok = |response: reqwest::Response| {
        assert!(response.status().is_success(), "{response:?}");
        response
    };
    ok(client
        .post(format!("{base}/login"))
        .form(&[("username", "alice"), ("password", "secret")])
        .send()
        .await
        .unwrap());
    let orgs: serde_json::Value = ok(client.get(format!("{base}/api/orgs")).send().await.unwrap())
        .json()
        .await
        .unwrap();
    let org = orgs[0]["id"].as_str().unwrap();
    let app: serde_json::Value = ok(client
        .post(format!("{base}/api/apps"))
        .json(&serde_json::json!({ "org_id": org, "name": "web", "size": "small" }))
        .send()
        .await
        .unwrap())
    .json()
    .await
    .unwrap();
    let id = app["id"].as_str().unwrap().to_owned();
    let mut polls = 0;
    loop {
        let now: serde_json::Value = ok(client
            .get(format!("{base}/api/apps/{id}"))
            .send()
            .await
            .unwrap())
        .json()
        .await
        .unwrap();
        polls += 1;
        if now["status"] == "ACTIVE" {
            break;
        }
        assert!(polls < 200, "the app never became ACTIVE");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(polls >= 2, "the recording should hold a poll");
    ok(client
        .delete(format!("{base}/api/apps/{id}"))
        .send()
        .await
        .unwrap());
    id
}

/// A crate outside the workspace holding `modules` (`src/<path>` → source) and a `main` that
/// runs the harness; built in `target/har-scratch` with the workspace's lock file, offline.
/// Returns the binary.
fn build_scratch(name: &str, modules: &[(String, String)], declarations: &str) -> PathBuf {
    let dir = workspace().join("target/har-scratch").join(name);
    let _ = std::fs::remove_dir_all(dir.join("src"));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        r#"[package]
name = "{name}"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
swarm-harness = {{ path = "{}" }}
anyhow = "1"

[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
debug = false
"#,
        workspace().join("swarm-harness").display()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    for (path, source) in modules {
        let path = dir.join("src").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, source).unwrap();
    }
    std::fs::write(
        dir.join("src/main.rs"),
        format!(
            "//! Generated scenarios, compiled as a stress binary.\n#![deny(warnings)]\n\
             {declarations}\nfn main() -> std::process::ExitCode {{ swarm_harness::main() }}\n"
        ),
    )
    .unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = workspace().join("target/har-scratch/target");
    let output = Command::new(cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the generated code of {name} does not build:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target.join("debug").join(name)
}

fn report(dir: &Path, trial: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(format!("{trial}.json"))).expect("report written");
    serde_json::from_str(&text).unwrap()
}

fn count(report: &serde_json::Value, method: &str, name: &str) -> u64 {
    report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == method && e["name"] == name)
        .unwrap_or_else(|| panic!("no {method} {name} in {}", report["requests"]))["count"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_session_recorded_through_mitmdump_replays_with_live_values_and_one_login_per_user() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let har_file = scratch.path().join("session.har");

    // Record.
    let recorded_platform = runtime.block_on(platform_tests::spawn(PlatformConfig {
        provision_ms: 200,
        ..PlatformConfig::default()
    }));
    runtime.block_on(seed_org(&recorded_platform, false));
    let recorder = Recorder::start(&recorded_platform.url(), &har_file);
    let recorded_app = runtime.block_on(click_through(&recorder.url));
    recorder.finish(&har_file);
    let session_cookie = {
        let har: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&har_file).unwrap()).unwrap();
        let entries = har["log"]["entries"].as_array().unwrap();
        let login = &entries[0]["response"]["headers"];
        let set_cookie = login
            .as_array()
            .unwrap()
            .iter()
            .find(|h| {
                h["name"]
                    .as_str()
                    .unwrap()
                    .eq_ignore_ascii_case("set-cookie")
            })
            .expect("the login sets the session cookie")["value"]
            .as_str()
            .unwrap()
            .to_owned();
        let value = set_cookie
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1;
        value.to_owned()
    };

    // Import.
    let imported = har::generate(&har_file, &har::Options::default()).unwrap();
    assert_eq!(imported.files.len(), 1, "one host recorded");
    let generated = &imported.files[0];
    let source = &generated.source;
    println!("{}", source);
    assert!(
        !source.contains(&session_cookie),
        "the session cookie was copied"
    );
    assert!(!source.to_ascii_lowercase().contains(".header(\"cookie\""));
    // The login's password is read from the variable the header lists, never copied.
    assert!(
        !source.contains("password=secret")
            && source.contains("har::secret(\"HAR_PASSWORD\")?")
            && source.contains("//! - `HAR_PASSWORD`"),
        "the recorded password was copied"
    );
    assert!(
        source.contains("on_start = log_in_"),
        "the login runs once per user"
    );
    assert!(source.contains(".name(\"/api/apps/{id}\")"));
    assert!(
        source.contains("har::json(&response, \"/id\""),
        "the app id is captured"
    );
    assert!(source.contains("loop {"), "the poll is a loop");
    let code: Vec<&str> = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect();
    assert!(
        !code.join("\n").contains(&recorded_platform.url()),
        "the recorded origin is not in the code: the target is PT_HOST"
    );
    assert_eq!(
        Command::new(std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into()))
            .args(["--edition", "2024", "--check"])
            .arg({
                let path = scratch.path().join(&generated.file_name);
                std::fs::write(&path, source).unwrap();
                path
            })
            .status()
            .unwrap()
            .code(),
        Some(0),
        "rustfmt-formatted"
    );

    // Build.
    let module = generated.scenario.clone();
    let binary = build_scratch(
        "har_session",
        &[(generated.file_name.clone(), source.clone())],
        &format!("mod {module};"),
    );

    // Replay against a fresh platform where the recorded ids do not exist.
    let fresh = runtime.block_on(platform_tests::spawn(PlatformConfig {
        provision_ms: 100,
        ..PlatformConfig::default()
    }));
    let live_org = runtime.block_on(seed_org(&fresh, true));
    assert_ne!(
        live_org, "org-1",
        "the recorded organization must not exist"
    );
    let reports = scratch.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let users = 3;
    let output = Command::new(&binary)
        .args([&module, "--exact"])
        .env("PT_HOST", fresh.url())
        .env("HAR_PASSWORD", "secret")
        .env("PT_NUM_CLIENTS", users.to_string())
        .env("PT_HATCH_RATE", "30")
        .env("PT_DURATION", "4s")
        .env("PT_WEB", "off")
        .env("PT_REPORT_DIR", &reports)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let counters = fresh.counters();
    let report = report(&reports, &module);
    assert_eq!(report["passed"], true);
    assert_eq!(counters.logins, users, "one login per user: {counters:?}");
    assert!(counters.apps_created > 0);
    assert_eq!(
        counters.apps_deleted, counters.apps_created,
        "every app created was deleted by the id its creation returned: {counters:?}"
    );
    assert_eq!(count(&report, "POST", "/api/apps"), counters.apps_created);
    assert_eq!(
        count(&report, "DELETE", "/api/apps/{id}"),
        counters.apps_deleted
    );
    assert_eq!(count(&report, "POST", "/login"), users);
    assert_eq!(
        count(&report, "GET", "/api/apps/{id}"),
        counters.requests("GET /api/apps/{id}")
    );
    assert_eq!(report["requests_total"]["failures"], 0, "{stdout}");
    assert_eq!(report["failures"].as_array().unwrap().len(), 0, "{stdout}");
    assert!(
        runtime
            .block_on(async {
                reqwest::get(format!("{}/api/apps/{recorded_app}", fresh.url()))
                    .await
                    .unwrap()
                    .status()
            })
            .is_client_error(),
        "the recorded app id is not one the fresh platform has"
    );
}

/// The recordings of `tests/har/` (public browser, proxy and tool exports, and hand-written
/// hostile ones; their sources are in its README).
fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/har");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "har"))
        .collect();
    files.sort();
    files
}

/// Recordings of the corpus with no entry an HTTP user can replay.
const NOTHING_TO_REPLAY: &[&str] = &["mitmproxy-savehar-websocket.har"];

#[test]
fn every_recording_of_the_corpus_imports_and_its_code_compiles() {
    let files = corpus();
    assert!(files.len() >= 8, "the corpus is in tests/har: {files:?}");
    let mut modules = Vec::new();
    let mut declarations = String::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy();
        let imported = match har::generate(file, &har::Options::default()) {
            Ok(imported) => imported,
            // mitmproxy's websocket fixture holds upgrades only: nothing an HTTP user can send,
            // and the importer must say so with the counts rather than write an empty scenario.
            Err(har::HarError::Empty { skipped, .. }) if NOTHING_TO_REPLAY.contains(&&*name) => {
                println!("{name}: nothing to replay, {skipped}");
                continue;
            }
            Err(error) => panic!("{error}"),
        };
        let stem = file.file_stem().unwrap().to_string_lossy();
        let module: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let module = format!("corpus_{module}");
        // The skipped-entry counts, per recording.
        println!(
            "{name}: {} entries, {} file(s), {}",
            imported.entries,
            imported.files.len(),
            imported.skipped
        );
        let mut inner = String::new();
        for generated in &imported.files {
            modules.push((
                format!("{module}/{}", generated.file_name),
                generated.source.clone(),
            ));
            inner.push_str(&format!("pub mod {};\n", generated.scenario));
        }
        modules.push((format!("{module}/mod.rs"), format!("//! {stem}\n{inner}")));
        declarations.push_str(&format!("mod {module};\n"));
    }
    build_scratch("har_corpus", &modules, &declarations);
}

#[test]
fn a_hostile_recording_keeps_the_application_and_nothing_else() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/har/hostile-shop.har");
    let imported = har::generate(&file, &har::Options::default()).unwrap();
    assert_eq!(
        imported.skipped,
        "skipped 2 without a response, 1 CONNECT, 1 websocket, 1 CORS preflight, \
         1 browser-internal, 2 static asset, 1 redirect follow-up"
    );
    assert_eq!(imported.files.len(), 2, "two hosts, two files");
    let shop = &imported.files[0].source;
    let lower = shop.to_ascii_lowercase();
    for gone in [
        "\":method\"",
        "\":path\"",
        "\"host\"",
        "\"content-length\"",
        "\"connection\"",
        "\"transfer-encoding\"",
        "\"accept-encoding\"",
        "\"cookie\"",
        "sec-fetch",
        "secret-session",
        "stale-value-123",
        "https://shop.example.test\"",
    ] {
        assert!(
            !lower.contains(gone),
            "{gone} is in the generated code:\n{shop}"
        );
    }
    for kept in [
        // The CSRF cookie echoed in a header, the HTML token in the form, the bearer token
        // and the cart id from the login's JSON, the item id from a base64 body.
        "har::cookie(user, \"csrftoken\"",
        ".header(\"x-csrftoken\", csrftoken.clone())",
        "name=\"csrf_token\" value=\"",
        "csrf_token={csrf_token}",
        "format!(\"Bearer {token}\")",
        "har::json(&response, \"/cart/id\"",
        "har::json(&response, \"/item\"",
        "expand=true&ref={item}",
        ".name(\"/api/carts/{id}/items/{id}\")",
        "har::expect_status(",
        "on_start = log_in_shop_example_test",
        "on_stop = log_out_shop_example_test",
        "user.request(\"PROPFIND\".parse()?",
        "&b\"\\xff\\xfe\\x00\\\"\\\\{\"[..]",
        "boundary=swarm-harness-recorded-form",
        "format!(\"{origin}/login\")",
    ] {
        assert!(
            shop.contains(kept),
            "{kept} is not in the generated code:\n{shop}"
        );
    }
    // The recorded password is not: the form around it is sent as recorded, the password is
    // read from the variable the file header names.
    assert!(!shop.contains("p%40ss") && !shop.contains("w0rd"), "{shop}");
    assert!(
        shop.contains("har::secret(\"HAR_PASSWORD\")?")
            && shop.contains("username=alice&password={0}&csrf_token={csrf_token}")
            && shop.contains("//! - `HAR_PASSWORD`"),
        "{shop}"
    );
}

/// Credentials `hostile-injection.har` records, each of which import must leave out.
const INJECTED_CREDENTIALS: &[&str] = &[
    "hdrkey-INJ-7f3a9c",
    "cookie-INJ-5e6f",
    "sess-INJ-8a9b",
    "tok-INJ-4d5e6f",
    "hunter2-INJ-pw",
    "qkey-INJ-1b2c",
    "YWxpY2U6aHVudGVyMi1JTkotYmFzaWM",
    "json-INJ-pass",
];

#[test]
fn a_recording_writes_neither_code_nor_credentials_into_the_generated_file() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/har/hostile-injection.har");
    let imported = har::generate(&file, &har::Options::default()).unwrap();
    assert_eq!(imported.files.len(), 1);
    let source = &imported.files[0].source;
    // The creator's newline and code stay inside the first doc line.
    let first = source.lines().next().unwrap();
    assert!(
        first.starts_with("//! Replays `http://inject.example.test`") && first.contains("injected"),
        "{source}"
    );
    for line in source.lines().filter(|l| !l.trim_start().starts_with("//")) {
        assert!(
            !line.contains("process") && !line.contains("injected"),
            "recorded text became code: {line}\n{source}"
        );
    }
    assert!(
        !source
            .chars()
            .any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')),
        "a bidi control character reached the file:\n{source}"
    );
    for credential in INJECTED_CREDENTIALS {
        assert!(!source.contains(credential), "{credential} in:\n{source}");
    }
    for variable in [
        "HAR_PASSWORD",
        "HAR_X_API_KEY",
        "HAR_API_KEY",
        "HAR_AUTHORIZATION",
    ] {
        assert!(
            source.contains(&format!("//! - `{variable}`"))
                && source.contains(&format!("har::secret(\"{variable}\")?")),
            "{variable} is not read and listed:\n{source}"
        );
    }
    // The login's token is captured live, and the poll waits on the key with the bidi control.
    assert!(source.contains("format!(\"Bearer {token}\")"), "{source}");
    assert!(source.contains("loop {"), "{source}");
}

/// The credentials of a recording by the importer's documented rule (names holding `token`,
/// `key`, `secret`, `auth`, `session`, `password`, …, and every cookie), at least 8
/// characters long: shorter values occur by chance (`true`, `1`).
fn recorded_credentials(har: &serde_json::Value) -> Vec<String> {
    const WORDS: [&str; 7] = [
        "token", "key", "secret", "auth", "session", "password", "cookie",
    ];
    let secret = |name: &str| WORDS.iter().any(|w| name.to_ascii_lowercase().contains(w));
    let mut out: Vec<String> = Vec::new();
    fn leaves(
        value: &serde_json::Value,
        key: &str,
        secret: &dyn Fn(&str) -> bool,
        out: &mut Vec<String>,
    ) {
        match value {
            serde_json::Value::String(text) if secret(key) => out.push(text.clone()),
            serde_json::Value::Array(items) => {
                items.iter().for_each(|v| leaves(v, key, secret, out))
            }
            serde_json::Value::Object(fields) => {
                fields.iter().for_each(|(k, v)| leaves(v, k, secret, out))
            }
            _ => {}
        }
    }
    let text_leaves = |text: &str, out: &mut Vec<String>| {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
            leaves(&json, "", &secret, out);
        }
    };
    let pairs = |value: &serde_json::Value| -> Vec<(String, String)> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some((
                    p["name"].as_str()?.to_ascii_lowercase(),
                    p["value"].as_str()?.to_owned(),
                ))
            })
            .collect()
    };
    for entry in har["log"]["entries"].as_array().into_iter().flatten() {
        let request = &entry["request"];
        for (name, value) in pairs(&request["headers"])
            .into_iter()
            .chain(pairs(&entry["response"]["headers"]))
        {
            if name == "cookie" || name == "set-cookie" {
                for cookie in value
                    .split(';')
                    .take(if name == "cookie" { usize::MAX } else { 1 })
                {
                    if let Some((_, v)) = cookie.split_once('=') {
                        out.push(v.trim().to_owned());
                    }
                }
            } else if secret(&name) && !name.starts_with(':') {
                // `:authority` is the host, not a credential.
                out.push(value.clone());
                if let Some((_, credential)) = value.split_once(' ') {
                    out.push(credential.to_owned());
                }
            }
        }
        if let Ok(url) = url::Url::parse(request["url"].as_str().unwrap_or("")) {
            out.extend(
                url.query_pairs()
                    .filter(|(n, _)| secret(n))
                    .map(|(_, v)| v.into_owned()),
            );
        }
        let post = &request["postData"];
        for (name, value) in pairs(&post["params"]) {
            if secret(&name) {
                out.push(value);
            }
        }
        if let Some(text) = post["text"].as_str() {
            out.extend(
                url::form_urlencoded::parse(text.as_bytes())
                    .filter(|(n, _)| secret(n))
                    .map(|(_, v)| v.into_owned()),
            );
            text_leaves(text, &mut out);
        }
        if let Some(text) = entry["response"]["content"]["text"].as_str() {
            text_leaves(text, &mut out);
        }
    }
    out.retain(|value| value.chars().count() >= 8);
    out.sort();
    out.dedup();
    out
}

#[test]
fn no_recorded_credential_of_the_corpus_reaches_its_code() {
    let mut checked = 0;
    for file in corpus() {
        let har: serde_json::Value = {
            let bytes = std::fs::read(&file).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            match serde_json::from_str(text.trim_start_matches('\u{feff}')) {
                Ok(har) => har,
                Err(_) => continue,
            }
        };
        let Ok(imported) = har::generate(&file, &har::Options::default()) else {
            continue;
        };
        let credentials = recorded_credentials(&har);
        checked += credentials.len();
        for generated in &imported.files {
            for credential in &credentials {
                assert!(
                    !generated.source.contains(credential.as_str()),
                    "{}: {credential:?} in {}:\n{}",
                    file.display(),
                    generated.file_name,
                    generated.source
                );
            }
        }
    }
    assert!(checked >= 10, "the corpus records credentials: {checked}");
}
