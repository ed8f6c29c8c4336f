# shellcheck shell=bash
# Production smoke of the smartauth Keycloak image for scripts/integration.sh: the distribution
# augmented as deploy/keycloak/Dockerfile does, started as deploy/cloudformation/keycloak.yaml starts
# it in KeycloakMode production (its StartCommand through deploy/keycloak/entrypoint.sh, with the
# template's runtime variables and secrets), on the PostgreSQL of scripts/lib/postgres.sh.
# Sourced after common.sh, keycloak.sh and postgres.sh.
#
# What is read from the deploy files, so the smoke cannot drift from them: from the Dockerfile
# (scripts/lib/kcprod-settings.py) the Keycloak version of ARG KEYCLOAK_IMAGE, the options of the RUN
# kc.sh build line, the final stage's ENV and CMD; from the template, evaluated for each deploy with
# its conditions resolved (tools/cfncheck/cmd/kcprodsettings), the production StartCommand (checked to
# be the entrypoint with the CMD's arguments, so it also stands for a container started without one),
# the port, the health check path and every runtime variable and secret of the App Runner service. A
# variable the template sets from a parameter needs a test value for that parameter here, a secret one
# for the secret (kcprod_env): a new one fails the smoke until it gets one.
# Test-only differences from production, logged at start: HTTP on 127.0.0.1 and a free port instead
# of 0.0.0.0:8080, the management interface (health, metrics) on a free port instead of 9000, the
# cluster transport (JGroups) on 127.0.0.1 and free ports instead of a site-local address and 7800,
# the JDK of this machine instead of the image's.
#
# Two starts on the same PostgreSQL, as a stack's two deploys run it: first without KeycloakHostname
# (KC_HOSTNAME_STRICT=false, the issuer from the X-Forwarded-* headers; the realm is imported), then,
# as after the second deploy, with KeycloakHostname = the App Runner host (KC_HOSTNAME=<bare host>,
# no KC_HOSTNAME_STRICT: the template's !If gives one or the other), the realm already in the
# database: the health check path must answer 200 when called directly (App Runner's health check
# sends no X-Forwarded-* headers) and the issuer behind the proxy headers must stay
# https://<host>/realms/smart, the one the data store's Metadata names.
#
# The augmented copy is cached as $CACHE/keycloak-prod-<version>-<hash of version and build
# options>/ (kc.sh build takes 30 to 60 s); a change of either builds a new one and removes the old.
#
# Inputs: ROOT, CACHE, RUN_DIR, KC_AUDIENCE, KC_SMART_REALM, KC_SMART_BACKEND_CLIENT_ID,
# KC_SMART_REDIRECT_URI (keycloak.sh), PG_* (postgres.sh). Server name: "keycloak-prod".

KCPROD_READY_TIMEOUT=${KCPROD_READY_TIMEOUT:-180}
KCPROD_BUILD_TIMEOUT=${KCPROD_BUILD_TIMEOUT:-300}
KCPROD_PUBLIC_HOST=smart-kc.us-east-1.awsapprunner.com   # what App Runner forwards; never resolved

# kcprod_settings: read the Dockerfile into KCPROD_* variables, build the template reader, read the
# template's first deploy (once).
kcprod_settings() {
  [ -n "${KCPROD_VERSION:-}" ] && return 0
  local dockerfile="$ROOT/deploy/keycloak/Dockerfile" out
  out=$(python3 "$ROOT/scripts/lib/kcprod-settings.py" "$dockerfile") \
    || die "cannot read the production settings from $dockerfile"
  KCPROD_BUILD_OPTS=()
  KCPROD_IMAGE_ENV=()
  local key a b
  while IFS=$'\t' read -r key a b; do
    case $key in
      image_version) KCPROD_VERSION=$a ;;
      build_opt) KCPROD_BUILD_OPTS+=("$a") ;;
      image_cmd) KCPROD_IMAGE_CMD=$a ;;
      image_env) KCPROD_IMAGE_ENV+=("$a=$b") ;;
      *) die "kcprod-settings.py printed an unknown setting: $key" ;;
    esac
  done <<<"$out"
  [ -n "${KCPROD_VERSION:-}" ] && [ -n "${KCPROD_IMAGE_CMD:-}" ] || die "incomplete image settings from kcprod-settings.py"
  KCPROD_SETTINGS_BIN="$RUN_DIR/kcprodsettings"
  (cd "$ROOT/tools/cfncheck" && go build -o "$KCPROD_SETTINGS_BIN" ./cmd/kcprodsettings) >&2 \
    || die "building tools/cfncheck/cmd/kcprodsettings failed"
  kcprod_template first
  log "keycloak-prod: image Keycloak $KCPROD_VERSION, kc.sh build ${KCPROD_BUILD_OPTS[*]}; StartCommand: $KCPROD_START_COMMAND"
}

