# shellcheck shell=bash
# Common helpers for scripts/integration.sh (sourced; expects set -euo pipefail in the caller).

log() { printf '[integration %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

need_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "required command not found: $c"
  done
}

# free_port prints a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0).
free_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# json_get FILE EXPR: prints a value from a JSON file; EXPR is a Python expression on `d`
# (e.g. 'd["UserPool"]["Id"]'). Fails when the path is missing.
json_get() {
  python3 - "$1" "$2" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
v = eval(sys.argv[2], {"d": d})
if v is None:
    sys.exit("json_get: %s is null in %s" % (sys.argv[2], sys.argv[1]))
print(v if isinstance(v, str) else json.dumps(v))
PY
}

# --- process bookkeeping ------------------------------------------------------------------------
# Every server is started with setsid, so it leads its own process group; the group id is saved in
# $RUN_DIR/<name>.pgid and the whole group (kc.sh and its java child, node) is stopped by it.

# start_bg NAME LOGFILE CMD...: start CMD in a new session (cwd/env as the caller set them), record
# its pid and process group id in $RUN_DIR/NAME.pid / NAME.pgid (stop_all stops every recorded group).
# The id is written by the new session's leader itself ($$ after setsid, then exec), not read with ps
# straight after the launch: ps could still show the caller's group then, and stopping that group
# would stop this script.
start_bg() {
  local name=$1 logfile=$2 idfile
  shift 2
  idfile="$RUN_DIR/$name.pgid"
  rm -f "$idfile" "$RUN_DIR/$name.pid"
  # shellcheck disable=SC2016 # $$ and $@ are expanded by the inner shell
  setsid bash -c 'echo "$$" >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$idfile" "$@" >"$logfile" 2>&1 </dev/null &
  local launched=$! pgid=""
  for _ in $(seq 1 100); do
    pgid=$(cat "$idfile" 2>/dev/null || true)
    [ -n "$pgid" ] && break
    sleep 0.05
  done
  if [ -z "$pgid" ]; then
    # It may still start later and leave a server behind: kill what was launched. Without job
    # control setsid does not fork, so $! becomes the leader of the new group once setsid has run.
    kill -KILL -- "-$launched" 2>/dev/null || true
    kill -KILL "$launched" 2>/dev/null || true
    rm -f "$idfile" "$idfile.tmp"
    die "$name: did not start within 5 s (see $logfile); killed pid $launched"
  fi
  [ "$pgid" != "$(own_pgid)" ] || die "$name: runs in this script's own process group $pgid"
  echo "$pgid" >"$RUN_DIR/$name.pid"
  log "$name started: pid $pgid, process group $pgid, log $logfile"
}

# Secrets for a server go through its environment, not its command line (ps shows every process's
# arguments to every user; /proc/PID/environ only to its owner): write_env_file writes them to a
# file, and the command that start_bg runs is prefixed with `bash -c "$ENV_FILE_EXEC" FILE`, which
# exports them, removes the file and execs the rest, e.g.
#   write_env_file "$RUN_DIR/x.env" PASSWORD="$pw"
#   start_bg x "$log" env -i PATH=/usr/bin:/bin "$BASH" -c "$ENV_FILE_EXEC" "$RUN_DIR/x.env" /path/to/server
# (bash adds PWD, SHLVL and _ to the environment, as any shell script in the chain would).
# shellcheck disable=SC2016,SC2034 # expanded by the inner shell; used by the sourcing scripts
ENV_FILE_EXEC='while IFS= read -r -d "" kv; do export "$kv" || exit 126; done <"$0" && rm -f "$0" && exec "$@"'

# write_env_file FILE NAME=VALUE...: the assignments, NUL separated, into a new FILE of mode 0600
# (printf is a builtin: the values appear in no command line).
write_env_file() {
  local f=$1
  shift
  rm -f "$f"
  (umask 077 && printf '%s\0' "$@" >"$f")
}

# random_secret BYTES: a random URL-safe secret of BYTES random bytes (letters, digits, - and _).
random_secret() {
  python3 -c 'import secrets, sys; print(secrets.token_urlsafe(int(sys.argv[1])))' "$1"
}

# own_pgid: the process group of this script.
own_pgid() {
  ps -o pgid= -p $$ | tr -d ' '
}

# alive NAME: true while the process group of NAME still has a member.
alive() {
  local pgid
  pgid=$(cat "$RUN_DIR/$1.pgid" 2>/dev/null) || return 1
  kill -0 -- "-$pgid" 2>/dev/null
}

