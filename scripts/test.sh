#!/usr/bin/env bash
# `npm test`: does all set-up itself on a fresh clone, then runs mocha.
# Node >= 22 (node-env.sh), npm ci when needed, the Debian packages the real-component
# tests use (installed with apt only when missing), the build, then mocha with
# .mocharc.cjs (specs: backend/test/**/*.test.ts, test/**/*.test.ts; global setup
# test/setup/global.ts starts PostgreSQL). Extra args go to mocha:
#   npm test -- --grep foo        npm test -- test/some.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ty_node_env
ty_npm_ci
ty_apt_ensure \
  "$(ty_pg_bindir)/initdb:postgresql" \
  podman:podman runc:runc python3:python3 debootstrap:debootstrap \
  skopeo:skopeo umoci:umoci docker-registry:docker-registry chromium:chromium
ty_build
bash scripts/setup-code-server.sh >/dev/null  # VS Code e2e (test/vscode): code-server from npm, cached in ~/.cache/trainyard
bash scripts/setup-jupyterlab.sh >/dev/null  # JupyterLab 4.6.6 venv (cached) + the trainyard-jupyterlab wheel, for test/jupyterlab
bash scripts/setup-schemathesis.sh >/dev/null  # schemathesis from PyPI (cached venv), for test/api/schemathesis.test.ts
bash scripts/setup-oras.sh >/dev/null  # oras (Go module proxy, cached in ~/.cache/trainyard): reads run artifacts in test/api/artifact-consumers
# The Kubernetes test rig (test/k8s, used by backend/test/executors/kubernetes): openssl and curl
# from apt, and for its real node containerd, the CNI plugins, iptables and gcc (pause); build.sh
# builds kube-apiserver/-controller-manager/-scheduler, kubelet, etcd, kwok and pause from the
# machine's Go module proxy once (~16 min on 2 cores; Go itself comes from the proxy when the
# machine's is missing or older than 1.21) into ~/.cache/trainyard/k8s and reuses them afterwards.
ty_apt_ensure openssl:openssl curl:curl containerd:containerd /usr/lib/cni/bridge:containernetworking-plugins \
  iptables:iptables gcc:gcc
bash test/k8s/build.sh >/dev/null
bash test/k8s/build.sh kubectl >/dev/null  # the server's kubectl: test/k8s/deploy.test.ts renders deploy/ (kustomize) and dry-runs it
exec node_modules/.bin/mocha "$@"
