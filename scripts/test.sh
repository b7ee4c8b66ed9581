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
exec node_modules/.bin/mocha "$@"
