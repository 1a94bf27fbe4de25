#!/usr/bin/env bash
# Deploys one image of GAD to the compose stack of this directory (the server's /srv/gad), as
# the delivery pipeline does (.github/workflows/deploy.yml) and an operator can by hand:
#   1. the new images (pulled unless DEPLOY_PULL=never), refused when the server image's digest
#      is not --digest;
#   2. the migration job on the new image: a failure stops here, the running version serves on;
#   3. the gad services recreated on it, waited for until every one is healthy;
#   4. `gad verify` (the new image's) against the deployed site;
#   5. if 3 or 4 failed: the previous image again, waited for and verified.
# The tag that serves is kept in the env file (GAD_IMAGE_TAG) and every attempt is appended to
# deploy-history.log beside it.
#
#   deploy/deploy.sh --tag TAG [--digest sha256:…] --url URL [--internal-url URL]
#
# Exit status: 0 deployed; 1 refused or failed before any service changed (images, digest,
# migration); 2 failed and rolled back (the previous version serves); 3 the rollback failed too.
# Environment: COMPOSE (default `docker compose -f docker-compose.yml -f docker-compose.prod.yml`),
# DOCKER (default docker), DEPLOY_ENV_FILE (default .env), DEPLOY_SERVICES (default: api, bot,
# caddy and, when defined, backup), DEPLOY_WAIT (seconds, default 180), DEPLOY_PULL (never: use
# the images already on this host).
set -euo pipefail

TAG="" DIGEST="" URL="" INTERNAL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) TAG=$2; shift ;;
    --digest) DIGEST=$2; shift ;;
    --url) URL=$2; shift ;;
    --internal-url) INTERNAL=$2; shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 1 ;;
  esac
  shift
done
if [ -z "$TAG" ] || [ -z "$URL" ]; then echo "--tag and --url are required (try --help)" >&2; exit 1; fi
case "$TAG" in *[!A-Za-z0-9._-]*) echo "--tag: letters, digits, '.', '_' and '-' only" >&2; exit 1 ;; esac

read -ra COMPOSE_CMD <<<"${COMPOSE:-docker compose -f docker-compose.yml -f docker-compose.prod.yml}"
DOCKER=${DOCKER:-docker}
ENV_FILE=${DEPLOY_ENV_FILE:-.env}
WAIT=${DEPLOY_WAIT:-180}
HISTORY=$(dirname "$ENV_FILE")/deploy-history.log

log() { printf '[deploy] %s\n' "$*"; }
# compose TAG ARGS...: compose with GAD_IMAGE_TAG=TAG (the environment wins over the env file).
compose() {
  local tag=$1
  shift
  GAD_IMAGE_TAG=$tag "${COMPOSE_CMD[@]}" "$@"
}
record() { printf '%s %s %s %s\n' "$(date -u +%FT%TZ)" "$TAG" "${DIGEST:--}" "$1" >>"$HISTORY"; }

PREVIOUS=$(sed -n 's/^GAD_IMAGE_TAG=//p' "$ENV_FILE" 2>/dev/null | tail -n 1)
[ -n "$PREVIOUS" ] || { echo "no GAD_IMAGE_TAG in $ENV_FILE: the version that serves now is unknown" >&2; exit 1; }
if [ -n "${DEPLOY_SERVICES:-}" ]; then
  read -ra SERVICES <<<"$DEPLOY_SERVICES"
else
  SERVICES=(api bot caddy)
  if grep -qx backup <<<"$(compose "$PREVIOUS" config --services)"; then SERVICES+=(backup); fi
fi
log "deploying $TAG over $PREVIOUS (services: ${SERVICES[*]})"

# 1. The images.
if [ "${DEPLOY_PULL:-always}" != never ]; then
  compose "$TAG" pull --quiet "${SERVICES[@]}" || { record refused-pull; log "pulling $TAG failed"; exit 1; }
fi
# (Each listing is read whole before it is searched: `grep -q` leaving a pipe early would make
# the pipeline fail under pipefail.)
IMAGES=$(compose "$TAG" config --images)
IMAGE=$(grep -v -- '-caddy' <<<"$IMAGES" | grep -m1 ":$TAG\$" || true)
while read -r image; do
  "$DOCKER" image inspect "$image" >/dev/null 2>&1 || { record refused-missing; log "no image $image"; exit 1; }
done < <(grep ":$TAG\$" <<<"$IMAGES")
if [ -n "$DIGEST" ]; then
  [ -n "$IMAGE" ] || { record refused-missing; log "no server image of tag $TAG in the compose files"; exit 1; }
  digests=$("$DOCKER" image inspect --format '{{join .RepoDigests " "}}' "$IMAGE")
  case " $digests " in
    *"@$DIGEST "*) log "digest $DIGEST: ok" ;;
    *) record refused-digest; log "$IMAGE is not $DIGEST (it is: ${digests:-unpublished})"; exit 1 ;;
  esac
fi

# 2. Migrations, before any replica changes (the production overlay's job; without it the
# api applies them when it starts).
if ! grep -qx migrate <<<"$(compose "$TAG" config --services)"; then
  log "no migrate service: the api applies the migrations when it starts"
elif ! compose "$TAG" run --rm --no-deps -T migrate; then
  record failed-migration
  log "the migration failed: nothing was recreated, $PREVIOUS serves on (docker compose logs migrate)"
  exit 1
fi

up_and_verify() { # up_and_verify TAG: recreate, wait until healthy, verify
  local tag=$1
  compose "$tag" up -d --no-deps --wait --wait-timeout "$WAIT" "${SERVICES[@]}" || {
    log "$tag: the services did not become healthy in ${WAIT}s"
    compose "$tag" ps -a >&2 || true
    return 1
  }
  local args=(verify --url "$URL")
  [ -n "$INTERNAL" ] && args+=(--internal-url "$INTERNAL")
  compose "$tag" run --rm --no-deps -T --entrypoint /usr/local/bin/gad api "${args[@]}" || {
    log "$tag: gad verify failed"
    return 1
  }
}

# 3–4. The new version.
if up_and_verify "$TAG"; then
  if grep -q '^GAD_IMAGE_TAG=' "$ENV_FILE"; then
    sed -i "s/^GAD_IMAGE_TAG=.*/GAD_IMAGE_TAG=$TAG/" "$ENV_FILE"
  else
    echo "GAD_IMAGE_TAG=$TAG" >>"$ENV_FILE"
  fi
  record deployed
  log "deployed $TAG"
  exit 0
fi

# 5. Back to the previous version.
log "rolling back to $PREVIOUS"
if up_and_verify "$PREVIOUS"; then
  record rolled-back
  log "rolled back: $PREVIOUS serves. If $TAG migrated the schema, $PREVIOUS refuses it (/ready):"
  log "restore the backup taken before the deploy (docs/OPERATIONS.md, Rollback)"
  exit 2
fi
record rollback-failed
log "the rollback to $PREVIOUS failed too: see docker compose ps and logs"
exit 3
