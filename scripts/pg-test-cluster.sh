#!/usr/bin/env bash
# A private, throw-away PostgreSQL 15 cluster for the tests.
#
#   scripts/pg-test-cluster.sh start DIR   create (when missing) and start it
#   scripts/pg-test-cluster.sh url DIR     print the URL of its invsys database
#   scripts/pg-test-cluster.sh tcp-url DIR the same over TCP (INVSYS_PG_TCP_PORT)
#   scripts/pg-test-cluster.sh stop DIR    stop it and remove DIR
#
# The cluster lives in DIR (data in DIR/data, server log in DIR/server.log)
# and listens on a unix socket in DIR only (listen_addresses = ''): no TCP
# port, nothing reachable from outside. fsync stays on, as in production.
# With INVSYS_PG_TCP_PORT=N when it is created, it also listens on
# 127.0.0.1:N (its port, the socket's name too): for a test that cuts the
# TCP route (iptables) while the socket still reaches the server.
# Its superuser is `invsys` (trust authentication on the socket), and it
# has a database `invsys` with btree_gist installed in its public schema. PostgreSQL refuses to run as root: as root, the
# cluster belongs to the `postgres` system user of Debian's packages
# (INVSYS_PG_USER overrides); otherwise to the calling user.
#
# Every command is idempotent: start on a running cluster only checks it,
# stop on a missing one does nothing. stop removes DIR only when it holds a
# cluster made by this script (the marker file .invsys-pg-test-cluster).
#
# Environment: INVSYS_PG_BIN (default /usr/lib/postgresql/15/bin),
# INVSYS_PG_USER (see above), INVSYS_PG_TCP_PORT (see above).
set -euo pipefail

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# == 2 ]] || usage
command="$1"
[[ -n "$2" ]] || usage
dir="$(realpath -m -- "$2")"

bin="${INVSYS_PG_BIN:-/usr/lib/postgresql/15/bin}"

# As root, the cluster's owner must be able to reach DIR. A checkout under a
# private directory (a home of mode 0700, say) is out of its reach: the
# cluster then lives under /tmp instead, at a path derived from DIR, so that
# start, url and stop all agree on it.
if [[ "$(id -u)" == 0 ]] &&
    ! runuser -u "${INVSYS_PG_USER:-postgres}" -- test -x "$(dirname "$dir")" 2>/dev/null; then
    dir="/tmp/invsys-pg-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)"
fi

marker="$dir/.invsys-pg-test-cluster"
data="$dir/data"
log="$dir/server.log"
tcp_port_file="$dir/tcp-port"
db_user=invsys
database=invsys

die() { echo "pg-test-cluster.sh: $*" >&2; exit 1; }

# Runs a PostgreSQL program as the cluster's owner.
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        local owner="${INVSYS_PG_USER:-postgres}"
        id -u "$owner" >/dev/null 2>&1 ||
            die "running as root and there is no user '$owner' to own the cluster" \
                "(install postgresql, or set INVSYS_PG_USER)"
        runuser -u "$owner" -- "$@"
    else
        "$@"
    fi
}

running() {
    [[ -f "$data/postmaster.pid" ]] && as_owner "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1
}

# Percent-encodes $1 for a URL component.
url_encode() {
    local s="$1" out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
            [A-Za-z0-9._~-]) out+="$c" ;;
            *) out+="$(printf '%%%02X' "'$c")" ;;
        esac
    done
    printf '%s' "$out"
}

# The cluster's port: 5432 (on the socket only), or its TCP port.
port() { if [[ -f "$tcp_port_file" ]]; then cat "$tcp_port_file"; else echo 5432; fi; }

url() { printf 'postgresql://%s@%s:%s/%s\n' "$db_user" "$(url_encode "$dir")" "$(port)" "$database"; }

tcp_url() {
    [[ -f "$tcp_port_file" ]] || die "$dir listens on no TCP port (create it with INVSYS_PG_TCP_PORT)"
    printf 'postgresql://%s@127.0.0.1:%s/%s\n' "$db_user" "$(port)" "$database"
}

psql_admin() {
    "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$(port)" -U "$db_user" -d postgres "$@"
}

start() {
    [[ -x "$bin/initdb" ]] || die "no PostgreSQL server in $bin (install postgresql)"
    # The socket path ($dir/.s.PGSQL.5432) must fit in sun_path.
    (( ${#dir} <= 90 )) || die "directory path too long for a unix socket: $dir"

    if [[ ! -f "$marker" ]]; then
        if [[ -e "$dir" ]] && [[ -n "$(ls -A "$dir")" ]]; then
            die "$dir exists, is not empty and is not a test cluster"
        fi
        mkdir -p "$dir"
        chmod 0700 "$dir"
        if [[ "$(id -u)" == 0 ]]; then chown "${INVSYS_PG_USER:-postgres}:" "$dir"; fi
        # --no-sync: the files initdb writes need no flush for a throw-away
        # cluster; the server itself runs with fsync on.
        if ! as_owner "$bin/initdb" --pgdata="$data" --username="$db_user" --auth=trust \
            --encoding=UTF8 --no-locale --no-sync --no-instructions >"$dir/initdb.log" 2>&1; then
            cat "$dir/initdb.log" >&2
            rm -rf -- "$dir"  # ours: it was missing or empty
            die "initdb failed"
        fi
        local listen="" port=5432
        if [[ -n "${INVSYS_PG_TCP_PORT:-}" ]]; then
            [[ "$INVSYS_PG_TCP_PORT" =~ ^[1-9][0-9]{0,4}$ ]] || die "INVSYS_PG_TCP_PORT must be a port number"
            listen=127.0.0.1
            port="$INVSYS_PG_TCP_PORT"
        fi
        cat >>"$data/postgresql.conf" <<EOF

# pg-test-cluster.sh
listen_addresses = '$listen'
unix_socket_directories = '$dir'
unix_socket_permissions = 0700
port = $port
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 200
shared_buffers = 32MB
log_min_messages = warning
log_min_error_statement = panic
EOF
        [[ -z "$listen" ]] || echo "$port" >"$tcp_port_file"
        touch "$marker"
    fi

    if ! running; then
        as_owner "$bin/pg_ctl" start --pgdata="$data" --log="$log" --wait --timeout=60 \
            --silent >/dev/null ||
            { tail -n 20 "$log" >&2 || true; die "the server did not start"; }
    fi

    if [[ -z "$(psql_admin -At -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" ]]; then
        psql_admin -c "CREATE DATABASE $database"
        # In public, once: tests that give each case a schema of its own
        # (search_path) and drop it afterwards must not own the extension.
        "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$(port)" -U "$db_user" -d "$database" \
            -c "CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public"
    fi
}

stop() {
    [[ -e "$dir" ]] || return 0
    [[ -f "$marker" ]] || die "$dir is not a test cluster made by this script; not touching it"
    if running; then
        # immediate: the cluster is thrown away, no need for a checkpoint.
        as_owner "$bin/pg_ctl" stop --pgdata="$data" --mode=immediate --wait --timeout=60 \
            --silent || die "the server did not stop"
    fi
    rm -rf -- "$dir"
}

case "$command" in
    start) start ;;
    stop) stop ;;
    url) url ;;
    tcp-url) tcp_url ;;
    *) usage ;;
esac
