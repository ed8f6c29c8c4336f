#!/usr/bin/env bash
# Real-server integration tests: installs (cached under .cache/), starts, tests and stops
#   - Keycloak (keycloak-quarkus-dist from Maven Central, realms testdata/keycloak/fhir-realm.json and
#     the production realm deploy/keycloak/realm/smart-realm.json, through deploy/keycloak/entrypoint.sh)
#   - cognito-local (npm) with a user pool, client, user and group made through its JSON API
#   - aws-jwt-verify (npm) for the differential oracle scripts/differential/oracle.mjs
# then runs `go test -tags integration -count=1 -race ./integration/...` against them, then
# scripts/postman.sh (the Postman collection with newman against `smartauth emulate`). Before the
# tests, a production smoke (scripts/lib/keycloak-prod.sh), started next to the Keycloak above:
# Keycloak augmented as deploy/keycloak/Dockerfile does, started as deploy/cloudformation/
# keycloak.yaml does in production, on PostgreSQL (scripts/lib/postgres.sh, embedded-postgres-binaries
# from Maven Central); checked and stopped before the tests.
#
# Usage: scripts/integration.sh [extra go test flags, e.g. -run Keycloak -v]
# Env:   KC_VER=26.x.y (pin one Keycloak version; default tries 26.7.3, 26.5.6, 26.4.7)
#        KC_JAVA_HOME (default /usr/lib/jvm/java-17-openjdk-amd64), KC_READY_TIMEOUT (s, default 180)
#        KCPROD_SMOKE=0 skips the production smoke (default 1); KCPROD_READY_TIMEOUT (s, default 180),
#        KCPROD_BUILD_TIMEOUT (s, default 300), PG_READY_TIMEOUT (s, default 60)
# Every server binds 127.0.0.1 on a free port and is stopped by process group in the EXIT trap
# (PostgreSQL's data directory, a mktemp -d, is removed there too).
# Exits non-zero on any failure, including a server that did not come up. The exported variables
# are also written to .cache/run/integration.env (for reading; the servers are gone after the run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="$ROOT/.cache"
RUN_DIR="$CACHE/run"
SCRIPT_START=$(date +%s)

# shellcheck source=scripts/lib/common.sh
. "$ROOT/scripts/lib/common.sh"
# shellcheck source=scripts/lib/keycloak.sh
. "$ROOT/scripts/lib/keycloak.sh"
# shellcheck source=scripts/lib/cognito-local.sh
. "$ROOT/scripts/lib/cognito-local.sh"
# shellcheck source=scripts/lib/postgres.sh
. "$ROOT/scripts/lib/postgres.sh"
# shellcheck source=scripts/lib/keycloak-prod.sh
. "$ROOT/scripts/lib/keycloak-prod.sh"
KCPROD_SMOKE=${KCPROD_SMOKE:-1}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  stop_all
  pg_cleanup
  local elapsed=$(( $(date +%s) - SCRIPT_START ))
  if [ "$rc" -eq 0 ]; then
    log "PASS in ${elapsed} s"
  else
    log "FAILED (exit $rc) after ${elapsed} s; logs in $RUN_DIR"
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need_cmd python3 curl unzip mvn node npm go setsid ps awk sha256sum
mkdir -p "$CACHE"
# A previous run killed hard (SIGKILL of this script) may have left servers behind: stop them first.
if [ -d "$RUN_DIR" ]; then stop_all; pg_cleanup; fi
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"

# --- install (cached) ---------------------------------------------------------------------------
t0=$(date +%s)
kc_install
if [ "$KCPROD_SMOKE" = 1 ]; then
  # Before kc_start: the augmented copy is made from the cached distribution while nothing runs it.
  kcprod_install
  pg_install
fi
node_install
log "install done in $(( $(date +%s) - t0 )) s"

# --- start --------------------------------------------------------------------------------------
t0=$(date +%s)
# cognito-local first: it is up in about a second, and its setup overlaps nothing Keycloak needs.
cognito_start
cognito_setup
# The production smoke's servers start now, next to the start-dev Keycloak, and are checked and
# stopped before the tests (production smoke block below).
if [ "$KCPROD_SMOKE" = 1 ]; then kcprod_smoke_start; fi
kc_start
# >>> aws-lambda-rie block (scripts/lib/rie.sh; integration/rie_test.go) >>>
# The example Lambda built as "bootstrap" under the runtime interface emulator, configured for the
# Keycloak realm above (install cached, build, start in one block). It starts after Keycloak: the
# Lambda hydrates its JWKS from the realm on its first (readiness) invocation.
# shellcheck source=scripts/lib/rie.sh
. "$ROOT/scripts/lib/rie.sh"
rie_install
rie_build
rie_start
export SMARTAUTH_RIE_URL="$RIE_URL"
export SMARTAUTH_RIE_ROLE_ARN="$RIE_ROLE_ARN"
export SMARTAUTH_RIE_LOG="$RIE_LOG"
# <<< aws-lambda-rie block <<<
log "servers up in $(( $(date +%s) - t0 )) s"

