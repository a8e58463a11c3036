#!/usr/bin/env bash
# The gateway on its own: scripts/render-nginx-conf.sh renders a config that
# nginx accepts for unix and TCP upstreams, refuses bad arguments, and the
# real nginx answers the errors it makes itself as problem+json — with no
# invsys-fcgi behind it (502), a FastCGI peer that never answers (504), a
# path off the API (404), a 2 MiB body (413), a 20 KiB URI (414), TRACE
# (405) and a malformed request line (400).
#
#   tests/integration/test_gateway_config.sh [SOURCE_DIR]
set -euo pipefail

source_dir="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)"
render="$source_dir/scripts/render-nginx-conf.sh"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

work="$(mktemp -d "${TMPDIR:-/tmp}/invsys-gateway-test.XXXXXX")"
chmod 0755 "$work"  # nginx workers run as nobody when we are root
# As root the render names the socket's group (scripts/setup.sh creates it).
if [[ "$(id -u)" == 0 ]] && ! getent group invsys >/dev/null; then
    groupadd --system invsys
fi
nginx_pid=""
hang_pid=""
failures=0
passes=0

cleanup() {
    local status=$?
    if [[ -n "$nginx_pid" ]]; then
        kill -QUIT "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    if [[ -n "$hang_pid" ]]; then
        kill "$hang_pid" 2>/dev/null || true
        wait "$hang_pid" 2>/dev/null || true
    fi
    if [[ $status == 0 && "${INVSYS_TEST_KEEP:-0}" != 1 ]]; then rm -rf "$work"; else echo "kept $work"; fi
    exit "$status"
}
trap cleanup EXIT

pass() { passes=$((passes + 1)); echo "ok: $*"; }
fail() { failures=$((failures + 1)); echo "FAIL: $*"; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- rendering + nginx -t ---------------------------------------------------
check_conf() {
    local name="$1"; shift
    local prefix="$work/$name"
    if ! out="$(bash "$render" --prefix "$prefix" "$@" 2>&1)"; then
        fail "$name: render failed: $out"
        return
    fi
    if out="$("$nginx_bin" -t -p "$prefix/" -c "$prefix/nginx.conf" -e stderr 2>&1)"; then
        pass "$name: nginx -t accepts the rendered config"
    else
        fail "$name: nginx -t: $out"
    fi
    [[ -d "$prefix/logs" && -d "$prefix/tmp" ]] && pass "$name: logs/ and tmp/ created" ||
        fail "$name: logs/ or tmp/ missing"
    if grep -v '^ *#' "$prefix/nginx.conf" | grep -q '/etc/nginx'; then
        fail "$name: conf refers to /etc/nginx"
    fi
}

check_conf unix --listen 127.0.0.1:18080 --upstream "unix:$work/invsys.sock"
check_conf tcp --listen 127.0.0.1:18080 --upstream 127.0.0.1:9000 --keepalive 4 \
    --nginx-workers 1 --read-timeout 5s
check_conf multi --listen 127.0.0.1:18080 --upstream 127.0.0.1:9000 --upstream 127.0.0.1:9001 \
    --upstream "unix:$work/other.sock"

grep -q "keepalive 4;" "$work/tcp/nginx.conf" && grep -q "fastcgi_read_timeout 5s;" "$work/tcp/nginx.conf" &&
    grep -q "worker_processes 1;" "$work/tcp/nginx.conf" && pass "options reach the config" ||
    fail "--keepalive/--read-timeout/--nginx-workers not rendered"
# Without --keepalive: the cache of the shipped pool on 2 cores (2 workers
# x 8 threads), not the old 2 that made most requests open a connection.
grep -q "^ *keepalive 16;" "$work/unix/nginx.conf" && pass "keepalive defaults to 16 idle connections" ||
    fail "the default keepalive is not 16"
[[ "$(grep -c '^ *server 127.0.0.1:900[01];' "$work/multi/nginx.conf")" == 2 ]] &&
    grep -q "server unix:$work/other.sock;" "$work/multi/nginx.conf" &&
    pass "every --upstream becomes a server line" || fail "upstream servers missing"
if [[ "$(id -u)" == 0 ]]; then
    grep -q '^user nobody invsys;' "$work/unix/nginx.conf" && pass "root: user nobody invsys" ||
        fail "root: user directive missing"
else
    ! grep -q '^user ' "$work/unix/nginx.conf" && pass "non-root: no user directive" ||
        fail "non-root: unexpected user directive"
fi

refuses() {
    local what="$1"; shift
    if bash "$render" "$@" >/dev/null 2>&1; then fail "accepted $what"; else pass "refuses $what"; fi
}
refuses "a missing --prefix" --listen 127.0.0.1:1 --upstream 127.0.0.1:2
refuses "a missing --upstream" --prefix "$work/bad" --listen 127.0.0.1:1
refuses "a malformed --upstream" --prefix "$work/bad" --listen 127.0.0.1:1 --upstream "tcp://x"
refuses "a malformed --listen" --prefix "$work/bad" --listen 8080 --upstream 127.0.0.1:2
refuses "a zero --keepalive" --prefix "$work/bad" --listen 127.0.0.1:1 --upstream 127.0.0.1:2 --keepalive 0

# --- the real nginx, nothing behind it -----------------------------------------
mkdir -p "$work/hang"
chmod 0755 "$work/hang"
# A FastCGI peer that accepts and never answers: nginx must give up (504).
python3 - "$work/hang/hang.sock" <<'PY' &
import os, socket, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o666)
s.listen(16)
held = []
deadline = time.monotonic() + 120
s.settimeout(0.5)
while time.monotonic() < deadline:
    try:
        held.append(s.accept()[0])
    except socket.timeout:
        pass
