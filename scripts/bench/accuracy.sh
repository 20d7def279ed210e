#!/usr/bin/env bash
# Latency accuracy: how far each tool's p50/p99 is from the server's own figure.
#
# A server (target/release/e2e-server, pinned to CPU 0) answers GET /timed after a fixed 20 ms
# and records how long each request took it to handle (ground truth). The harness (20 users, no
# wait) and `wrk -t1 -c20` (both on CPU 1) load it for DURATION (10s) each; after each run the
# server's p50/p99 are read back and each tool's p50/p99 minus the server's are printed.
# Target: the harness within +0.3 ms at p50 and +1 ms at p99 (wrk: +0.16 / +0.5 ms).
#
# Usage: scripts/bench/accuracy.sh   (DURATION=10s; installs wrk, nginx, time)
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

duration="${DURATION:-10s}"
bench_setup
bench_start_server

server_figures() {
  python3 - "$server_url/timed-stats" <<'PY'
import json, sys, urllib.request
stats = json.load(urllib.request.urlopen(sys.argv[1]))
print(stats.get("p50_us", 0) / 1000, stats.get("p99_us", 0) / 1000, stats["count"])
PY
}

# wrk prints 20.13ms or 950.00us or 1.02s.
to_ms() {
  python3 -c "
import sys
v = sys.argv[1]
for unit, scale in (('us', 1e-3), ('ms', 1.0), ('s', 1e3)):
    if v.endswith(unit) and (unit != 's' or not v.endswith(('us', 'ms'))):
        print(float(v[: -len(unit)]) * scale); break" "$1"
}

server_figures >/dev/null # forget anything before the runs

bench_harness timed PT_HOST="$server_url" PT_NUM_CLIENTS=20 PT_DURATION="$duration"
h50="$(bench_report_figure p50_ms)"
h99="$(bench_report_figure p99_ms)"
read -r hs50 hs99 hcount < <(server_figures)

bench_measure wrk -t1 -c20 -d"$duration" --latency "$server_url/timed"
w50="$(to_ms "$(awk '$1 == "50%" {print $2}' "$bench_work/out.txt")")"
w99="$(to_ms "$(awk '$1 == "99%" {print $2}' "$bench_work/out.txt")")"
read -r ws50 ws99 wcount < <(server_figures)

python3 - "$h50" "$h99" "$hs50" "$hs99" "$hcount" "$w50" "$w99" "$ws50" "$ws99" "$wcount" <<'PY'
import sys
h50, h99, hs50, hs99, hc, w50, w99, ws50, ws99, wc = map(float, sys.argv[1:])
print(f"{'tool':<8} {'requests':>9} {'p50 ms':>9} {'server p50':>11} {'diff':>8} {'p99 ms':>9} {'server p99':>11} {'diff':>8}")
print(f"{'harness':<8} {hc:>9.0f} {h50:>9.3f} {hs50:>11.3f} {h50 - hs50:>+8.3f} {h99:>9.3f} {hs99:>11.3f} {h99 - hs99:>+8.3f}")
print(f"{'wrk':<8} {wc:>9.0f} {w50:>9.3f} {ws50:>11.3f} {w50 - ws50:>+8.3f} {w99:>9.3f} {ws99:>11.3f} {w99 - ws99:>+8.3f}")
print("target: harness p50 within +0.3 ms, p99 within +1 ms of the server's own figure")
PY