# >>> production smoke block (scripts/lib/keycloak-prod.sh, scripts/lib/postgres.sh) >>>
# The image's production start, which the start-dev Keycloak above does not exercise: PostgreSQL on
# 127.0.0.1, the Keycloak distribution augmented with the Dockerfile's `kc.sh build` options, started
# (kcprod_smoke_start above) with the template's production StartCommand and environment. Checked
# here: realm import, discovery at the App Runner health check path, health and metrics, a backend
# token the validator accepts, the data in PostgreSQL. Both servers are stopped before the tests
# (and by the EXIT trap on failure).
if [ "$KCPROD_SMOKE" = 1 ]; then
  t0=$(date +%s)
  kcprod_smoke_finish
  log "production smoke: $(( $(date +%s) - t0 )) s after the other servers were up"
else
  log "production smoke skipped (KCPROD_SMOKE=$KCPROD_SMOKE)"
fi
# <<< production smoke block <<<

# --- environment for the Go integration tests ---------------------------------------------------
export SMARTAUTH_KC_BASE="$KC_BASE"
export SMARTAUTH_KC_REALM="$KC_REALM"
export SMARTAUTH_KC_ISSUER="$KC_BASE/realms/$KC_REALM"
export SMARTAUTH_KC_VERSION="$KC_VER"
export SMARTAUTH_KC_ADMIN_USER="$KC_ADMIN_USER"
export SMARTAUTH_KC_ADMIN_PASSWORD="$KC_ADMIN_PASSWORD"
export SMARTAUTH_KC_AUDIENCE="$KC_AUDIENCE"
export SMARTAUTH_KC_SVC_CLIENT_ID=svc
export SMARTAUTH_KC_SVC_CLIENT_SECRET=svc-secret
export SMARTAUTH_KC_NOAUD_CLIENT_ID=svc-noaud
export SMARTAUTH_KC_NOAUD_CLIENT_SECRET=svc-noaud-secret
export SMARTAUTH_KC_APP_CLIENT_ID=app
export SMARTAUTH_KC_APP_CLIENT_SECRET=app-secret
export SMARTAUTH_KC_USER=alice
export SMARTAUTH_KC_PASSWORD=alice-password
# the production realm deploy/keycloak/realm/smart-realm.json, imported into the same Keycloak
export SMARTAUTH_KC_SMART_REALM="$KC_SMART_REALM"
export SMARTAUTH_KC_SMART_APP_CLIENT_ID="$KC_SMART_APP_CLIENT_ID"
export SMARTAUTH_KC_SMART_REDIRECT_URI="$KC_SMART_REDIRECT_URI"
export SMARTAUTH_KC_SMART_BACKEND_CLIENT_ID="$KC_SMART_BACKEND_CLIENT_ID"
export SMARTAUTH_KC_SMART_BACKEND_CLIENT_SECRET="$KC_SMART_BACKEND_SECRET"
export SMARTAUTH_COGNITO_ENDPOINT="$COGNITO_ENDPOINT"
export SMARTAUTH_COGNITO_POOL_ID="$COGNITO_POOL_ID"
export SMARTAUTH_COGNITO_ISSUER="$COGNITO_ENDPOINT/$COGNITO_POOL_ID"
export SMARTAUTH_COGNITO_CLIENT_ID="$COGNITO_CLIENT_ID"
export SMARTAUTH_COGNITO_USER="$COGNITO_USER"
export SMARTAUTH_COGNITO_PASSWORD="$COGNITO_PASSWORD"
export SMARTAUTH_COGNITO_GROUP="$COGNITO_GROUP"
export SMARTAUTH_NODE_PREFIX="$NODE_PREFIX"
export SMARTAUTH_ORACLE="$ROOT/scripts/differential/oracle.mjs"
env | grep '^SMARTAUTH_' | sort >"$RUN_DIR/integration.env"
log "environment:"
sed 's/^/    /' "$RUN_DIR/integration.env" >&2

# --- test ---------------------------------------------------------------------------------------
t0=$(date +%s)
cd "$ROOT"
log "go test -tags integration -count=1 -race${*:+ $*} ./integration/..."
go test -tags integration -count=1 -race "$@" ./integration/...
log "go test done in $(( $(date +%s) - t0 )) s"

# >>> postman block (scripts/postman.sh; examples/postman) >>>
# The Postman collection users run against AWS, run unchanged with newman against `smartauth emulate`
# while the servers above are still up: client-credentials tokens from this Keycloak (in-process
# validator and the real bootstrap under aws-lambda-rie), plus a minted Cognito-shaped token.
t0=$(date +%s)
POSTMAN_REQUIRE_KEYCLOAK=1 bash "$ROOT/scripts/postman.sh"
log "postman (newman) done in $(( $(date +%s) - t0 )) s"
# <<< postman block <<<
