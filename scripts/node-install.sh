#!/usr/bin/env bash
# Installs web/'s npm packages (the admin UI's build tools, Swagger UI, and
# the tools the tests run) exactly as web/package-lock.json pins them, with
# `npm ci`, when node_modules is missing or older than the lockfile.
#
#   scripts/node-install.sh
#
# Needs Node.js >= 20.19 with npm (the machine's, or NodeSource's on a
# Debian 12 without it: Debian 12's own nodejs is 18, too old for
# @redocly/cli). Install scripts of dependencies are not run (npm's default
# here): none of ours needs one (esbuild's binary comes as a package).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../web"

die() { echo "node-install.sh: $*" >&2; exit 1; }

command -v node >/dev/null && command -v npm >/dev/null ||
    die "node and npm are needed (Node.js >= 20.19); install them, then rerun"
version="$(node -p 'process.versions.node')"
IFS=. read -r major minor _ <<<"$version"
(( major > 20 || (major == 20 && minor >= 19) )) ||
    die "Node.js $version is too old: web/package.json needs >= 20.19"

stamp=node_modules/.package-lock.json
if [[ -f "$stamp" && ! package-lock.json -nt "$stamp" ]]; then
    exit 0
fi
echo "node-install.sh: npm ci in web/ (web/package-lock.json)" >&2
npm ci --no-audit --no-fund --loglevel=error
