# invsys-fcgi and its plugins. Build context: the repository root
#   docker build -f docker/invsys.Dockerfile -t invsys/invsys-fcgi:local .
# (docker-compose.yaml does this). Debian 12 packages only, the same as
# scripts/setup.sh: the build stage has the build dependencies, the runtime
# stage only the shared libraries the binary and plugins link against.

FROM debian:bookworm-slim AS build

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        g++ cmake make pkg-config \
        libfcgi-dev \
        libsoci-dev libsqlite3-dev libpq-dev rapidjson-dev \
        libboost-dev libboost-filesystem-dev \
    && rm -rf /var/lib/apt/lists/*

# Only what the build reads, so that a change to the scripts, docs, tests or
# the other images' files keeps the compiled layer cached.
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY core core
COPY fcgi fcgi
COPY plugins plugins
COPY admin admin
# Release, no tests (they run on the build machine: scripts/test.sh).
# BUILD_JOBS: parallel compile jobs (default: every core of the builder;
# docker-compose.yaml passes INVSYS_BUILD_JOBS).
ARG BUILD_JOBS=
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DINVSYS_PACKAGE=OFF \
    && cmake --build /build -j"${BUILD_JOBS:-$(nproc)}" \
    && mkdir -p /out/bin /out/plugins \
    && cp /build/fcgi/invsys-fcgi /build/admin/invsys-admin /out/bin/ \
    && cp /build/plugins/*.so /out/plugins/ \
    && strip --strip-unneeded /out/bin/invsys-fcgi /out/bin/invsys-admin /out/plugins/*.so


FROM debian:bookworm-slim

# Runtime libraries (libsoci-postgresql4.0 and libpq5 for a postgresql:
# database URL; libssl3 for the SHA-256 of API keys) and cgi-fcgi
# (libfcgi-bin) for the health check.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libfcgi0ldbl libfcgi-bin \
        libsoci-core4.0 libsoci-sqlite3-4.0 libsoci-postgresql4.0 \
        libsqlite3-0 libpq5 libssl3 \
        libboost-filesystem1.74.0 \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid, so volume ownership survives a rebuild.
RUN groupadd --system --gid 10001 invsys \
    && useradd --system --uid 10001 --gid invsys --home-dir /var/lib/invsys \
        --no-create-home --shell /usr/sbin/nologin invsys

COPY --from=build /out/bin/invsys-fcgi /usr/local/bin/invsys-fcgi
COPY --from=build /out/bin/invsys-admin /usr/local/bin/invsys-admin
COPY --from=build /out/plugins/ /usr/lib/invsys/builtin-plugins/
COPY docker/invsys.conf /etc/invsys/invsys.conf
COPY docker/invsys-entrypoint.sh /usr/local/bin/invsys-entrypoint
COPY docker/invsys-healthcheck.sh /usr/local/bin/invsys-healthcheck

# /usr/lib/invsys/plugins (the plugin volume) and /var/lib/invsys (the data
# volume) belong to invsys: Docker gives a new named volume the mount
# point's owner and content. Fail the build if any library is missing.
RUN chmod 0755 /usr/local/bin/invsys-fcgi /usr/local/bin/invsys-entrypoint \
        /usr/local/bin/invsys-healthcheck \
    && chmod 0644 /etc/invsys/invsys.conf /usr/lib/invsys/builtin-plugins/*.so \
    && mkdir -p /usr/lib/invsys/plugins /var/lib/invsys /var/backups/invsys \
    && cp /usr/lib/invsys/builtin-plugins/*.so /usr/lib/invsys/plugins/ \
    && chown -R invsys:invsys /usr/lib/invsys/plugins /var/lib/invsys /var/backups/invsys \
    && chmod 0755 /usr/lib/invsys/plugins /var/lib/invsys /var/backups/invsys \
    && if ldd /usr/local/bin/invsys-fcgi /usr/lib/invsys/builtin-plugins/*.so | grep 'not found'; then \
        echo "missing runtime libraries" >&2; exit 1; \
    fi

ENV INVSYS_CONFIG=/etc/invsys/invsys.conf
USER invsys:invsys
# The container's configuration, the plugins and a database must load, as
# the user the service runs as (a scratch database; the volume comes later).
RUN INVSYS_DATABASE=sqlite:/tmp/invsys-check.db \
        INVSYS_PLUGIN_DIR=/usr/lib/invsys/builtin-plugins invsys-fcgi --check \
    && rm -f /tmp/invsys-check.db*
WORKDIR /var/lib/invsys
# FastCGI, for the compose network only: never publish it.
EXPOSE 9000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["invsys-healthcheck"]
ENTRYPOINT ["invsys-entrypoint"]
