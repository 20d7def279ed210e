//! The stress harness, run in-process over the registered scenarios against a platform with
//! injected errors: the report's numbers must equal what the server itself counted.

use std::process::ExitCode;

use platform_tests::{PlatformConfig, spawn};

fn report(dir: &std::path::Path, trial: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(format!("{trial}.json"))).expect("report written");
    serde_json::from_str(&text).unwrap()
}

fn entry<'a>(
    report: &'a serde_json::Value,
    section: &str,
    kind: &str,
    name: &str,
) -> &'a serde_json::Value {
    report[section]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind && e["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {}", report[section]))
}

/// Runs the trials matching `filter` in-process for 3 s against `url`, all users started in
/// the first 0.1 s, reports in `dir`.
fn run_trials(filter: &str, url: &str, dir: &std::path::Path, extra: &[&str]) -> ExitCode {
    let dir_arg = dir.display().to_string();
    // libtest's own lines ("test result: ...") go to a file, not into this test's output.
    let log = dir.join("libtest.log").display().to_string();
    let mut args = vec![
        "stress",
        filter,
        "--host",
        url,
        "--report-dir",
        &dir_arg,
        "--logfile",
        &log,
        "--duration",
        "3s",
        "--hatch-rate",
        "60",
        "--web",
        "off",
    ];
    args.extend_from_slice(extra);
    swarm_harness::Harness::new().run_from(args)
}

#[test]
fn injected_errors_equal_reported_failures_and_sessions_are_reused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let platform = runtime.block_on(spawn(PlatformConfig {
        provision_ms: 30,
        error_rates: "POST /api/apps=0.1".parse().unwrap(),
        ..PlatformConfig::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    // Allow the injected failures: the trials pass on their thresholds.
    let extra = ["--num-clients", "6", "--thresholds", "fail_ratio < 50%"];
    let code = run_trials("create_app_and_wait[", &platform.url(), dir.path(), &extra);
    assert_eq!(code, ExitCode::SUCCESS);

    let counters = platform.counters();
    let injected = counters.injected("POST /api/apps");
    assert!(
        injected > 0,
        "10% of creations should have failed: {counters:?}"
    );
    let mut reported_failures = 0;
    let mut transaction_failures = 0;
    let mut creations = 0;
    for trial in ["create_app_and_wait[small]", "create_app_and_wait[large]"] {
        let report = report(dir.path(), trial);
        assert_eq!(report["passed"], true);
        assert_eq!(report["thresholds"][0]["expression"], "fail_ratio < 50%");
        let create = entry(&report, "requests", "POST", "/api/apps");
        creations += create["count"].as_u64().unwrap();
        reported_failures += create["failures"].as_u64().unwrap();
        let size = if trial.contains("small") {
            "small"
        } else {
            "large"
        };
        let flow = entry(
            &report,
            "requests",
            "transaction",
            &format!("create {size} app until ACTIVE"),
        );
        transaction_failures += flow["failures"].as_u64().unwrap();
        let task = entry(&report, "tasks", "task", trial);
        assert_eq!(
            task["failures"], flow["failures"],
            "each failed creation failed its task"
        );
        // One login per user, for however many tasks they ran.
        assert_eq!(entry(&report, "tasks", "task", "on_start")["count"], 6);
    }
    assert_eq!(reported_failures, injected);
    assert_eq!(transaction_failures, injected);
    assert_eq!(creations, counters.requests("POST /api/apps"));
    assert_eq!(counters.logins, 12, "6 users in each of 2 trials");
    assert_eq!(
        counters.orgs_created, 1,
        "the org fixture is built once per run"
    );
    assert_eq!(counters.orgs_deleted, 1, "and torn down at the end");
}

/// The team's typed client in a swarm (`Tenant`: `reqwest_middleware` with `SwarmMiddleware`):
/// one report row per endpoint, each count equal to what the platform's `/api/stats` counted,
/// and one login per user.
#[test]
fn the_typed_client_reports_one_row_per_endpoint_equal_to_the_platforms_counts() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let platform = runtime.block_on(spawn(PlatformConfig::default()));
    let dir = tempfile::tempdir().unwrap();
    let url = platform.url();
    // Judged on failures only: this test checks counts, not how fast a busy machine is.
    let extra = ["--num-clients", "4", "--thresholds", "fail_ratio < 1%"];
    let code = run_trials("Tenant", &url, dir.path(), &extra);
    assert_eq!(code, ExitCode::SUCCESS);

    let stats = runtime
        .block_on(
            platform_tests::api::ApiClient::connect(&url)
                .unwrap()
                .stats(),
        )
        .unwrap();
    let report = report(dir.path(), "Tenant");
    assert_eq!(report["passed"], true, "{report}");
    let mut rows: Vec<(String, u64)> = report["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                format!(
                    "{} {}",
                    row["kind"].as_str().unwrap(),
                    row["name"].as_str().unwrap()
                ),
                row["count"].as_u64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    let names: Vec<&str> = rows.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "DELETE /api/apps/{id}",
            "GET /api/apps",
            "GET /api/apps/{id}",
            "GET /api/catalog",
            "POST /api/apps",
            "POST /login",
        ],
        "one row per endpoint"
    );
    for (name, count) in &rows {
        assert!(*count > 0, "{name}");
        assert_eq!(*count, stats.requests(name), "{name}: report vs /api/stats");
    }
    assert_eq!(stats.logins, 4, "one login per user");
    assert_eq!(
        entry(&report, "tasks", "task", "build Tenant")["count"],
        4,
        "each user built its client once"
    );
    assert_eq!(report["requests_total"]["failures"], 0, "{report}");
}