# kcprod_template DEPLOY: the template's production settings for DEPLOY (first or second, see
# kcprod_env) into KCPROD_START_COMMAND, KCPROD_TEMPLATE_PORT, KCPROD_HEALTH_PATH and
# KCPROD_TEMPLATE_ENV (rows NAME<tab>KIND<tab>VALUE), checked against the Dockerfile's.
kcprod_template() {
  local deploy=$1 template="$ROOT/deploy/cloudformation/keycloak.yaml" out key a b c
  [ "${KCPROD_TEMPLATE_DEPLOY:-}" = "$deploy" ] && return 0
  out=$("$KCPROD_SETTINGS_BIN" "$template" "$deploy") || die "cannot read the $deploy deploy's settings from $template"
  KCPROD_START_COMMAND='' KCPROD_TEMPLATE_PORT='' KCPROD_HEALTH_PATH=''
  KCPROD_TEMPLATE_ENV=()
  while IFS=$'\t' read -r key a b c; do
    case $key in
      start_command) KCPROD_START_COMMAND=$a ;;
      port) KCPROD_TEMPLATE_PORT=$a ;;
      health_path) KCPROD_HEALTH_PATH=$a ;;
      env) KCPROD_TEMPLATE_ENV+=("$a"$'\t'"$b"$'\t'"$c") ;;
      *) die "kcprodsettings printed an unknown setting: $key" ;;
    esac
  done <<<"$out"
  [ -n "$KCPROD_START_COMMAND" ] && [ -n "$KCPROD_TEMPLATE_PORT" ] && [ -n "$KCPROD_HEALTH_PATH" ] \
    || die "incomplete $deploy deploy settings from kcprodsettings"
  # The smoke runs the template's StartCommand; the image's own CMD (what runs without one) must be
  # the same arguments, and the template's port the image's KC_HTTP_PORT.
  [ "${KCPROD_START_COMMAND#/opt/keycloak/bin/smart-entrypoint.sh }" = "$KCPROD_IMAGE_CMD" ] \
    || die "the production StartCommand of keycloak.yaml ($KCPROD_START_COMMAND) and the Dockerfile's CMD ($KCPROD_IMAGE_CMD) differ"
  [[ " ${KCPROD_IMAGE_ENV[*]} " == *" KC_HTTP_PORT=$KCPROD_TEMPLATE_PORT "* ]] \
    || die "keycloak.yaml's ImageConfiguration Port $KCPROD_TEMPLATE_PORT is not the Dockerfile's KC_HTTP_PORT (${KCPROD_IMAGE_ENV[*]})"
  KCPROD_TEMPLATE_DEPLOY=$deploy
}

