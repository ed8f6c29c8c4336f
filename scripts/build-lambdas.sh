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
# Every flag that changes the bytes is given on the command line (-mod=readonly, -buildvcs=false,
# GOAMD64=v1, GOARM64=v8.0, GOFIPS140=off, ...), and GOFLAGS is set to the same flags: the user's
# GOFLAGS (the environment or `go env -w`) are not used, so neither they nor the checkout (a clone, a
# worktree, untracked files: no VCS stamp) change the zips. GOEXPERIMENT cannot be reset to the
# toolchain's default from the environment (an empty value falls back to the go env file), so a build
# whose effective GOEXPERIMENT is not the default is refused. The Go toolchain itself (GOTOOLCHAIN,
# the installed version) is not pinned: the same bytes need the same toolchain.
#
# Usage: scripts/build-lambdas.sh [--check] [--out DIR]
#   --check   build twice and fail unless every zip is byte-identical; the second build runs from a
#             copy of the tree in a new git repository with another commit and an untracked file,
#             with a cold build cache and a different GOFLAGS in the environment; the first build
#             is kept in DIR
#   --out DIR output directory (default: dist/ at the repository root)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXAMPLES=(healthlake-lambda cognito-pretoken custom-lambda)
# Lambda architecture name -> GOARCH
ARCHES=(arm64 x86_64)

usage() {
  sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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

# GOFLAGS for every go command here: a non-empty GOFLAGS replaces the user's (environment or
# go env file), so -buildvcs=true or -gcflags there cannot leak in.
BUILD_GOFLAGS="-mod=readonly -buildvcs=false -trimpath"

# gobuild ARGS...: go build with the reproducibility flags, in the current directory.
gobuild() {
  GOFLAGS=$BUILD_GOFLAGS GOFIPS140=off go build "$@"
}

# check_goexperiment: the effective GOEXPERIMENT (environment, else the go env file) must be the
# toolchain's default: `go env GOEXPERIMENT` prints only what differs from it.
check_goexperiment() {
  local exp
  exp=$(cd "$ROOT" && go env GOEXPERIMENT) || die "go env GOEXPERIMENT failed"
  [ -z "$exp" ] || die "GOEXPERIMENT=$exp (environment or go env file) changes the binaries: unset it (go env -u GOEXPERIMENT)"
}

# build_all SRC OUT: every example of the tree SRC for every architecture into OUT, plus
# OUT/SHA256SUMS of exactly those zips (other files in OUT, such as stale zips of a removed
# example, are not listed).
# Its scratch directory is under $SCRATCH (removed by main's EXIT trap, also after a failure here or
# in a subshell).
build_all() {
  local src=$1 out=$2 tmp ex arch
  local -a names
  mapfile -t names < <(zips)
  mkdir -p "$out"
  (cd "$out" && rm -f -- SHA256SUMS "${names[@]}")
  tmp=$(mktemp -d "$SCRATCH/build.XXXXXX")
  # the zip writer, built for the host
  (cd "$src" && gobuild -o "$tmp/lambdazip" ./tools/lambdazip) || die "go build tools/lambdazip"
  for ex in "${EXAMPLES[@]}"; do
    [ -d "$src/examples/$ex" ] || die "missing examples/$ex"
    for arch in "${ARCHES[@]}"; do
      log "examples/$ex linux/$arch"
      # GOAMD64/GOARM64 pinned to the baseline (a go env -w GOAMD64=v3 would change the code)
      (cd "$src" && CGO_ENABLED=0 GOOS=linux GOARCH=$(goarch "$arch") GOAMD64=v1 GOARM64=v8.0 \
        gobuild -tags lambda.norpc -ldflags='-s -w -buildid=' \
        -o "$tmp/$ex-$arch/bootstrap" "./examples/$ex") || die "go build examples/$ex ($arch)"
      "$tmp/lambdazip" -o "$out/$ex-$arch.zip" "$tmp/$ex-$arch/bootstrap" || die "zip examples/$ex ($arch)"
    done
  done
  (cd "$out" && sha256sum -- "${names[@]}" >SHA256SUMS)
  rm -rf "$tmp"
}

# copy_tree DIR: the tree's files (without .git, .cache and dist) into DIR, committed to a new git
# repository with another author and date, plus an untracked file: a build that stamps VCS
# information (revision, time, modified) gives other bytes there than in the original checkout.
# The user's git templates and hooks do not run (no template directory, hooksPath /dev/null,
# --no-verify), nor does commit signing.
copy_tree() {
  local dir=$1
  tar -C "$ROOT" --exclude=./.git --exclude=./.cache --exclude=./dist -cf - . | tar -C "$dir" -xf -
  if command -v git >/dev/null; then
    (cd "$dir" && git init -q --template= && git -c core.hooksPath=/dev/null add -A &&
      GIT_AUTHOR_DATE='2001-02-03T04:05:06Z' GIT_COMMITTER_DATE='2001-02-03T04:05:06Z' \
        git -c user.name=build-lambdas -c user.email=check@invalid -c commit.gpgsign=false \
        -c core.hooksPath=/dev/null commit --no-verify -q -m 'build-lambdas --check copy') >/dev/null \
      || die "git commit in the copy of the tree"
  fi
  echo 'untracked: a build that stamps vcs.modified differs' >"$dir/build-lambdas-untracked.txt"
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
  check_goexperiment

  SCRATCH=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now
  trap "rm -rf '$SCRATCH'" EXIT
  build_all "$ROOT" "$out"
  local z n=0
  local -a names
  mapfile -t names < <(zips)
  for z in "${names[@]}"; do
    printf '  %-36s %9d bytes\n' "$z" "$(stat -c %s "$out/$z")" >&2
    n=$((n + 1))
  done
  if [ "$check" -eq 1 ]; then
    local second="$SCRATCH/second" cache="$SCRATCH/gocache" copy="$SCRATCH/copy"
    mkdir "$second" "$cache" "$copy"
    copy_tree "$copy"
    log "--check: second build from a copy of the tree ($copy: another git commit, an untracked file), an empty GOCACHE and GOFLAGS=-buildvcs=true in the environment, into $second"
    (cd "$copy" && GOCACHE=$cache GOFLAGS=-buildvcs=true build_all "$copy" "$second")
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
