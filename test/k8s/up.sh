#!/usr/bin/env bash
# Starts the Kubernetes test rig and prints the path of its admin kubeconfig on stdout:
# etcd, kube-apiserver (client-cert auth, RBAC, service-account keys), kube-controller-manager,
# kube-scheduler and kwok (simulated nodes and pod lifecycles, see kwok-stages.yaml) on
# free loopback ports, from the binaries build.sh builds or reuses. Waits until every
# component is ready and the kwok nodes are Ready. Everything (certs, data, logs, pids)
# lives in STATE_DIR; test/k8s/down.sh STATE_DIR stops it by pid.
#   usage: up.sh [STATE_DIR]     (default ~/.cache/trainyard/k8s/cluster)
# Nodes (labels match the default hardware profiles):
#   kwok-cpu-1, kwok-cpu-2   8 CPU, 32Gi
#   kwok-gpu-t4-1            16 CPU, 64Gi, 1 nvidia.com/gpu, trainyard.dev/gpu=nvidia-tesla-t4,
#                            tainted nvidia.com/gpu:NoSchedule
#   (TY_K8S_GPU_NODES=N makes N such nodes, kwok-gpu-t4-1..N; default 1)
#   ty-real-1                a REAL node (real-node.sh: containerd + kubelet, pulls from the rig's
#                            registry), label and taint trainyard.dev/node=real; TY_K8S_REAL_NODE=0 leaves it out
# Prints "registry: http://127.0.0.1:PORT" (with the real node) and then the kubeconfig path, each on a line.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
STATE="${1:-${TY_K8S_STATE:-$HOME/.cache/trainyard/k8s/cluster}}"
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
PKI="$STATE/pki"
LOGS="$STATE/logs"

log() { echo "[k8s up $(date +%H:%M:%S)] $*" >&2; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

if [ -f "$STATE/pids" ]; then
  all=1
  while read -r _name pid; do alive "$pid" || all=0; done < "$STATE/pids"
  if [ "$all" = 1 ] && [ -f "$STATE/admin.kubeconfig" ]; then
    log "already up"
    echo "$STATE/admin.kubeconfig"
    exit 0
  fi
  log "a previous rig in $STATE is partly down; stopping what is left"
  bash "$HERE/down.sh" "$STATE" >&2 || true
fi

BIN="$(bash "$HERE/build.sh")"
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubelet pause; do
  [ -x "$BIN/$b" ] || { echo "missing $BIN/$b" >&2; exit 1; }
done
command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 1; }

# A free port BELOW the kernel's ephemeral range: an ephemeral port can be taken as the source port of
# some client's outgoing connection while the API server is down, and a restart then fails with
# "bind: address already in use" (seen in the fault tests and the 100-node benchmark).
USED_PORTS=""
free_port() {
  python3 - "$USED_PORTS" <<'PY'
import random, socket, sys
lo = int(open('/proc/sys/net/ipv4/ip_local_port_range').read().split()[0])
used = {int(p) for p in sys.argv[1].split()}
for _ in range(200):
    port = random.randint(max(1024, lo - 12000), lo - 1)
    if port in used:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port)); s.close(); print(port); break
    except OSError:
        s.close()
else:
    raise SystemExit("no free port below the ephemeral range")
PY
}
pick() { local p; p=$(free_port) || exit 1; USED_PORTS="$USED_PORTS $p"; printf -v "$1" '%s' "$p"; }
pick ETCD_PORT; pick ETCD_PEER; pick API_PORT; pick KCM_PORT; pick SCHED_PORT; pick KWOK_PORT

rm -rf "$STATE/etcd" "$LOGS" "$STATE/pids"
mkdir -p "$PKI" "$LOGS"

# ---- certificates (made once per state dir) --------------------------------------------------
. "$HERE/lib.sh"
if [ ! -f "$PKI/ca.crt" ]; then
  log "making a CA and certificates with openssl"
  openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=trainyard-test-ca" -days 3650 -sha256 -out "$PKI/ca.crt" 2>/dev/null
