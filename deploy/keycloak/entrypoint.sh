#!/usr/bin/env bash
# Entrypoint of the smartauth Keycloak image (installed as /opt/keycloak/bin/smart-entrypoint.sh, next
# to kc.sh). It checks the settings that the SMART realm import needs, then execs kc.sh.
#
#   (no arguments)        production: kc.sh start --optimized --import-realm (PostgreSQL from KC_DB_*)
#   start [OPTIONS]       the same, with extra kc.sh options
#   start-dev [OPTIONS]   DEMO ONLY: kc.sh start-dev --import-realm, with Keycloak's file database
#                         inside the container (KC_DB=dev-file, always, whatever KC_DB says): every
#                         user, session and change is LOST on each restart, redeploy or scale-out
#   anything else         passed to kc.sh unchanged (e.g. --help, show-config, export)
# A leading path of this script or of kc.sh is dropped, so an App Runner StartCommand such as
# "/opt/keycloak/bin/smart-entrypoint.sh start-dev" works whether it replaces CMD or ENTRYPOINT.
#
# Required for start and start-dev (the realm file deploy/keycloak/realm/smart-realm.json reads them
# through Keycloak's ${VAR} import placeholders; an unset variable would be imported literally):
#   SMART_AUDIENCE               aud value the validator Lambda expects (no whitespace)
#   SMART_APP_REDIRECT_URI       redirect URI of the public smart-app and smart-practitioner clients: https://..., or
#                                http://127.0.0.1[:port]/... or http://localhost[:port]/... (RFC 8252);
#                                no "*" wildcards
#   SMART_BACKEND_CLIENT_SECRET  client secret of smart-backend, at least 32 characters
# Hostname: with KC_HOSTNAME set (e.g. https://auth.example.com), Keycloak's strict hostname applies.
# Without it, this script sets KC_HOSTNAME_STRICT=false: the issuer is taken from the request as
# forwarded by the proxy (KC_PROXY_HEADERS=xforwarded, set in the image), which is what App Runner's
# own *.awsapprunner.com URL needs before it is known. Set KC_HOSTNAME once the URL is stable.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kc="$here/kc.sh"

log() { printf 'smart-entrypoint: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 64; }

# Drop a leading path to this script or to kc.sh (StartCommand given as a full command line).
if [ $# -gt 0 ]; then
  case $1 in
    */smart-entrypoint.sh | smart-entrypoint.sh | */kc.sh | kc.sh) shift ;;
  esac
fi
[ $# -gt 0 ] || set -- start

has_opt() {
  local want=$1 a
  shift
  for a in "$@"; do
    [ "$a" = "$want" ] && return 0
  done
  return 1
}

check_env() {
  local ph="\${"  # the start of a Keycloak import placeholder
  local aud=${SMART_AUDIENCE:-} redirect=${SMART_APP_REDIRECT_URI:-} secret=${SMART_BACKEND_CLIENT_SECRET:-}
  [ -n "$aud" ] || die "SMART_AUDIENCE is not set (the aud value the validator Lambda expects)"
  case $aud in
    *[[:space:]]* | *"$ph"*) die "SMART_AUDIENCE must be one value without whitespace or \${" ;;
  esac
  [ -n "$redirect" ] || die "SMART_APP_REDIRECT_URI is not set (redirect URI of the smart-app client)"
  case $redirect in
    *'*'* | *[[:space:]]* | *"$ph"*) die "SMART_APP_REDIRECT_URI must be one exact URI without wildcards" ;;
    https://?* | http://127.0.0.1/* | http://127.0.0.1:[0-9]*/* | http://localhost/* | http://localhost:[0-9]*/*) ;;
    *) die "SMART_APP_REDIRECT_URI must be https://..., or http://127.0.0.1 or http://localhost with a path" ;;
  esac
  [ ${#secret} -ge 32 ] || die "SMART_BACKEND_CLIENT_SECRET must be set, at least 32 characters"
  case $secret in
    *"$ph"*) die "SMART_BACKEND_CLIENT_SECRET must not contain \${" ;;
  esac
}

cmd=$1
shift
case $cmd in
  start)
    check_env
    if [ -z "${KC_HOSTNAME:-}" ] && [ -z "${KC_HOSTNAME_STRICT:-}" ]; then
      export KC_HOSTNAME_STRICT=false
      log "KC_HOSTNAME not set: hostname taken from the proxy's X-Forwarded-* headers (KC_HOSTNAME_STRICT=false)"
    fi
    set -- start "$@"
    has_opt --optimized "$@" || set -- "$@" --optimized
    has_opt --import-realm "$@" || set -- "$@" --import-realm
    ;;
  start-dev)
    check_env
    log "DEMO MODE (start-dev): H2 database inside the container; all data is LOST on restart, redeploy or scale-out. Do not use for real users."
    # Demo mode never uses an external database. start-dev already defaults to dev-file, also on
    # this image's --db=postgres build (checked with Keycloak 26.7.3), but a KC_DB or KC_DB_URL
    # left in the environment (e.g. production settings kept when switching to demo) would make it
    # connect to that database, or fail: override them, and say so (names only, never values).
    if [ -n "${KC_DB:-}" ] && [ "$KC_DB" != dev-file ]; then
      log "KC_DB=$KC_DB ignored in demo mode"
    fi
    export KC_DB=dev-file
    for v in $(compgen -e); do
      case $v in
        KC_DB_?*) unset "$v"; log "$v ignored in demo mode" ;;
      esac
    done
    log "KC_DB=dev-file (Keycloak's file database under /opt/keycloak/data/h2)"
    set -- start-dev "$@"
    has_opt --import-realm "$@" || set -- "$@" --import-realm
    ;;
  *)
    set -- "$cmd" "$@"
    ;;
esac
exec "$kc" "$@"