/// A mixed run (`PT_RUN_TOGETHER`): the closed-model `Browser` trial and the open-model
/// `api_orgs` trial at the same time. The platform's own per-second counts show both loads in
/// the same seconds; each trial's report has its own load model; per endpoint, the two
/// reports together count what the platform counted.
#[test]
fn a_mixed_run_loads_the_platform_with_both_models_at_once_and_counts_match() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let platform = runtime.block_on(spawn(PlatformConfig::default()));
    let dir = tempfile::tempdir().unwrap();
    let url = platform.url();
    // Judged on failures only: this test checks counts and time, not how fast the machine is.
    let extra = [
        "--include-ignored",
        "--run-together",
        "mix=Browser,api_orgs",
        "--num-clients",
        "4",
        "--thresholds",
        "fail_ratio < 1%",
    ];
    let code = run_trials("mix", &url, dir.path(), &extra);
    assert_eq!(code, ExitCode::SUCCESS);

    let browser = report(dir.path(), "Browser");
    let api = report(dir.path(), "api_orgs");
    assert_eq!(browser["config"]["users"], 4, "{}", browser["config"]);
    assert!(browser["config"]["arrival_rate"].is_null());
    assert_eq!(api["config"]["arrival_rate"], 20.0, "{}", api["config"]);
    let text = std::fs::read_to_string(dir.path().join("run-groups/mix.json")).unwrap();
    let group: serde_json::Value = serde_json::from_str(&text).unwrap();
    let models: Vec<_> = group["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["trial"].as_str().unwrap(), t["model"].as_str().unwrap()))
        .collect();
    assert_eq!(models, [("Browser", "closed"), ("api_orgs", "open")]);

    // The platform's clock: seconds in which both loads arrived.
    let counters = platform.counters();
    let both = counters
        .per_second
        .values()
        .filter(|routes| {
            routes.contains_key("GET /api/orgs") && routes.contains_key("GET /api/catalog")
        })
        .count();
    assert!(
        both >= 2,
        "seconds with both loads: {both}: {:?}",
        counters.per_second
    );
    let group_overlap = group["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["trials"].as_object().unwrap().len() == 2)
        .count();
    assert!(group_overlap >= 2, "{group}");

    // Per endpoint, both reports together equal the platform's count. App reads are left
    // out: a background poll may be cut at the stop, counted by the platform only.
    let mut reported: std::collections::BTreeMap<String, u64> = Default::default();
    for report in [&browser, &api] {
        for row in report["requests"].as_array().unwrap() {
            let name = format!(
                "{} {}",
                row["kind"].as_str().unwrap(),
                row["name"].as_str().unwrap()
            );
            *reported.entry(name).or_default() += row["count"].as_u64().unwrap();
        }
    }
    assert!(reported["GET /api/orgs"] > 20, "{reported:?}");
    for (name, count) in &reported {
        if name == "GET /api/apps/{id}" {
            continue;
        }
        assert_eq!(
            *count,
            counters.requests(name),
            "{name}: reports vs the platform"
        );
    }
}
