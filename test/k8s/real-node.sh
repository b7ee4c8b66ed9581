#!/usr/bin/env bash
# One REAL node for the test rig, beside the kwok nodes: Debian's containerd + runc and a kubelet
# built by build.sh, so pods really pull images and run. Called by up.sh / down.sh.
#   real-node.sh up STATE API_PORT BIN     starts the registry, containerd and the kubelet
#   real-node.sh down STATE                stops them and undoes every side effect
# The node `ty-real-1` carries label trainyard.dev/node=real and taint trainyard.dev/node=real:NoSchedule,
# so only a profile that selects it (cpu-real) lands there. It pulls from the rig's own registry
# (docker-registry on loopback, plain HTTP), whose URL is in STATE/real-node/registry.url.
# Its address is the gateway of its own bridge (tyrig0, 10.244.77.1/24): a node IP cannot be
# loopback, and that address exists only on this machine, only while the rig runs.
#
# Side effects, recorded at `up` and undone at `down`: kubelet's kernel settings (saved, restored),
# the iptables chains it adds (only those: chains absent before `up`), mounts under STATE and the
# network namespaces of its pods, its cgroups (cgroupRoot /trainyard-rig), the bridge, CNI results,
# /var/log/containers links of its pods, and the shims and containers (killed through the cgroups).
# Two rigs with a real node on one machine are refused (a lock file names the one that runs).
set -euo pipefail
CMD="${1:-}"
STATE="${2:-}"
[ -n "$STATE" ] || { echo "usage: real-node.sh up STATE API_PORT BIN | down STATE" >&2; exit 2; }
RN="$STATE/real-node"
LOCK=/run/trainyard-k8s-real-node.lock
NODE=ty-real-1
BRIDGE=tyrig0
GATEWAY=10.244.77.1
SUBNET=10.244.77.0/24
CGROUP_ROOT=/trainyard-rig
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)
log() { echo "[k8s real node $(date +%H:%M:%S)] $*" >&2; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

chains() { # table -> the chain names in it, one a line (iptables or ip6tables as $IPT)
  "$IPT" -t "$1" -S 2>/dev/null | awk '$1 == "-N" {print $2}' | sort
}
snapshot_chains() { # file
  : > "$1"
  for IPT in iptables ip6tables; do
    command -v "$IPT" >/dev/null || continue
    for t in filter nat mangle; do chains "$t" | sed "s#^#$IPT $t #" >> "$1"; done
  done
}

stop_pid() { # pid: TERM, then KILL after 10 s
  local pid=$1
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

down() {
  [ -d "$RN" ] || return 0
  set +e   # best effort: every step runs, whatever the one before it found
  log "stopping the real node in $STATE"
  # kubelet first, so nothing restarts the pods we kill
  [ -f "$RN/kubelet.pid" ] && stop_pid "$(cat "$RN/kubelet.pid")"
  # every container of this node (the processes in its cgroups), then containerd's shims
  local pids
  for _ in 1 2 3 4 5; do
    pids="$(find /sys/fs/cgroup -path "*$CGROUP_ROOT*" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | tr '\n' ' ' || true)"
    [ -n "${pids// /}" ] || break
    kill -KILL $pids 2>/dev/null || true
    sleep 0.3
  done
  for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $RN/containerd/containerd.sock" || true); do kill -KILL "$p" 2>/dev/null || true; done
  [ -f "$RN/containerd.pid" ] && stop_pid "$(cat "$RN/containerd.pid")"
  [ -f "$RN/registry.pid" ] && stop_pid "$(cat "$RN/registry.pid")"
  # network namespaces made for this node's pods (their names are in the CNI results), then mounts under STATE
  if [ -f "$RN/netns.before" ]; then
    for ns in $(ls /run/netns 2>/dev/null); do
      grep -qx "$ns" "$RN/netns.before" && continue
      grep -qs "/run/netns/$ns" "$RN"/cni/results/* /var/lib/cni/results/tyrig-* 2>/dev/null || case "$ns" in cni-*) ;; *) continue ;; esac
      umount "/run/netns/$ns" 2>/dev/null || umount -l "/run/netns/$ns" 2>/dev/null || true
      rm -f "/run/netns/$ns"
    done
  fi
  findmnt -rn -o TARGET | grep -F "$STATE/" | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  # cgroups, deepest first
  find /sys/fs/cgroup -depth -type d -path "*$CGROUP_ROOT*" -exec rmdir {} \; 2>/dev/null || true
  # iptables: the chains that did not exist before up, with the rules that jump to them
  if [ -f "$RN/chains.before" ]; then
    snapshot_chains "$RN/chains.after"
    local IPT t c
    while read -r IPT t c; do
      grep -qx "$IPT $t $c" "$RN/chains.before" && continue
      # rules elsewhere that jump to the chain
      "$IPT" -t "$t" -S | grep -E -- "-j $c( |\$)" | grep -v "^-N" | sed 's/^-A /-D /' | while read -r rule; do
        eval "$IPT -t $t $rule" 2>/dev/null || true
      done
      echo "$IPT $t $c"
    done < "$RN/chains.after" > "$RN/chains.new"
    while read -r IPT t c; do "$IPT" -t "$t" -F "$c" 2>/dev/null || true; done < "$RN/chains.new"
    while read -r IPT t c; do "$IPT" -t "$t" -X "$c" 2>/dev/null || true; done < "$RN/chains.new"
  fi
  # kernel settings kubelet changed
  if [ -f "$RN/sysctl.before" ]; then
    while read -r k v; do sysctl -qw "$k=$v" >/dev/null 2>&1 || true; done < "$RN/sysctl.before"
  fi
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -f /var/lib/cni/results/tyrig-* 2>/dev/null || true
  for l in /var/log/containers/*; do
    [ -L "$l" ] && case "$(readlink "$l")" in "$STATE"/*) rm -f "$l" ;; esac
  done
  [ -f "$RN/made.var-log-containers" ] && rmdir /var/log/containers 2>/dev/null || true
  [ -f "$RN/made.device-plugins" ] && { rm -rf /var/lib/kubelet/device-plugins; rmdir /var/lib/kubelet 2>/dev/null || true; }
  if [ -f "$LOCK" ] && [ "$(cat "$LOCK")" = "$STATE" ]; then rm -f "$LOCK"; fi
  rm -rf "$RN"
}

up() {
  local API_PORT=$1 BIN=$2
  [ "$(id -u)" = 0 ] || { echo "the rig's real node needs root (kubelet, containerd); set TY_K8S_REAL_NODE=0 to start the rig without it" >&2; exit 1; }
  for c in containerd containerd-shim-runc-v2 runc docker-registry iptables ip; do
    command -v "$c" >/dev/null || { echo "the rig's real node needs $c (apt-get install containerd runc docker-registry iptables iproute2)" >&2; exit 1; }
  done
  [ -x /usr/lib/cni/bridge ] || { echo "the rig's real node needs the CNI plugins in /usr/lib/cni (apt-get install containernetworking-plugins)" >&2; exit 1; }
  if [ -f "$LOCK" ]; then
    local other; other="$(cat "$LOCK")"
    if [ "$other" != "$STATE" ] && [ -f "$other/real-node/kubelet.pid" ] && alive "$(cat "$other/real-node/kubelet.pid")"; then
      echo "another Kubernetes test rig ($other) already runs a real node on this machine; stop it first (npm run k8s:down, or test/k8s/down.sh $other), or start this one with TY_K8S_REAL_NODE=0" >&2
      exit 1
    fi
    log "a stale lock names $other; taking it over"
    [ -d "$other/real-node" ] && bash "$0" down "$other" || true
  fi
  ip link show "$BRIDGE" >/dev/null 2>&1 && { echo "network interface $BRIDGE exists but no rig holds the lock; remove it (ip link del $BRIDGE) if no rig runs" >&2; exit 1; }
  mkdir -p "$RN"
  echo "$STATE" > "$LOCK"
  trap 'rc=$?; if [ $rc -ne 0 ]; then log "start failed; undoing"; down; fi' EXIT

  # what we will have to restore
  for k in "${SYSCTLS[@]}"; do echo "$k $(sysctl -n "$k")"; done > "$RN/sysctl.before"
  snapshot_chains "$RN/chains.before"
  ls /run/netns 2>/dev/null > "$RN/netns.before" || : > "$RN/netns.before"
  [ -d /var/log/containers ] || { mkdir -p /var/log/containers; touch "$RN/made.var-log-containers"; }
  [ -d /var/lib/kubelet/device-plugins ] || touch "$RN/made.device-plugins"

  # the rig's registry, plain HTTP on loopback
  local REG_PORT
  REG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  mkdir -p "$RN/registry"
  cat > "$RN/registry/config.yml" <<EOF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $RN/registry/data}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$REG_PORT}
EOF
  setsid docker-registry serve "$RN/registry/config.yml" > "$STATE/logs/registry.log" 2>&1 < /dev/null &
  echo $! > "$RN/registry.pid"
  echo "http://127.0.0.1:$REG_PORT" > "$RN/registry.url"
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$REG_PORT/v2/" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$REG_PORT/v2/" >/dev/null || { echo "the rig's registry did not start: $(tail -5 "$STATE/logs/registry.log")" >&2; exit 1; }

  # pause, built by Trainyard's own image writer and pushed to the rig's registry
  local PAUSE
  PAUSE="$(cd "$(dirname "$0")/../.." && node --import tsx test/k8s/rig-images.ts "http://127.0.0.1:$REG_PORT/rig" "$BIN/pause")"

  # the bridge, up before the kubelet: its gateway address is the node's IP. Its MAC address is set:
  # a bridge left to pick its own takes the lowest of its ports' (00:00:00:00:00:00 with none), so it
  # changed as pods came and went, and a pod that had learned the gateway's address (a predict run's
  # init container fetching its model) could not reach the backend until its ARP entry was
  # resolved again: its outputs' push waited 45-135 s.
  ip link add "$BRIDGE" address 02:74:79:72:69:67 type bridge
  ip addr add "$GATEWAY/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  mkdir -p "$RN/cni/net.d" "$RN/cni/ipam"
  cat > "$RN/cni/net.d/10-tyrig.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "tyrig", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$SUBNET", "gateway": "$GATEWAY"}]], "dataDir": "$RN/cni/ipam"}}]}
EOF

  # containerd: its own root, state and sockets; the registry over plain HTTP
  mkdir -p "$RN/containerd/certs.d/127.0.0.1:$REG_PORT"
  cat > "$RN/containerd/certs.d/127.0.0.1:$REG_PORT/hosts.toml" <<EOF
server = "http://127.0.0.1:$REG_PORT"
[host."http://127.0.0.1:$REG_PORT"]
  capabilities = ["pull", "resolve"]
EOF
  cat > "$RN/containerd/config.toml" <<EOF
version = 2
root = "$RN/containerd/root"
state = "$RN/containerd/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$RN/containerd/containerd.sock"
[ttrpc]
  address = "$RN/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  tolerate_missing_hugetlb_controller = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$RN/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$RN/containerd/certs.d"
EOF
  setsid containerd --config "$RN/containerd/config.toml" > "$STATE/logs/containerd.log" 2>&1 < /dev/null &
  echo $! > "$RN/containerd.pid"
  for _ in $(seq 1 100); do [ -S "$RN/containerd/containerd.sock" ] && break; sleep 0.1; done
  [ -S "$RN/containerd/containerd.sock" ] || { echo "containerd did not start: $(tail -5 "$STATE/logs/containerd.log")" >&2; exit 1; }

  # the kubelet: a client certificate as system:node:<name> (the rig authorizes by RBAC only, so the
  # group system:nodes is bound to the system:node ClusterRole), x509 auth of the API server's calls
  local PKI="$STATE/pki"
  mkcert kubelet-node "system:node:$NODE" system:nodes "" clientAuth
  cat > "$RN/kubelet.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: rig
  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: node
  user: {client-certificate: "$PKI/kubelet-node.crt", client-key: "$PKI/kubelet-node.key"}
contexts:
- name: rig
  context: {cluster: rig, user: node}
current-context: rig
EOF
  api -X POST -H 'Content-Type: application/json' "https://127.0.0.1:$API_PORT/apis/rbac.authorization.k8s.io/v1/clusterrolebindings" -d '{
    "apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"trainyard-rig-nodes"},
    "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:node"},
    "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"Group","name":"system:nodes"}]}' >/dev/null || true
  cat > "$RN/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $GATEWAY
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
containerRuntimeEndpoint: unix://$RN/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
cgroupsPerQOS: true
failSwapOn: false
oomScoreAdj: 0
podLogsDir: $RN/pod-logs
maxPods: 20
registerNode: true
registerWithTaints: [{key: trainyard.dev/node, value: real, effect: NoSchedule}]
authentication:
  x509: {clientCAFile: $PKI/ca.crt}
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
serializeImagePulls: false
resolvConf: /etc/resolv.conf
EOF
  # the kubelet wants its cgroupRoot to exist in every hierarchy
  for h in /sys/fs/cgroup/*/; do [ -f "$h/cgroup.procs" ] && mkdir -p "$h${CGROUP_ROOT#/}"; done
  setsid "$BIN/kubelet" --config "$RN/kubelet.yaml" --kubeconfig "$RN/kubelet.kubeconfig" --root-dir "$RN/kubelet" \
    --cert-dir "$RN/kubelet-pki" --hostname-override "$NODE" --node-ip "$GATEWAY" --node-labels "trainyard.dev/node=real" --v 1 \
    > "$STATE/logs/kubelet.log" 2>&1 < /dev/null &
  echo $! > "$RN/kubelet.pid"
  local end=$((SECONDS + 60))
  until api "https://127.0.0.1:$API_PORT/api/v1/nodes/$NODE" 2>/dev/null | python3 -c '
import json,sys
n=json.load(sys.stdin)
sys.exit(0 if any(c["type"]=="Ready" and c["status"]=="True" for c in n.get("status",{}).get("conditions",[])) else 1)' 2>/dev/null; do
    if [ $SECONDS -ge $end ] || ! alive "$(cat "$RN/kubelet.pid")"; then
      echo "the real node $NODE did not become Ready; the kubelet logged:" >&2
      grep -E '^E|error' "$STATE/logs/kubelet.log" | tail -n 15 >&2 || tail -n 15 "$STATE/logs/kubelet.log" >&2
      exit 1
    fi
    sleep 0.3
  done
  trap - EXIT
  log "node $NODE Ready; registry http://127.0.0.1:$REG_PORT"
}

case "$CMD" in
  up)
    [ $# -eq 4 ] || { echo "usage: real-node.sh up STATE API_PORT BIN" >&2; exit 2; }
    PKI="$STATE/pki"
    . "$(dirname "$0")/lib.sh"
    up "$3" "$4" ;;
  down) down ;;
  *) echo "usage: real-node.sh up STATE API_PORT BIN | down STATE" >&2; exit 2 ;;
esac
