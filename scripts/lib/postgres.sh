# shellcheck shell=bash
# A throwaway PostgreSQL server for the production Keycloak smoke of scripts/integration.sh.
# Sourced after common.sh. Inputs: CACHE, RUN_DIR.
# Outputs: PG_HOME, PG_PORT, PG_DB, PG_USER, PG_PASSWORD, PG_JDBC_URL, PG_LOG; the server is recorded
# as "postgres" (see start_bg).
#
# Binaries: io.zonky.test.postgres:embedded-postgres-binaries-linux-<arch> from Maven Central (through
# mvn, like Keycloak: the jar stays in ~/.m2), a .txz of a relocatable PostgreSQL build with its own
# libraries, unpacked into $CACHE/postgresql-<version>-<arch>/. It has postgres, initdb and pg_ctl but
# no psql: roles are made and the data is read in single-user mode (postgres --single) while no server
# runs on the data directory. A PostgreSQL already installed on the machine is not used, so every
# machine runs the same version.
#
# PostgreSQL refuses to run as root: as root, initdb and postgres run as the user nobody (setpriv, or
# runuser), on a data directory under a fresh mktemp -d that nobody owns; when nobody cannot reach
# the cached binaries (e.g. a checkout under a 0700 home directory) they are copied there too. The
# directory is removed by pg_cleanup (the EXIT trap) and, after a run killed hard, by the next run.
# Not root: everything runs as the current user.

PG_VERSION=17.12.0   # the Maven version; PostgreSQL 17.12 (Keycloak 26 supports 13 to 17 or 18)
PG_READY_TIMEOUT=${PG_READY_TIMEOUT:-60}
PG_DB=keycloak
PG_USER=keycloak

pg_arch() {
  case $(uname -m) in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64) echo arm64v8 ;;
    *) die "postgres: no embedded-postgres-binaries for $(uname -m)" ;;
  esac
}

# pg_install: $CACHE/postgresql-$PG_VERSION-<arch> with bin/postgres of that version.
pg_install() {
  local arch artifact dir
  arch=$(pg_arch)
  artifact="embedded-postgres-binaries-linux-$arch"
  dir="$CACHE/postgresql-$PG_VERSION-$arch"
  PG_HOME=$dir
  if [ -f "$dir/.complete" ]; then
    log "postgres $PG_VERSION: cached in $dir"
    return 0
  fi
  log "postgres $PG_VERSION: mvn dependency:get io.zonky.test.postgres:$artifact:$PG_VERSION"
  mvn -q -B dependency:get -Dartifact="io.zonky.test.postgres:$artifact:$PG_VERSION" -Dtransitive=false >&2 \
    || die "postgres: mvn could not fetch io.zonky.test.postgres:$artifact:$PG_VERSION"
  local jar="${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}/io/zonky/test/postgres/$artifact/$PG_VERSION/$artifact-$PG_VERSION.jar"
  [ -f "$jar" ] || die "postgres: jar not found at $jar"
  local tmp="$CACHE/unpack-postgresql-$PG_VERSION-$arch"
  rm -rf "$tmp" "$dir"
  mkdir -p "$tmp"
  # The jar holds one postgres-linux-*.txz; python's zipfile/tarfile/lzma need no xz binary.
  python3 - "$jar" "$tmp" <<'PY' || { rm -rf "$tmp"; die "postgres: cannot unpack $jar"; }
import io, sys, tarfile, zipfile
jar, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(jar) as z:
    names = [n for n in z.namelist() if n.endswith(".txz")]
    if len(names) != 1:
        sys.exit("expected one .txz in %s, found %s" % (jar, names))
    data = z.read(names[0])
with tarfile.open(fileobj=io.BytesIO(data), mode="r:xz") as t:
    if hasattr(tarfile, "data_filter"):
        t.extractall(dest, filter="data")
    else:
        t.extractall(dest)
PY
  local want="${PG_VERSION%.*}"   # 17.12.0 -> 17.12
  local got
  got=$("$tmp/bin/postgres" --version 2>&1) || { rm -rf "$tmp"; die "postgres: $tmp/bin/postgres does not run: $got"; }
  case $got in
    *" $want") ;;
    *) rm -rf "$tmp"; die "postgres: expected version $want, the binary says: $got" ;;
  esac
  mv "$tmp" "$dir"
  touch "$dir/.complete"
  log "postgres $PG_VERSION: unpacked into $dir ($got)"
}

# pg_as_init: PG_AS, the command prefix that runs PostgreSQL's programs with a clean environment,
# as the user nobody when we are root.
pg_as_init() {
  local envp=(env -i PATH=/usr/bin:/bin LC_ALL=C TZ=UTC)
  if [ "$(id -u)" != 0 ]; then
    PG_AS=("${envp[@]}" HOME="${HOME:-/tmp}")
    return 0
  fi
  local uid gid
  uid=$(id -u nobody 2>/dev/null) || die "postgres: running as root and there is no user nobody to run PostgreSQL as"
  gid=$(id -g nobody)
  if command -v setpriv >/dev/null 2>&1; then
    PG_AS=(setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "${envp[@]}")
  elif command -v runuser >/dev/null 2>&1; then
    PG_AS=(runuser -u nobody -- "${envp[@]}")
  else
    die "postgres: running as root needs setpriv or runuser to drop to the user nobody"
  fi
}

pg_as() { "${PG_AS[@]}" "$@"; }

