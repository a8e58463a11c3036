#!/usr/bin/env bash
# THE RUN COMMAND: installs what is missing, builds, then serves the invsys
# API on http://127.0.0.1:${INVSYS_PORT:-8080}/api/ and the admin page on
# http://127.0.0.1:${INVSYS_PORT:-8080}/ (build/web, which setup.sh builds)
# until Ctrl-C (or SIGTERM), which stops nginx and invsys-fcgi cleanly.
#
#   scripts/run.sh
#
#   invsys-fcgi  config/invsys.conf: SQLite in data/invsys.db, plugins from
#                build/plugins, FastCGI socket run/invsys.sock
#   nginx        rendered into var/nginx/ (logs in var/nginx/logs/)
#   logs         var/log/invsys-fcgi.log, var/nginx/logs/{error,access}.log,
#                var/log/nginx.log (nginx's start-up messages)
#
# API keys: every route but /api/health needs `Authorization: Bearer <key>`.
#   INVSYS_ADMIN_KEY=<secret>  makes sure an admin key with that secret exists
#                (32-256 characters of A-Z a-z 0-9 - . _ ~ + /): for scripts.
#   otherwise    the first start creates an admin key, prints it once and
#                keeps it in var/admin-key (mode 0600; later starts print the
#                path). More keys: build/admin/invsys-admin keys create …
#
# Environment: INVSYS_PORT (default 8080), INVSYS_SERVER_NAME (an extra Host
# name to serve besides localhost and 127.0.0.1), INVSYS_RATE_LIMIT /
# INVSYS_RATE_BURST / INVSYS_CONN_LIMIT (render-nginx-conf.sh's limits), and
# any INVSYS_<KEY> of config/invsys.conf (e.g. INVSYS_THREADS=16);
# INVSYS_NGINX_KEEPALIVE (nginx's idle connections to the pool per nginx
# worker; default workers x threads).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

bash scripts/setup.sh

port="${INVSYS_PORT:-8080}"
[[ "$port" =~ ^[0-9]+$ ]] || { echo "run.sh: INVSYS_PORT must be a port number" >&2; exit 2; }
url="http://127.0.0.1:$port"
fcgi_bin="$root/build/fcgi/invsys-fcgi"
admin_bin="$root/build/admin/invsys-admin"
admin_key_file="$root/var/admin-key"
nginx_prefix="$root/var/nginx"
fcgi_log="$root/var/log/invsys-fcgi.log"
nginx_log="$root/var/log/nginx.log"  # nginx's own stderr, before its error_log is open
shutdown_timeout="${INVSYS_SHUTDOWN_TIMEOUT_S:-30}"

mkdir -p data run var/log "$nginx_prefix"

# --- The FastCGI socket, where nginx's workers can reach it --------------
socket_dir="$root/run"
if [[ "$(id -u)" == 0 ]]; then
    # nginx started as root runs its workers as nobody:invsys (the group
    # setup.sh creates); they need the socket's group and search permission
    # on every directory above it. invsys-fcgi's peer check allows that group.
    export INVSYS_SOCKET_GROUP=invsys
    chmod 0755 "$socket_dir" "$root/var" "$nginx_prefix"
    traversable=1
    dir="$socket_dir"
    while [[ "$dir" != / ]]; do
        dir="$(dirname "$dir")"
        [[ "$(stat -c %A "$dir")" == ?????????[xt] ]] || { traversable=0; break; }
    done
    if [[ $traversable == 0 ]]; then
        # A private tree (e.g. /root/...): keep the socket in /run instead.
        socket_dir="/run/invsys-$(printf '%s' "$root" | cksum | cut -d' ' -f1)"
        mkdir -p "$socket_dir"
        chmod 0755 "$socket_dir"
    fi
fi
socket="$socket_dir/invsys.sock"
export INVSYS_LISTEN="unix:$socket"

# --- Leftovers of a run that was killed -----------------------------------
if [[ -f "$nginx_prefix/logs/nginx.pid" ]] && kill -0 "$(cat "$nginx_prefix/logs/nginx.pid")" 2>/dev/null; then
    echo "run.sh: an nginx from an earlier run is still running (pid $(cat "$nginx_prefix/logs/nginx.pid")); stop it first" >&2
    exit 1
fi

fcgi_pid=""
nginx_pid=""

alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }

