#!/usr/bin/env bash
# Memory: (a) 10,000 users, each with its own session (cookie jar, connection), waiting
# between(1s, 2s) between requests for DURATION_A (30s) against nginx: peak RSS; (b) 50 users
# with no wait against nginx: peak RSS after 100k and after 1M requests, side by side (the
# statistics must not grow with the request count).
# Targets: (a) <= 150 MiB; (b) flat.
#
# Usage: scripts/bench/memory.sh   (DURATION_A=30s; installs wrk, nginx, time)
set -euo pipefail
# shellcheck source=scripts/bench/lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_setup
bench_start_nginx

bench_harness sessions PT_HOST="$nginx_url" PT_NUM_CLIENTS=10000 PT_DURATION="${DURATION_A:-30s}"
sessions_rss="$rss_mib"
sessions_count="$(bench_report_figure count)"
sessions_users="$(python3 -c "import json; print(max(p['users'] for p in json.load(open('$report'))['timeline']))")"

bench_harness get_root PT_HOST="$nginx_url" PT_NUM_CLIENTS=50 PT_NUM_REQUESTS=100000 PT_DURATION=10m
small_rss="$rss_mib"
small_count="$(bench_report_figure count)"
bench_harness get_root PT_HOST="$nginx_url" PT_NUM_CLIENTS=50 PT_NUM_REQUESTS=1000000 PT_DURATION=10m
large_rss="$rss_mib"
large_count="$(bench_report_figure count)"

echo
echo "(a) $sessions_users users with their own sessions, $sessions_count requests: peak RSS $sessions_rss MiB (target <= 150 MiB)"
echo "(b) 50 users, no wait:"
printf '    %10s requests: peak RSS %6s MiB\n' "$small_count" "$small_rss" "$large_count" "$large_rss"
python3 -c "print('    growth from 100k to 1M requests: %+.1f MiB' % ($large_rss - $small_rss))"
