#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need when it is missing
# (Chromium, shellcheck), then runs every test of the workspace and lints the shell scripts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh test
cargo test --workspace
shopt -s nullglob
shellcheck run_stress_tests.sh .ci/run scripts/*.sh scripts/bench/*.sh
