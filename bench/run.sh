#!/usr/bin/env bash
# THE BENCHMARK of invsys: starts the real stack (Release build, nginx in
# front of invsys-fcgi, SQLite or a private PostgreSQL cluster) in a fresh
# temporary directory on a free loopback port, warms it up, measures every
# case and prints a Markdown table, also written to bench/results/latest.md
# (latest-postgresql.md with PostgreSQL), and its picture beside it,
# latest.svg (bench/plot.py). See bench/README.md.
#
#   bench/run.sh                 full run (3 runs × 10 s per case, medians)
#   BENCH_QUICK=1 bench/run.sh   smoke run (1 run × 2 s per case)
#   BENCH_DATABASE=postgresql bench/run.sh   the same against PostgreSQL
#
# Environment (defaults in brackets):
#   BENCH_DATABASE [sqlite]   sqlite, or postgresql: a private cluster made by
#                             scripts/pg-test-cluster.sh in the temporary
#                             directory (unix socket only), stopped at exit
#   BENCH_RUNS [3]            runs per case; the table shows the median
#   BENCH_DURATION [10]       seconds per wrk run (and per ceiling run)
#   BENCH_WARMUP [3]          seconds of warm-up per case before the runs
#   BENCH_QUICK [0]           1: BENCH_RUNS=1, BENCH_DURATION=2, BENCH_WARMUP=1
#   BENCH_CONNECTIONS [16]    connections of cases (a)-(c)
#   BENCH_POST_CONNECTIONS [32]  connections of case (d)
#   BENCH_POST_CARS [8]       cars that case (d) books round-robin
#   BENCH_E_REQUESTS [2000]   case (e) stops after this many bookings per run
#                             (or at BENCH_DURATION), so a car keeps its size
#   BENCH_WRK_THREADS [cores] wrk threads (fewer when there are fewer connections)
#   BENCH_WORKERS [cores]     invsys-fcgi worker processes (INVSYS_WORKERS)
#   BENCH_THREADS [config]    threads per worker (INVSYS_THREADS); default:
#                             config/invsys.conf's value
#   BENCH_NGINX_WORKERS [render script default]
#   BENCH_NGINX_KEEPALIVE [workers x threads, as scripts/run.sh]
#   BENCH_ACCESS_LOG [null]   null: nginx's access log is written to /dev/null;
#                             file: to the temporary directory
#   BENCH_BUILD_DIR           use this Release build as it is; unset: run
#                             scripts/setup.sh (installs, builds build/)
#   BENCH_TMPDIR [$TMPDIR or /tmp]  where the temporary directory goes
#                             (the database and the ceiling's file live there)
#   BENCH_G_RESOURCES [10000] trucks of case (g), the availability page
#   BENCH_G_ALLOCATIONS [100] allocations of each of them
#   BENCH_H_THREADS [auto]    threads of case (h)'s minimal responder; auto:
#                             connections + nginx workers x keepalive + 8
#                             (libfcgi ties a thread to each open connection)
#   BENCH_CASES [a b c d e f g h]  the cases to run (a ratio needs its ceiling)
#   BENCH_KEEP [0]            1: keep the temporary directory (logs, database)
#   BENCH_STRICT [0]          1: exit 3 when a target is missed
# Exit status: 0 when every request of every measured run got a 2xx (targets
# met or not), 1 on errors (non-2xx or socket errors, or the stack failed),
# 2 on bad settings, 3 (BENCH_STRICT=1) when a target is missed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
bench="$root/bench"

die() { echo "bench: $*" >&2; exit 2; }
note() { echo "bench: $*" >&2; }

# --- Settings -------------------------------------------------------------
cores="$(nproc)"
if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
    runs="${BENCH_RUNS:-1}"
    duration="${BENCH_DURATION:-2}"
    warmup="${BENCH_WARMUP:-1}"
else
    runs="${BENCH_RUNS:-3}"
    duration="${BENCH_DURATION:-10}"
    warmup="${BENCH_WARMUP:-3}"
