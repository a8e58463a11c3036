#!/bin/sh
# Entrypoint of the gateway image: renders nginx/invsys.conf.template with
# scripts/render-nginx-conf.sh --resolve (the same template and script as a
# local run, found relative to this file: the image keeps the repository's
# layout under /usr/local/share/invsys-gateway), then runs nginx in the
# foreground as the image's unprivileged user (no `user` directive).
#
# The upstream is a service name looked up while serving through Docker's
# embedded DNS, so `docker compose up --scale invsys=N` is balanced over
# every replica and replicas that restart with new addresses are found
# within GATEWAY_RESOLVER_VALID. See the template for why (and what it costs).
#
# Environment (defaults in brackets):
#   GATEWAY_PREFIX          nginx prefix, rendered at each start [/var/lib/invsys-gateway]
#   GATEWAY_LISTEN          address nginx listens on in the container [0.0.0.0:8080]
#   GATEWAY_UPSTREAM        the FastCGI service, HOST:PORT [invsys:9000]
#   GATEWAY_RESOLVER        DNS server [127.0.0.11, Docker's embedded DNS]
#   GATEWAY_RESOLVER_VALID  how long an answer is kept [5s]
#   GATEWAY_WORKERS         nginx worker processes [2]
#   GATEWAY_READ_TIMEOUT    FastCGI send/read timeout [60s]
#   GATEWAY_LOG_STDIO       1: access and error log to stdout/stderr [0; the image: 1]
#   GATEWAY_SERVER_NAMES    Host names served, space-separated [localhost 127.0.0.1]
#   GATEWAY_RATE_LIMIT      requests per API key, e.g. 200r/s or 600r/m [200r/s]
#   GATEWAY_RATE_BURST      requests above the rate let through at once [400]
#   GATEWAY_CONN_LIMIT      concurrent connections per client address [256]
#   GATEWAY_WEB_ROOT        the built web/ served at / and /docs/ [/usr/share/invsys/web]
#
#   nginx-entrypoint.sh          render, then exec nginx
#   nginx-entrypoint.sh render   render only and print the conf's path
#   nginx-entrypoint.sh CMD ...  render, then exec CMD (e.g. nginx -t ...)
set -eu

here="$(cd "$(dirname "$0")/.." && pwd)"
prefix="${GATEWAY_PREFIX:-/var/lib/invsys-gateway}"

conf="$prefix/nginx.conf"
# The render's messages go to stderr, less its warning about a non-loopback
# listen address: in a container that is the point (the port is published
# on the host's loopback by the compose file).
if ! messages="$(bash "$here/scripts/render-nginx-conf.sh" \
        --prefix "$prefix" \
        --listen "${GATEWAY_LISTEN:-0.0.0.0:8080}" \
        --resolve "${GATEWAY_UPSTREAM:-invsys:9000}" \
        --resolver "${GATEWAY_RESOLVER:-127.0.0.11}" \
        --resolver-valid "${GATEWAY_RESOLVER_VALID:-5s}" \
        --nginx-workers "${GATEWAY_WORKERS:-2}" \
        --read-timeout "${GATEWAY_READ_TIMEOUT:-60s}" \
        --rate-limit "${GATEWAY_RATE_LIMIT:-200r/s}" \
        --rate-burst "${GATEWAY_RATE_BURST:-400}" \
        --conn-limit "${GATEWAY_CONN_LIMIT:-256}" \
        --web-root "${GATEWAY_WEB_ROOT:-/usr/share/invsys/web}" \
        $(for name in ${GATEWAY_SERVER_NAMES:-localhost 127.0.0.1}; do printf -- '--server-name %s ' "$name"; done) \
        2>&1 >/dev/null)"; then
    echo "$messages" >&2
    echo "nginx-entrypoint: rendering $conf failed" >&2
    exit 1
fi
printf '%s\n' "$messages" | grep -v -e 'is not a loopback address' -e '^$' >&2 || true

# The image sets GATEWAY_LOG_STDIO=1: the prefix is a fresh tmpfs (the root
# filesystem is read-only), so the logs are linked to the container's
# stdout and stderr here, at each start (`docker compose logs nginx`).
if [ "${GATEWAY_LOG_STDIO:-0}" = 1 ]; then
    ln -sfn /dev/stdout "$prefix/logs/access.log"
    ln -sfn /dev/stderr "$prefix/logs/error.log"
fi

case "${1:-}" in
    render) echo "$conf"; exit 0 ;;
    "") exec nginx -p "$prefix/" -c "$conf" -e stderr ;;
    *) exec "$@" ;;
esac
