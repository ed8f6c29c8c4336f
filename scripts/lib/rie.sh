# shellcheck shell=bash
# aws-lambda-rie (the Lambda runtime interface emulator) running the real example Lambda
# (examples/healthlake-lambda, built as "bootstrap") against the Keycloak of scripts/integration.sh.
# Sourced after common.sh and keycloak.sh, once Keycloak is up.
#
# Inputs: ROOT, CACHE, RUN_DIR, KC_BASE, KC_REALM. Outputs: RIE_URL, RIE_ROLE_ARN, RIE_LOG (emulator
# and Lambda output, including the Lambda's JSON decision log).
# Processes: "rie" (the emulator, own session) and "rie-runtime" (the bootstrap: the emulator starts
# it in a process group of its own and leaves it behind when it exits on SIGTERM), both recorded in
# $RUN_DIR as <name>.pid/.pgid, so stop_all stops them by process group like the other servers.
#
# Notes: the emulator has no --help (it would be taken as the
# handler name and the server would start); it binds 0.0.0.0:8080 and its Runtime API 127.0.0.1:9001
# unless told otherwise, so both addresses are always passed, on free loopback ports.

RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d   # the module has no tags: pinned pseudo-version
RIE_ROLE_ARN="arn:aws:iam::123456789012:role/healthlake-smart-rie"
RIE_READY_TIMEOUT=${RIE_READY_TIMEOUT:-60}
RIE_INVOKE_PATH=/2015-03-31/functions/function/invocations

# rie_install: $CACHE/bin/aws-lambda-rie at the pinned version (go install; cached with a stamp).
rie_install() {
  RIE_BIN="$CACHE/bin/aws-lambda-rie"
  local stamp="$CACHE/bin/.aws-lambda-rie.version"
  if [ -x "$RIE_BIN" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$RIE_VERSION" ]; then
    log "aws-lambda-rie $RIE_VERSION: cached in $RIE_BIN"
    return 0
  fi
  mkdir -p "$CACHE/bin"
  log "aws-lambda-rie: go install $RIE_MODULE@$RIE_VERSION"
  GOBIN="$CACHE/bin" go install "$RIE_MODULE@$RIE_VERSION" >&2 || die "go install aws-lambda-rie failed"
  [ -x "$RIE_BIN" ] || die "aws-lambda-rie not installed at $RIE_BIN"
  echo "$RIE_VERSION" >"$stamp"
}

# rie_build: the example Lambda exactly as deployed (runtime provided.al2023, handler "bootstrap").
rie_build() {
  RIE_BOOTSTRAP="$CACHE/bootstrap"
  log "rie: building $RIE_BOOTSTRAP from ./examples/healthlake-lambda"
  (cd "$ROOT" && CGO_ENABLED=0 go build -tags lambda.norpc -o "$RIE_BOOTSTRAP" ./examples/healthlake-lambda) >&2 \
    || die "building examples/healthlake-lambda failed"
}

# rie_start: start the emulator with the Lambda configured for the running Keycloak realm, wait
# until an invocation answers (that first invocation also cold-starts the bootstrap: config from
# the environment, JWKS hydrate), record the bootstrap's process group, check the listen addresses.
rie_start() {
  local port api_port
  port=$(free_port)
  api_port=$(free_port)
  while [ "$api_port" = "$port" ]; do api_port=$(free_port); done
  RIE_URL="http://127.0.0.1:$port"
  RIE_LOG="$RUN_DIR/rie.log"
  log "aws-lambda-rie: starting on $RIE_URL (Runtime API 127.0.0.1:$api_port)"
  # SMARTAUTH_INSECURE_HTTP is the example's test-only switch for an http:// issuer and JWKS URL.
  start_bg rie "$RIE_LOG" env \
    SMARTAUTH_PROVIDER=keycloak \
    KEYCLOAK_URL="$KC_BASE" \
    KEYCLOAK_REALM="$KC_REALM" \
    SERVICE_ROLE_ARN="$RIE_ROLE_ARN" \
    SMARTAUTH_INSECURE_HTTP=true \
    "$RIE_BIN" \
    --runtime-interface-emulator-address "127.0.0.1:$port" \
    --runtime-api-address "127.0.0.1:$api_port" \
    "$RIE_BOOTSTRAP"
  rie_wait_ready
  rie_record_runtime
  assert_loopback_only rie
  assert_loopback_only rie-runtime
}

# rie_wait_ready: POST an empty event until the Lambda answers; an empty event is a well-formed deny.
rie_wait_ready() {
  local start out code
  start=$(date +%s)
  out="$RUN_DIR/rie-ready.json"
  while :; do
    code=$(curl -s -o "$out" -w '%{http_code}' --max-time 10 -X POST -d '{}' "$RIE_URL$RIE_INVOKE_PATH" || true)
    if [ "$code" = 200 ] && grep -q '"isAuthorized":false' "$out"; then
      log "aws-lambda-rie ready after $(( $(date +%s) - start )) s: empty event -> $(cat "$out")"
      return 0
    fi
    if [ "$code" != 000 ]; then
      log "aws-lambda-rie: unexpected answer HTTP $code: $(cat "$out" 2>/dev/null); last lines of $RIE_LOG:"
      tail -n 40 "$RIE_LOG" >&2 || true
      die "the example Lambda did not answer under aws-lambda-rie"
    fi
    fail_if_down rie "$RIE_LOG" "$start" "$RIE_READY_TIMEOUT"
    sleep 0.5
  done
}

# rie_record_runtime: the bootstrap is the emulator's child in a process group of its own (the
# emulator's supervisor sets Setpgid); record it so stop_all stops it too.
rie_record_runtime() {
  local rie_pid child pgid
  rie_pid=$(cat "$RUN_DIR/rie.pid")
  child=$(ps -o pid=,args= --ppid "$rie_pid" | awk -v b="$RIE_BOOTSTRAP" '$2 == b {print $1; exit}')
  [ -n "$child" ] || die "aws-lambda-rie: no bootstrap process under pid $rie_pid"
  pgid=$(ps -o pgid= -p "$child" | tr -d ' ')
  echo "$child" >"$RUN_DIR/rie-runtime.pid"
  echo "$pgid" >"$RUN_DIR/rie-runtime.pgid"
  log "rie-runtime (bootstrap): pid $child, process group $pgid"
}
