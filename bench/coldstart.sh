#!/usr/bin/env bash
# bench/coldstart.sh: cold start of the example HealthLake Lambda under aws-lambda-rie.
# Builds examples/healthlake-lambda as a deployable bootstrap (static, -tags lambda.norpc,
# -trimpath, -ldflags='-s -w -buildid='), reports its size and zip size (amd64, measured here,
# and arm64), installs the emulator as scripts/lib/rie.sh does (pinned), then runs the
# coldstart driver: JWKS over HTTPS on 127.0.0.1 with a throwaway CA, the Lambda configured as
# a generic OIDC issuer, fresh emulator per run; and x509.SystemCertPool timings.
#
#   bench/coldstart.sh [-runs N] [-pool-runs N]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CACHE="$ROOT/.cache"
OUT="$CACHE/bench/coldstart"
RUN_DIR="$OUT/run"
# shellcheck source=scripts/lib/common.sh
. "$ROOT/scripts/lib/common.sh"
# shellcheck source=scripts/lib/rie.sh
. "$ROOT/scripts/lib/rie.sh"
need_cmd go zip
rm -rf "$OUT" && mkdir -p "$OUT" "$RUN_DIR"

rie_install   # sets RIE_BIN

build() { # build GOARCH OUTPUT
  (cd "$ROOT" && CGO_ENABLED=0 GOOS=linux GOARCH="$1" go build -tags lambda.norpc -trimpath \
    -ldflags='-s -w -buildid=' -o "$2" ./examples/healthlake-lambda) || die "building the bootstrap failed"
}
sizes=()
for arch in amd64 arm64; do
  mkdir -p "$OUT/$arch"
  build "$arch" "$OUT/$arch/bootstrap"
  (cd "$OUT/$arch" && zip -q -9 -X bootstrap.zip bootstrap)
  sizes+=("| $arch | $(stat -c %s "$OUT/$arch/bootstrap") | $(stat -c %s "$OUT/$arch/bootstrap.zip") |")
done

(cd "$BENCH_DIR" && go build -o "$OUT/coldstart" ./coldstart && go build -o "$OUT/certpool" ./certpool) \
  || die "building the cold-start driver failed"

echo "Bootstrap (examples/healthlake-lambda, $(go version | cut -d' ' -f3), static, -tags lambda.norpc, -trimpath, -ldflags='-s -w -buildid='):"
echo
echo "| GOARCH | bootstrap bytes | zip bytes (zip -9) |"
echo "|---|---:|---:|"
printf '%s\n' "${sizes[@]}"
echo
log "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
"$OUT/coldstart" -rie "$RIE_BIN" -bootstrap "$OUT/amd64/bootstrap" -certpool "$OUT/certpool" \
  -workdir "$RUN_DIR" "$@"
