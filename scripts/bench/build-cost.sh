#!/usr/bin/env bash
# What swarm-harness costs a user's build: a minimal consumer crate (README's layout B, one
# scenario; scripts/minimal-consumer.sh) outside the workspace, built clean (`cargo build
# --tests`, debug, its own target directory) once per feature set: the default features, and
# the fewest the source allows (`default-features = false`, plus `ring` where the source
# cannot build without a TLS provider), and the fewest with HTTPS (`ring`) when those differ.
# Printed per set: the crates compiled (distinct `Compiling` lines of the clean build, the
# consumer and swarm-harness's own crates included) and the wall time.
# Usage: scripts/bench/build-cost.sh [SWARM_HARNESS_DIR]   (default: this checkout's)
#   "Before" a change: git worktree add /tmp/before-5ed0f17 5ed0f17
#                      scripts/bench/build-cost.sh /tmp/before-5ed0f17/swarm-harness
# Needs crates.io (or CARGO_HOME's cache); the workspace's Cargo.lock is copied in, so both
# sides build the same versions. Not run by CI: it is a benchmark (minutes per set).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/minimal-consumer.sh
source "$root/scripts/minimal-consumer.sh"
source_dir="$(cd "${1:-$root/swarm-harness}" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The feature sets this source has: a `tls` feature means it builds without a provider.
sets=("default|")
if grep -q '^tls = ' "$source_dir/Cargo.toml"; then
  sets+=("fewest|default-features = false" "fewest + ring (https)|default-features = false, features = [\"ring\"]")
else
  sets+=("fewest (ring)|default-features = false, features = [\"ring\"]")
fi

# One clean build of the consumer with `keys`: "<crates> <seconds>".
measure() {
  local keys="$1" dir="$work/consumer" log="$work/build.log" start end
  rm -rf "$dir"
  write_minimal_consumer "$dir" "$source_dir" "$keys"
  cp "$source_dir/../Cargo.lock" "$dir/Cargo.lock"
  # Downloads are not build time: fetched first, outside the clock.
  (cd "$dir" && cargo fetch --quiet)
  start="$(date +%s.%N)"
  (cd "$dir" && CARGO_TARGET_DIR="$dir/target" CARGO_TERM_COLOR=never \
    cargo build --tests 2>"$log")
  end="$(date +%s.%N)"
  local crates
  crates="$(grep -E '^ +Compiling ' "$log" | awk '{print $2, $3}' | sort -u | wc -l)"
  echo "$crates $(python3 -c "print(f'{$end - $start:.0f}')")"
}

echo "swarm-harness at $source_dir ($(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-24s %8s %10s\n' "features" "crates" "seconds"
for set in "${sets[@]}"; do
  label="${set%%|*}"
  read -r crates seconds < <(measure "${set#*|}")
  printf '%-24s %8s %10s\n' "$label" "$crates" "$seconds"
done
echo "(load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