# kcprod_install: $KCPROD_HOME, the Keycloak distribution of the image's version augmented with the
# Dockerfile's build options (cached).
kcprod_install() {
  kcprod_settings
  kc_install_version "$KCPROD_VERSION" || die "keycloak $KCPROD_VERSION (the version of deploy/keycloak/Dockerfile): download or unzip failed"
  local key
  key=$(printf '%s\n' "$KCPROD_VERSION" "${KCPROD_BUILD_OPTS[@]}" | sha256sum | cut -c1-12)
  KCPROD_HOME="$CACHE/keycloak-prod-$KCPROD_VERSION-$key"
  if [ -f "$KCPROD_HOME/.complete" ]; then
    log "keycloak-prod: augmented copy cached in $KCPROD_HOME"
    return 0
  fi
  local d
  for d in "$CACHE"/keycloak-prod-* "$CACHE"/build-keycloak-prod-*; do
    [ -d "$d" ] && [ "$d" != "$KCPROD_HOME" ] && { log "keycloak-prod: removing the outdated $d"; rm -rf "$d"; }
  done
  local tmp="$CACHE/build-keycloak-prod-$KCPROD_VERSION-$key" java_home blog="$RUN_DIR/keycloak-prod-build.log"
  java_home=$(kc_java_home)
  rm -rf "$tmp"
  cp -a "$CACHE/keycloak-$KCPROD_VERSION" "$tmp"
  rm -rf "$tmp/data" "$tmp/.complete"
  log "keycloak-prod: kc.sh build ${KCPROD_BUILD_OPTS[*]} in $tmp (cold cache; up to ${KCPROD_BUILD_TIMEOUT} s)"
  local t0 pid rc=0
  t0=$(date +%s)
  start_bg keycloak-prod-build "$blog" env -i PATH="$java_home/bin:/usr/bin:/bin" JAVA_HOME="$java_home" \
    HOME="${HOME:-/tmp}" "$tmp/bin/kc.sh" build "${KCPROD_BUILD_OPTS[@]}"
  pid=$(cat "$RUN_DIR/keycloak-prod-build.pid")
  while kill -0 "$pid" 2>/dev/null && (( $(date +%s) - t0 < KCPROD_BUILD_TIMEOUT )); do sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then
    stop_server keycloak-prod-build
    tail -n 40 "$blog" >&2 || true
    die "keycloak-prod: kc.sh build did not finish within ${KCPROD_BUILD_TIMEOUT} s"
  fi
  wait "$pid" || rc=$?
  rm -f "$RUN_DIR/keycloak-prod-build.pid" "$RUN_DIR/keycloak-prod-build.pgid"
  if [ "$rc" != 0 ] || ! grep -q 'Server configuration updated and persisted' "$blog"; then
    tail -n 40 "$blog" >&2 || true
    die "keycloak-prod: kc.sh build ${KCPROD_BUILD_OPTS[*]} failed (exit $rc); log $blog"
  fi
  mv "$tmp" "$KCPROD_HOME"
  touch "$KCPROD_HOME/.complete"
  log "keycloak-prod: augmented in $(( $(date +%s) - t0 )) s into $KCPROD_HOME"
}

