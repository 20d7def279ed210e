//! End-to-end: the live page in headless Chromium (Debian's `chromium`, driven over the
//! DevTools protocol by `headless_chrome`) against the `e2e-stress` binary waiting for a
//! start: fill the form, start, watch the count and the chart grow, change the user count
//! (the server sees the new concurrency), stop, and hold the page's final count against the
//! server's own; and the page's figure rule against the Rust rule's table of cases.

use std::ffi::OsStr;
use std::time::Duration;

use headless_chrome::{Browser, LaunchOptions, Tab};
use swarm_harness_e2e::{CountingServer, WebRun, eventually, read_json, request_entry};

const BIN: &str = env!("CARGO_BIN_EXE_e2e-stress");

fn eval(tab: &Tab, script: &str) -> serde_json::Value {
    tab.evaluate(script, false)
        .unwrap_or_else(|e| panic!("{script}: {e}"))
        .value
        .unwrap_or(serde_json::Value::Null)
}

fn text_of(tab: &Tab, id: &str) -> String {
    eval(tab, &format!("document.getElementById('{id}').textContent"))
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn number_of(tab: &Tab, id: &str) -> u64 {
    text_of(tab, id).trim().parse().unwrap_or(0)
}

/// Headless Chromium (`CHROMIUM`, else Debian's) with its profile in `profile`.
fn chromium(profile: &std::path::Path) -> Browser {
    Browser::new(LaunchOptions {
        path: Some(
            std::env::var("CHROMIUM")
                .unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
                .into(),
        ),
        headless: true,
        sandbox: false,
        user_data_dir: Some(profile.to_owned()),
        window_size: Some((1280, 2000)),
        idle_browser_timeout: Duration::from_secs(120),
        args: vec![
            OsStr::new("--disable-gpu"),
            OsStr::new("--no-first-run"),
            OsStr::new("--disable-background-networking"),
            OsStr::new("--disable-component-update"),
        ],
        ..LaunchOptions::default()
    })
    .expect("chromium starts (scripts/install-deps.sh installs it)")
}

/// Fills the swarm form as a user would (the values, then the submit button).
fn submit_swarm(tab: &Tab, users: u32, rate: u32) {
    eval(
        tab,
        &format!(
            "for (const [id, value] of [['user_count', '{users}'], ['spawn_rate', '{rate}']]) {{
               const input = document.getElementById(id);
               input.value = value;
               input.dispatchEvent(new Event('input'));
             }}
             true"
        ),
    );
    tab.find_element("#start")
        .expect("the start button")
        .click()
        .expect("click start");
}

/// The page's figure rule (`figure.js`, run by the page itself) against the Rust rule's table
/// of cases, so the live page shows a column as the summary and the HTML report do.
fn assert_the_figure_rule_matches_the_table(tab: &Tab) {
    let cases = include_str!("../../src/figure/cases.txt");
    let script = format!(
        "(() => {{
           const wrong = [];
           for (const line of {cases}.split('\\n')) {{
             if (line.trim() === '' || line[0] === '#') continue;
             const [input, shown] = line.split('\\t');
             const got = swarmFigure.thousandths(Number(input));
             if (got !== shown) wrong.push(input + ' gave ' + got + ', not ' + shown);
           }}
           return wrong.join('; ');
         }})()",
        cases = serde_json::to_string(cases).unwrap()
    );
    assert_eq!(
        eval(tab, &script),
        "",
        "figure.js differs from src/figure/cases.txt"
    );
}

