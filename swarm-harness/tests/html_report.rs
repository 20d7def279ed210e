//! The HTML report of a real run, loaded in headless Chromium (Debian's `chromium`, installed
//! by `scripts/install-deps.sh`): its charts are drawn with data, its tables are there, and it
//! makes no network request (every request Chromium makes goes through a recording proxy).
//!
//! Chromium itself calls a few of its own services even with background networking disabled
//! (component updates, account checks, network time); those hosts are listed in
//! `CHROMIUM_OWN_HOSTS` and are the only requests allowed. A control page with one external image
//! proves the proxy does see what a page fetches.

use swarm_harness_test_support as common;

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{run, start_server};

/// Hosts Chromium contacts on its own, whatever the page.
const CHROMIUM_OWN_HOSTS: [&str; 4] = [
    "update.googleapis.com",
    "accounts.google.com",
    "clients2.google.com",
    // Debian's Chromium 148 headless, now and then at start-up, whatever the page (seen on a
    // fresh clone's run: the page's own requests were none).
    "www.google.com",
];

/// A proxy that records the host of every request it receives, answers nothing and closes.
fn recording_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hosts = seen.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(500)));
            let mut buffer = [0; 2048];
            let read = stream.read(&mut buffer).unwrap_or(0);
            let head = String::from_utf8_lossy(&buffer[..read]).into_owned();
            // `CONNECT host:443 HTTP/1.1` or `GET http://host/path HTTP/1.1`.
            let target = head.split_whitespace().nth(1).unwrap_or("?").to_owned();
            let host = target
                .trim_start_matches("http://")
                .split(['/', ':'])
                .next()
                .unwrap_or("?")
                .to_owned();
            hosts.lock().unwrap().push(host);
        }
    });
    (address, seen)
}

fn page_requests(seen: &Mutex<Vec<String>>) -> Vec<String> {
    let mut hosts: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|host| !CHROMIUM_OWN_HOSTS.contains(&host.as_str()))
        .cloned()
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// The page's DOM after its scripts ran.
fn render_in_chromium(page: &Path, proxy: &str) -> String {
    let browser = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Fewer of Chromium's own background calls (see CHROMIUM_OWN_HOSTS).
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-domain-reliability",
            "--disable-client-side-phishing-detection",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
            "--window-size=1280,2000",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--proxy-server=http://{proxy}"))
        // Send loopback through the proxy too: nothing may be fetched from anywhere.
        .arg("--proxy-bypass-list=<-loopback>")
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run {browser:?} ({error}); install it with scripts/install-deps.sh")
        });
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The markup of the chart container `id`.
fn chart<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let end = dom[start..]
        .find("</section>")
        .map_or(dom.len(), |e| start + e);
    &dom[start..end]
}

/// The `d` attributes of the line paths in a chart.
fn line_paths(markup: &str) -> Vec<&str> {
    markup
        .split("<path")
        .skip(1)
        .filter(|p| p.split('>').next().unwrap_or("").contains("ct-line"))
        .filter_map(|p| p.split("d=\"").nth(1)?.split('"').next())
        .collect()
}

#[test]
fn the_html_report_draws_its_charts_offline() {
    let server = start_server(3);
    let dir = tempfile::tempdir().unwrap();
    run(
        "delayed",
        &server.url,
        dir.path(),
        &["--duration", "3s", "--hatch-rate", "2"],
    );
    let (proxy, seen) = recording_proxy();

    let dom = render_in_chromium(&dir.path().join("delayed.html"), &proxy);
    for id in ["chart-rps", "chart-users", "chart-latency"] {
        let paths = line_paths(chart(&dom, id));
        assert!(!paths.is_empty(), "#{id} has no line: {}", chart(&dom, id));
        for d in &paths {
            // A plotted line is a move and at least one segment with coordinates.
            assert!(
                d.starts_with('M') && d.contains('L') && d.len() > 20,
                "#{id}: {d}"
            );
        }
    }
    let latency = chart(&dom, "chart-latency");
    assert_eq!(line_paths(latency).len(), 3, "p50, p95 and p99");
    let bars = chart(&dom, "chart-dist")
        .matches("class=\"ct-bar\"")
        .count();
    assert!(bars > 0, "the distribution has no bar");
    // At most eight axis labels, so they never overlap.
    let labels = chart(&dom, "chart-dist")
        .matches("ct-label ct-horizontal")
        .count();
    assert!((1..=8).contains(&labels), "{labels} distribution labels");
    let requests = chart(&dom, "requests");
    assert!(
        requests.contains("<td class=\"l\">GET</td><td class=\"l\">/delay</td>"),
        "{requests}"
    );
    assert!(requests.contains("Aggregated"));

    let index = render_in_chromium(&dir.path().join("index.html"), &proxy);
    assert!(index.contains("href=\"delayed.html\""), "{index}");
    assert_eq!(
        page_requests(&seen),
        Vec::<String>::new(),
        "the pages made network requests"
    );

    // Control: the proxy does see a page's own request.
    let control = dir.path().join("control.html");
    std::fs::write(
        &control,
        "<img src=\"http://fonts.example.invalid/logo.png\">",
    )
    .unwrap();
    render_in_chromium(&control, &proxy);
    assert_eq!(page_requests(&seen), ["fonts.example.invalid"]);
}
