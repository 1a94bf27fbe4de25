#!/usr/bin/env bash
# Browser assets vendored from npm (never a CDN): copied from tools/node_modules/ into
# public/vendor/, which cargo-leptos copies into the site. Used by scripts/install-deps.sh and
# by deploy/Dockerfile, so the image serves what the development site serves (the map's
# Leaflet and the API docs' Swagger UI). public/vendor/ is not committed.
#   scripts/vendor-assets.sh [ROOT]   (ROOT: the checkout, default the current directory)
set -euo pipefail
root="${1:-.}"

vendor() {
  local from=$root/tools/node_modules/$1 to=$root/public/vendor/$2
  shift 2
  mkdir -p "$to"
  for file in "$@"; do
    mkdir -p "$(dirname "$to/$file")"
    if [ ! -f "$to/$file" ] || [ "$from/$file" -nt "$to/$file" ]; then
      cp "$from/$file" "$to/$file"
    fi
  done
}

vendor swagger-ui-dist swagger-ui swagger-ui.css swagger-ui-bundle.js
# Leaflet for the maps (the home and /mapa; loaded by app/src/ui/map.rs).
vendor leaflet/dist leaflet leaflet.js leaflet.css images/layers.png images/layers-2x.png \
  images/marker-icon.png images/marker-icon-2x.png images/marker-shadow.png
