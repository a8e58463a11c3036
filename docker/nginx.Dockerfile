# The invsys gateway: Debian 12's nginx 1.22 with nginx/invsys.conf.template,
# rendered at each start by docker/nginx-entrypoint.sh for the compose
# network (`--resolve invsys:9000` through Docker's DNS). Build context: the
# repository root
#   docker build -f docker/nginx.Dockerfile -t invsys/gateway:local .
# Two stages: `web` builds the static site (the admin UI, and Swagger UI's
# docs/ when web/'s build makes it) with Debian's nodejs and npm from
# web/package-lock.json; the gateway stage copies the result to
# /usr/share/invsys/web (GATEWAY_WEB_ROOT). The gateway's files keep the
# repository's layout under /usr/local/share/invsys-gateway, so the
# entrypoint finds the render script and the template as in a checkout.

FROM debian:bookworm-slim AS web
WORKDIR /src/web
COPY web/ ./
# web/node_modules comes with the build context when scripts/node-install.sh
# ran on the host (scripts/setup.sh runs it; npm ci from the same lockfile),
# so nothing is fetched from npm here: only Debian's nodejs is installed (a
# registry behind a TLS proxy the image does not trust would refuse npm).
# Without it, Debian's npm and npm ci from the registry. Debian 12's nodejs
# is 18: npm warns about web/package.json's engines (>= 20.19 is
# @redocly/cli's, a test tool); the site's build (esbuild, file copies)
# runs on 18. Install scripts stay off.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs \
    && if [ ! -d node_modules/esbuild ]; then \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm ca-certificates \
        && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error; \
    fi \
    && rm -rf /var/lib/apt/lists/*
# The site only: the type check runs in the test command (npm run build);
# node itself, not `npm run` (npm is only there when it had to install):
# the same two steps as web/package.json's build:site.
RUN mkdir -p /out && INVSYS_WEB_OUT=/out node scripts/build-app.mjs \
    && INVSYS_WEB_OUT=/out node scripts/build-docs.mjs \
    && test -f /out/index.html && find /out -name '*.map' -delete

FROM debian:bookworm-slim

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nginx curl \
    && rm -rf /var/lib/apt/lists/*

COPY nginx/invsys.conf.template /usr/local/share/invsys-gateway/nginx/invsys.conf.template
COPY scripts/render-nginx-conf.sh /usr/local/share/invsys-gateway/scripts/render-nginx-conf.sh
COPY docker/nginx-entrypoint.sh /usr/local/share/invsys-gateway/docker/nginx-entrypoint.sh
COPY --from=web /out/ /usr/share/invsys/web/

# The prefix belongs to the unprivileged www-data (nginx runs as it, master
# included: no `user` directive, port 8080). The logs go to the container's
# stdout and stderr (`docker compose logs nginx`).
RUN chmod 0755 /usr/local/share/invsys-gateway/docker/nginx-entrypoint.sh \
        /usr/local/share/invsys-gateway/scripts/render-nginx-conf.sh \
    && chmod 0644 /usr/local/share/invsys-gateway/nginx/invsys.conf.template \
    && chmod -R a+rX /usr/share/invsys/web \
    && mkdir -p /var/lib/invsys-gateway/logs /var/lib/invsys-gateway/tmp \
    && ln -sf /dev/stdout /var/lib/invsys-gateway/logs/access.log \
    && ln -sf /dev/stderr /var/lib/invsys-gateway/logs/error.log \
    && chown -R www-data:www-data /var/lib/invsys-gateway

# With the compose file's read-only root filesystem the prefix is a tmpfs:
# the entrypoint links the logs to stdout and stderr there again.
ENV GATEWAY_LOG_STDIO=1
USER www-data:www-data
# The rendered configuration must pass `nginx -t` as the user it runs as
# (in a scratch prefix: the real one logs to the container's stdio).
RUN GATEWAY_PREFIX=/tmp/gateway-check \
        /usr/local/share/invsys-gateway/docker/nginx-entrypoint.sh \
        nginx -t -q -p /tmp/gateway-check/ -c /tmp/gateway-check/nginx.conf -e stderr \
    && rm -rf /tmp/gateway-check

EXPOSE 8080
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "--max-time", "4", "http://127.0.0.1:8080/api/health"]
ENTRYPOINT ["/usr/local/share/invsys-gateway/docker/nginx-entrypoint.sh"]
