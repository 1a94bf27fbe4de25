#!/usr/bin/env bash
# Builds GAD (release) and starts it with the embedded defaults: SQLite under data/, in-process
# cache, sessions and events, and the Buenos Aires demo data.
#
#   scripts/run.sh                 build if needed, then serve on http://127.0.0.1:3000
#   GAD_SEED_DEMO=false scripts/run.sh   without demo data
#   scripts/run.sh --help          this text (other arguments go to `gad serve`)
#
# The first run on a new machine installs the build tools (cargo-leptos and wasm-bindgen-cli
# from source: tens of minutes); later runs only rebuild what changed. Every setting of
# `gad serve` can be given in the environment (README, "Configuration"): DATABASE_URL,
# REDIS_URL, GAD_LISTEN_ADDR, GAD_ADMIN_EMAIL, GAD_ADMIN_PASSWORD, GAD_DEMO_PASSWORD, …
set -euo pipefail
cd "$(dirname "$0")/.."

# Help before anything is installed or built.
case "${1:-}" in
  -h | --help)
    sed -n '2,/^set -euo pipefail$/p' scripts/run.sh | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
esac

scripts/install-deps.sh

# cargo-leptos finds wasm-bindgen in ~/.cargo/bin and wasm-opt (npm binaryen) in tools/.
export PATH="$PWD/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# --split: the lazy pages become WASM chunks of their own (app::ui::lazy_pages!).
cargo leptos build --release --split

mkdir -p data
export DATABASE_URL="${DATABASE_URL:-sqlite://data/gad.db?mode=rwc}"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export GAD_LISTEN_ADDR="${GAD_LISTEN_ADDR:-127.0.0.1:3000}"
export GAD_SEED_DEMO="${GAD_SEED_DEMO:-true}"

echo "GAD: http://$GAD_LISTEN_ADDR (database: ${DATABASE_URL%%\?*}; demo data: $GAD_SEED_DEMO)"
echo "     without GAD_ADMIN_PASSWORD, the first start prints a generated admin password once."
echo "     admins set up two-step verification (an authenticator app) at their first login (see README)."
exec target/release/gad serve "$@"
