#!/usr/bin/env bash
# Builds every example Lambda as a reproducible `bootstrap` zip for the provided.al2023 runtime:
#   dist/<example>-<arch>.zip   <example> in healthlake-lambda, cognito-pretoken, custom-lambda
#                               <arch> in arm64, x86_64 (the Lambda Architectures names)
#   dist/SHA256SUMS             sha256sum format, one line per zip (these zips only)
# The binaries are static (CGO_ENABLED=0), built with -tags lambda.norpc, -trimpath and stripped
# (-ldflags='-s -w -buildid='); each zip (tools/lambdazip: Go's archive/zip and compress/flate, so the
# bytes depend only on the Go toolchain) holds one entry, `bootstrap`, mode 0755, timestamp
# 1980-01-01 00:00:00, deflate level 9, so a second build gives the same bytes.
#
# Usage: scripts/build-lambdas.sh [--check] [--out DIR]
#   --check   build twice (the second time into a temporary directory with a cold build cache)
#             and fail unless every zip is byte-identical; the first build is kept in DIR
#   --out DIR output directory (default: dist/ at the repository root)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXAMPLES=(healthlake-lambda cognito-pretoken custom-lambda)
# Lambda architecture name -> GOARCH
ARCHES=(arm64 x86_64)

usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

log() { printf '[build-lambdas] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

goarch() {
  case $1 in
    arm64) echo arm64 ;;
    x86_64) echo amd64 ;;
    *) die "unknown architecture $1" ;;
  esac
}

# zips: the zip names this script writes, one per example and architecture.
zips() {
  local ex arch
  for ex in "${EXAMPLES[@]}"; do
    for arch in "${ARCHES[@]}"; do
      echo "$ex-$arch.zip"
    done
  done
}

# build_all OUT: every example for every architecture into OUT, plus OUT/SHA256SUMS of exactly
# those zips (other files in OUT, such as stale zips of a removed example, are not listed).
build_all() {
  local out=$1 tmp ex arch
  local -a names
  mapfile -t names < <(zips)
  mkdir -p "$out"
  (cd "$out" && rm -f -- SHA256SUMS "${names[@]}")
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the trap removes this call's directory, then itself
  trap "rm -rf '$tmp'; trap - RETURN" RETURN
  # the zip writer, built for the host
  (cd "$ROOT" && GOFLAGS=-mod=readonly go build -trimpath -o "$tmp/lambdazip" ./tools/lambdazip) ||
    die "go build tools/lambdazip"
  for ex in "${EXAMPLES[@]}"; do
    [ -d "$ROOT/examples/$ex" ] || die "missing examples/$ex"
    for arch in "${ARCHES[@]}"; do
      log "examples/$ex linux/$arch"
      (cd "$ROOT" && CGO_ENABLED=0 GOOS=linux GOARCH=$(goarch "$arch") GOFLAGS=-mod=readonly \
        go build -tags lambda.norpc -trimpath -ldflags='-s -w -buildid=' \
        -o "$tmp/$ex-$arch/bootstrap" "./examples/$ex") || die "go build examples/$ex ($arch)"
      "$tmp/lambdazip" -o "$out/$ex-$arch.zip" "$tmp/$ex-$arch/bootstrap" || die "zip examples/$ex ($arch)"
    done
  done
  (cd "$out" && sha256sum -- "${names[@]}" >SHA256SUMS)
}

main() {
  local check=0 out="$ROOT/dist"
  while [ $# -gt 0 ]; do
    case $1 in
      --check) check=1 ;;
      --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
  done
  command -v go >/dev/null || die "go not found"
  command -v sha256sum >/dev/null || die "sha256sum not found"

  build_all "$out"
  local z n=0
  local -a names
  mapfile -t names < <(zips)
  for z in "${names[@]}"; do
    printf '  %-36s %9d bytes\n' "$z" "$(stat -c %s "$out/$z")" >&2
    n=$((n + 1))
  done
  if [ "$check" -eq 1 ]; then
    local second cache
    second=$(mktemp -d)
    cache=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$second' '$cache'" EXIT
    log "--check: second build with an empty GOCACHE into $second"
    GOCACHE=$cache build_all "$second"
    if ! diff -u "$out/SHA256SUMS" "$second/SHA256SUMS" >&2; then
      die "the second build differs: the zips are not reproducible"
    fi
    local f
    for f in "${names[@]}"; do
      cmp -s "$out/$f" "$second/$f" || die "$f differs between builds"
    done
    log "--check: ${#EXAMPLES[@]} examples x ${#ARCHES[@]} architectures byte-identical on a second build"
  fi
  log "wrote $out ($n zips, SHA256SUMS)"
}

main "$@"
