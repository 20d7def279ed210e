# Shared by the benchmark scripts (sourced): building, nginx on CPU 0, measuring a command's
# CPU time and peak RSS with GNU time, reading harness reports.
# shellcheck shell=bash
# The scripts that source this file read the variables it sets (nginx_url, cpu_s, ...).
# shellcheck disable=SC2034

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench_work="$(mktemp -d)"
bench_pids=()

bench_cleanup() {
  for pid in "${bench_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$bench_work"
}
trap bench_cleanup EXIT

bench_setup() {
  "$bench_root/scripts/install-deps.sh" bench
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  (cd "$bench_root" && cargo build --quiet --release -p swarm-harness-e2e --bins)
  harness_bin="$bench_root/target/release/bench-stress"
  server_bin="$bench_root/target/release/e2e-server"
}

# A free loopback port.
bench_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

bench_wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "error: nothing listens on port $1" >&2
  return 1
}

# Starts nginx pinned to CPU 0; sets nginx_url.
bench_start_nginx() {
  local port dir
  port="$(bench_port)"
  dir="$bench_work/nginx"
  mkdir -p "$dir"
  sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" "$bench_root/scripts/bench/nginx.conf" >"$dir/nginx.conf"
  taskset -c 0 /usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir" &
  bench_pids+=("$!")
  bench_wait_port "$port"
  nginx_url="http://127.0.0.1:$port"
}

# Starts the e2e server (20 ms route with its own timing) pinned to CPU 0; sets server_url.
bench_start_server() {
  local port
  port="$(bench_port)"
  taskset -c 0 "$server_bin" "$port" >/dev/null &
  bench_pids+=("$!")
  bench_wait_port "$port"
  server_url="http://127.0.0.1:$port"
}

# Runs a command on CPU 1 under GNU time; sets cpu_s (user+sys) and rss_mib (peak).
bench_measure() {
  local stats="$bench_work/time.txt"
  taskset -c 1 /usr/bin/time -f "%U %S %M" -o "$stats" "$@" >"$bench_work/out.txt" 2>&1 || {
    echo "error: failed: $*" >&2
    tail -20 "$bench_work/out.txt" >&2
    return 1
  }
  read -r user sys rss_kib <"$stats"
  cpu_s="$(python3 -c "print(round($user + $sys, 2))")"
  rss_mib="$(python3 -c "print(round($rss_kib / 1024, 1))")"
}

# Runs the harness's trial $1 with extra PT_* variables; sets report (the JSON's path).
bench_harness() {
  local trial="$1"
  shift
  local dir="$bench_work/reports-$trial-$RANDOM"
  mkdir -p "$dir"
  bench_measure env PT_REPORT_DIR="$dir" PT_HATCH_RATE=100000 "$@" "$harness_bin" --exact "$trial"
  report="$dir/$trial.json"
}

# A figure of the report's Aggregated row: count, p50_ms, p99_ms.
bench_report_figure() {
  python3 - "$report" "$1" <<'PY'
import json, sys
total = json.load(open(sys.argv[1]))["requests_total"]
figure = sys.argv[2]
if figure == "count":
    print(total["count"])
else:
    print(round(total["percentiles_us"][figure.replace("_ms", "")] / 1000, 3))
PY
}
