#!/usr/bin/env bash
# Brings in the images' base, debian:bookworm-slim, once per machine:
#  1. already in the engine: nothing to do;
#  2. `docker pull debian:bookworm-slim` (bounded in time);
#  3. where no registry answers: `debootstrap --variant=minbase bookworm`
#     from the Debian archive, trimmed like the real slim image (no docs,
#     man pages or locales; apt's lists and caches empty; the same apt
#     sources: bookworm, bookworm-updates, bookworm-security), then
#     `docker import` under the same name. About two minutes.
# Every image of ours starts FROM debian:bookworm-slim, so a user elsewhere
# gets the real image and the builds do not change.
#
#   scripts/docker-base.sh
# Environment: INVSYS_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# INVSYS_BASE_IMAGE (default debian:bookworm-slim). Needs a running engine
# (scripts/docker-daemon.sh start) and, for 3., root and debootstrap.
set -euo pipefail

docker=/usr/bin/docker
image="${INVSYS_BASE_IMAGE:-debian:bookworm-slim}"
mirror="${INVSYS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if "$docker" image inspect "$image" >/dev/null 2>&1; then
    exit 0
fi
echo "docker-base.sh: pulling $image" >&2
if timeout 60 "$docker" pull -q "$image" >/dev/null 2>&1; then
    exit 0
fi
echo "docker-base.sh: no registry answered; building $image with debootstrap from $mirror" >&2
command -v debootstrap >/dev/null || { echo "docker-base.sh: debootstrap missing (apt-get install debootstrap)" >&2; exit 1; }
[[ "$(id -u)" == 0 ]] || { echo "docker-base.sh: debootstrap needs root" >&2; exit 1; }

root="$(mktemp -d /var/tmp/invsys-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
    tail -n 20 "$root.log" >&2
    rm -f "$root.log"
    exit 1
}
rm -f "$root.log"

# As the real slim image: dpkg leaves out documentation from now on.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
CFG
# No apt caches in the image layers.
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<CFG
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
CFG
rm -rf "$root"/usr/share/doc/*/changelog* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/log/*.log "$root"/tmp/* "$root"/root/.bash_history
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
: >"$root/etc/hostname"
: >"$root/etc/resolv.conf"

tar --numeric-owner -C "$root" -c . |
    "$docker" import --change 'CMD ["bash"]' --message "debootstrap --variant=minbase bookworm ($mirror)" - "$image" >/dev/null
echo "docker-base.sh: $image built ($("$docker" image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))" >&2