fi
connections="${BENCH_CONNECTIONS:-16}"
post_connections="${BENCH_POST_CONNECTIONS:-32}"
post_cars="${BENCH_POST_CARS:-8}"
e_requests="${BENCH_E_REQUESTS:-2000}"
workers="${BENCH_WORKERS:-$cores}"
threads="${BENCH_THREADS:-}"
cases="${BENCH_CASES:-a b c d e f g h}"
g_resources="${BENCH_G_RESOURCES:-10000}"
g_allocations="${BENCH_G_ALLOCATIONS:-100}"
wrk_threads_max="${BENCH_WRK_THREADS:-$cores}"
database="${BENCH_DATABASE:-sqlite}"

is_count() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }
is_count "$runs" && ((runs <= 39)) || die "BENCH_RUNS must be 1..39"
is_count "$duration" || die "BENCH_DURATION must be a positive number of seconds"
[[ "$warmup" =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a number of seconds"
is_count "$connections" && ((connections <= 100)) || die "BENCH_CONNECTIONS must be 1..100"
is_count "$post_connections" && ((post_connections <= 100)) || die "BENCH_POST_CONNECTIONS must be 1..100"
is_count "$post_cars" && ((post_cars <= 50)) || die "BENCH_POST_CARS must be 1..50"
is_count "$e_requests" || die "BENCH_E_REQUESTS must be a positive integer"
[[ "${BENCH_ACCESS_LOG:-null}" == @(null|file) ]] || die "BENCH_ACCESS_LOG must be null or file"
is_count "$wrk_threads_max" || die "BENCH_WRK_THREADS must be a positive integer"
is_count "$workers" || die "BENCH_WORKERS must be a positive integer"
[[ -z "$threads" ]] || is_count "$threads" || die "BENCH_THREADS must be a positive integer"
[[ "$database" == @(sqlite|postgresql) ]] || die "BENCH_DATABASE must be sqlite or postgresql"
is_count "$g_resources" && ((g_resources <= 100000)) || die "BENCH_G_RESOURCES must be 1..100000"
is_count "$g_allocations" && ((g_allocations <= 1000)) || die "BENCH_G_ALLOCATIONS must be 1..1000"
for c in $cases; do [[ "$c" == [abcdefgh] ]] || die "BENCH_CASES: unknown case '$c' (a b c d e f g h)"; done
h_threads="${BENCH_H_THREADS:-auto}"
[[ "$h_threads" == auto ]] || { is_count "$h_threads" && ((h_threads <= 1024)); } ||
    die "BENCH_H_THREADS must be auto or 1..1024"
wanted() { [[ " $cases " == *" $1 "* ]]; }
for tool in wrk nginx curl python3 g++ timeout; do
    command -v "$tool" >/dev/null || die "$tool is not installed (scripts/setup.sh installs the stack's packages)"
done
if [[ "$database" == postgresql ]]; then
    pg_bin="${INVSYS_PG_BIN:-/usr/lib/postgresql/15/bin}"
    if command -v psql >/dev/null; then psql_bin="$(command -v psql)"; else psql_bin="$pg_bin/psql"; fi
    [[ -x "$psql_bin" ]] || die "psql is not installed (postgresql-client)"
    [[ -x "$pg_bin/initdb" ]] || die "no PostgreSQL server in $pg_bin (install postgresql, or set INVSYS_PG_BIN)"
    [[ -f /usr/include/postgresql/libpq-fe.h ]] || die "libpq-dev is not installed (bench/pg_ceiling.cpp needs it)"
fi

# --- Build ------------------------------------------------------------------
if [[ -n "${BENCH_BUILD_DIR:-}" ]]; then
    build="$(cd "$BENCH_BUILD_DIR" && pwd)"
else
    bash scripts/setup.sh >&2
    build="$root/build"
fi
fcgi_bin="$build/fcgi/invsys-fcgi"
admin_bin="$(dirname "$fcgi_bin")/../admin/invsys-admin"
# The admin key every benchmark request carries (wrk.lua, fixtures.py).
export BENCH_KEY="invsys_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
plugin_dir="$build/plugins"
[[ -x "$fcgi_bin" ]] || die "$fcgi_bin not built"
# Case (h): built by CMake beside the service (bench/CMakeLists.txt).
h_bin="$build/bench/fcgi_ceiling"
! wanted h || [[ -x "$h_bin" ]] || die "$h_bin not built (cmake --build $build --target fcgi_ceiling)"
[[ -d "$plugin_dir" ]] || die "$plugin_dir missing"
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)"
[[ "$build_type" == Release ]] || die "$build is not a Release build (CMAKE_BUILD_TYPE='$build_type')"

# The raw ceiling of case (f), rebuilt when its source is newer.
if [[ "$database" == sqlite ]]; then
    ceiling_bin="$build/bench/sqlite_ceiling"
    if [[ ! -x "$ceiling_bin" || "$bench/sqlite_ceiling.cpp" -nt "$ceiling_bin" ||
          "$bench/schema_files.hpp" -nt "$ceiling_bin" ]]; then
        mkdir -p "$build/bench"
        note "compiling $ceiling_bin"
        g++ -O2 -std=c++17 -Wall -Wextra -o "$ceiling_bin.tmp" "$bench/sqlite_ceiling.cpp" -lsqlite3
        mv -f "$ceiling_bin.tmp" "$ceiling_bin"
    fi
else
    ceiling_bin="$build/bench/pg_ceiling"
    if [[ ! -x "$ceiling_bin" || "$bench/pg_ceiling.cpp" -nt "$ceiling_bin" ||
          "$bench/schema_files.hpp" -nt "$ceiling_bin" ]]; then
        mkdir -p "$build/bench"
        note "compiling $ceiling_bin"
        g++ -O2 -std=c++17 -Wall -Wextra -I/usr/include/postgresql -o "$ceiling_bin.tmp" \
            "$bench/pg_ceiling.cpp" -lpq
        mv -f "$ceiling_bin.tmp" "$ceiling_bin"
    fi
fi

# --- Temporary directory, processes, cleanup ---------------------------------
tmp_parent="${BENCH_TMPDIR:-${TMPDIR:-/tmp}}"
tmp="$(mktemp -d "$tmp_parent/invsys-bench.XXXXXX")"
fcgi_pid=""
nginx_pid=""
h_pid=""        # case (h): the minimal responder
h_nginx_pid=""  # and its own nginx, rendered like the service's
pg_dir=""  # set once the PostgreSQL cluster is being started
fcgi_log="$tmp/invsys-fcgi.log"
nginx_prefix="$tmp/nginx"
results_jsonl="$tmp/results.jsonl"
: >"$results_jsonl"

alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }

