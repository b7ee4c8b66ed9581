#!/usr/bin/env bash
# Stops the test rig started by up.sh: the real node first (real-node.sh down: its containers,
# kubelet, containerd and registry, and every side effect they had on the machine), then each
# control-plane component by the pid up.sh recorded (TERM, then KILL after 10 s), newest first.
#   usage: down.sh [STATE_DIR]     (default ~/.cache/trainyard/k8s/cluster)
set -uo pipefail
STATE="${1:-${TY_K8S_STATE:-$HOME/.cache/trainyard/k8s/cluster}}"
PIDS="$STATE/pids"
[ -d "$STATE/real-node" ] && bash "$(dirname "$0")/real-node.sh" down "$STATE"
if [ ! -f "$PIDS" ]; then
  echo "[k8s down] nothing running in $STATE" >&2
  exit 0
fi
mapfile -t lines < <(tac "$PIDS")
for l in "${lines[@]}"; do
  pid="${l##* }"
  kill -TERM "$pid" 2>/dev/null || true
done
for l in "${lines[@]}"; do
  pid="${l##* }"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
done
rm -f "$PIDS"
echo "[k8s down] stopped ${#lines[@]} components in $STATE" >&2
