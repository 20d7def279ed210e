#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks need, only those that are missing:
#   chromium    the HTML report and web UI tests load pages in headless Chromium
#   curl        the web UI test runs the seeds' curl commands verbatim
#   prometheus_client (PyPI, for python3)   the /metrics test parses with Prometheus's own parser
#   mitmproxy >= 10.1 (PyPI, in its own virtualenv at ~/.cache/swarm-harness/mitmproxy-venv)
#               the HAR record-and-replay test records a session through a real mitmdump
#   locust (PyPI, in its own virtualenv at ~/.cache/swarm-harness/locust-venv)
#               the Locust worker test runs our workers under a real Locust master
#   the shell linter (package shellcheck): the test script lints the shell scripts
#   libsqlite3-dev pkg-config   the consumer crate (consumers/newsletter), a team's service on
#                    the system's SQLite, as such a team builds it
#   wrk nginx time   the benchmarks (scripts/bench/*.sh): wrk and nginx as peers, GNU time
#                    for CPU seconds and peak RSS
# Usage: scripts/install-deps.sh [test|bench|all]   (default: test)
set -euo pipefail

want=(chromium shellcheck curl libsqlite3-dev pkg-config)
case "${1:-test}" in
  test) ;;
  bench) want=(wrk nginx time) ;;
  all) want+=(wrk nginx time) ;;
  *) echo "error: unknown set \"$1\": expected test, bench or all" >&2; exit 2 ;;
esac

declare -A binary=([chromium]=/usr/bin/chromium [shellcheck]=/usr/bin/shellcheck [curl]=/usr/bin/curl [wrk]=/usr/bin/wrk [nginx]=/usr/sbin/nginx [time]=/usr/bin/time [libsqlite3-dev]=/usr/include/sqlite3.h [pkg-config]=/usr/bin/pkg-config)
# The Python package first: it needs no root.
if [[ "${1:-test}" != bench ]] && ! python3 -c 'import prometheus_client' 2>/dev/null; then
  echo "installing: prometheus_client (pip)"
  python3 -m pip install --quiet --user 'prometheus_client>=0.20' 2>/dev/null ||
    python3 -m pip install --quiet 'prometheus_client>=0.20' ||
    python3 -m pip install --quiet --break-system-packages 'prometheus_client>=0.20'
fi

# A PyPI tool in its own virtualenv under ~/.cache/swarm-harness: venv_install NAME BINARY SPEC
venv_install() {
  local venv="$HOME/.cache/swarm-harness/$1-venv"
  [[ -x "$venv/bin/$2" ]] && return 0
  echo "installing: $1 (pip, into $venv)"
  mkdir -p "$(dirname "$venv")"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian's python3 without python3-venv: virtualenv from PyPI makes the same thing.
    rm -rf "$venv"
    python3 -m pip install --quiet --user virtualenv 2>/dev/null ||
      python3 -m pip install --quiet --break-system-packages virtualenv
    python3 -m virtualenv --quiet "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet "$3"
}

if [[ "${1:-test}" != bench ]]; then
  venv_install mitmproxy mitmdump 'mitmproxy>=10.1'
  venv_install locust locust 'locust>=2.0'
fi

missing=()
for package in "${want[@]}"; do
  [[ -e "${binary[$package]}" ]] || missing+=("$package")
done
((${#missing[@]} == 0)) && exit 0

sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "installing: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
