#!/usr/bin/env bash
# Waits until the 1-minute load average is below IDLE_LOAD (default 1.0),
# polling every 20 s for at most IDLE_WAIT seconds (default 600), then
# prints the load it started at. On a shared machine a benchmark started
# this way is not measuring somebody else's build.
#
#   bash bench/idle.sh && bash bench/io.sh apply
set -euo pipefail
max=${IDLE_LOAD:-1.0} wait=${IDLE_WAIT:-600} waited=0
while :; do
  load=$(cut -d' ' -f1 /proc/loadavg)
  if python3 -c "import sys; sys.exit(0 if $load < $max else 1)"; then
    echo "load $load after ${waited} s" >&2
    exit 0
  fi
  if [ "$waited" -ge "$wait" ]; then
    echo "load still $load after ${waited} s; going on anyway" >&2
    exit 0
  fi
  sleep 20
  waited=$((waited + 20))
done
