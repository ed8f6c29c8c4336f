# shellcheck shell=bash
# Keycloak (keycloak-quarkus-dist from Maven Central) for scripts/integration.sh. Sourced after common.sh.
#
# Inputs: CACHE, RUN_DIR, ROOT; optional KC_VER (no fallback when set), KC_JAVA_HOME.
# Outputs: KC_HOME, KC_PORT, KC_BASE, KC_AUDIENCE, KC_SMART_*; the server is recorded as "keycloak"
# (see start_bg).
#
# One Keycloak imports two realms: the test realm testdata/keycloak/fhir-realm.json ("fhir") and the
# production realm deploy/keycloak/realm/smart-realm.json ("smart", the one the image of
# deploy/keycloak/ ships), started through that image's entrypoint (deploy/keycloak/entrypoint.sh,
# copied next to kc.sh as in the image) with its placeholders set for the test.

KC_REALM=fhir
KC_AUDIENCE="https://healthlake.us-east-1.amazonaws.com/datastore/0123456789abcdef0123456789abcdef/r4/"
KC_SMART_REALM=smart
# shellcheck disable=SC2034 # read by scripts/integration.sh
KC_SMART_APP_CLIENT_ID=smart-app
# shellcheck disable=SC2034 # read by scripts/integration.sh
KC_SMART_BACKEND_CLIENT_ID=smart-backend
KC_SMART_REDIRECT_URI="http://127.0.0.1/smart-app/callback"   # never served: the tests stop at the redirect
KC_ADMIN_USER="admin"
KC_ADMIN_PASSWORD="admin"
KC_VERSIONS_DEFAULT="26.7.3 26.5.6 26.4.7"   # first that downloads and unpacks wins
KC_READY_TIMEOUT=${KC_READY_TIMEOUT:-180}

kc_java_home() {
  local j
  for j in "${KC_JAVA_HOME:-}" /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk /usr/lib/jvm/java-21-openjdk-amd64; do
    [ -n "$j" ] && [ -x "$j/bin/java" ] && { echo "$j"; return 0; }
  done
  die "no JDK 17 or 21 found (Keycloak 26 needs one; set KC_JAVA_HOME)"
}

# kc_install_version V: make $CACHE/keycloak-V a complete, unpacked distribution. The zip comes from
# Maven Central through mvn and stays in the local Maven repository (~/.m2), which survives fresh clones.
kc_install_version() {
  local v=$1 dir="$CACHE/keycloak-$1"
  if [ -f "$dir/.complete" ]; then
    log "keycloak $v: cached in $dir"
    return 0
  fi
  log "keycloak $v: mvn dependency:get org.keycloak:keycloak-quarkus-dist:$v:zip"
  mvn -q -B dependency:get -Dartifact="org.keycloak:keycloak-quarkus-dist:$v:zip" -Dtransitive=false >&2 || return 1
  local repo="${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}" zip
  zip="$repo/org/keycloak/keycloak-quarkus-dist/$v/keycloak-quarkus-dist-$v.zip"
  [ -f "$zip" ] || { log "keycloak $v: zip not found at $zip"; return 1; }
  local tmp="$CACHE/unzip-keycloak-$v"
  rm -rf "$tmp" "$dir"
  mkdir -p "$tmp"
  unzip -q "$zip" -d "$tmp" || { rm -rf "$tmp"; return 1; }
  [ -x "$tmp/keycloak-$v/bin/kc.sh" ] || { log "keycloak $v: unexpected zip layout: $(ls "$tmp")"; rm -rf "$tmp"; return 1; }
  mv "$tmp/keycloak-$v" "$dir"
  rm -rf "$tmp"
  touch "$dir/.complete"
  log "keycloak $v: unpacked into $dir"
}

kc_install() {
  local v
  if [ -n "${KC_VER:-}" ]; then
    kc_install_version "$KC_VER" || die "keycloak $KC_VER: download or unzip failed"
  else
    for v in $KC_VERSIONS_DEFAULT; do
      if kc_install_version "$v"; then KC_VER=$v; break; fi
      log "keycloak $v failed; trying the next version"
    done
    [ -n "${KC_VER:-}" ] || die "no Keycloak version could be installed (tried $KC_VERSIONS_DEFAULT)"
  fi
  KC_HOME="$CACHE/keycloak-$KC_VER"
}

kc_start() {
  local realm_file="$ROOT/testdata/keycloak/fhir-realm.json"
  local smart_realm_file="$ROOT/deploy/keycloak/realm/smart-realm.json"
  local entrypoint="$ROOT/deploy/keycloak/entrypoint.sh"
  [ -f "$realm_file" ] || die "missing $realm_file"
  [ -f "$smart_realm_file" ] || die "missing $smart_realm_file"
  [ -x "$entrypoint" ] || die "missing or not executable: $entrypoint"
  # Fresh state every run: --import-realm skips realms that already exist in data/.
  rm -rf "$KC_HOME/data"
  mkdir -p "$KC_HOME/data/import"
  cp "$realm_file" "$smart_realm_file" "$KC_HOME/data/import/"
  cp "$entrypoint" "$KC_HOME/bin/smart-entrypoint.sh"
  KC_SMART_BACKEND_SECRET=$(random_secret 32)
  KC_PORT=$(free_port)
  local mgmt_port java_home
  mgmt_port=$(free_port)
  while [ "$mgmt_port" = "$KC_PORT" ]; do mgmt_port=$(free_port); done
  java_home=$(kc_java_home)
  KC_BASE="http://127.0.0.1:$KC_PORT"
  KC_LOG="$RUN_DIR/keycloak.log"
  log "keycloak $KC_VER: starting on $KC_BASE (JAVA_HOME=$java_home)"
  # The management interface (health/metrics) gets its own free port: its default 9000 may be taken.
  # The client secret through the environment (write_env_file), not the command line.
  write_env_file "$RUN_DIR/keycloak.env" SMART_BACKEND_CLIENT_SECRET="$KC_SMART_BACKEND_SECRET"
  start_bg keycloak "$KC_LOG" env -u JAVA_OPTS -u KC_HOSTNAME -u KC_DB -u KC_HTTP_PORT -u KC_HTTP_HOST \
    JAVA_HOME="$java_home" PATH="$java_home/bin:$PATH" \
    KC_BOOTSTRAP_ADMIN_USERNAME="$KC_ADMIN_USER" KC_BOOTSTRAP_ADMIN_PASSWORD="$KC_ADMIN_PASSWORD" \
    SMART_AUDIENCE="$KC_AUDIENCE" SMART_APP_REDIRECT_URI="$KC_SMART_REDIRECT_URI" \
    "$BASH" -c "$ENV_FILE_EXEC" "$RUN_DIR/keycloak.env" \
    "$KC_HOME/bin/smart-entrypoint.sh" start-dev \
    --http-host=127.0.0.1 --http-port="$KC_PORT" \
    --http-management-port="$mgmt_port"
  wait_http keycloak "$KC_BASE/realms/$KC_REALM/.well-known/openid-configuration" "$KC_READY_TIMEOUT" "$KC_LOG"
  local r
  for r in "$KC_REALM" "$KC_SMART_REALM"; do
    grep -q "Realm '$r' imported" "$KC_LOG" || die "keycloak: log does not say realm $r was imported"
  done
  # The entrypoint's demo mode pins Keycloak's file database (as in the image's start-dev).
  grep -q "^smart-entrypoint: KC_DB=dev-file" "$KC_LOG" || die "keycloak: the entrypoint did not set KC_DB=dev-file"
  assert_loopback_only keycloak
}
