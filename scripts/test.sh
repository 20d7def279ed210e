#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need when it is missing
# (Chromium, shellcheck, curl, prometheus_client), then runs every test of the workspace and checks formatting and
# lints (rustfmt, clippy, shellcheck), that the publishable crates package, and that libtest's `--format json` output of the
# platform-tests stress target stays valid JSON lines with the web UI on.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# How long the step that just ended took, so a slow step stands out in the CI log.
step_start=$SECONDS
took() { echo "[step] $1: $((SECONDS - step_start)) s (total $SECONDS s)"; step_start=$SECONDS; }

scripts/install-deps.sh test
took "install-deps"
# The stress targets (`test = false`) must not run as part of the ordinary tests.
cargo test --workspace 2>&1 | tee "${TMPDIR:-/tmp}/swarm-harness-tests.log"
if grep -q "Running tests/stress.rs" "${TMPDIR:-/tmp}/swarm-harness-tests.log"; then
  echo "error: cargo test --workspace ran the stress target" >&2
  exit 1
fi
took "cargo test --workspace"
# A team's crate outside the workspace, on reqwest 0.12 and 0.13 (its own lock file).
scripts/consumer-check.sh
took "consumer crate (consumers/newsletter)"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The library with no reqwest at all (the consumer crate builds it with reqwest 0.12 alone).
cargo clippy -p swarm-harness --lib --quiet --no-default-features --features ring -- -D warnings
shopt -s nullglob
shellcheck -x run_stress_tests.sh .ci/run scripts/*.sh scripts/bench/*.sh
took "fmt, clippy, shellcheck"
# The publishable crates package as crates.io would take them: metadata complete, every file
# the build reads inside the package (`cargo publish --dry-run`, unverified: see the script).
scripts/package-check.sh
took "cargo publish --dry-run"

# run_stress_tests.sh refuses what is not a stress target, with one clear line and exit 2,
# before building or sending anything.
check_refusal() {
  local file="$1" expected="$2" output status=0
  output="$(PT_LOCUST_FILE="$file" ./run_stress_tests.sh 2>&1)" || status=$?
  if [[ $status -ne 2 || "$output" != *"$expected"* ]]; then
    echo "run_stress_tests.sh with PT_LOCUST_FILE=$file: exit $status, output: $output" >&2
    return 1
  fi
}
check_refusal does/not/exist.rs 'PT_LOCUST_FILE="does/not/exist.rs" does not exist'
check_refusal platform-tests/tests/integration.rs 'declares no [[test]] named "integration" with harness = false'
echo "run_stress_tests.sh refusals: 2 passed, 0 failed"
took "run_stress_tests.sh refusals"

# libtest's JSON output stays valid JSON lines with the web UI on (human output goes to stderr).
json_log="$(mktemp)"
PT_DURATION=2s PT_NUM_CLIENTS=2 PT_HATCH_RATE=10 PT_LOCUST_PORT=0 PT_REPORT_DIR="$(mktemp -d)" \
  cargo test -q -p platform-tests --test stress -- --format json Browser >"$json_log"
python3 - "$json_log" <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
assert any(e.get("event") == "ok" and e.get("name") == "Browser" for e in events), events
print(f"--format json gave {len(events)} valid JSON lines")
PY
took "--format json"

# Under cargo-nextest (one process per trial): trials one at a time, run-level files complete.
# `swarm locustfile`: a real Locust loads the platform's user classes, one per trial.
locustfile="$(mktemp --suffix=.py)"
cargo run -q -p swarm-harness-cli -- locustfile -p platform-tests >"$locustfile"
classes="$("$HOME/.cache/swarm-harness/locust-venv/bin/locust" -f "$locustfile" --list 2>/dev/null)"
for trial in Browser Tenant "create_app[small]" "create_app[large]" "create_app_and_wait[small]" "create_app_and_wait[large]"; do
  grep -qxF "    $trial" <<<"$classes" || { echo "swarm locustfile: Locust lists no $trial: $classes" >&2; exit 1; }
done
echo "swarm locustfile: Locust lists the platform's 6 trials as user classes"
took "swarm locustfile under Locust"

scripts/nextest-check.sh
took "nextest"
