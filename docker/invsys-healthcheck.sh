#!/bin/sh
# Health check of the invsys image: one real FastCGI request, GET /api/health,
# to this container's invsys-fcgi with cgi-fcgi (package libfcgi-bin). It
# passes only when a worker accepts the connection, runs the request and
# answers 200 with {"status":"ok",…} (the handler pings the database).
# A worker that accepts but hangs fails through `timeout`.
#
# The address comes from INVSYS_LISTEN, else `listen` in INVSYS_CONFIG:
# unix:PATH is used as it is; HOST:PORT with a wildcard host (0.0.0.0, ::,
# empty) is asked on 127.0.0.1:PORT.
#
# Environment: INVSYS_HEALTHCHECK_TIMEOUT (seconds, default 4; keep it below
# the compose healthcheck timeout).
set -eu

config="${INVSYS_CONFIG:-/etc/invsys/invsys.conf}"
listen="${INVSYS_LISTEN:-}"
if [ -z "$listen" ] && [ -r "$config" ]; then
    listen="$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*//p' "$config" | tail -n 1)"
fi
[ -n "$listen" ] || listen="unix:run/invsys.sock"

case "$listen" in
    unix:*) target="${listen#unix:}" ;;
    *)
        port="${listen##*:}"
        host="${listen%:*}"
        case "$host" in
            ""|0.0.0.0|"[::]"|"::"|"*") host=127.0.0.1 ;;
        esac
        target="$host:$port"
        ;;
esac

cgi_fcgi="$(command -v cgi-fcgi || true)"
[ -n "$cgi_fcgi" ] || { echo "invsys-healthcheck: cgi-fcgi not found (package libfcgi-bin)"; exit 1; }

# cgi-fcgi passes its whole environment as FastCGI parameters: give it only
# what nginx would.
if ! out="$(env -i REQUEST_METHOD=GET REQUEST_URI=/api/health QUERY_STRING= \
        SCRIPT_NAME=/api/health SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1 \
        REMOTE_ADDR=127.0.0.1 SERVER_NAME=healthcheck \
        timeout "${INVSYS_HEALTHCHECK_TIMEOUT:-4}" "$cgi_fcgi" -bind -connect "$target" \
        </dev/null 2>&1)"; then
    echo "invsys-healthcheck: no answer from $target: $out" | head -c 300
    exit 1
fi
case "$out" in
    "Status: 200"*'"status":"ok"'*) exit 0 ;;
esac
echo "invsys-healthcheck: unhealthy answer from $target: $out" | head -c 300
exit 1
