//! Ctrl-C (SIGINT) or SIGTERM (a cancelled CI job, Kubernetes) during a trial: the trial stops
//! like at the end of its duration, its reports are written with the outcome `interrupted`, and
//! the process exits non-zero.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use swarm_harness_e2e::{CountingServer, read_json, request_entry};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_still_writes_its_reports() {
    interrupt_with("INT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_is_ctrl_c() {
    // Before: exit 143 (killed by the signal) and no reports.
    interrupt_with("TERM").await;
}

async fn interrupt_with(signal: &str) {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_e2e-stress"))
        .args(["--exact", "limited", "--duration", "10m"])
        .env("PT_HOST", &server.url)
        .env("PT_REPORT_DIR", dir.path())
        // The web UI is on (any free port): an interrupted run still ends and writes reports.
        .env("PT_LOCUST_PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it send some load, then interrupt it as Ctrl-C would.
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.requests("GET /limited") < 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(101),
        "an interrupted run must fail"
    );

    let report = read_json(dir.path(), "limited");
    assert_eq!(report["outcome"], "interrupted");
    assert_eq!(report["passed"], false);
    assert!(report["duration_s"].as_f64().unwrap() < 30.0);
    assert_eq!(
        request_entry(&report, "GET", "/limited")["count"]
            .as_u64()
            .unwrap(),
        server.requests("GET /limited")
    );
    for file in [
        "limited.html",
        "limited_stats.csv",
        "index.html",
        "junit.xml",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} not written");
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("interrupted (SIG{signal})")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_interrupt_exits_at_once() {
    use std::io::BufRead;
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Its target hangs after 5 requests, and its users get 10 minutes to finish them: the
    // stop after the first interrupt would take that long.
    let mut child = Command::new(env!("CARGO_BIN_EXE_e2e-stress"))
        .args(["--exact", "hangs", "--duration", "10m"])
        .env("PT_HOST", &server.url)
        .env("PT_REPORT_DIR", dir.path())
        .env("PT_STOP_TIMEOUT", "10m")
        .env("PT_WEB", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines_tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.requests("GET /hang-after/5") < 8 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let interrupt = || {
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    interrupt();
    // The first interrupt is taken (its line printed) before the second is sent.
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.contains("interrupted (SIGINT)"))
    {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("the first interrupt was not taken: {seen:?}"),
        }
    }
    interrupt();
    // Far sooner than the 10 minutes of grace; the bound is generous on purpose, and a child
    // that outlives it is killed rather than left to hold up the suite.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running 120 s after the second interrupt: {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    seen.extend(lines.try_iter());
    // The reader thread may lag the exit by a moment.
    if let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        seen.push(line);
    }
    assert_eq!(status.code(), Some(130), "{seen:?}");
    assert!(
        seen.iter()
            .any(|l| l.contains("interrupted again (SIGINT)")),
        "{seen:?}"
    );
}