# Sends a signal, waits up to $3 seconds, then SIGKILL.
stop_process() {
    local pid="$1" signal="$2" timeout="$3" waited=0
    alive "$pid" || return 0
    kill -"$signal" "$pid" 2>/dev/null || return 0
    while alive "$pid" && ((waited < timeout * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if alive "$pid"; then
        echo "run.sh: pid $pid did not stop in ${timeout}s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# nginx first (graceful: it finishes its clients' requests and closes its
# upstream connections), then invsys-fcgi (drains what is left).
stop_all() {
    trap - INT TERM HUP
    stop_process "$nginx_pid" QUIT 15
    stop_process "$fcgi_pid" TERM $((shutdown_timeout + 5))
    nginx_pid=""
    fcgi_pid=""
}

show_logs() {
    echo "--- $fcgi_log (last lines)" >&2
    tail -n 20 "$fcgi_log" >&2 2>/dev/null || true
    echo "--- $nginx_log and $nginx_prefix/logs/error.log (last lines)" >&2
    tail -n 5 "$nginx_log" >&2 2>/dev/null || true
    tail -n 20 "$nginx_prefix/logs/error.log" >&2 2>/dev/null || true
}

fail() {
    echo "run.sh: $*" >&2
    stop_all
    show_logs
    exit 1
}

on_signal() {
    echo >&2
    echo "run.sh: stopping nginx and invsys-fcgi..." >&2
    stop_all
    echo "run.sh: stopped" >&2
    exit 0
}
trap on_signal INT TERM HUP
trap 'stop_all' EXIT

# --- The first admin key ---------------------------------------------------
# invsys-admin works on the configured database whether the service runs or
# not; the secret goes through the environment, never the command line.
if [[ -n "${INVSYS_ADMIN_KEY:-}" ]]; then
    "$admin_bin" --config config/invsys.conf keys ensure --role admin --name run.sh-admin ||
        { echo "run.sh: INVSYS_ADMIN_KEY could not be made an admin key" >&2; exit 1; }
elif [[ ! -s "$admin_key_file" ]]; then
    (
        umask 077
        "$admin_bin" --config config/invsys.conf keys create --role admin --name run.sh-admin \
            >"$admin_key_file.tmp" 2>/dev/null
    ) || { rm -f "$admin_key_file.tmp"; echo "run.sh: creating the first admin key failed" >&2; exit 1; }
    chmod 0600 "$admin_key_file.tmp"
    mv -f "$admin_key_file.tmp" "$admin_key_file"
    echo "run.sh: created the first admin key (shown once; kept in $admin_key_file, mode 0600):" >&2
    echo "    $(cat "$admin_key_file")" >&2
else
    echo "run.sh: the admin key is in $admin_key_file (or set INVSYS_ADMIN_KEY)" >&2
fi

# Own sessions (setsid): a Ctrl-C reaches this script only, which then
# stops the two in order. Started from a non-interactive shell with `&`,
# they would otherwise also ignore SIGINT.
echo "=== run.sh $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$fcgi_log"
echo "run.sh: starting invsys-fcgi (log: var/log/invsys-fcgi.log)" >&2
setsid "$fcgi_bin" --config config/invsys.conf >>"$fcgi_log" 2>&1 </dev/null &
fcgi_pid=$!

for _ in $(seq 1 300); do
    [[ -S "$socket" ]] && grep -q "invsys-fcgi ready" "$fcgi_log" && break
    alive "$fcgi_pid" || fail "invsys-fcgi exited during start-up"
    sleep 0.1
done
[[ -S "$socket" ]] || fail "invsys-fcgi did not create $socket within 30 s"

render_limits=()
[[ -z "${INVSYS_SERVER_NAME:-}" ]] || render_limits+=(--server-name localhost --server-name 127.0.0.1 --server-name "$INVSYS_SERVER_NAME")
[[ -z "${INVSYS_RATE_LIMIT:-}" ]] || render_limits+=(--rate-limit "$INVSYS_RATE_LIMIT")
[[ -z "${INVSYS_RATE_BURST:-}" ]] || render_limits+=(--rate-burst "$INVSYS_RATE_BURST")
[[ -z "${INVSYS_CONN_LIMIT:-}" ]] || render_limits+=(--conn-limit "$INVSYS_CONN_LIMIT")
[[ -f build/web/index.html ]] || fail "build/web/index.html is missing (scripts/web-build.sh builds the admin page)"
# nginx's idle-connection cache to the pool: as many as the pool has
# threads (workers x threads), so one nginx worker carrying all the load
# still finds a kept connection for each request the pool can serve at once
# (render-nginx-conf.sh --keepalive explains). INVSYS_NGINX_KEEPALIVE overrides.
config_value() { sed -n "s/^$1 *= *\([0-9]*\).*/\1/p" config/invsys.conf | tail -1; }
pool_workers="${INVSYS_WORKERS:-$(config_value workers)}"
pool_threads="${INVSYS_THREADS:-$(config_value threads)}"
[[ "$pool_workers" =~ ^[0-9]+$ ]] || pool_workers=0
[[ "$pool_threads" =~ ^[1-9][0-9]*$ ]] || pool_threads=4  # invsys-fcgi's default
((pool_workers > 0)) || pool_workers="$(nproc)"
keepalive="${INVSYS_NGINX_KEEPALIVE:-$((pool_workers * pool_threads))}"
bash scripts/render-nginx-conf.sh --prefix "$nginx_prefix" --listen "127.0.0.1:$port" \
    --upstream "unix:$socket" --keepalive "$keepalive" --web-root "$root/build/web" ${render_limits[@]+"${render_limits[@]}"} >/dev/null
echo "run.sh: starting nginx on 127.0.0.1:$port (logs: var/nginx/logs/)" >&2
setsid nginx -p "$nginx_prefix/" -c "$nginx_prefix/nginx.conf" >>"$nginx_log" 2>&1 </dev/null &
nginx_pid=$!

healthy=0
for _ in $(seq 1 300); do
    alive "$nginx_pid" || fail "nginx exited during start-up (port $port taken?)"
    alive "$fcgi_pid" || fail "invsys-fcgi exited during start-up"
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/api/health" || true)" == 200 ]]; then
        healthy=1
        break
    fi
    sleep 0.1
done
[[ $healthy == 1 ]] || fail "GET $url/api/health did not answer 200 within 30 s"

echo
echo "invsys: the admin page is $url/ (sign in with an API key)"
echo "invsys is serving on $url/api/  (try: curl -H \"Authorization: Bearer \$(cat var/admin-key)\" $url/api/types)"
echo "Press Ctrl-C to stop."
echo

# Whichever ends first ends the run.
set +e
wait -n "$fcgi_pid" "$nginx_pid"
set -e
if ! alive "$fcgi_pid"; then
    fail "invsys-fcgi exited unexpectedly"
else
    fail "nginx exited unexpectedly"
fi