# Sends $2 to the process $1, waits up to $3 seconds, then SIGKILLs its
# process group (it runs in a session of its own: pool workers included).
stop_process() {
    local pid="$1" signal="$2" timeout="$3" waited=0
    alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -"$signal" "$pid" 2>/dev/null || true
    while alive "$pid" && ((waited < timeout * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if alive "$pid"; then
        note "pid $pid did not stop in ${timeout}s after SIG$signal; killing its process group"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    # Pool workers left behind by a master that died: same process group.
    kill -KILL -- "-$pid" 2>/dev/null || true
}

stop_nginx() { stop_process "$nginx_pid" QUIT 15; nginx_pid=""; }
stop_h() {
    stop_process "$h_nginx_pid" QUIT 15
    h_nginx_pid=""
    stop_process "$h_pid" TERM 5
    h_pid=""
}
stop_fcgi() { stop_process "$fcgi_pid" TERM 40; fcgi_pid=""; }
stop_pg() {
    [[ -n "$pg_dir" ]] || return 0
    bash "$root/scripts/pg-test-cluster.sh" stop "$pg_dir" >&2 ||
        note "stopping the PostgreSQL cluster in $pg_dir failed"
    pg_dir=""
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_h
    stop_nginx
    stop_fcgi
    stop_pg
    if [[ "${BENCH_KEEP:-0}" == 1 || $rc != 0 ]]; then
        note "temporary directory kept: $tmp"
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

show_logs() {
    echo "--- $fcgi_log (last lines)" >&2
    tail -n 20 "$fcgi_log" >&2 2>/dev/null || true
    echo "--- $nginx_prefix/logs/error.log (last lines)" >&2
    tail -n 20 "$nginx_prefix/logs/error.log" >&2 2>/dev/null || true
}
fail() { echo "bench: $*" >&2; show_logs; exit 1; }

# nginx (run as root) has its workers run as nobody: the socket directory
# and every directory above it must be traversable by others.
socket_dir="$tmp/run"
mkdir -p "$socket_dir" "$tmp/data" "$nginx_prefix"
if [[ "$(id -u)" == 0 ]]; then
    chmod 0755 "$tmp" "$socket_dir"
    dir="$tmp"
    while [[ "$dir" != / ]]; do
        dir="$(dirname "$dir")"
        [[ "$(stat -c %A "$dir")" == ?????????[xt] ]] ||
            fail "$dir is not traversable by nginx's workers (nobody): set BENCH_TMPDIR"
    done
    export INVSYS_SOCKET_GROUP=invsys
fi
socket="$socket_dir/invsys.sock"
db_path="$tmp/data/invsys.db"

# PostgreSQL: a private cluster in the temporary directory, on a unix socket
# in it (no TCP), fsync and synchronous_commit on; stopped and removed by
# cleanup (the cluster goes with it even when the directory is kept).
if [[ "$database" == postgresql ]]; then
    pg_dir="$tmp/pg"
    note "starting a private PostgreSQL cluster in $pg_dir"
    bash scripts/pg-test-cluster.sh start "$pg_dir" >&2 || fail "the PostgreSQL cluster did not start"
    pg_url="$(bash scripts/pg-test-cluster.sh url "$pg_dir")"
    pg_version="$("$psql_bin" "$pg_url" -X -At -c 'SHOW server_version' | cut -d' ' -f1)" ||
        fail "cannot connect to $pg_url"
fi

# The service: the repository's config, with the benchmark's paths and pool
# size as INVSYS_* overrides.
if [[ "$database" == postgresql ]]; then
    export INVSYS_DATABASE="$pg_url"
else
    export INVSYS_DATABASE="sqlite:$db_path"
fi
export INVSYS_LISTEN="unix:$socket"
export INVSYS_PLUGIN_DIR="$plugin_dir"
export INVSYS_WORKERS="$workers"
[[ -z "$threads" ]] || export INVSYS_THREADS="$threads"
threads_shown="${threads:-$(sed -n 's/^threads *= *\([0-9]*\).*/\1/p' config/invsys.conf)}"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"

# nginx: the project's gateway config plus the constant location of case (a).
constant_include="$tmp/bench-constant.conf"
cat >"$constant_include" <<'EOF'
# Added to the gateway's server block by bench/run.sh.
# bench/wrk.lua pairs each response with its request through this echo of
# its sequence number (no header when the request has none). Inherited by
# every location of the server that has no add_header of its own: /api/
# and the constant below.
add_header X-Bench-Echo $http_x_bench_seq always;
# Case (a): the gateway itself answering a constant body.
location = /bench/constant {
    default_type application/json;
    return 200 '{"status":"ok"}';
}
EOF
# Limits out of the way: the benchmark is one client driving the service flat out.
# render_gateway PREFIX PORT SOCKET: the gateway conf, the same for the
# service and for case (h)'s minimal responder.
render_gateway() {
    local prefix="$1" listen_port="$2" upstream_socket="$3"
    local render_args=(--prefix "$prefix" --listen "127.0.0.1:$listen_port" --upstream "unix:$upstream_socket"
        --rate-limit 1000000r/s --rate-burst 1000000 --conn-limit 60000)
    [[ -z "${BENCH_NGINX_WORKERS:-}" ]] || render_args+=(--nginx-workers "$BENCH_NGINX_WORKERS")
    # As scripts/run.sh sizes it: the pool's threads (workers x threads).
    render_args+=(--keepalive "${BENCH_NGINX_KEEPALIVE:-$((workers * threads_shown))}")
    mkdir -p "$prefix"
    [[ "$(id -u)" != 0 ]] || chmod 0755 "$prefix"
    bash scripts/render-nginx-conf.sh "${render_args[@]}" --server-include "$constant_include" >/dev/null
    # nginx's access log (one JSON line per request) goes to /dev/null: nginx
    # does the same work, but the gigabyte a full run would write does not
    # compete, through the kernel's writeback, with SQLite's fsyncs.
    # BENCH_ACCESS_LOG=file keeps it in PREFIX/logs/access.log.
    case "${BENCH_ACCESS_LOG:-null}" in
        null) ln -sfn /dev/null "$prefix/logs/access.log" ;;
        file) ;;
    esac
}
render_gateway "$nginx_prefix" "$port" "$socket"
nginx_workers_shown="$(sed -n 's/^worker_processes *\([0-9a-z]*\);/\1/p' "$nginx_prefix/nginx.conf")"
keepalive_shown="$(sed -n 's/^ *keepalive *\([0-9]*\);/\1/p' "$nginx_prefix/nginx.conf")"

# wait_healthy PID URL: until URL answers 200 (30 s at most).
wait_healthy() {
    local pid="$1" probe="$2" i
    for i in $(seq 1 300); do
        alive "$pid" || fail "nginx exited during start-up"
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "Authorization: Bearer $BENCH_KEY" \
            "$probe" || true)" == 200 ]]; then
            return 0
        fi
        sleep 0.1
    done
    fail "GET $probe did not answer 200 within 30 s"
}

