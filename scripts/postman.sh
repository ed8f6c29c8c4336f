#!/usr/bin/env bash
# Runs the Postman collection examples/postman/ (the one users run against AWS) with newman against
# `smartauth emulate`, the local SMART-enabled HealthLake stand-in, and fails on any failed assertion:
#   1. keycloak     Keycloak environment, client-credentials token from the real Keycloak, in-process
#                   validator (the `smartauth validate` flags: --provider keycloak ...)
#   2. keycloak-rie the same through the real Lambda binary under the Lambda Runtime Interface Emulator
#                   (--lambda-url), when SMARTAUTH_RIE_URL is set
#   3. cognito      Cognito environment, a Cognito-shaped access token minted here (fresh RSA key,
#                   scripts/lib/mint-cognito-token.mjs) and the data store Metadata of a Cognito setup
#
# scripts/integration.sh calls it while its servers are up (Keycloak is started once, there).
# Standalone:
#   scripts/postman.sh                      only the Cognito run (no Keycloak configured: says so)
#   SMARTAUTH_KC_BASE=http://127.0.0.1:8180 SMARTAUTH_KC_REALM=fhir scripts/postman.sh
#                                           also the Keycloak run against a Keycloak you started with
#                                           the realm testdata/keycloak/fhir-realm.json
# Env: SMARTAUTH_KC_BASE, SMARTAUTH_KC_REALM (default fhir), SMARTAUTH_KC_SVC_CLIENT_ID (svc),
#      SMARTAUTH_KC_SVC_CLIENT_SECRET (svc-secret), SMARTAUTH_KC_AUDIENCE (the data store endpoint the
#      realm puts in aud), SMARTAUTH_RIE_URL (optional), POSTMAN_REQUIRE_KEYCLOAK=1 (fail instead of
#      skipping the Keycloak run when SMARTAUTH_KC_BASE is unset; integration.sh sets it).
# Installs newman@$NEWMAN_VER (npm, pinned) under .cache/newman; builds smartauth into .cache/bin.
# Every emulator binds 127.0.0.1 on a free port and is stopped by its PID.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="$ROOT/.cache"
NEWMAN_VER=6.2.2
NEWMAN_PREFIX="$CACHE/newman"
WORK="$CACHE/run-postman"
COLLECTION="$ROOT/examples/postman/smart-healthlake.postman_collection.json"
DATASTORE_ID=0123456789abcdef0123456789abcdef
DEFAULT_ENDPOINT="https://healthlake.us-east-1.amazonaws.com/datastore/$DATASTORE_ID/r4/"
SCOPES="system/*.rs system/Observation.c"

log() { printf '[postman %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

EMU_PID=""
stop_emulator() {
  if [ -n "$EMU_PID" ] && kill -0 "$EMU_PID" 2>/dev/null; then
    kill -TERM "$EMU_PID" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$EMU_PID" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$EMU_PID" 2>/dev/null; then kill -KILL "$EMU_PID" 2>/dev/null || true; fi
    wait "$EMU_PID" 2>/dev/null || true
  fi
  EMU_PID=""
}
trap stop_emulator EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for c in node npm go curl python3; do command -v "$c" >/dev/null 2>&1 || die "required command not found: $c"; done
rm -rf "$WORK"
mkdir -p "$WORK" "$CACHE/bin"

# --- install (cached) ---------------------------------------------------------------------------
NEWMAN="$NEWMAN_PREFIX/node_modules/.bin/newman"
installed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
  "$NEWMAN_PREFIX/node_modules/newman/package.json" 2>/dev/null || true)
if [ "$installed" != "$NEWMAN_VER" ] || [ ! -x "$NEWMAN" ]; then
  log "npm install newman@$NEWMAN_VER into $NEWMAN_PREFIX"
  mkdir -p "$NEWMAN_PREFIX"
  npm install --prefix "$NEWMAN_PREFIX" --save-exact --no-audit --no-fund --loglevel=error "newman@$NEWMAN_VER" >&2 \
    || die "npm install newman@$NEWMAN_VER failed"
else
  log "newman $NEWMAN_VER cached in $NEWMAN_PREFIX"
fi
BIN="$CACHE/bin/smartauth"
log "building $BIN"
(cd "$ROOT" && go build -o "$BIN" ./cmd/smartauth) || die "go build ./cmd/smartauth failed"

free_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_emulator NAME ARGS...: start `smartauth emulate` on a free loopback port, wait for it.
# Sets FHIR_BASE (no trailing slash) and EMU_LOG.
start_emulator() {
  local name=$1 port
  shift
  port=$(free_port)
  EMU_LOG="$WORK/emulate-$name.log"
  "$BIN" emulate --addr "127.0.0.1:$port" --datastore-id "$DATASTORE_ID" "$@" >"$EMU_LOG" 2>&1 &
  EMU_PID=$!
  FHIR_BASE="http://127.0.0.1:$port/datastore/$DATASTORE_ID/r4"
  for _ in $(seq 1 100); do
    if curl -sf -o /dev/null --max-time 2 "$FHIR_BASE/.well-known/smart-configuration"; then
      log "$name: smartauth emulate (pid $EMU_PID) serving $FHIR_BASE/, log $EMU_LOG"
      return 0
    fi
    kill -0 "$EMU_PID" 2>/dev/null || { cat "$EMU_LOG" >&2; die "$name: smartauth emulate exited"; }
    sleep 0.2
  done
  cat "$EMU_LOG" >&2
  die "$name: smartauth emulate did not come up"
}

