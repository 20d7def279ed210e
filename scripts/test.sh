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
# The library with no reqwest at all (the consumer crate builds it with reqwest 0.12 alone),
# and with the fewest features: no web UI, Locust worker, TLS or reqwest.
cargo clippy -p swarm-harness --lib --quiet --no-default-features --features ring -- -D warnings
cargo clippy -p swarm-harness --lib --quiet --no-default-features -- -D warnings
# The public API's docs: every public item documented (missing_docs is on), no broken link.
RUSTDOCFLAGS="-D warnings" cargo doc -p swarm-harness -p swarm-harness-cli --no-deps --quiet
# What a stress binary with the fewest features compiles of ours: at most half the 242 crates
# the library had before its features (docs/src/build-cost.md).
fewest="$(cargo tree -p swarm-harness -e normal --prefix none --no-default-features \
  | sed 's/ (\*)//; s/ (proc-macro)//' | awk '{print $1}' | sort -u | wc -l)"
if ((fewest > 121)); then
  echo "swarm-harness with no features has $fewest crates in its dependency graph; at most 121" >&2
  exit 1
fi
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

# A stress target with the fewest features (scripts/minimal-consumer.sh, outside the workspace)
# refuses each setting that asks for a part it leaves out, before any load: exit 2 and a line
# naming the setting and the feature. Asked for nothing, it lists its trial and names no UI.
# shellcheck source=scripts/minimal-consumer.sh
source scripts/minimal-consumer.sh
lean="$(mktemp -d)"
lean_target="$PWD/target"
write_minimal_consumer "$lean" "$PWD/swarm-harness" "default-features = false"
cp Cargo.lock "$lean/"
lean_bin="$(cd "$lean" && CARGO_TARGET_DIR="$lean_target" cargo test -q --test stress --no-run \
  --message-format=json | python3 -c 'import json, sys
print([m["executable"] for m in map(json.loads, sys.stdin) if m.get("executable")][0])')"
# check_left_out EXPECTED FEATURE [VAR=VALUE...] [-- FLAG...]: exit 2, the message EXPECTED
# ending with the cargo feature FEATURE.
check_left_out() {
  local expected="$1" feature="$2" output status=0 vars=()
  shift 2
  while [[ $# -gt 0 && "$1" != "--" ]]; do vars+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  output="$(env "${vars[@]}" PT_REPORT_DIR="$lean/reports" "$lean_bin" "$@" 2>&1)" || status=$?
  local built_without="which this stress target is built without: enable swarm-harness's cargo feature"
  if [[ $status -ne 2 || "$output" != *"$expected, $built_without \`$feature\`"* ]]; then
    echo "fewest-features stress target with ${vars[*]} $*: exit $status, output: $output" >&2
    return 1
  fi
}
check_left_out 'PT_WEB="on" needs the web UI' web PT_WEB=on
check_left_out 'PT_LOCUST_PORT="8089" needs the web UI' web PT_LOCUST_PORT=8089
check_left_out 'PT_LOCUST_MASTER="127.0.0.1:5557" needs the Locust worker' locust \
  PT_LOCUST_MASTER=127.0.0.1:5557
check_left_out 'needs HTTPS' ring PT_HOST=https://example.com
check_left_out '--locustfile needs the Locust worker' locust -- --locustfile
listing="$("$lean_bin" --list 2>&1)"
[[ "$listing" == "home_page: test" ]] || { echo "fewest features, --list: $listing" >&2; exit 1; }
echo "fewest-features stress target: 5 refusals and a quiet --list passed"
took "fewest-features stress target"

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