# Case (h): the minimal libfcgi responder (bench/fcgi_ceiling.cpp) answering
# the bytes (b) gets, behind a second nginx rendered like the service's on
# its own port. Started once the service is up (it copies one answer of
# (b)); idle while the other cases run.
h_port=""
start_h() {
    local h_socket="$socket_dir/fcgi-ceiling.sock" h_prefix="$tmp/nginx-h" threads_h="$h_threads"
    python3 "$bench/fixtures.py" cgi-response "$url/api/cars/$get_car" "$tmp/h-response.txt" ||
        fail "could not copy the answer of case (b) for case (h)"
    if [[ "$threads_h" == auto ]]; then
        local nw="$nginx_workers_shown"
        [[ "$nw" != auto ]] || nw="$cores"
        threads_h=$((connections + nw * keepalive_shown + 8))
    fi
    h_threads_shown="$threads_h"
    rm -f "$h_socket"
    setsid "$h_bin" --socket "$h_socket" --response "$tmp/h-response.txt" --threads "$threads_h" \
        >>"$tmp/fcgi-ceiling.log" 2>&1 </dev/null &
    h_pid=$!
    local i
    for i in $(seq 1 100); do
        [[ -S "$h_socket" ]] && break
        alive "$h_pid" || fail "fcgi_ceiling exited during start-up ($(cat "$tmp/fcgi-ceiling.log"))"
        sleep 0.1
    done
    [[ -S "$h_socket" ]] || fail "fcgi_ceiling did not create $h_socket"
    [[ "$(id -u)" != 0 ]] || chgrp invsys "$h_socket"
    h_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    render_gateway "$h_prefix" "$h_port" "$h_socket"
    setsid nginx -p "$h_prefix/" -c "$h_prefix/nginx.conf" -e stderr \
        >>"$h_prefix/logs/error.log" 2>&1 </dev/null &
    h_nginx_pid=$!
    wait_healthy "$h_nginx_pid" "http://127.0.0.1:$h_port/api/cars/$get_car"
}

