#!/usr/bin/env bash
# The edit -> rerun loop in a consumer crate (platform-tests, debug build): how long
# `cargo build --test stress` takes after a one-line change to the stress target alone, and
# after a one-line change to a scenario in the library. Each edit is a real change of the
# file's content (a comment line appended, then removed); the median of ROUNDS is printed.
# Usage: scripts/bench/rebuild.sh            ROUNDS=5 by default
#        CARGO_TIMINGS=1 scripts/bench/rebuild.sh   also writes cargo's --timings pages
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
rounds="${ROUNDS:-5}"
build=(cargo build --quiet -p platform-tests --test stress)
[[ -n "${CARGO_TIMINGS:-}" ]] && build+=(--timings)

target_file=platform-tests/tests/stress.rs
scenario_file=platform-tests/src/scenarios.rs
backup="$(mktemp -d)"
cp "$target_file" "$scenario_file" "$backup/"
restore() {
  cp "$backup/stress.rs" "$target_file"
  cp "$backup/scenarios.rs" "$scenario_file"
  rm -rf "$backup"
}
trap restore EXIT

"${build[@]}"   # warm: everything built once

# Seconds one rebuild takes after appending a line to $1.
rebuild_after_edit() {
  local file="$1" round="$2" start end
  printf '// rebuild benchmark, round %s\n' "$round" >>"$file"
  start="$(date +%s.%N)"
  "${build[@]}"
  end="$(date +%s.%N)"
  python3 -c "print(f'{$end - $start:.3f}')"
}

median() {
  python3 -c 'import statistics, sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.2f}")' "$@"
}

declare -a target_times scenario_times
for round in $(seq "$rounds"); do
  target_times+=("$(rebuild_after_edit "$target_file" "$round")")
  scenario_times+=("$(rebuild_after_edit "$scenario_file" "$round")")
done
echo "rebuild after a one-line change to tests/stress.rs: $(median "${target_times[@]}") s (median of $rounds: ${target_times[*]})"
echo "rebuild after a one-line change to a scenario:      $(median "${scenario_times[@]}") s (median of $rounds: ${scenario_times[*]})"
