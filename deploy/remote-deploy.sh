#!/usr/bin/env bash
# The pipeline's side of a deploy (.github/workflows/deploy.yml): copies this commit's compose
# files and deploy/deploy.sh to the server's /srv/gad over SSH and runs the deploy there.
# Environment: TAG, DIGEST, HOST, DEPLOY_USER, URL, INTERNAL_URL (optional), SSH_KEY,
# KNOWN_HOSTS. The deploy's exit status is this script's.
set -euo pipefail
: "${TAG:?}" "${DIGEST:?}" "${HOST:?}" "${DEPLOY_USER:?}" "${URL:?}" "${SSH_KEY:?}" "${KNOWN_HOSTS:?}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
install -m 0600 /dev/null "$dir/key"
printf '%s\n' "$SSH_KEY" >"$dir/key"
printf '%s\n' "$KNOWN_HOSTS" >"$dir/known_hosts"
ssh_opts=(-i "$dir/key" -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes)
scp "${ssh_opts[@]}" -q docker-compose.yml docker-compose.prod.yml Caddyfile deploy/deploy.sh \
  "$DEPLOY_USER@$HOST:/srv/gad/"
args=(--tag "$TAG" --digest "$DIGEST" --url "$URL")
[ -n "${INTERNAL_URL:-}" ] && args+=(--internal-url "$INTERNAL_URL")
# shellcheck disable=SC2029 # the arguments are meant to expand here, quoted for the far side
ssh "${ssh_opts[@]}" "$DEPLOY_USER@$HOST" "cd /srv/gad && ./deploy.sh $(printf '%q ' "${args[@]}")"
