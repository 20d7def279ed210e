#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need when it is missing
# (Chromium, shellcheck), then runs every test of the workspace and checks formatting and
# lints (rustfmt, clippy, shellcheck).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh test
cargo test --workspace
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
shopt -s nullglob
shellcheck -x run_stress_tests.sh .ci/run scripts/*.sh scripts/bench/*.sh