# run_newman NAME ENV_FILE ARGS...: the collection with one environment; fails on any failed assertion.
run_newman() {
  local name=$1 envfile=$2
  shift 2
  log "$name: newman run $(basename "$COLLECTION") -e $(basename "$envfile")"
  if ! "$NEWMAN" run "$COLLECTION" -e "$envfile" --env-var "fhir_base=$FHIR_BASE" "$@" \
      --reporters cli,json --reporter-json-export "$WORK/newman-$name.json" --disable-unicode --color off >&2; then
    log "$name: emulator log (last 30 lines):"
    tail -n 30 "$EMU_LOG" >&2 || true
    die "$name: newman reported failures"
  fi
  # The emulator must have logged every FHIR request and never a token.
  grep -q 'decision=allow' "$EMU_LOG" || die "$name: no allowed request in $EMU_LOG"
  grep -q 'decision=deny' "$EMU_LOG" || die "$name: no refused request in $EMU_LOG"
  if grep -qE 'eyJ[A-Za-z0-9_-]{10,}\.' "$EMU_LOG"; then die "$name: a token appears in $EMU_LOG"; fi
  # One line per request: the in-process Lambda's decision is folded into it (lambda_reason=).
  if grep -q 'msg=authorization' "$EMU_LOG"; then die "$name: a second log line per request in $EMU_LOG"; fi
  log "$name: PASS"
}

runs=0

# --- 1 + 2: Keycloak ----------------------------------------------------------------------------
if [ -n "${SMARTAUTH_KC_BASE:-}" ]; then
  realm=${SMARTAUTH_KC_REALM:-fhir}
  issuer="$SMARTAUTH_KC_BASE/realms/$realm"
  endpoint=${SMARTAUTH_KC_AUDIENCE:-$DEFAULT_ENDPOINT}
  kc_args=(--env-var "token_url=$issuer/protocol/openid-connect/token"
           --env-var "client_id=${SMARTAUTH_KC_SVC_CLIENT_ID:-svc}"
           --env-var "client_secret=${SMARTAUTH_KC_SVC_CLIENT_SECRET:-svc-secret}"
           --env-var "scopes=$SCOPES")
  # The realm's tokens name the AWS-style endpoint in aud: the emulator sends it as datastoreEndpoint.
  start_emulator keycloak --provider keycloak --keycloak-url "$SMARTAUTH_KC_BASE" --realm "$realm" \
    --insecure-http --datastore-endpoint "$endpoint" --endpoint "$endpoint"
  run_newman keycloak "$ROOT/examples/postman/keycloak.postman_environment.json" "${kc_args[@]}"
  stop_emulator
  runs=$((runs + 1))
  if [ -n "${SMARTAUTH_RIE_URL:-}" ]; then
    # The real bootstrap under aws-lambda-rie (scripts/lib/rie.sh), configured for the same realm.
    # The Keycloak flags only build the default Metadata here (http:// on loopback: --insecure-http).
    start_emulator keycloak-rie --lambda-url "$SMARTAUTH_RIE_URL" --provider keycloak \
      --keycloak-url "$SMARTAUTH_KC_BASE" --realm "$realm" --insecure-http --datastore-endpoint "$endpoint"
    run_newman keycloak-rie "$ROOT/examples/postman/keycloak.postman_environment.json" "${kc_args[@]}"
    stop_emulator
    runs=$((runs + 1))
  fi
elif [ "${POSTMAN_REQUIRE_KEYCLOAK:-0}" = 1 ]; then
  die "POSTMAN_REQUIRE_KEYCLOAK=1 but SMARTAUTH_KC_BASE is not set"
else
  log "note: SMARTAUTH_KC_BASE not set: the Keycloak run is skipped (scripts/integration.sh runs it)"
fi

# --- 3: Cognito (minted token) ------------------------------------------------------------------
cg_issuer="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EmulateLocal"
cg_client="emulatelocalclient0000000001"
cg_domain="https://smartauth-emulate.auth.us-east-1.amazoncognito.com"
token=$(node "$ROOT/scripts/lib/mint-cognito-token.mjs" "$cg_issuer" "$cg_client" "$SCOPES" "$WORK/cognito-jwks.json") \
  || die "minting the Cognito-shaped token failed"
# The data store Metadata of a Cognito setup (the Cognito domain's OAuth2 endpoints).
cat >"$WORK/cognito-metadata.json" <<JSON
{"issuer":"$cg_issuer",
 "authorization_endpoint":"$cg_domain/oauth2/authorize",
 "token_endpoint":"$cg_domain/oauth2/token",
 "jwks_uri":"$cg_issuer/.well-known/jwks.json",
 "grant_types_supported":["client_credentials","authorization_code"],
 "code_challenge_methods_supported":["S256"],
 "capabilities":["launch-standalone","client-confidential-symmetric","permission-patient","permission-user","permission-v2"]}
JSON
start_emulator cognito --provider cognito --issuer "$cg_issuer" --jwks-file "$WORK/cognito-jwks.json" \
  --client-id "$cg_client" --datastore-endpoint "$DEFAULT_ENDPOINT" --endpoint "$DEFAULT_ENDPOINT" \
  --metadata "$WORK/cognito-metadata.json"
run_newman cognito "$ROOT/examples/postman/cognito.postman_environment.json" \
  --env-var "access_token_override=$token" --env-var "client_id=$cg_client" --env-var "token_url=$cg_domain/oauth2/token"
stop_emulator
runs=$((runs + 1))

log "PASS: $runs newman run(s) against smartauth emulate"
