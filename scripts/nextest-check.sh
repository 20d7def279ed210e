#!/usr/bin/env bash
# The platform-tests stress target under cargo-nextest (one process per trial): with the
# repository's .config/nextest.toml the trials run one at a time, and the run-level files
# (index.html, junit.xml), rebuilt by each process from every report of the run, list every
# trial; nextest's own JUnit file names the same test cases with the same outcomes.
# Usage: scripts/nextest-check.sh   (installs cargo-nextest when missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing: cargo-nextest (cargo install --locked)"
  cargo install --locked --quiet cargo-nextest
fi

reports="$(mktemp -d)"
trap 'rm -rf "$reports"' EXIT
# An old run's report in the same directory must not appear in this run's files.
printf '%s\n' '{"format_version":1,"trial":"stale_trial","scenario":"stale_trial","param":null,"run_id":"an-older-run"}' \
  >"$reports/stale_trial.json"
PT_DURATION=2s PT_NUM_CLIENTS=2 PT_HATCH_RATE=10 PT_LOCUST_PORT=0 PT_REPORT_DIR="$reports" \
  cargo nextest run -p platform-tests --test stress --profile ci --no-fail-fast --status-level fail

python3 - "$reports" target/nextest/ci/junit.xml <<'PY'
import datetime, glob, json, os, sys
import xml.etree.ElementTree as ET

reports_dir, nextest_junit = sys.argv[1], sys.argv[2]
reports = []
for path in glob.glob(os.path.join(reports_dir, "*.json")):
    report = json.load(open(path))
    if report.get("run_id") != "an-older-run":
        reports.append(report)
assert len(reports) == 6, [r["trial"] for r in reports]
run_ids = {r["run_id"] for r in reports}
assert len(run_ids) == 1, f"one run, one id: {run_ids}"

def instant(text):
    # Python 3.11 reads at most microseconds.
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00")

spans = sorted((instant(r["started_at"]), r["duration_s"], r["trial"]) for r in reports)
for (start, length, trial), (next_start, _, next_trial) in zip(spans, spans[1:]):
    end = start + datetime.timedelta(seconds=length)
    assert end <= next_start, f"{trial} (until {end}) overlaps {next_trial} (from {next_start})"
print(f"nextest: {len(spans)} trials, one at a time, one run id")

trials = {r["trial"]: r["passed"] for r in reports}
index = open(os.path.join(reports_dir, "index.html")).read()
for trial in trials:
    assert trial in index, f"index.html lacks {trial}"
assert "stale_trial" not in index, "index.html lists an older run's trial"

def cases(path):
    found = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        failed = any(child.tag in ("failure", "error") for child in case)
        found[case.get("name")] = not failed
    return found

ours = cases(os.path.join(reports_dir, "junit.xml"))
assert ours == trials, f"our junit.xml {ours} != the reports {trials}"
theirs = cases(nextest_junit)
assert theirs == ours, f"nextest's JUnit {theirs} != ours {ours}"
print(f"nextest: index.html and junit.xml list all {len(ours)} trials; nextest's JUnit agrees")
PY