start_stack() {
    rm -f "$socket"
    INVSYS_ADMIN_KEY="$BENCH_KEY" "$admin_bin" --config "$root/config/invsys.conf" keys ensure \
        --role admin --name bench >>"$fcgi_log" 2>&1 || fail "invsys-admin keys ensure failed"
    setsid "$fcgi_bin" --config "$root/config/invsys.conf" >>"$fcgi_log" 2>&1 </dev/null &
    fcgi_pid=$!
    local i
    for i in $(seq 1 300); do
        [[ -S "$socket" ]] && break
        alive "$fcgi_pid" || fail "invsys-fcgi exited during start-up"
        sleep 0.1
    done
    [[ -S "$socket" ]] || fail "invsys-fcgi did not create $socket within 30 s"

    setsid nginx -p "$nginx_prefix/" -c "$nginx_prefix/nginx.conf" -e stderr \
        >>"$nginx_prefix/logs/error.log" 2>&1 </dev/null &
    nginx_pid=$!
    for i in $(seq 1 300); do
        alive "$nginx_pid" || fail "nginx exited during start-up"
        alive "$fcgi_pid" || fail "invsys-fcgi exited during start-up"
        if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/api/health" || true)" == 200 ]]; then
            return 0
        fi
        sleep 0.1
    done
    fail "GET $url/api/health did not answer 200 within 30 s"
}

