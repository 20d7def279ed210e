#!/usr/bin/env bash
# Memory: (a) 10,000 users, each with its own session (cookie jar, connection), waiting
# between(1s, 2s) between requests for DURATION_A (30s) against nginx: peak RSS, once hatched
# at 1,000 users/s and once at 100,000 users/s (a burst start costs more: every user's first
# request is in flight at once); (b) 50 users
# with no wait against nginx: peak RSS after 100k and after 1M requests, side by side (the
# statistics must not grow with the request count).
# (c) as (a) at 1,000 users/s over PT_HTTP=reqwest, for the KiB per user of the compatible path.
# Targets: (a) <= 150 MiB; (b) flat.
#
# Usage: scripts/bench/memory.sh   (DURATION_A=30s; installs wrk, nginx, time)
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_setup
bench_start_nginx

declare -A sessions_rss sessions_count sessions_users
for rate in 1000 100000; do
  bench_harness sessions PT_HOST="$nginx_url" PT_NUM_CLIENTS=10000 PT_HATCH_RATE="$rate" PT_DURATION="${DURATION_A:-30s}"
  sessions_rss[$rate]="$rss_mib"
  sessions_count[$rate]="$(bench_report_figure count)"
  sessions_users[$rate]="$(python3 -c "import json; print(max(p['users'] for p in json.load(open('$report'))['timeline']))")"
done
bench_harness sessions PT_HOST="$nginx_url" PT_NUM_CLIENTS=10000 PT_HATCH_RATE=1000 PT_DURATION="${DURATION_A:-30s}" PT_HTTP=reqwest
reqwest_rss="$rss_mib"
reqwest_users="$(python3 -c "import json; print(max(p['users'] for p in json.load(open('$report'))['timeline']))")"

bench_harness get_root PT_HOST="$nginx_url" PT_NUM_CLIENTS=50 PT_NUM_REQUESTS=100000 PT_DURATION=10m
small_rss="$rss_mib"
small_count="$(bench_report_figure count)"
bench_harness get_root PT_HOST="$nginx_url" PT_NUM_CLIENTS=50 PT_NUM_REQUESTS=1000000 PT_DURATION=10m
large_rss="$rss_mib"
large_count="$(bench_report_figure count)"

echo
for rate in 1000 100000; do
  per_user="$(python3 -c "print(round(${sessions_rss[$rate]} * 1024 / max(${sessions_users[$rate]}, 1), 2))")"
  echo "(a) hatch $rate/s: ${sessions_users[$rate]} users with their own sessions, ${sessions_count[$rate]} requests: peak RSS ${sessions_rss[$rate]} MiB, $per_user KiB per user (target <= 150 MiB)"
done
per_user="$(python3 -c "print(round($reqwest_rss * 1024 / max($reqwest_users, 1), 2))")"
echo "(c) PT_HTTP=reqwest, hatch 1000/s: $reqwest_users users: peak RSS $reqwest_rss MiB, $per_user KiB per user"
echo "(b) 50 users, no wait:"
printf '    %10s requests: peak RSS %6s MiB\n' "$small_count" "$small_rss" "$large_count" "$large_rss"
python3 -c "print('    growth from 100k to 1M requests: %+.1f MiB' % ($large_rss - $small_rss))"