# kcprod_env DEPLOY: KCPROD_ENV, the process environment: a clean one with the JDK, the Dockerfile's
# ENV, the template's production variables with test values, then the local overrides; the
# template's secrets (with test values) go to KCPROD_SECRET_ENV, passed through a file (see
# write_env_file), not the command line. DEPLOY is first (KeycloakHostname empty: KC_HOSTNAME_STRICT
# =false) or second (KeycloakHostname = the public host: KC_HOSTNAME, no KC_HOSTNAME_STRICT). The
# secrets are made once: the second start runs on the database the first one filled.
kcprod_env() {
  local deploy=$1 java_home row name kind value
  java_home=$(kc_java_home)
  if [ -z "${KCPROD_ADMIN_PASSWORD:-}" ]; then
    KCPROD_ADMIN_PASSWORD=$(random_secret 24)
    KCPROD_BACKEND_SECRET=$(random_secret 32)
  fi
  KCPROD_ENV=(PATH="$java_home/bin:/usr/bin:/bin" JAVA_HOME="$java_home" HOME="${HOME:-/tmp}" TZ=UTC)
  KCPROD_ENV+=("${KCPROD_IMAGE_ENV[@]}")
  KCPROD_SECRET_ENV=()
  kcprod_template "$deploy"
  local names=()
  for row in "${KCPROD_TEMPLATE_ENV[@]}"; do
    IFS=$'\t' read -r name kind value <<<"$row"
    case $kind:$name in
      literal:*) ;;
      ref:KeycloakHostname:*) value=$KCPROD_PUBLIC_HOST ;;
      ref:TokenAudience:*) value=$KC_AUDIENCE ;;
      ref:AppRedirectURI:*) value=$KC_SMART_REDIRECT_URI ;;
      ref:DbJdbcUrl:*) value=$PG_JDBC_URL ;;
      ref:DbUsername:*) value=$PG_USER ;;
      secret:KC_BOOTSTRAP_ADMIN_PASSWORD) value=$KCPROD_ADMIN_PASSWORD ;;
      secret:SMART_BACKEND_CLIENT_SECRET) value=$KCPROD_BACKEND_SECRET ;;
      secret:KC_DB_PASSWORD) value=$PG_PASSWORD ;;
      ref:*) die "deploy/cloudformation/keycloak.yaml sets $name from parameter ${kind#ref:}: give the parameter a test value in kcprod_env (scripts/lib/keycloak-prod.sh)" ;;
      *) die "deploy/cloudformation/keycloak.yaml sets $name ($kind) for Keycloak: give it a test value in kcprod_env (scripts/lib/keycloak-prod.sh)" ;;
    esac
    if [ "$kind" = secret ]; then
      KCPROD_SECRET_ENV+=("$name=$value")
    else
      KCPROD_ENV+=("$name=$value")
    fi
    names+=("$name")
  done
  local want hostvar=KC_HOSTNAME_STRICT
  [ "$deploy" = first ] || hostvar=KC_HOSTNAME
  for want in KC_DB KC_DB_URL KC_DB_USERNAME KC_DB_PASSWORD "$hostvar" KC_BOOTSTRAP_ADMIN_USERNAME; do
    [[ " ${names[*]} " == *" $want "* ]] || die "deploy/cloudformation/keycloak.yaml no longer sets $want; the production smoke expects it"
  done
  KCPROD_ADMIN_USER=$(printf '%s\n' "${KCPROD_ENV[@]}" | sed -n 's/^KC_BOOTSTRAP_ADMIN_USERNAME=//p' | tail -n 1)
  log "keycloak-prod ($deploy deploy): from the Dockerfile ENV: ${KCPROD_IMAGE_ENV[*]%%=*}; from the template: ${names[*]}"
  KCPROD_PORT=$(free_port)
  KCPROD_MGMT_PORT=$(free_port)
  while [ "$KCPROD_MGMT_PORT" = "$KCPROD_PORT" ]; do KCPROD_MGMT_PORT=$(free_port); done
  # The production cache is clustered Infinispan (JGroups, JDBC_PING discovery through the database):
  # its transport binds a site-local address on port 7800 and failure detection (FD_SOCK2) that
  # port + 50000, both moved to 127.0.0.1 and a pair of free ports.
  KCPROD_CLUSTER_PORT=$(python3 -c 'import random, socket
for _ in range(200):
    p = random.randint(10000, 15000)
    socks = []
    try:
        for q in (p, p + 50000):
            s = socket.socket(); s.bind(("127.0.0.1", q)); socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(p); break
else:
    raise SystemExit("no free port pair P, P+50000")') || die "keycloak-prod: no free port pair for the cluster transport"
  KCPROD_ENV+=(KC_HTTP_HOST=127.0.0.1 KC_HTTP_PORT="$KCPROD_PORT" KC_HTTP_MANAGEMENT_PORT="$KCPROD_MGMT_PORT"
    KC_CACHE_EMBEDDED_NETWORK_BIND_ADDRESS=127.0.0.1 KC_CACHE_EMBEDDED_NETWORK_BIND_PORT="$KCPROD_CLUSTER_PORT")
  log "keycloak-prod: test-only: KC_HTTP_HOST=127.0.0.1, KC_HTTP_PORT=$KCPROD_PORT (template: $KCPROD_TEMPLATE_PORT), KC_HTTP_MANAGEMENT_PORT=$KCPROD_MGMT_PORT (default 9000), KC_CACHE_EMBEDDED_NETWORK_BIND_ADDRESS=127.0.0.1, KC_CACHE_EMBEDDED_NETWORK_BIND_PORT=$KCPROD_CLUSTER_PORT (default site-local:7800)"
}

