#!/usr/bin/env bash
# Builds the SMART Keycloak image (deploy/keycloak/Dockerfile) and pushes it to Amazon ECR, where App
# Runner can pull it (App Runner accepts only private ECR and public.ecr.aws images). The Keycloak base
# image is mirrored into the same registry first, so the build pulls it from ECR and the build host
# needs quay.io only once (or never, with --base-from-ecr).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: deploy/keycloak/push.sh [options]

Build deploy/keycloak/Dockerfile for linux/amd64 and push it to Amazon ECR.

Options:
  --region REGION        AWS region (default: $AWS_REGION, then the aws CLI's configured region)
  --repository NAME      ECR repository of the image (default: smart-keycloak); created if missing
  --tag TAG              image tag (default: <Keycloak version>-<content hash>, e.g. 26.7.3-0123abcd4567,
                         the hash covering Dockerfile, entrypoint.sh, realm/ and the platform: the
                         repository is IMMUTABLE, so a changed image needs a new tag, and a run with
                         unchanged content finds the tag already pushed and prints its digest)
  --keycloak-version V   Keycloak base version (default: 26.7.3, the version the integration tests run)
  --base-repository NAME ECR repository of the mirrored base image (default: keycloak-base)
  --base-from-ecr        the base image is already mirrored: do not pull it from quay.io
  --public ALIAS         push to ECR Public (public.ecr.aws/ALIAS/...) instead of private ECR;
                         ECR Public's API lives in us-east-1
  --platform P           docker build platform (default: linux/amd64, what App Runner runs)
  --dry-run              print the commands instead of running them
  -h, --help             this text

Needs: aws CLI v2 with credentials for ecr:GetAuthorizationToken, ecr:CreateRepository,
ecr:DescribeRepositories and the push actions (ecr-public:* equivalents for --public), and docker
with buildx, and jq. Prints the pushed image URI (with its digest) on the last line: use it as the
ImageIdentifier of the App Runner service (deploy/cloudformation/keycloak.yaml).
EOF
}

log() { printf '[push] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
region=${AWS_REGION:-}
repository=smart-keycloak
tag=""
kc_version=26.7.3
base_repository=keycloak-base
base_from_ecr=0
public_alias=""
platform=linux/amd64
dry_run=0

while [ $# -gt 0 ]; do
  case $1 in
    --region) region=${2:?--region needs a value}; shift ;;
    --repository) repository=${2:?--repository needs a value}; shift ;;
    --tag) tag=${2:?--tag needs a value}; shift ;;
    --keycloak-version) kc_version=${2:?--keycloak-version needs a value}; shift ;;
    --base-repository) base_repository=${2:?--base-repository needs a value}; shift ;;
    --base-from-ecr) base_from_ecr=1 ;;
    --public) public_alias=${2:?--public needs the registry alias}; shift ;;
    --platform) platform=${2:?--platform needs a value}; shift ;;
    --dry-run) dry_run=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
