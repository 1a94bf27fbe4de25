#!/usr/bin/env bash
# The browser's share of a release build, brotli quality 11 (what Caddy serves): the main
# bundle every page waits for, and for each lazy page (app::ui::lazy_pages!) the main bundle
# plus the chunks that page fetches (its split module and the shared chunks the manifest lists).
# Needs `cargo leptos build --release --split` (scripts/run.sh does it) and Node.js.
#   scripts/wasm-size.sh [site/pkg dir]     (default: target/site/pkg)
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=${1:-target/site/pkg}
node - "$PKG" <<'JS'
const fs = require('fs'), path = require('path'), zlib = require('zlib');
const pkg = process.argv[2];
const files = fs.readdirSync(pkg);
const br = (f) => zlib.brotliCompressSync(fs.readFileSync(path.join(pkg, f)),
  { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const main = files.find((f) => /^gad(\.[A-Za-z0-9_-]{22})?\.wasm$/.test(f));
const glue = files.find((f) => /^gad(\.[A-Za-z0-9_-]{22})?\.js$/.test(f));
if (!main) { console.error(`no gad.wasm in ${pkg}: build first`); process.exit(1); }
const mainBr = br(main);
console.log(`main bundle ${main}: ${fs.statSync(path.join(pkg, main)).size} B raw, ${mainBr} B brotli`);
if (glue) console.log(`JS glue ${glue}: ${br(glue)} B brotli`);
const manifestFile = files.find((f) => /^__wasm_split_manifest(\.[A-Za-z0-9_-]{22})?\.json$/.test(f));
if (!manifestFile) { console.log('no split manifest: built without --split'); process.exit(0); }
const manifest = JSON.parse(fs.readFileSync(path.join(pkg, manifestFile), 'utf8'));
const rows = Object.entries(manifest).map(([name, chunks]) => {
  const extra = chunks.reduce((sum, c) => sum + br(`${c}.wasm`), 0);
  return [name.replace(/^__|_\d+$/g, ''), extra, mainBr + extra];
}).sort((a, b) => b[2] - a[2]);
console.log('lazy page                      | its chunks (brotli) | with the main bundle');
for (const [name, extra, total] of rows) console.log(`${name.padEnd(30)} | ${String(extra).padStart(19)} | ${total}`);
JS