# kcprod_launch DEPLOY: lay out the copy as the image does (realm import file, entrypoint next to
# kc.sh) and start the template's production StartCommand with the environment of DEPLOY (first or
# second, see kcprod_env); kcprod_wait waits for it.
kcprod_launch() {
  local deploy=$1 kcp=$KCPROD_HOME
  rm -rf "$kcp/data"
  mkdir -p "$kcp/data/import"
  install -m 0644 "$ROOT/deploy/keycloak/realm/smart-realm.json" "$kcp/data/import/smart-realm.json"
  install -m 0755 "$ROOT/deploy/keycloak/entrypoint.sh" "$kcp/bin/smart-entrypoint.sh"
  kcprod_env "$deploy"
  local -a cmd
  read -r -a cmd <<<"$KCPROD_START_COMMAND"
  case ${cmd[0]} in
    /opt/keycloak/bin/smart-entrypoint.sh) cmd[0]="$kcp/bin/smart-entrypoint.sh" ;;
    *) die "the production StartCommand does not start with /opt/keycloak/bin/smart-entrypoint.sh: $KCPROD_START_COMMAND" ;;
  esac
  local a
  for a in "${cmd[@]:1}"; do
    [[ $a =~ ^[A-Za-z0-9=._/-]+$ ]] || die "unexpected word in the production StartCommand: $a"
  done
  KCPROD_BASE="http://127.0.0.1:$KCPROD_PORT"
  KCPROD_MGMT="http://127.0.0.1:$KCPROD_MGMT_PORT"
  KCPROD_LOG="$RUN_DIR/keycloak-prod-$deploy.log"
  log "keycloak-prod ($deploy deploy): starting $kcp/bin/smart-entrypoint.sh ${cmd[*]:1} on $KCPROD_BASE, database $PG_JDBC_URL"
  write_env_file "$RUN_DIR/keycloak-prod.env" "${KCPROD_SECRET_ENV[@]}"
  start_bg keycloak-prod "$KCPROD_LOG" env -i "${KCPROD_ENV[@]}" \
    "$BASH" -c "$ENV_FILE_EXEC" "$RUN_DIR/keycloak-prod.env" "${cmd[@]}"
}

# kcprod_wait: the health check path answers (the App Runner health check), within
# KCPROD_READY_TIMEOUT from the start of the wait; every socket is on 127.0.0.1.
kcprod_wait() {
  wait_http keycloak-prod "$KCPROD_BASE$KCPROD_HEALTH_PATH" "$KCPROD_READY_TIMEOUT" "$KCPROD_LOG"
  assert_loopback_only keycloak-prod
}

# kcprod_fail MSG: the log tail, then die.
kcprod_fail() {
  log "keycloak-prod: last lines of $KCPROD_LOG:"
  tail -n 40 "$KCPROD_LOG" >&2 || true
  die "keycloak-prod: $*"
}

# kcprod_http OUT URL [CURL ARGS]: prints the HTTP status, body to OUT.
kcprod_http() {
  local out=$1 url=$2
  shift 2
  curl -s -o "$out" -w '%{http_code}' --max-time 15 "$@" "$url" || echo 000
}

