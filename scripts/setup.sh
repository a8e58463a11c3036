#!/usr/bin/env bash
# Installs the Debian 12 packages invsys needs (only those missing), then
# configures (once) and builds build/ (Release) incrementally.
#
#   scripts/setup.sh            install + build
#   scripts/setup.sh --no-build install only
#
# Environment: INVSYS_JOBS (parallel build jobs, default: number of cores).
# Runs as root, or as a user with sudo for the install step.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=1
case "${1:-}" in
    --no-build) build=0 ;;
    "") ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument '$1'" >&2; exit 2 ;;
esac

packages=(
    g++ cmake make pkg-config
    libfcgi-dev nginx
    libsoci-dev libsqlite3-dev libpq-dev rapidjson-dev libssl-dev
    libboost-dev libboost-filesystem-dev
    catch2 python3 curl sqlite3 wrk
    docker-compose libfcgi-bin
    docker.io debootstrap dpkg-dev
    postgresql postgresql-contrib
    clang-14 libclang-rt-14-dev clang-format
    chromium python3-jsonschema iptables
)

missing=()
installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)"
for package in "${packages[@]}"; do
    grep -qx "$package installed" <<<"$installed" || missing+=("$package")
done

if [[ ${#missing[@]} -gt 0 ]]; then
    echo "setup.sh: installing ${missing[*]}" >&2
    sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null || {
            echo "setup.sh: missing packages (${missing[*]}) and no sudo: run as root" >&2
            exit 1
        }
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The FastCGI socket's group: nginx's workers run with it when nginx is
# started as root (scripts/render-nginx-conf.sh), and invsys-fcgi's peer
# check allows it.
if [[ "$(id -u)" == 0 ]] && ! getent group invsys >/dev/null; then
    echo "setup.sh: creating the system group invsys" >&2
    groupadd --system invsys
fi

[[ $build == 1 ]] || exit 0

jobs="${INVSYS_JOBS:-$(nproc)}"
if [[ ! -f build/CMakeCache.txt ]]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build -j"$jobs"
# nginx's static files (admin UI, Swagger UI) into build/web/.
bash scripts/web-build.sh build/web
