#!/usr/bin/env bash
# Renders nginx/invsys.conf.template into a private nginx prefix.
#
#   scripts/render-nginx-conf.sh --prefix DIR --listen 127.0.0.1:8080 \
#       --upstream unix:/abs/invsys.sock|127.0.0.1:9000 [--upstream ...] \
#       [--keepalive N] [--nginx-workers N] [--read-timeout 60s] \
#       [--server-include FILE ...] [--socket-group NAME] \
#       [--server-name NAME ...] [--rate-limit 200r/s] [--rate-burst 400] \
#       [--conn-limit 256] [--web-root DIR]
#
#   scripts/render-nginx-conf.sh --prefix DIR --listen 0.0.0.0:8080 \
#       --resolve invsys:9000 [--resolver 127.0.0.11] [--resolver-valid 5s] \
#       [--nginx-workers N] [--read-timeout 60s]
#
# Writes DIR/nginx.conf and creates DIR/logs and DIR/tmp. Then run nginx in
# the foreground with:  nginx -p DIR -c DIR/nginx.conf
#
# --upstream: a fixed upstream block (names resolved once, at start-up) with
# idle keep-alive connections. --resolve HOST:PORT instead (containers):
# HOST is looked up while serving through --resolver (default 127.0.0.11,
# Docker's embedded DNS), answers kept --resolver-valid long, requests
# spread over every address it has; no keep-alive (--keepalive is unused).
#
# --keepalive N (default 16): idle FastCGI connections each nginx worker
# keeps to the pool. Size it to the pool's threads (workers x threads,
# which scripts/run.sh and bench/run.sh pass): one nginx worker may carry
# all the load, and every request beyond its cache opens and closes a
# connection (connect, accept, epoll registration, close on both sides).
# An idle connection holds no invsys thread (one epoll set per worker), only
# a descriptor. 16 = the shipped config on 2 cores (2 workers x 8 threads).
#
# --server-include FILE (repeatable) includes FILE inside the server block,
# e.g. the benchmark's constant-body location.
#
# --server-name NAME (repeatable; default localhost and 127.0.0.1): the Host
# names served; any other Host is answered 421 (DNS rebinding). Containers
# add the name clients use. --rate-limit (requests per second per API key,
# nginx's Nr/s or Nr/m) with --rate-burst (requests beyond the rate taken at
# once) and --conn-limit (open connections per client address): over
# either, 429 with Retry-After. The defaults serve one client's 64
# concurrent requests (API.md) with room to spare.
#
# --web-root DIR (default: build/web of this repository, which
# scripts/web-build.sh fills): the static files nginx serves outside /api/
# (the admin UI at /, Swagger UI at /docs/).
#
# Run as root, the conf gets `user nobody GROUP;` (--socket-group, default
# invsys, which must exist: scripts/setup.sh creates it): the nginx workers
# then run as nobody with that group, so the FastCGI unix socket must have
# it (invsys-fcgi: socket_group = invsys, which its peer check then allows)
# and every directory above it must be world-traversable. DIR is made 0755.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
template="$here/../nginx/invsys.conf.template"

usage() {
    sed -n '2,51p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
    echo "render-nginx-conf.sh: $*" >&2
    exit 2
}

prefix=""
listen=""
upstreams=()
keepalive=16
nginx_workers=2
read_timeout=60s
resolve=""
resolver=127.0.0.11
resolver_valid=5s
server_includes=()
socket_group=invsys
server_names=()
rate_limit=200r/s
rate_burst=400
conn_limit=256
web_root="$here/../build/web"