# The headers of a client's request as App Runner forwards it: https on the service's public host.
KCPROD_PROXY_HEADERS=(-H "Host: $KCPROD_PUBLIC_HOST" -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Port: 443' -H 'X-Forwarded-For: 203.0.113.7')

# kcprod_token OUT [CURL ARGS]: a client-credentials token of the backend client with the
# SMART_BACKEND_CLIENT_SECRET given to the server (scope system/*.rs) into OUT; prints the HTTP status.
kcprod_token() {
  local out=$1
  shift
  kcprod_http "$out" "$KCPROD_BASE/realms/$KC_SMART_REALM/protocol/openid-connect/token" "$@" \
    --data-urlencode grant_type=client_credentials --data-urlencode "client_id=$KC_SMART_BACKEND_CLIENT_ID" \
    --data-urlencode "client_secret=$KCPROD_BACKEND_SECRET" --data-urlencode 'scope=system/*.rs'
}

# kcprod_validate TOKFILE VALIDATE-FLAGS...: smartauth validate (the library behind
# examples/healthlake-lambda) must accept the token of TOKFILE for the data store, with the keycloak
# provider and the given flags; TOKFILE is removed first, so the token is never left on disk or printed.
kcprod_validate() {
  local tokfile=$1 ev vout
  shift
  ev=$(python3 -c 'import json,sys; print(json.dumps({"datastoreEndpoint": sys.argv[2], "operationName": "SearchWithGet", "bearerToken": json.load(open(sys.argv[1]))["access_token"]}))' "$tokfile" "$KC_AUDIENCE")
  rm -f "$tokfile"
  vout=$(printf '%s' "$ev" | "$KCPROD_SMARTAUTH" validate --provider keycloak "$@" \
    --endpoint "$KC_AUDIENCE" --role-arn "arn:aws:iam::123456789012:role/healthlake-smart-prod-smoke" 2>&1) \
    || kcprod_fail "smartauth validate $* denied the production token: $vout"
}

# kcprod_check: the production server works: realm imported, discovery at the health check path
# (direct and as forwarded by App Runner), health and metrics from the build options, the bootstrap
# admin, a client-credentials token of the backend client that the smartauth validator accepts, and
# PostgreSQL as its database.
kcprod_check() {
  local d="$RUN_DIR/kcprod" code realm=$KC_SMART_REALM
  mkdir -p "$d"
  grep -q "Realm '$realm' imported" "$KCPROD_LOG" || kcprod_fail "the log does not say realm $realm was imported"
  grep -q '"loggerName"' "$KCPROD_LOG" || kcprod_fail "the log is not JSON (KC_LOG_CONSOLE_OUTPUT=json of the Dockerfile)"
  if grep -qi 'dev-file\|jdbc:h2' "$KCPROD_LOG"; then kcprod_fail "the log mentions the H2 dev-file database"; fi
  [ ! -e "$KCPROD_HOME/data/h2" ] || kcprod_fail "an H2 database was created in $KCPROD_HOME/data/h2"

  # The App Runner health check: the discovery document straight from the container.
  code=$(kcprod_http "$d/discovery.json" "$KCPROD_BASE$KCPROD_HEALTH_PATH")
  [ "$code" = 200 ] || kcprod_fail "health check path $KCPROD_HEALTH_PATH answered HTTP $code"
  [ "$(json_get "$d/discovery.json" 'd["issuer"]')" = "$KCPROD_BASE/realms/$realm" ] \
    || kcprod_fail "issuer $(json_get "$d/discovery.json" 'd["issuer"]'), expected $KCPROD_BASE/realms/$realm"
  # A client's request as App Runner forwards it.
  code=$(kcprod_http "$d/discovery-public.json" "$KCPROD_BASE/realms/$realm/.well-known/openid-configuration" \
    "${KCPROD_PROXY_HEADERS[@]}")
  [ "$code" = 200 ] || kcprod_fail "discovery behind the proxy headers answered HTTP $code"
  local want="https://$KCPROD_PUBLIC_HOST/realms/$realm" got
  for got in issuer token_endpoint jwks_uri; do
    case $(json_get "$d/discovery-public.json" "d[\"$got\"]") in
      "$want" | "$want"/*) ;;
      *) kcprod_fail "$got behind the proxy is $(json_get "$d/discovery-public.json" "d[\"$got\"]"), expected under $want" ;;
    esac
  done
  log "keycloak-prod: discovery OK: issuer $KCPROD_BASE/realms/$realm direct, $want behind the proxy headers"

  # Build options: health and metrics on the management interface; readiness includes the database.
  code=$(kcprod_http "$d/ready.json" "$KCPROD_MGMT/health/ready")
  [ "$code" = 200 ] || kcprod_fail "$KCPROD_MGMT/health/ready answered HTTP $code (--health-enabled=true)"
  python3 - "$d/ready.json" <<'PY' || kcprod_fail "/health/ready: $(cat "$d/ready.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "UP", d
db = [c for c in d.get("checks", []) if "database" in c.get("name", "").lower()]
assert db and all(c["status"] == "UP" for c in db), "no database check UP: %s" % d
PY
  code=$(kcprod_http "$d/metrics.txt" "$KCPROD_MGMT/metrics")
  [ "$code" = 200 ] || kcprod_fail "$KCPROD_MGMT/metrics answered HTTP $code (--metrics-enabled=true)"
  grep -q '^jvm_' "$d/metrics.txt" || kcprod_fail "$KCPROD_MGMT/metrics has no jvm_* metrics"
  grep -q 'agroal_' "$d/metrics.txt" || kcprod_fail "no connection pool (agroal_*) metrics: no JDBC datasource?"
  log "keycloak-prod: /health/ready UP with its database check, /metrics served (management port)"

  # The bootstrap admin of the template (KC_BOOTSTRAP_ADMIN_USERNAME and its secret password).
  code=$(kcprod_http "$d/admin-token.json" "$KCPROD_BASE/realms/master/protocol/openid-connect/token" \
    --data-urlencode grant_type=password --data-urlencode client_id=admin-cli \
    --data-urlencode "username=$KCPROD_ADMIN_USER" --data-urlencode "password=$KCPROD_ADMIN_PASSWORD")
  [ "$code" = 200 ] || kcprod_fail "bootstrap admin $KCPROD_ADMIN_USER cannot log in: HTTP $code"
  rm -f "$d/admin-token.json"

  # The backend client: client credentials with the SMART_BACKEND_CLIENT_SECRET given to the server.
  local tokfile="$d/token.json"
  code=$(kcprod_token "$tokfile")
  [ "$code" = 200 ] || kcprod_fail "client credentials for $KC_SMART_BACKEND_CLIENT_ID: HTTP $code: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("error"), d.get("error_description"))' "$tokfile" 2>/dev/null)"
  # Claims checked without printing the token.
  python3 - "$tokfile" "$KCPROD_BASE/realms/$realm" "$KC_AUDIENCE" "$KC_SMART_BACKEND_CLIENT_ID" <<'PY' || kcprod_fail "unexpected token claims"
import base64, json, sys
tok = json.load(open(sys.argv[1]))["access_token"]
seg = tok.split(".")[1]
c = json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))
iss, aud, azp = sys.argv[2:5]
problems = []
if c.get("iss") != iss: problems.append("iss %r != %r" % (c.get("iss"), iss))
if c.get("aud") not in (aud, [aud]): problems.append("aud %r != %r" % (c.get("aud"), aud))
if c.get("azp") != azp: problems.append("azp %r != %r" % (c.get("azp"), azp))
if "system/*.rs" not in c.get("scope", "").split(): problems.append("scope %r lacks system/*.rs" % c.get("scope"))
if problems: sys.exit("token claims: " + "; ".join(problems))
PY
  # The validator accepts it for the data store.
  kcprod_validate "$tokfile" --keycloak-url "$KCPROD_BASE" --realm "$realm" --insecure-http
  log "keycloak-prod: client-credentials token of $KC_SMART_BACKEND_CLIENT_ID accepted by smartauth validate"
  # shellcheck disable=SC2016 # the literal import placeholder, not an expansion
  code=$(kcprod_http "$d/bad-secret.json" "$KCPROD_BASE/realms/$realm/protocol/openid-connect/token" \
    --data-urlencode grant_type=client_credentials --data-urlencode "client_id=$KC_SMART_BACKEND_CLIENT_ID" \
    --data-urlencode 'client_secret=${SMART_BACKEND_CLIENT_SECRET}')
  [ "$code" = 401 ] || kcprod_fail "the placeholder text as client secret got HTTP $code, expected 401"

  # PostgreSQL: Keycloak's connections in the server's log (log_connections).
  grep -q "connection authorized: user=$PG_USER database=$PG_DB" "$PG_LOG" \
    || kcprod_fail "the PostgreSQL log shows no connection of user $PG_USER to database $PG_DB"
  log "keycloak-prod: PostgreSQL log shows Keycloak's connections as $PG_USER to $PG_DB"
}

# kcprod_check_second: after the restart with KC_HOSTNAME=<public host> on the same database: the
# realm was not imported again, the App Runner health check (a direct call: no X-Forwarded-* headers)
# answers 200 without a redirect, and behind App Runner's headers the discovery issuer and the `iss`
# of a client-credentials token are https://<host>/realms/smart (the Metadata's issuer), also when a
# request names another host; smartauth validate accepts the token for that issuer.
kcprod_check_second() {
  local d="$RUN_DIR/kcprod2" code realm=$KC_SMART_REALM
  local want="https://$KCPROD_PUBLIC_HOST/realms/$realm"
  mkdir -p "$d"
  if grep -q "Realm '$realm' imported" "$KCPROD_LOG"; then
    kcprod_fail "realm $realm was imported again: it should already be in PostgreSQL"
  fi
  code=$(kcprod_http "$d/health.json" "$KCPROD_BASE$KCPROD_HEALTH_PATH")
  [ "$code" = 200 ] || kcprod_fail "with KC_HOSTNAME=$KCPROD_PUBLIC_HOST the health check path $KCPROD_HEALTH_PATH answered HTTP $code to a direct call (App Runner's health check would fail)"
  log "keycloak-prod (second deploy): health check path answers 200 directly; its issuer there: $(json_get "$d/health.json" 'd["issuer"]')"
  local h got
  for h in "$KCPROD_PUBLIC_HOST" other.example.org; do
    code=$(kcprod_http "$d/discovery.json" "$KCPROD_BASE/realms/$realm/.well-known/openid-configuration" \
      "${KCPROD_PROXY_HEADERS[@]}" -H "X-Forwarded-Host: $h")
    [ "$code" = 200 ] || kcprod_fail "discovery behind the proxy headers (X-Forwarded-Host $h) answered HTTP $code"
    got=$(json_get "$d/discovery.json" 'd["issuer"]')
    [ "$got" = "$want" ] || kcprod_fail "with KC_HOSTNAME the issuer behind the proxy (X-Forwarded-Host $h) is $got, expected $want"
  done
  local tokfile="$d/token.json"
  code=$(kcprod_token "$tokfile" "${KCPROD_PROXY_HEADERS[@]}")
  [ "$code" = 200 ] || kcprod_fail "client credentials for $KC_SMART_BACKEND_CLIENT_ID after the restart: HTTP $code"
  code=$(kcprod_http "$d/jwks.json" "$KCPROD_BASE/realms/$realm/protocol/openid-connect/certs")
  [ "$code" = 200 ] || kcprod_fail "JWKS answered HTTP $code"
  # The validator with the public issuer (the Lambda's KEYCLOAK_URL after the second deploy), keys
  # from the file (the public host is never resolved): it checks iss, signature, aud and scopes.
  kcprod_validate "$tokfile" --issuer "$want" --jwks-file "$d/jwks.json"
  log "keycloak-prod (second deploy): issuer $want behind the proxy headers (also for X-Forwarded-Host other.example.org); a client-credentials token with that iss accepted by smartauth validate"
}

# kcprod_verify_db: with Keycloak and PostgreSQL stopped, the realm and its backend client are rows
# of the keycloak database (single-user mode: no client program needed).
kcprod_verify_db() {
  local out
  out=$(pg_single_query "$PG_DB" "SELECT r.name AS realm, c.client_id FROM realm r JOIN client c ON c.realm_id = r.id WHERE r.name = '$KC_SMART_REALM' AND c.client_id = '$KC_SMART_BACKEND_CLIENT_ID';")
  if ! grep -q "realm = \"$KC_SMART_REALM\"" <<<"$out" || ! grep -q "client_id = \"$KC_SMART_BACKEND_CLIENT_ID\"" <<<"$out"; then
    printf '%s\n' "$out" | tail -n 20 >&2
    die "keycloak-prod: realm $KC_SMART_REALM with client $KC_SMART_BACKEND_CLIENT_ID is not in PostgreSQL database $PG_DB"
  fi
  log "keycloak-prod: PostgreSQL database $PG_DB holds realm $KC_SMART_REALM and client $KC_SMART_BACKEND_CLIENT_ID"
}

# The whole step, in two parts so that the production server starts while the start-dev Keycloak of
# the other tests starts (Keycloak starts mostly on one core; the machine has two):
# kcprod_smoke_start: PostgreSQL up, the production Keycloak launched (install already done by
# kcprod_install and pg_install).
kcprod_smoke_start() {
  KCPROD_T0=$(date +%s)
  pg_start
  kcprod_launch first
}

# kcprod_smoke_finish: wait, check, stop both servers, read the database.
kcprod_smoke_finish() {
  KCPROD_SMARTAUTH="$RUN_DIR/smartauth"
  (cd "$ROOT" && go build -o "$KCPROD_SMARTAUTH" ./cmd/smartauth) >&2 || die "building ./cmd/smartauth failed"
  kcprod_wait
  kcprod_check
  stop_server keycloak-prod
  # The second deploy: the same database, KC_HOSTNAME set (App Runner restarts the service).
  local t1
  t1=$(date +%s)
  kcprod_launch second
  kcprod_wait
  kcprod_check_second
  stop_server keycloak-prod
  log "keycloak-prod: second-deploy restart checked in $(( $(date +%s) - t1 )) s"
  pg_stop
  kcprod_verify_db
  pg_cleanup
  log "keycloak-prod: production smoke passed, $(( $(date +%s) - KCPROD_T0 )) s after its launch"
}
