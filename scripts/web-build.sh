#!/usr/bin/env bash
# Builds what nginx serves from files (the admin UI at /, Swagger UI at
# /docs/) into build/web/ with web/'s `npm run build`, after
# scripts/node-install.sh. nginx's root for them: render-nginx-conf.sh
# --web-root (default: build/web of the repository).
#
#   scripts/web-build.sh [OUT_DIR]      default OUT_DIR: build/web
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="$(realpath -m "${1:-build/web}")"

bash scripts/node-install.sh
mkdir -p "$out"
INVSYS_WEB_OUT="$out" npm --prefix web run --silent --if-present build