fi
mkcert apiserver kube-apiserver "" "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc" serverAuth
mkcert admin admin system:masters "" clientAuth
mkcert kcm system:kube-controller-manager "" "" clientAuth
mkcert scheduler system:kube-scheduler "" "" clientAuth
mkcert kwok kwok-controller system:masters "" clientAuth
mkcert kubelet-client kube-apiserver-kubelet-client system:masters "" clientAuth
mkcert kwok-serving kwok-kubelet "" "IP:127.0.0.1,DNS:localhost" serverAuth
# the service-account signing key pair, signed by the same CA (the API server needs only the keys)
mkcert service-accounts service-accounts "" "" clientAuth
openssl rsa -in "$PKI/service-accounts.key" -pubout -out "$PKI/service-accounts.pub" 2>/dev/null

kubeconfig() { # file user
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: rig
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: rig
  context: {cluster: rig, user: $2}
current-context: rig
EOF
}
for u in admin kcm scheduler kwok; do kubeconfig "$STATE/$u.kubeconfig" "$u"; done

start() { # name cmd...
  local name=$1; shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 < /dev/null &
  echo "$name $!" >> "$STATE/pids"
}
wait_for() { # what seconds cmd...
  local what=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then
      echo "k8s rig: $what not ready after ${secs}s; last log lines:" >&2
      tail -n 20 "$LOGS/$what.log" >&2 || true
      bash "$HERE/down.sh" "$STATE" >&2 || true
      exit 1
    fi
    sleep 0.3
  done
}
ready_ok() { [ "$(api "https://127.0.0.1:$API_PORT/readyz")" = ok ]; }
health_ok() { [ "$(curl -skf "$1")" = ok ]; }

t0=$SECONDS
log "etcd on $ETCD_PORT"
start etcd "$BIN/etcd" --name rig --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
  --initial-cluster "rig=http://127.0.0.1:$ETCD_PEER" --unsafe-no-fsync --log-level warn
wait_for etcd 60 sh -c "curl -sf http://127.0.0.1:$ETCD_PORT/health | grep -q true"

API_ARGS=(--etcd-servers "http://127.0.0.1:$ETCD_PORT" --bind-address 127.0.0.1 --advertise-address 127.0.0.1
  --secure-port "$API_PORT" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key"
  --client-ca-file "$PKI/ca.crt" --authorization-mode RBAC --anonymous-auth=false
  --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$PKI/service-accounts.pub"
  --service-account-signing-key-file "$PKI/service-accounts.key" --service-cluster-ip-range 10.0.0.0/24
  --kubelet-client-certificate "$PKI/kubelet-client.crt" --kubelet-client-key "$PKI/kubelet-client.key"
  --kubelet-preferred-address-types InternalIP --allow-privileged=false --profiling=false --endpoint-reconciler-type none)
# TY_K8S_APISERVER_ARGS: more kube-apiserver flags, space-separated (e.g. an audit policy and log)
read -r -a EXTRA_API_ARGS <<< "${TY_K8S_APISERVER_ARGS:-}"
API_ARGS+=("${EXTRA_API_ARGS[@]}")
printf '%s\n' "${API_ARGS[@]}" > "$STATE/apiserver.args"
log "kube-apiserver on $API_PORT"
start kube-apiserver "$BIN/kube-apiserver" "${API_ARGS[@]}"
wait_for kube-apiserver 120 ready_ok

log "kube-controller-manager, kube-scheduler"
start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$STATE/kcm.kubeconfig" \
  --authentication-kubeconfig "$STATE/kcm.kubeconfig" --authorization-kubeconfig "$STATE/kcm.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file "$PKI/service-accounts.key" --root-ca-file "$PKI/ca.crt" \
  --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route' --profiling=false
start kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig "$STATE/scheduler.kubeconfig" --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false --profiling=false
wait_for kube-controller-manager 90 health_ok "https://127.0.0.1:$KCM_PORT/healthz"
wait_for kube-scheduler 90 health_ok "https://127.0.0.1:$SCHED_PORT/healthz"

log "kwok on $KWOK_PORT"
cat > "$STATE/pod.log" <<'EOF'
2024-01-01T00:00:00.000000000Z stdout F trainyard kwok pod starting
2024-01-01T00:00:00.100000000Z stdout F ::trainyard:metric {"name":"loss","value":0.5,"step":1}
2024-01-01T00:00:00.200000000Z stdout F ::trainyard:metric {"name":"loss","value":0.25,"step":2}
2024-01-01T00:00:00.300000000Z stdout F done
EOF
sed "s#__LOGS_FILE__#$STATE/pod.log#" "$HERE/kwok-stages.yaml" > "$STATE/kwok.yaml"
start kwok "$BIN/kwok" --kubeconfig "$STATE/kwok.kubeconfig" --config "$STATE/kwok.yaml" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --node-ip 127.0.0.1 --node-port "$KWOK_PORT" --server-address "127.0.0.1:$KWOK_PORT" \
  --tls-cert-file "$PKI/kwok-serving.crt" --tls-private-key-file "$PKI/kwok-serving.key" \
  --node-lease-duration-seconds 40 --cidr 10.0.1.0/24
wait_for kwok 60 health_ok "https://127.0.0.1:$KWOK_PORT/healthz"

node() { # name cpu memory gpus extra-labels-json taints-json
  api -X POST -H 'Content-Type: application/json' "https://127.0.0.1:$API_PORT/api/v1/nodes" -d @- >/dev/null <<EOF
{"apiVersion":"v1","kind":"Node",
 "metadata":{"name":"$1","annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},
   "labels":$(python3 -c "import json,sys; l={'kubernetes.io/hostname':'$1','kubernetes.io/os':'linux','kubernetes.io/arch':'amd64','type':'kwok'}; l.update(json.loads(sys.argv[1])); print(json.dumps(l))" "$5")},
 "spec":{"taints":$6},
 "status":{"capacity":{"cpu":"$2","memory":"$3","pods":"110","nvidia.com/gpu":"$4"},
           "allocatable":{"cpu":"$2","memory":"$3","pods":"110","nvidia.com/gpu":"$4"}}}
EOF
}
node kwok-cpu-1 8 32Gi 0 '{}' '[]'
node kwok-cpu-2 8 32Gi 0 '{}' '[]'
GPU_NODES="${TY_K8S_GPU_NODES:-1}"
for i in $(seq 1 "$GPU_NODES"); do
  node "kwok-gpu-t4-$i" 16 64Gi 1 '{"trainyard.dev/gpu":"nvidia-tesla-t4"}' '[{"key":"nvidia.com/gpu","value":"present","effect":"NoSchedule"}]'
done
nodes_ready() {
  api "https://127.0.0.1:$API_PORT/api/v1/nodes" | python3 -c '
import json,sys
items=json.load(sys.stdin)["items"]
ok=[n for n in items if any(c["type"]=="Ready" and c["status"]=="True" for c in n.get("status",{}).get("conditions",[]))]
n=2+int(sys.argv[1])
sys.exit(0 if len(items)==n and len(ok)==n else 1)' "$GPU_NODES"
}
wait_for kwok 60 nodes_ready

REAL="${TY_K8S_REAL_NODE:-1}"
if [ "$REAL" = 1 ]; then
  log "the real node (containerd + kubelet)"
  if ! bash "$HERE/real-node.sh" up "$STATE" "$API_PORT" "$BIN"; then
    bash "$HERE/down.sh" "$STATE" >&2 || true
    exit 1
  fi
fi
REGISTRY="$(cat "$STATE/real-node/registry.url" 2>/dev/null || true)"

cat > "$STATE/cluster.json" <<EOF
{"state":"$STATE","kubeconfig":"$STATE/admin.kubeconfig","server":"https://127.0.0.1:$API_PORT","apiPort":$API_PORT,
 "etcdPort":$ETCD_PORT,"kwokPort":$KWOK_PORT,"pki":"$PKI","bin":"$BIN","registry":"$REGISTRY"}
EOF
log "ready in $((SECONDS - t0))s"
[ -n "$REGISTRY" ] && echo "registry: $REGISTRY"
echo "$STATE/admin.kubeconfig"
