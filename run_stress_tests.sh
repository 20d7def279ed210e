#!/usr/bin/env bash
# Runs a stress target of this workspace with the seed's PT_* variables and defaults
# (platform-tests' run_stress_tests, in Rust):
#
#   PT_LOCUST_FILE  the stress test file to run      (default platform-tests/tests/stress.rs)
#   PT_NUM_CLIENTS  simulated users per trial        (default 2)
#   PT_HATCH_RATE   users started per second         (default 1)
#   PT_DURATION     duration of each trial           (default 10, in minutes; 30s, 5m, 1h work)
#   PT_LOCUST_PORT  port of the live web UI          (default 8089; 0 takes any free port)
#
# Every other PT_* variable of the harness (PT_HOST, PT_REPORT_DIR, PT_NUM_REQUESTS, PT_SEED,
# PT_THRESHOLDS, ...) passes through. Extra arguments go to the harness, for example
#   ./run_stress_tests.sh --only-with-param large
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

fail() {
  echo "error: $*" >&2
  exit 2
}

export PT_NUM_CLIENTS="${PT_NUM_CLIENTS:-2}"
export PT_HATCH_RATE="${PT_HATCH_RATE:-1}"
export PT_DURATION="${PT_DURATION:-10}"
export PT_LOCUST_PORT="${PT_LOCUST_PORT:-8089}"
export PT_REPORT_DIR="${PT_REPORT_DIR:-$root/target/stress-reports}"
locust_file="${PT_LOCUST_FILE:-platform-tests/tests/stress.rs}"

# Checked before the build; the harness checks it again (and every other PT_* value).
if ! [[ "$PT_LOCUST_PORT" =~ ^[0-9]{1,5}$ ]] || ((10#$PT_LOCUST_PORT > 65535)); then
  fail "invalid PT_LOCUST_PORT=\"$PT_LOCUST_PORT\": expected a port number from 0 to 65535 (0 takes any free port), such as 8089"
fi

# PT_LOCUST_FILE names <crate>/tests/<target>.rs; the crate's Cargo.toml must declare that
# file as a [[test]] target with harness = false.
[[ -f "$locust_file" ]] || fail "PT_LOCUST_FILE=\"$locust_file\" does not exist; expected a stress test file such as platform-tests/tests/stress.rs"
file_path="$(cd "$(dirname "$locust_file")" && pwd)/$(basename "$locust_file")"
tests_dir="$(dirname "$file_path")"
crate_dir="$(dirname "$tests_dir")"
target="$(basename "$file_path" .rs)"
manifest="$crate_dir/Cargo.toml"
if [[ "$(basename "$tests_dir")" != tests || "$file_path" != *.rs || ! -f "$manifest" ]]; then
  fail "PT_LOCUST_FILE=\"$locust_file\" is not a stress target: expected <crate>/tests/<name>.rs in a crate of this workspace"
fi
package="$(sed -n '/^\[package\]/,/^\[/s/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n 1)"
declared="$(awk -v target="$target" '
  /^\[\[test\]\]/ { in_test = 1; name = ""; harness = ""; next }
  /^\[/ { in_test = 0 }
  in_test && /^name *=/ { gsub(/.*= *"|".*/, ""); name = $0 }
  in_test && /^harness *= *false/ { harness = "false" }
  in_test && name == target && harness == "false" { print "yes"; exit }
' "$manifest")"
[[ "$declared" == yes ]] || fail "PT_LOCUST_FILE=\"$locust_file\" is not a stress target: $manifest declares no [[test]] named \"$target\" with harness = false"

echo "stress target: $package --test $target (users $PT_NUM_CLIENTS, hatch rate $PT_HATCH_RATE/s, duration $PT_DURATION)"
status=0
cargo test --quiet -p "$package" --test "$target" -- "$@" || status=$?
echo "reports: $PT_REPORT_DIR"
exit "$status"
