#!/usr/bin/env bash
# The CI stress job. Runs the platform-tests stress suite with CI-sized settings, collects
# every report file (JSON, CSV, HTML, JUnit) into an artifacts directory, compares the run with a
# baseline when one is given, and exits non-zero on a failed trial (a breached threshold, or a
# failure where a trial has no thresholds) or on a regression beyond the tolerance.
#
# Usage: scripts/ci-stress.sh [ARTIFACTS_DIR] [-- HARNESS ARGS...]   (default artifacts/stress)
#   BASELINE_DIR   reports of an earlier run (e.g. the main branch's artifacts) to compare with
#   TOLERANCE      allowed slow-down of p50/p95/p99 and drop of requests/s (default 20%)
#   HISTORY_DIR    keep this run's JSON reports in HISTORY_DIR/<UTC time>/ (the newest HISTORY_KEEP
#                  runs, default 20), follow every figure over them with `swarm history` (page:
#                  HISTORY_DIR/history.html) and fail when this run starts a regression change point
#   PT_DURATION, PT_NUM_CLIENTS, PT_HATCH_RATE, PT_THRESHOLDS, ...  as for run_stress_tests.sh
#
# Leaves: ARTIFACTS_DIR/reports/* (all report files), ARTIFACTS_DIR/compare.txt (with a
# baseline), ARTIFACTS_DIR/history.txt (with HISTORY_DIR), ARTIFACTS_DIR/summary.txt.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

artifacts="${1:-artifacts/stress}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift
mkdir -p "$artifacts"
artifacts="$(cd "$artifacts" && pwd)"
rm -rf "$artifacts/reports" "$artifacts/compare.txt" "$artifacts/history.txt" "$artifacts/summary.txt"
mkdir -p "$artifacts/reports"

export PT_DURATION="${PT_DURATION:-20s}"
export PT_NUM_CLIENTS="${PT_NUM_CLIENTS:-10}"
export PT_HATCH_RATE="${PT_HATCH_RATE:-10}"
export PT_REPORT_DIR="$artifacts/reports"

stress_status=0
./run_stress_tests.sh "$@" | tee "$artifacts/stress.log" || stress_status=${PIPESTATUS[0]}

cargo build --quiet -p swarm-harness-cli --bin swarm
swarm="$root/target/debug/swarm"
# Re-render from the JSON, so the artifacts are complete even if the run was cut short.
"$swarm" report "$PT_REPORT_DIR"

compare_status=0
if [[ -n "${BASELINE_DIR:-}" ]]; then
  "$swarm" compare "$BASELINE_DIR" "$PT_REPORT_DIR" --tolerance "${TOLERANCE:-20%}" \
    | tee "$artifacts/compare.txt" || compare_status=${PIPESTATUS[0]}
fi

history_status=0
if [[ -n "${HISTORY_DIR:-}" ]]; then
  mkdir -p "$HISTORY_DIR"
  run_dir="$HISTORY_DIR/$(date -u +%Y%m%dT%H%M%SZ)-$$"
  mkdir -p "$run_dir"
  cp "$PT_REPORT_DIR"/*.json "$run_dir/"
  # Run directories are named by their start, so name order is time order: drop the oldest.
  mapfile -t runs < <(find "$HISTORY_DIR" -mindepth 1 -maxdepth 1 -type d | sort)
  keep="${HISTORY_KEEP:-20}"
  if ((${#runs[@]} > keep)); then
    rm -rf "${runs[@]:0:${#runs[@]}-keep}"
  fi
  if ((${#runs[@]} >= 2)); then
    "$swarm" history "$HISTORY_DIR" --html "$HISTORY_DIR/history.html" --tolerance "${TOLERANCE:-20%}" \
      | tee "$artifacts/history.txt" || history_status=${PIPESTATUS[0]}
  fi
fi

{
  echo "stress run: exit $stress_status (0 = every trial passed)"
  if [[ -n "${BASELINE_DIR:-}" ]]; then
    echo "comparison with $BASELINE_DIR: exit $compare_status (0 = no regression, 1 = regression, 2 = bad input)"
  else
    echo "comparison: skipped (set BASELINE_DIR)"
  fi
  if [[ -n "${HISTORY_DIR:-}" ]]; then
    echo "history in $HISTORY_DIR: exit $history_status (0 = the newest run starts no regression)"
  fi
  echo "artifacts: $artifacts"
} | tee "$artifacts/summary.txt"

if ((stress_status != 0)); then
  exit "$stress_status"
fi
if ((compare_status != 0)); then
  exit "$compare_status"
fi
exit "$history_status"
