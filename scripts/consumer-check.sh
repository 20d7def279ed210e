#!/usr/bin/env bash
# A team's crate, outside the workspace (consumers/newsletter: its own lock file, reqwest 0.12,
# rustls with ring, a tracing subscriber installed with .expect(..), a TestApp on SQLite with a
# mail mock), on reqwest 0.12 and then 0.13: its integration tests pass unchanged, `--list`
# of its stress target starts nothing, and a short stress run's counts equal the database's
# rows and the mail mock's deliveries (the target's on_finish_app fails the run otherwise;
# this script checks the printed figures against the JSON report as well).
# It shares the workspace's target directory, so the crates both build alike are built once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cd consumers/newsletter
cargo fmt --check

check_version() {
  local label="$1"; shift
  local features=("$@")
  cargo test -q "${features[@]}" 2>&1 | grep -E "^test result" | grep -v " 0 passed"

  # `--list` starts nothing: spawn_app would create its database under TMPDIR (built first,
  # so that only the listing runs with it).
  cargo test -q "${features[@]}" --test stress --no-run 2>/dev/null
  local tmp listing
  tmp="$(mktemp -d)"
  listing="$(TMPDIR="$tmp" cargo test -q "${features[@]}" --test stress -- --list)"
  grep -qxF "Reader: test" <<<"$listing" || { echo "$label: --list printed: $listing" >&2; exit 1; }
  if [[ -n "$(ls -A "$tmp")" ]]; then
    echo "$label: --list started the app: $(ls -A "$tmp")" >&2
    exit 1
  fi

  local reports log
  reports="$(mktemp -d)"
  log="$(mktemp)"
  PT_NUM_CLIENTS=10 PT_HATCH_RATE=20 PT_DURATION=3s PT_WEB=off PT_REPORT_DIR="$reports" \
    cargo test -q "${features[@]}" --test stress >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  python3 - "$log" "$reports/Reader.json" "$label" <<'PY'
import json, re, sys
log, report_path, label = sys.argv[1:]
text = open(log).read()
match = re.search(r"ground truth: (\d+) subscriptions \((\d+) confirmed\) and (\d+) e-mails", text)
assert match, text
rows, confirmed, mails = map(int, match.groups())
report = json.load(open(report_path))
def ok(entries, kind, name):
    return sum(e["count"] - e["failures"] for e in entries if e["kind"] == kind and e["name"] == name)
subscribed = ok(report["requests"], "POST", "/subscriptions") + ok(report["tasks"], "task", "sign_up_through_the_helper")
confirms = ok(report["requests"], "GET", "/subscriptions/confirm")
assert rows > 0 and (subscribed, confirms, rows) == (rows, confirmed, mails), (subscribed, confirms, rows, confirmed, mails)
assert report["passed"], report["verdict"]
print(f"consumer on {label}: {rows} subscriptions ({confirmed} confirmed), {mails} e-mails: equal to the report")
PY
}

check_version "reqwest 0.12"
check_version "reqwest 0.13" --no-default-features --features reqwest-0-13