# pg_start: initdb into a fresh directory, make role and database $PG_USER/$PG_DB with a random
# password (scram-sha-256 over TCP, as on RDS), start the server on 127.0.0.1:<free port> only (no
# Unix socket) with connection logging, wait until it accepts connections.
pg_start() {
  pg_as_init
  PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/smartauth-pg.XXXXXX")
  echo "$PG_TMP" >"$RUN_DIR/postgres.tmpdir"
  if [ "$(id -u)" = 0 ]; then chown "$(id -u nobody):$(id -g nobody)" "$PG_TMP"; fi
  PG_BIN="$PG_HOME/bin"
  if ! pg_as "$PG_BIN/postgres" --version >/dev/null 2>&1; then
    log "postgres: the user nobody cannot run $PG_BIN/postgres (directory permissions); using a copy in $PG_TMP"
    cp -a "$PG_HOME" "$PG_TMP/pg"
    chmod -R a+rX "$PG_TMP/pg"
    PG_BIN="$PG_TMP/pg/bin"
    pg_as "$PG_BIN/postgres" --version >/dev/null || die "postgres: the user nobody cannot run $PG_BIN/postgres either"
  fi
  PG_DATA="$PG_TMP/data"
  PG_LOG="$RUN_DIR/postgres.log"
  PG_PASSWORD=$(random_secret 24)
  local t0
  t0=$(date +%s)
  pg_as "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --no-locale --no-sync \
    --auth-local=trust --auth-host=scram-sha-256 >"$RUN_DIR/postgres-initdb.log" 2>&1 \
    || { tail -n 30 "$RUN_DIR/postgres-initdb.log" >&2; die "postgres: initdb failed"; }
  # Single-user mode: one statement a line, no server running yet.
  printf "CREATE ROLE %s LOGIN PASSWORD '%s';\nCREATE DATABASE %s OWNER %s;\n" "$PG_USER" "$PG_PASSWORD" "$PG_DB" "$PG_USER" \
    | pg_as "$PG_BIN/postgres" --single -D "$PG_DATA" postgres >"$RUN_DIR/postgres-setup.log" 2>&1 \
    || { tail -n 30 "$RUN_DIR/postgres-setup.log" >&2; die "postgres: creating role and database failed"; }
  if grep -q 'ERROR:' "$RUN_DIR/postgres-setup.log"; then
    grep 'ERROR:' "$RUN_DIR/postgres-setup.log" >&2
    die "postgres: creating role and database failed"
  fi
  PG_PORT=$(free_port)
  # shellcheck disable=SC2034 # read by keycloak-prod.sh
  PG_JDBC_URL="jdbc:postgresql://127.0.0.1:$PG_PORT/$PG_DB"
  log "postgres: initdb and setup in $(( $(date +%s) - t0 )) s; starting on 127.0.0.1:$PG_PORT (data $PG_DATA)"
  # stop_server checks that the group is ours by this string in the postmaster's arguments.
  echo "$PG_DATA" >"$RUN_DIR/postgres.marker"
  start_bg postgres "$PG_LOG" "${PG_AS[@]}" "$PG_BIN/postgres" -D "$PG_DATA" -p "$PG_PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories= \
    -c log_connections=on -c fsync=off -c synchronous_commit=off -c full_page_writes=off
  local start
  start=$(date +%s)
  while ! grep -q 'database system is ready to accept connections' "$PG_LOG" 2>/dev/null; do
    fail_if_down postgres "$PG_LOG" "$start" "$PG_READY_TIMEOUT"
    sleep 0.2
  done
  log "postgres ready after $(( $(date +%s) - start )) s: $("$PG_BIN/postgres" --version)"
  assert_loopback_only postgres
}

# pg_stop: fast shutdown (SIGINT to the postmaster: sessions are ended, the data is checkpointed);
# the EXIT trap's stop_all is the fallback. The signal goes to the process group: with the runuser
# fallback the group's leader is runuser, which forks, and postgres is its child.
pg_stop() {
  local pgid
  pgid=$(cat "$RUN_DIR/postgres.pgid" 2>/dev/null) || return 0
  [ "$pgid" != "$(own_pgid)" ] || die "postgres: process group $pgid is this script's own"
  kill -INT -- "-$pgid" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do
    alive postgres || break
    sleep 0.2
  done
  if alive postgres; then
    log "postgres did not stop on SIGINT within 20 s (tries $i)"
    stop_server postgres
  else
    rm -f "$RUN_DIR/postgres.pid" "$RUN_DIR/postgres.pgid" "$RUN_DIR/postgres.marker"
    log "postgres stopped"
  fi
}

# pg_single_query DB SQL: one query in single-user mode (server stopped); prints the backend's
# output, e.g. ` 1: name = "smart"` a row and column.
pg_single_query() {
  local db=$1 sql=$2
  alive postgres && die "postgres: pg_single_query needs the server stopped"
  printf '%s\n' "$sql" | pg_as "$PG_BIN/postgres" --single -D "$PG_DATA" "$db" 2>&1
}

# pg_cleanup: remove the data directory of this run, or of a run killed hard (its path is in
# $RUN_DIR/postgres.tmpdir); only a directory named smartauth-pg.* is touched.
pg_cleanup() {
  local d
  d=$(cat "$RUN_DIR/postgres.tmpdir" 2>/dev/null) || return 0
  case $(basename "$d") in
    smartauth-pg.??????) rm -rf "$d" ;;
  esac
  rm -f "$RUN_DIR/postgres.tmpdir"
}