#[test]
fn the_page_starts_steers_and_stops_a_swarm() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(CountingServer::start());
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().display().to_string();
    let run = WebRun::start(
        BIN,
        &["--exact", "steered", "--duration", "5m"],
        &[
            ("PT_HOST", &server.url),
            ("PT_REPORT_DIR", &dir_path),
            ("PT_WEB_AUTOSTART", "false"),
        ],
    );
    let profile = tempfile::tempdir().unwrap();
    let browser = chromium(profile.path());
    let tab = browser.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(30));
    tab.navigate_to(&run.url)
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    tab.wait_for_element("#swarm-form").unwrap();
    assert_the_figure_rule_matches_the_table(&tab);
    // Waiting for a start: the trial is listed, nothing is sent.
    eventually(30, "the waiting trial", || {
        text_of(&tab, "trials").contains("steered").then_some(())
    });
    assert_eq!(server.requests("GET /concurrent"), 0);

    submit_swarm(&tab, 2, 10);
    let first = eventually(30, "requests on the page", || {
        let count = number_of(&tab, "count");
        (count > 0).then_some(count)
    });
    eventually(30, "the count and the chart to grow", || {
        let points = eval(
            &tab,
            "Number(document.getElementById('chart-rps').dataset.points || 0)",
        )
        .as_u64()
        .unwrap_or(0);
        let lines = eval(
            &tab,
            "document.querySelectorAll('#chart-rps path.ct-line').length",
        )
        .as_u64()
        .unwrap_or(0);
        let ok = number_of(&tab, "count") > first && points >= 2 && lines >= 1;
        if !ok {
            eprintln!(
                "count {} points {points} lines {lines} message {} chart {}",
                number_of(&tab, "count"),
                text_of(&tab, "message"),
                eval(
                    &tab,
                    "document.getElementById('chart-rps').innerHTML.slice(0, 300)"
                )
            );
        }
        ok.then_some(())
    });
    server.take_max_concurrency();
    std::thread::sleep(Duration::from_millis(500));
    let before = server.take_max_concurrency();
    assert!((1..=2).contains(&before), "2 users, concurrency {before}");

    // More users: the server sees them.
    submit_swarm(&tab, 5, 50);
    eventually(30, "five users at the server", || {
        (server.take_max_concurrency() == 5).then_some(())
    });
    eventually(30, "five users on the page", || {
        text_of(&tab, "users").starts_with('5').then_some(())
    });

    tab.find_element("#stop").unwrap().click().unwrap();
    eventually(60, "the page's final count to equal the server's", || {
        let state = text_of(&tab, "state");
        let page = number_of(&tab, "count");
        let counted = server.requests("GET /concurrent");
        (state == "finished" && page == counted).then_some(())
    });
    let (status, output) = run.terminate();
    assert!(status.success(), "{output}");
    let report = read_json(dir.path(), "steered");
    assert_eq!(report["outcome"], "stopped");
    assert_eq!(report["peak_users"], 5, "{output}");
    assert_eq!(
        request_entry(&report, "GET", "/concurrent")["count"].as_u64(),
        Some(server.requests("GET /concurrent"))
    );
}

/// Clicks the trial `name` in the page's list of trials.
fn pick_trial(tab: &Tab, name: &str) {
    let clicked = eval(
        tab,
        &format!(
            "(() => {{
               for (const li of document.querySelectorAll('#trials li.pick')) {{
                 if (li.firstChild.textContent === '{name}') {{ li.click(); return true; }}
               }}
               return false;
             }})()"
        ),
    );
    assert_eq!(clicked, serde_json::json!(true), "no {name} to pick");
}

/// A run group waiting for its start (`run = "pair"`, `PT_WEB_AUTOSTART=false`): the page
/// lists both trials to pick; the form starts only the one picked (it sends `trial=`), then
/// the other; a click shows either in full; each report counts what the server counted.
#[test]
fn the_page_starts_and_shows_each_trial_of_a_run_group() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(CountingServer::start());
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().display().to_string();
    let run = WebRun::start(
        BIN,
        &["--exact", "pair", "--duration", "3s"],
        &[
            ("PT_HOST", &server.url),
            ("PT_REPORT_DIR", &dir_path),
            ("PT_WEB_AUTOSTART", "false"),
        ],
    );
    let profile = tempfile::tempdir().unwrap();
    let browser = chromium(profile.path());
    let tab = browser.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(30));
    tab.navigate_to(&run.url)
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    eventually(30, "both trials of the group to pick", || {
        let picks = eval(&tab, "document.querySelectorAll('#trials li.pick').length");
        (picks.as_u64() == Some(2)).then_some(())
    });

    pick_trial(&tab, "pair_open");
    submit_swarm(&tab, 1, 10);
    eventually(30, "the open trial's requests", || {
        (server.requests("GET /pair/open") > 0).then_some(())
    });
    assert_eq!(
        server.requests("GET /pair/closed"),
        0,
        "only the trial picked started"
    );
    pick_trial(&tab, "pair_closed");
    submit_swarm(&tab, 3, 100);
    eventually(30, "the closed trial's requests", || {
        (server.requests("GET /pair/closed") > 0).then_some(())
    });
    for name in ["pair_open", "pair_closed"] {
        pick_trial(&tab, name);
        eventually(30, "the trial picked, in full", || {
            (text_of(&tab, "trial-name") == name).then_some(())
        });
    }
    eventually(60, "the group's report", || {
        dir.path()
            .join("run-groups/pair.json")
            .exists()
            .then_some(())
    });
    let (status, output) = run.terminate();
    assert!(status.success(), "{output}");
    for (trial, path) in [("pair_closed", "/pair/closed"), ("pair_open", "/pair/open")] {
        let report = read_json(dir.path(), trial);
        assert_eq!(
            request_entry(&report, "GET", path)["count"].as_u64(),
            Some(server.requests(&format!("GET {path}"))),
            "{trial}"
        );
    }
    assert_eq!(
        read_json(dir.path(), "pair_closed")["peak_users"],
        3,
        "{output}"
    );
}