stop_stack() {
    stop_nginx
    stop_fcgi
}

# --- Fixtures ----------------------------------------------------------------
# Cars, all created through the API: [0] case (b); [1..post_cars] case (d);
# then one warm-up car for (e) and, per run, a fresh car for each size of
# (e). At least 100 cars: case (c) lists the first 100.
sizes=(10 10000 100000)
needed=$((1 + post_cars + 1 + ${#sizes[@]} * runs))
car_count=$((needed > 100 ? needed : 100))

note "temporary directory $tmp; gateway $url"
note "setting up: $car_count cars through the API"
start_stack
python3 "$bench/fixtures.py" create-cars "$url" "$car_count" "$tmp/cars.json" || fail "creating cars failed"
stop_stack
mapfile -t cars < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))))' "$tmp/cars.json")
((${#cars[@]} == car_count)) || fail "expected $car_count car ids"

get_car="${cars[0]}"
d_cars=("${cars[@]:1:post_cars}")
e_warm_car="${cars[1 + post_cars]}"
# e_car SIZE_INDEX RUN -> the car of (e) at that size in that run (1-based).
e_car() { echo "${cars[$((2 + post_cars + ($2 - 1) * ${#sizes[@]} + $1))]}"; }

spec="["
for r in $(seq 1 "$runs"); do
    for s in "${!sizes[@]}"; do
        spec+="{\"resource_id\":\"$(e_car "$s" "$r")\",\"count\":${sizes[$s]}},"
    done
done
spec+="{\"resource_id\":\"$e_warm_car\",\"count\":10}]"
printf '%s\n' "$spec" >"$tmp/populate.json"
note "pre-populating the allocations of case (e) with direct SQL (invsys stopped)"
if [[ "$database" == postgresql ]]; then
    python3 "$bench/fixtures.py" postgresql-sql "$tmp/populate.json" >"$tmp/populate.sql" ||
        fail "populating failed"
    populate_started=$SECONDS
    "$psql_bin" "$pg_url" -X -q -v ON_ERROR_STOP=1 --single-transaction -f "$tmp/populate.sql" >&2 ||
        fail "populating failed"
    # Statistics for the planner and the load's dirty pages on disk, so that
    # neither an autovacuum/analyze nor the checkpoint falls into a measured run.
    "$psql_bin" "$pg_url" -X -q -v ON_ERROR_STOP=1 -c 'VACUUM ANALYZE allocations' -c 'CHECKPOINT' >&2 ||
        fail "VACUUM ANALYZE / CHECKPOINT failed"
    note "populate: done in $((SECONDS - populate_started)) s (psql, generate_series)"
else
    python3 "$bench/fixtures.py" populate "$db_path" "$tmp/populate.json" || fail "populating failed"
fi

# Case (g): a fleet of trucks with their allocations, straight into the
# database too (10 000 resources through the API would take minutes).
g_from="2030-01-05T04:00:00Z"  # hour 100 of the fleet's allocations:
g_to="2030-01-05T05:00:00Z"    # every other truck is busy then
if wanted g; then
    note "pre-populating case (g): $g_resources trucks with $g_allocations allocations each"
    python3 "$bench/fixtures.py" fleet-spec "$g_resources" "$g_allocations" "$tmp/fleet.json" ||
        fail "fleet spec failed"
    if [[ "$database" == postgresql ]]; then
        python3 "$bench/fixtures.py" postgresql-fleet-sql "$tmp/fleet.json" >"$tmp/fleet.sql" ||
            fail "populating the fleet failed"
        "$psql_bin" "$pg_url" -X -q -v ON_ERROR_STOP=1 --single-transaction -f "$tmp/fleet.sql" >&2 ||
            fail "populating the fleet failed"
        "$psql_bin" "$pg_url" -X -q -v ON_ERROR_STOP=1 -c 'VACUUM ANALYZE' -c 'CHECKPOINT' >&2 ||
            fail "VACUUM ANALYZE / CHECKPOINT failed"
    else
        python3 "$bench/fixtures.py" populate-fleet "$db_path" "$tmp/fleet.json" ||
            fail "populating the fleet failed"
    fi
fi

# --- Measuring ---------------------------------------------------------------
start_stack
h_threads_shown=""
if wanted h; then
    start_h
fi
loadavg_start="$(cut -d' ' -f1-3 /proc/loadavg)"

# run_wrk CASE RUN CONNECTIONS PATH SCRIPT_ARGS...: one wrk run, one result
# line (RUN 0 = warm-up, not recorded). PATH goes to the service's gateway,
# or with BASE_URL set to that one (case (h)).
run_wrk() {
    local case="$1" run="$2" conns="$3" path="$4" seconds="$duration" base="${BASE_URL:-$url}"
    shift 4
    ((run > 0)) || seconds="$warmup"
    ((seconds > 0)) || return 0
    local out="$tmp/wrk-$case-$run.out" wrk_threads=$((conns < wrk_threads_max ? conns : wrk_threads_max))
    if ! timeout -k 5 $((seconds + 60)) wrk -t "$wrk_threads" -c "$conns" -d "${seconds}s" --timeout 10s \
        -s "$bench/wrk.lua" "$base$path" -- "$@" >"$out" 2>&1; then
        cat "$out" >&2
        fail "wrk failed in case $case run $run"
    fi
    local json
    json="$(sed -n 's/^BENCH_JSON //p' "$out")"
    [[ -n "$json" ]] || { cat "$out" >&2; fail "no result from wrk in case $case run $run"; }
    if ((run > 0)); then
        echo "{\"case\":\"$case\",\"run\":$run,\"connections\":$conns,${json#\{}" >>"$results_jsonl"
    fi
    echo "  $case run $run: $json" >&2
}

run_ceiling() {
    local run="$1" out="$tmp/ceiling-$1.out" seconds="$duration"
    ((run > 0)) || seconds="$warmup"
    ((seconds > 0)) || return 0
    if [[ "$database" == postgresql ]]; then
        # Same cluster and database as the service's, in a schema of its own
        # (created fresh, dropped at the end).
        if ! timeout -k 5 $((seconds + 60)) "$ceiling_bin" --url "$pg_url" --schema "bench_ceiling_$run" \
            --schema-dir "$root/core/src/storage/postgresql/schema" \
            --seconds "$seconds" --resources "$post_cars" >"$out" 2>&1; then
            cat "$out" >&2
            fail "pg_ceiling failed in run $run"
        fi
    else
        # Same directory, so same file system, as the service's database.
        if ! timeout -k 5 $((seconds + 60)) "$ceiling_bin" --db "$tmp/data/ceiling-$run.db" \
            --schema-dir "$root/core/src/storage/sqlite/schema" \
            --seconds "$seconds" --resources "$post_cars" >"$out" 2>&1; then
            cat "$out" >&2
            fail "sqlite_ceiling failed in run $run"
        fi
        rm -f "$tmp/data/ceiling-$run.db" "$tmp/data/ceiling-$run.db-wal" "$tmp/data/ceiling-$run.db-shm"
    fi
    local json
    json="$(sed -n 's/^BENCH_JSON //p' "$out")"
    [[ -n "$json" ]] || { cat "$out" >&2; fail "no result from $(basename "$ceiling_bin") in run $run"; }
    ((run == 0)) || echo "{\"case\":\"f\",\"run\":$run,\"connections\":1,${json#\{}" >>"$results_jsonl"
    echo "  f run $run: $json" >&2
}

# One round: every case once. Rounds are interleaved (a h b c g f d e… a h b …)
# so that a change in the machine's load hits every case alike; the sizes of
# (e) take turns at going first.
round() {
    local r="$1" i s
    wanted a && run_wrk a "$r" "$connections" /bench/constant get
    wanted h && BASE_URL="http://127.0.0.1:$h_port" run_wrk h "$r" "$connections" "/api/cars/$get_car" get
    wanted b && run_wrk b "$r" "$connections" "/api/cars/$get_car" get
    wanted c && run_wrk c "$r" "$connections" "/api/cars?limit=100" get
    wanted g && run_wrk g "$r" "$connections" "/api/trucks/availability?from=$g_from&to=$g_to" get
    wanted f && run_ceiling "$r"
    wanted d && run_wrk d "$r" "$post_connections" /api/cars/allocations post "$r" 0 "${d_cars[@]}"
    wanted e || return 0
    if ((r == 0)); then
        run_wrk e "$r" 1 /api/cars/allocations post 0 "$e_requests" "$e_warm_car"
        return 0
    fi
    for i in "${!sizes[@]}"; do
        s=$(((i + r - 1) % ${#sizes[@]}))
        run_wrk "e${sizes[$s]}" "$r" 1 /api/cars/allocations post "$r" "$e_requests" "$(e_car "$s" "$r")"
    done
}

note "warming up (${warmup}s per case)"
round 0
for r in $(seq 1 "$runs"); do
    note "round $r of $runs (${duration}s per case)"
    round "$r"
done

# --- RSS after the run ---------------------------------------------------------
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }
rss_file="$tmp/rss.txt"
: >"$rss_file"
fcgi_children="$(ps -o pid= --ppid "$fcgi_pid" | tr -d ' ' || true)"
if [[ -z "$fcgi_children" ]]; then
    echo "invsys-fcgi single $fcgi_pid $(rss_kib "$fcgi_pid")" >>"$rss_file"
else
    echo "invsys-fcgi master $fcgi_pid $(rss_kib "$fcgi_pid")" >>"$rss_file"
    for pid in $fcgi_children; do echo "invsys-fcgi worker $pid $(rss_kib "$pid")" >>"$rss_file"; done
fi
echo "nginx master $nginx_pid $(rss_kib "$nginx_pid")" >>"$rss_file"
for pid in $(ps -o pid= --ppid "$nginx_pid" | tr -d ' ' || true); do
    echo "nginx worker $pid $(rss_kib "$pid")" >>"$rss_file"
done
if [[ -z "$fcgi_children" ]]; then
    layout="one invsys-fcgi process (no pool workers: BENCH_WORKERS=$workers had no effect)"
else
    layout="invsys-fcgi master + $(wc -w <<<"$fcgi_children") worker processes"
fi
alive "$fcgi_pid" || fail "invsys-fcgi died during the benchmark"
alive "$nginx_pid" || fail "nginx died during the benchmark"
! wanted h || alive "$h_pid" || fail "fcgi_ceiling died during the benchmark"
stop_h
stop_stack
stop_pg

# --- Report ------------------------------------------------------------------------
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
[[ -z "$(git status --porcelain 2>/dev/null | head -1)" ]] || commit+=" (with uncommitted changes)"
mkdir -p "$bench/results"
if [[ "$database" == postgresql ]]; then
    latest="$bench/results/latest-postgresql"
    db_shown="PostgreSQL $pg_version, a private cluster (scripts/pg-test-cluster.sh) on a unix socket, fsync=on, synchronous_commit=on, in $tmp_parent ($(df -P "$tmp" | awk 'NR==2 {print $1}'))"
else
    latest="$bench/results/latest"
    db_shown="SQLite in $tmp_parent ($(df -P "$tmp" | awk 'NR==2 {print $1}'))"
fi
cp "$results_jsonl" "$latest.jsonl"
set +e
python3 "$bench/report.py" --results "$results_jsonl" --rss "$rss_file" --out "$latest.md" --svg "$latest.svg" \
    --database "$database" \
    --meta "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --meta "commit=$commit" \
    --meta "machine=$cores cores, $(uname -r), load average before: $loadavg_start" \
    --meta "stack=$layout, threads=$threads_shown each; nginx worker_processes=$nginx_workers_shown keepalive=$keepalive_shown; $db_shown${h_threads_shown:+; (h) fcgi_ceiling with $h_threads_shown threads, one process}" \
    --meta "nginx access log=$([[ "${BENCH_ACCESS_LOG:-null}" == null ]] && echo "written to /dev/null (same work for nginx, no disk I/O)" || echo "written to a file")" \
    --meta "runs=$runs × ${duration}s per case after ${warmup}s warm-up; (d) books round-robin over $post_cars cars; (e) stops after $e_requests bookings per run; (g) $g_resources trucks × $g_allocations allocations" \
    --strict "${BENCH_STRICT:-0}"
rc=$?
set -e
exit "$rc"
