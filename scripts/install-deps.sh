#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks need, only those that are missing:
#   chromium    the HTML report test loads the page in headless Chromium
#   the shell linter (package shellcheck): the test script lints the shell scripts
#   wrk nginx time   the benchmarks (scripts/bench/*.sh): wrk and nginx as peers, GNU time
#                    for CPU seconds and peak RSS
# Usage: scripts/install-deps.sh [test|bench|all]   (default: test)
set -euo pipefail

want=(chromium shellcheck)
case "${1:-test}" in
  test) ;;
  bench) want=(wrk nginx time) ;;
  all) want+=(wrk nginx time) ;;
  *) echo "error: unknown set \"$1\": expected test, bench or all" >&2; exit 2 ;;
esac

declare -A binary=([chromium]=/usr/bin/chromium [shellcheck]=/usr/bin/shellcheck [wrk]=/usr/bin/wrk [nginx]=/usr/sbin/nginx [time]=/usr/bin/time)
missing=()
for package in "${want[@]}"; do
  [[ -x "${binary[$package]}" ]] || missing+=("$package")
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