while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix) [[ $# -ge 2 ]] || die "--prefix needs a value"; prefix="$2"; shift 2 ;;
        --listen) [[ $# -ge 2 ]] || die "--listen needs a value"; listen="$2"; shift 2 ;;
        --upstream) [[ $# -ge 2 ]] || die "--upstream needs a value"; upstreams+=("$2"); shift 2 ;;
        --keepalive) [[ $# -ge 2 ]] || die "--keepalive needs a value"; keepalive="$2"; shift 2 ;;
        --nginx-workers) [[ $# -ge 2 ]] || die "--nginx-workers needs a value"; nginx_workers="$2"; shift 2 ;;
        --read-timeout) [[ $# -ge 2 ]] || die "--read-timeout needs a value"; read_timeout="$2"; shift 2 ;;
        --resolve) [[ $# -ge 2 ]] || die "--resolve needs a value"; resolve="$2"; shift 2 ;;
        --resolver) [[ $# -ge 2 ]] || die "--resolver needs a value"; resolver="$2"; shift 2 ;;
        --resolver-valid) [[ $# -ge 2 ]] || die "--resolver-valid needs a value"; resolver_valid="$2"; shift 2 ;;
        --server-include) [[ $# -ge 2 ]] || die "--server-include needs a value"; server_includes+=("$2"); shift 2 ;;
        --socket-group) [[ $# -ge 2 ]] || die "--socket-group needs a value"; socket_group="$2"; shift 2 ;;
        --server-name) [[ $# -ge 2 ]] || die "--server-name needs a value"; server_names+=("$2"); shift 2 ;;
        --rate-limit) [[ $# -ge 2 ]] || die "--rate-limit needs a value"; rate_limit="$2"; shift 2 ;;
        --rate-burst) [[ $# -ge 2 ]] || die "--rate-burst needs a value"; rate_burst="$2"; shift 2 ;;
        --conn-limit) [[ $# -ge 2 ]] || die "--conn-limit needs a value"; conn_limit="$2"; shift 2 ;;
        --web-root) [[ $# -ge 2 ]] || die "--web-root needs a value"; web_root="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

[[ -n "$prefix" ]] || die "--prefix is required"
[[ -n "$listen" ]] || die "--listen is required"
if [[ -n "$resolve" ]]; then
    [[ ${#upstreams[@]} -eq 0 ]] || die "--upstream and --resolve exclude each other"
    mode=resolve
else
    [[ ${#upstreams[@]} -gt 0 ]] || die "at least one --upstream (or --resolve) is required"
    mode=static
fi
[[ -f "$template" ]] || die "template not found: $template"

# --listen: host:port, the one address nginx listens on.
if [[ "$listen" =~ ^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$ ]]; then
    listen_host="${BASH_REMATCH[1]}"
    listen_port="${BASH_REMATCH[2]}"
    ((listen_port >= 1 && listen_port <= 65535)) || die "--listen port out of range: $listen"
else
    die "--listen must be HOST:PORT (e.g. 127.0.0.1:8080), got '$listen'"
fi
case "$listen_host" in
    127.*|localhost|\[::1\]) ;;
    *) echo "render-nginx-conf.sh: warning: --listen $listen is not a loopback address" >&2 ;;
esac

[[ "$keepalive" =~ ^[1-9][0-9]*$ ]] || die "--keepalive must be a positive integer"
[[ "$nginx_workers" =~ ^([1-9][0-9]*|auto)$ ]] || die "--nginx-workers must be a positive integer or auto"
[[ "$read_timeout" =~ ^[1-9][0-9]*(ms|s|m|h)?$ ]] || die "--read-timeout must be an nginx time such as 60s"
[[ "$resolver_valid" =~ ^[1-9][0-9]*(s|m|h)?$ ]] || die "--resolver-valid must be an nginx time such as 5s"
[[ "$resolver" =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3}|\[[0-9a-fA-F:]+\])(:[0-9]{1,5})?$ ]] ||
    die "--resolver must be an IP address with an optional :port, got '$resolver'"
if [[ $mode == resolve ]]; then
    [[ "$resolve" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:([0-9]{1,5})$ ]] ||
        die "--resolve must be HOST:PORT (e.g. invsys:9000), got '$resolve'"
fi

[[ "$rate_limit" =~ ^[1-9][0-9]*r/[sm]$ ]] || die "--rate-limit must be like 200r/s or 600r/m, got '$rate_limit'"
[[ "$rate_burst" =~ ^[0-9]+$ ]] || die "--rate-burst must be a whole number"
[[ "$conn_limit" =~ ^[1-9][0-9]*$ ]] || die "--conn-limit must be a positive integer"
[[ ${#server_names[@]} -gt 0 ]] || server_names=(localhost 127.0.0.1)
host_map=""
for name in "${server_names[@]}"; do
    [[ "$name" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] ||
        die "--server-name must be a host name or IPv4 address, got '$name'"
    host_map+="        $name 1;"$'\n'
done
host_map="${host_map%$'\n'}"

# --upstream: unix:PATH (made absolute) or HOST:PORT.
servers=""
for upstream in ${upstreams[@]+"${upstreams[@]}"}; do
    if [[ "$upstream" == unix:* ]]; then
        path="${upstream#unix:}"
        [[ -n "$path" ]] || die "--upstream unix: needs a path"
        [[ "$path" == /* ]] || path="$PWD/$path"
        [[ "$path" != *[[:space:]\;\{\}\'\"]* ]] || die "--upstream path has characters nginx cannot take: $path"
        servers+="        server unix:$path;"$'\n'
    elif [[ "$upstream" =~ ^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$ ]]; then
        servers+="        server $upstream;"$'\n'
    else
        die "--upstream must be unix:/path or HOST:PORT, got '$upstream'"
    fi
done
servers="${servers%$'\n'}"

includes=""
for file in ${server_includes[@]+"${server_includes[@]}"}; do
    [[ -f "$file" ]] || die "--server-include: no such file: $file"
    file="$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"
    [[ "$file" != *[[:space:]\;\{\}\'\"]* ]] || die "--server-include path has characters nginx cannot take: $file"
    includes+="        include $file;"$'\n'
done
includes="${includes%$'\n'}"

web_root="$(realpath -m "$web_root")"
[[ "$web_root" != *[[:space:]\;\{\}\'\"]* ]] || die "--web-root has characters nginx cannot take: $web_root"

mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
[[ "$prefix" != *[[:space:]\;\{\}\'\"]* ]] || die "--prefix has characters nginx cannot take: $prefix"
mkdir -p "$prefix/logs" "$prefix/tmp"

user_directive="# Not started as root: the workers run as the invoking user."
if [[ "$(id -u)" == 0 ]]; then
    [[ "$socket_group" =~ ^[A-Za-z_][A-Za-z0-9_.-]*$ ]] || die "--socket-group must be a group name, got '$socket_group'"
    getent group "$socket_group" >/dev/null ||
        die "group '$socket_group' does not exist (create it: groupadd --system $socket_group; scripts/setup.sh does)"
    user_directive="user nobody $socket_group;"
    chmod 0755 "$prefix" "$prefix/logs" "$prefix/tmp"
fi

conf="$(<"$template")"

# Keep the template's sections for this mode (see its header), drop the other's.
kept=""
section=""
while IFS= read -r line; do
    case "$line" in
        @@IF_STATIC@@|@@IF_RESOLVE@@)
            [[ -z "$section" ]] || die "template: $line inside another section"
            section="$line"
            continue ;;
        @@ENDIF@@)
            [[ -n "$section" ]] || die "template: @@ENDIF@@ without a section"
            section=""
            continue ;;
    esac
    case "$section" in
        "") ;;
        @@IF_STATIC@@) [[ $mode == static ]] || continue ;;
        @@IF_RESOLVE@@) [[ $mode == resolve ]] || continue ;;
    esac
    kept+="$line"$'\n'
done <<<"$conf"
[[ -z "$section" ]] || die "template: $section is never closed"
conf="${kept%$'\n'}"

conf="${conf//@@USER_DIRECTIVE@@/$user_directive}"
conf="${conf//@@NGINX_WORKERS@@/$nginx_workers}"
conf="${conf//@@PREFIX@@/$prefix}"
conf="${conf//@@LISTEN@@/$listen}"
conf="${conf//@@UPSTREAM_SERVERS@@/$servers}"
conf="${conf//@@KEEPALIVE@@/$keepalive}"
conf="${conf//@@READ_TIMEOUT@@/$read_timeout}"
conf="${conf//@@RESOLVE_UPSTREAM@@/$resolve}"
conf="${conf//@@RESOLVER@@/$resolver}"
conf="${conf//@@RESOLVER_VALID@@/$resolver_valid}"
conf="${conf//@@SERVER_INCLUDES@@/$includes}"
conf="${conf//@@SERVER_NAMES@@/${server_names[*]}}"
conf="${conf//@@HOST_MAP@@/$host_map}"
conf="${conf//@@RATE_LIMIT@@/$rate_limit}"
conf="${conf//@@RATE_BURST@@/$rate_burst}"
conf="${conf//@@CONN_LIMIT@@/$conn_limit}"
conf="${conf//@@WEB_ROOT@@/$web_root}"
if [[ "$conf" == *@@*@@* ]]; then
    die "template has a placeholder this script does not know: $(grep -o '@@[A-Z_]*@@' <<<"$conf" | head -1)"
fi

tmp="$prefix/nginx.conf.tmp.$$"
printf '%s\n' "$conf" >"$tmp"
mv -f "$tmp" "$prefix/nginx.conf"
echo "$prefix/nginx.conf"