# content_hash: what the image is built from (not this script or the README), and the platform.
content_hash() {
  {
    printf '%s\n' "$platform"
    (cd "$HERE" && find . -type f ! -name push.sh ! -name README.md -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-12
}
[ -n "$tag" ] || tag="$kc_version-$(content_hash)"
# One platform: App Runner wants an image manifest, not an index of several.
[[ $platform != *,* ]] || die "--platform takes one platform (App Runner runs one image manifest), got $platform"
[[ $kc_version =~ ^26\.[0-9]+\.[0-9]+$ ]] || die "--keycloak-version must be a Keycloak 26 release (26.x.y), got $kc_version"

# run CMD...: run, or print with --dry-run.
run() {
  if [ "$dry_run" -eq 1 ]; then
    printf '+'; printf ' %q' "$@"; printf '\n'
  else
    "$@"
  fi
}

if [ "$dry_run" -eq 0 ]; then
  command -v aws >/dev/null || die "aws CLI not found"
  command -v docker >/dev/null || die "docker not found"
  command -v jq >/dev/null || die "jq not found"
fi

if [ -n "$public_alias" ]; then
  region=us-east-1
  registry=public.ecr.aws
  prefix="$registry/$public_alias"
  # pushed_digest REPO TAG: the digest of an already pushed tag, or nothing.
  pushed_digest() {
    [ "$dry_run" -eq 0 ] || return 0
    aws ecr-public describe-images --region "$region" --repository-name "$1" --image-ids "imageTag=$2" \
      --query 'imageDetails[0].imageDigest' --output text 2>/dev/null || true
  }
  ensure_repo() {
    [ "$dry_run" -eq 0 ] || { run aws ecr-public create-repository --region "$region" --repository-name "$1"; return; }
    aws ecr-public describe-repositories --region "$region" --repository-names "$1" >/dev/null 2>&1 ||
      run aws ecr-public create-repository --region "$region" --repository-name "$1" >/dev/null
  }
  login() {
    if [ "$dry_run" -eq 1 ]; then
      run aws ecr-public get-login-password --region "$region"
    else
      aws ecr-public get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
    fi
  }
else
  [ -n "$region" ] || region=$(aws configure get region || true)
  [ -n "$region" ] || die "no region: pass --region or set AWS_REGION"
  if [ "$dry_run" -eq 1 ]; then
    account=${AWS_ACCOUNT_ID:-123456789012}
  else
    account=$(aws sts get-caller-identity --query Account --output text) || die "aws sts get-caller-identity failed (credentials?)"
  fi
  registry="$account.dkr.ecr.$region.amazonaws.com"
  prefix=$registry
  pushed_digest() {
    [ "$dry_run" -eq 0 ] || return 0
    aws ecr describe-images --region "$region" --repository-name "$1" --image-ids "imageTag=$2" \
      --query 'imageDetails[0].imageDigest' --output text 2>/dev/null || true
  }
  ensure_repo() {
    [ "$dry_run" -eq 0 ] || { run aws ecr create-repository --region "$region" --repository-name "$1"; return; }
    aws ecr describe-repositories --region "$region" --repository-names "$1" >/dev/null 2>&1 ||
      run aws ecr create-repository --region "$region" --repository-name "$1" \
        --image-scanning-configuration scanOnPush=true --image-tag-mutability IMMUTABLE >/dev/null
  }
  login() {
    if [ "$dry_run" -eq 1 ]; then
      run aws ecr get-login-password --region "$region"
    else
      aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
    fi
  }
fi

base_src="quay.io/keycloak/keycloak:$kc_version"
base_dst="$prefix/$base_repository:$kc_version"
image="$prefix/$repository:$tag"

log "registry $registry (region $region)"
login
ensure_repo "$base_repository"
ensure_repo "$repository"

# Same tag, same content: nothing to build (an IMMUTABLE repository refuses a second push).
existing=$(pushed_digest "$repository" "$tag")
if [[ $existing =~ ^sha256:[0-9a-f]{64}$ ]]; then
  log "$image is already pushed ($existing): nothing to do"
  echo "$prefix/$repository@$existing"
  exit 0
fi

# Mirror the base image (App Runner and many build hosts cannot pull from quay.io), once.
if [ "$base_from_ecr" -eq 0 ] && [[ $(pushed_digest "$base_repository" "$kc_version") =~ ^sha256: ]]; then
  log "$base_dst is already mirrored"
  base_from_ecr=1
fi
if [ "$base_from_ecr" -eq 0 ]; then
  log "mirroring $base_src -> $base_dst"
  run docker pull --platform "$platform" "$base_src"
  run docker tag "$base_src" "$base_dst"
  if ! run docker push "$base_dst"; then
    log "push of the base image failed; with an IMMUTABLE repository that already holds $kc_version, use --base-from-ecr"
    exit 1
  fi
fi

log "building $image from $HERE (base $base_dst, $platform)"
# buildx adds provenance (and, when asked, SBOM) attestations by default,
# which turns the push into an OCI image index with an "unknown/unknown"
# entry; App Runner wants a plain image manifest. Without attestations and
# with one platform, the registry receives exactly one Docker image manifest,
# whose digest buildx writes to the metadata file.
meta=$(mktemp)
trap 'rm -f "$meta"' EXIT
run docker buildx build --platform "$platform" --pull \
  --provenance=false --sbom=false \
  --build-arg "KEYCLOAK_IMAGE=$base_dst" \
  --output "type=image,name=$image,push=true,oci-mediatypes=false" \
  --metadata-file "$meta" "$HERE"

if [ "$dry_run" -eq 1 ]; then
  echo "$image"
  exit 0
fi
digest=$(jq -r '."containerimage.digest" // empty' "$meta")
[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]] || die "buildx reported no image digest (metadata: $(cat "$meta"))"
# The digest must name an image manifest, never an index/manifest list.
media=$(docker buildx imagetools inspect --raw "$prefix/$repository@$digest" | jq -r '.mediaType // empty')
case $media in
  application/vnd.docker.distribution.manifest.v2+json | application/vnd.oci.image.manifest.v1+json) ;;
  *) die "$prefix/$repository@$digest is a $media, not a single image manifest (App Runner may reject it)" ;;
esac
log "pushed $image ($digest, $media)"
echo "$prefix/$repository@$digest"