# stop_server NAME: TERM the process group, wait up to 20 s, then KILL; for Keycloak also kill a
# java process that names this kc.sh pid (-Dkc.script.pid=PID) should one have left the group.
stop_server() {
  local name=$1 pgid pid
  pgid=$(cat "$RUN_DIR/$name.pgid" 2>/dev/null) || return 0
  pid=$(cat "$RUN_DIR/$name.pid" 2>/dev/null || echo "$pgid")
  if [ "$pgid" = "$(own_pgid)" ]; then
    log "$name: process group $pgid is this script's own; not touching it"
    rm -f "$RUN_DIR/$name.pgid" "$RUN_DIR/$name.pid" "$RUN_DIR/$name.marker"
    return 0
  fi
  # The group must still be ours: one member's command line names $CACHE/ (kc.sh, its java, node
  # cognito-local), or the string in $RUN_DIR/NAME.marker when there is one (postgres: its data
  # directory). A stale file from a run killed hard could name a recycled id: then leave that group alone.
  local marker="$CACHE/"
  if [ -s "$RUN_DIR/$name.marker" ]; then marker=$(cat "$RUN_DIR/$name.marker"); fi
  if kill -0 -- "-$pgid" 2>/dev/null && ! ps -eo pgid=,args= | awk -v g="$pgid" -v c="$marker" '$1 == g && index($0, c) {f=1} END {exit !f}'; then
    log "$name: process group $pgid no longer runs anything that names $marker; not touching it"
    rm -f "$RUN_DIR/$name.pgid" "$RUN_DIR/$name.pid" "$RUN_DIR/$name.marker"
    return 0
  fi
  if kill -0 -- "-$pgid" 2>/dev/null; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 40); do
      kill -0 -- "-$pgid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 -- "-$pgid" 2>/dev/null; then
      log "$name (group $pgid) still running after 20 s: SIGKILL"
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
  fi
  local strays
  strays=$(ps -eo pid=,comm=,args= | awk -v tag="-Dkc.script.pid=$pid " '$2 == "java" && index($0, tag) {print $1}')
  if [ -n "$strays" ]; then
    log "$name: killing stray java child(ren) $strays"
    # shellcheck disable=SC2086
    kill -KILL $strays 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/$name.pgid" "$RUN_DIR/$name.pid" "$RUN_DIR/$name.marker"
  log "$name stopped"
}

# assert_loopback_only NAME: every TCP socket the process group of NAME listens on is bound to
# 127.0.0.1 (needs ss; skipped with a note when ss is absent).
assert_loopback_only() {
  local name=$1 pgid pids bad
  command -v ss >/dev/null 2>&1 || { log "note: ss not installed, cannot check listen addresses of $name"; return 0; }
  pgid=$(cat "$RUN_DIR/$name.pgid")
  pids=$(ps -eo pid=,pgid= | awk -v g="$pgid" '$2 == g {print $1}')
  [ -n "$pids" ] || die "$name: no process in group $pgid"
  local p listen=""
  for p in $pids; do
    listen+=$(ss -Hltnp 2>/dev/null | grep -F "pid=$p," || true)$'\n'
  done
  # Java reports IPv4 loopback sockets as IPv4-mapped IPv6: [::ffff:127.0.0.1]:PORT.
  bad=$(printf '%s' "$listen" | awk 'NF {print $4}' | grep -vE '^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):[0-9]+$' || true)
  [ -z "$bad" ] || die "$name listens on non-loopback address(es): $(tr '\n' ' ' <<<"$bad")"
  log "$name listens on: $(printf '%s' "$listen" | awk 'NF {print $4}' | sort -u | tr '\n' ' ')"
}

# fail_if_down NAME LOGFILE START TIMEOUT_S: inside a readiness loop, fail loudly (with the log tail)
# when NAME's process group has exited or TIMEOUT_S seconds have passed since START (date +%s).
fail_if_down() {
  local name=$1 logfile=$2 start=$3 timeout=$4
  if ! alive "$name"; then
    log "$name exited before it became ready; last lines of $logfile:"
    tail -n 60 "$logfile" >&2 || true
    die "$name did not come up"
  fi
  if (( $(date +%s) - start >= timeout )); then
    log "$name not ready after ${timeout} s; last lines of $logfile:"
    tail -n 60 "$logfile" >&2 || true
    die "$name did not come up within ${timeout} s"
  fi
}

# wait_http NAME URL TIMEOUT_S LOGFILE: poll URL until it answers 2xx; fail loudly (with the log
# tail) when the server dies or the deadline passes.
wait_http() {
  local name=$1 url=$2 timeout=$3 logfile=$4 start
  start=$(date +%s)
  while :; do
    if curl -sf -o /dev/null --max-time 5 "$url"; then
      log "$name ready after $(( $(date +%s) - start )) s ($url)"
      return 0
    fi
    fail_if_down "$name" "$logfile" "$start" "$timeout"
    sleep 1
  done
}

# stop_all: stop every server that has a pgid file in $RUN_DIR (the EXIT trap calls this).
stop_all() {
  local f
  for f in "$RUN_DIR"/*.pgid; do
    [ -e "$f" ] || continue
    stop_server "$(basename "$f" .pgid)"
  done
  rm -f "$RUN_DIR"/*.env
}
