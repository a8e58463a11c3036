#!/bin/sh
# Entrypoint of docker/postgres.Dockerfile, running as postgres. On the first
# start (no PG_VERSION in PGDATA) it initialises the cluster from the
# environment, as the Docker Hub image does:
#   POSTGRES_PASSWORD  required: the password of POSTGRES_USER (scram-sha-256)
#   POSTGRES_USER      the role invsys connects as, owner of the database [postgres]
#   POSTGRES_DB        the database [POSTGRES_USER]
# During that setup the server listens on its unix socket only (the health
# check asks over TCP, so it is not "ready" yet). Then the server runs in
# the foreground, listening on every interface of the container: the
# compose file puts it on the internal network `backend` only, never
# published. Every client over TCP must give the password; the unix socket
# (inside the container only) trusts its local users, as the Hub image does.
# Arguments go to postgres (e.g. `-c max_connections=200`).
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"

if [ "$(id -u)" = 0 ]; then
    echo "postgres-entrypoint: refusing to run as root (the image runs as postgres)" >&2
    exit 1
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "postgres-entrypoint: POSTGRES_PASSWORD is required to initialise $PGDATA" >&2
        exit 1
    fi
    echo "postgres-entrypoint: initialising $PGDATA (user $user, database $db)" >&2
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    # Unix socket only while setting up.
    pg_ctl --pgdata="$PGDATA" --wait --silent -o "-c listen_addresses='' -c unix_socket_directories=/run/postgresql" start
    if [ "$db" != postgres ]; then
        psql --host=/run/postgresql --username="$user" --dbname=postgres --set=ON_ERROR_STOP=1 --quiet \
            --set=db="$db" --set=owner="$user" <<'SQL'
CREATE DATABASE :"db" OWNER :"owner";
SQL
    fi
    pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
    echo "postgres-entrypoint: $PGDATA initialised" >&2
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/run/postgresql "$@"