PY
hang_pid=$!

port=""
for _attempt in 1 2 3 4 5; do
    port="$(free_port)"
    bash "$render" --prefix "$work/live" --listen "127.0.0.1:$port" \
        --upstream "unix:$work/nobody-listens.sock" --nginx-workers 1 --read-timeout 1s >/dev/null
    "$nginx_bin" -p "$work/live/" -c "$work/live/nginx.conf" -e stderr >"$work/nginx.out" 2>&1 &
    nginx_pid=$!
    listening=0
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then listening=1; break; fi
        kill -0 "$nginx_pid" 2>/dev/null || break
        sleep 0.05
    done
    [[ $listening == 1 ]] && break
    kill -QUIT "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
    nginx_pid=""
done
if [[ -z "$nginx_pid" ]]; then
    fail "nginx did not start: $(cat "$work/nginx.out")"
    echo "$passes passed, $failures failed"
    exit 1
fi
base="http://127.0.0.1:$port"

# expect_problem STATUS DESCRIPTION CURL-ARGS...
expect_problem() {
    local status="$1" what="$2"; shift 2
    local headers="$work/headers" body="$work/body" code
    code="$(curl -s -o "$body" -D "$headers" -w '%{http_code}' --max-time 20 "$@" || true)"
    if [[ "$code" != "$status" ]]; then
        fail "$what: status $code, expected $status ($(head -c 200 "$body" 2>/dev/null))"
    elif ! grep -qi '^content-type: application/problem+json' "$headers"; then
        fail "$what: Content-Type is not application/problem+json: $(grep -i '^content-type' "$headers")"
    elif ! python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
assert p["type"] == "about:blank" and p["status"] == int(sys.argv[2]), p
assert isinstance(p["title"], str) and p["title"] and isinstance(p["detail"], str), p
' "$body" "$status" 2>"$work/json.err"; then
        fail "$what: body is not the problem+json expected: $(head -c 300 "$body") $(tail -1 "$work/json.err")"
    else
        pass "$what: $status problem+json"
    fi
}

expect_problem 502 "no FastCGI server behind /api/" "$base/api/health"
expect_problem 502 "no FastCGI server behind /api/ (POST)" -X POST -d '{"name":"x"}' "$base/api/cars"
expect_problem 404 "a path off the API" "$base/no-such-page"
expect_problem 404 "a missing asset" "$base/assets/no-such-file.js"
expect_problem 404 "the assets directory itself" "$base/assets/"
expect_problem 404 "an internal error location fetched directly" "$base/.invsys-problem/502"
expect_problem 413 "a 2 MiB body" -X POST -H 'Content-Type: application/json' \
    --data-binary @<(head -c 2097152 /dev/zero | tr '\0' 'a') "$base/api/cars"
expect_problem 414 "a 20 KiB URI" "$base/api/cars?x=$(head -c 20000 /dev/zero | tr '\0' 'b')"
expect_problem 405 "TRACE" -X TRACE "$base/api/cars"
expect_problem 400 "a 20 KiB header" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' 'c')" "$base/api/cars"

# An 8 KiB URI is within the API's limit: it reaches the upstream (502 here).
code="$(curl -s -o /dev/null -w '%{http_code}' "$base/api/cars?x=$(head -c 8000 /dev/zero | tr '\0' 'd')")"
[[ "$code" == 502 ]] && pass "an 8 KiB URI reaches the upstream" || fail "8 KiB URI: $code"

# A malformed request line, straight on the socket.
raw="$(python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"NOT A REQUEST\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode(errors="replace"))
PY
)"
if grep -q '^HTTP/1.1 400' <<<"$raw" && grep -qi 'content-type: application/problem+json' <<<"$raw" &&
    grep -q '"status":400' <<<"$raw"; then
    pass "a malformed request line: 400 problem+json"
else
    fail "a malformed request line: $(head -c 300 <<<"$raw")"
fi

# 504: point the upstream at the peer that never answers, reload.
for _ in $(seq 1 200); do [[ -S "$work/hang/hang.sock" ]] && break; sleep 0.05; done
bash "$render" --prefix "$work/live" --listen "127.0.0.1:$port" \
    --upstream "unix:$work/hang/hang.sock" --nginx-workers 1 --read-timeout 1s >/dev/null
kill -HUP "$nginx_pid"
ok=0
for _ in $(seq 1 100); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base/api/health" || true)"
    [[ "$code" == 504 ]] && { ok=1; break; }
    sleep 0.1
done
if [[ $ok == 1 ]]; then
    expect_problem 504 "a FastCGI peer that never answers" "$base/api/health"
else
    fail "no 504 from a hanging upstream (last status $code)"
fi

grep -q '"upstream_status":' "$work/live/logs/access.log" && grep -q '"request_time":' "$work/live/logs/access.log" &&
    pass "access log has request_time and upstream_status" || fail "access log format"

kill -QUIT "$nginx_pid"
for _ in $(seq 1 100); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$nginx_pid" 2>/dev/null; then fail "nginx did not stop on SIGQUIT"; else pass "nginx stops on SIGQUIT"; fi
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=""

echo "$passes passed, $failures failed"
[[ $failures == 0 ]]
