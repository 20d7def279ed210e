#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need when it is missing
# (Chromium, shellcheck), then runs every test of the workspace and checks formatting and
# lints (rustfmt, clippy, shellcheck).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh test
# The stress targets (`test = false`) must not run as part of the ordinary tests.
cargo test --workspace 2>&1 | tee "${TMPDIR:-/tmp}/swarm-harness-tests.log"
if grep -q "Running tests/stress.rs" "${TMPDIR:-/tmp}/swarm-harness-tests.log"; then
  echo "error: cargo test --workspace ran the stress target" >&2
  exit 1
fi
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
shopt -s nullglob
shellcheck -x run_stress_tests.sh .ci/run scripts/*.sh scripts/bench/*.sh

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
