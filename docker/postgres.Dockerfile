# PostgreSQL 15 for docker-compose.postgres.yaml, from Debian 12's own
# postgresql-15 (the version invsys is tested with), so that the whole
# deployment builds from Debian packages. Build context: the repository root
#   docker build -f docker/postgres.Dockerfile -t invsys/postgres:15-local .
# docker/postgres-entrypoint.sh initialises the cluster from the environment
# (POSTGRES_DB, POSTGRES_USER, POSTGRES_PASSWORD, as the Docker Hub image
# does) on the first start and runs the server as the postgres user.

FROM debian:bookworm-slim

# postgresql-15 only: no postgresql-common cluster (its maintainer scripts
# would create one in /var/lib/postgresql/15/main; ours lives in the volume).
# btree_gist, which invsys's migrations create, is part of postgresql-15.
# The postgres user first, with the Docker Hub image's fixed uid/gid (999),
# so that the volume's owner survives a rebuild and the compose file's tmpfs
# can name it.
RUN groupadd --system --gid 999 postgres \
    && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql \
        --no-create-home --shell /bin/sh postgres \
    && mkdir -p /etc/postgresql-common \
    && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/*

COPY docker/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
# The data directory (a named volume) and the socket directory belong to
# postgres: Docker gives a new named volume the mount point's owner.
RUN chmod 0755 /usr/local/bin/postgres-entrypoint \
    && mkdir -p /var/lib/postgresql/data /run/postgresql \
    && chown postgres:postgres /var/lib/postgresql/data /run/postgresql \
    && chmod 0700 /var/lib/postgresql/data \
    && chmod 2775 /run/postgresql

ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
# Over TCP: while the entrypoint initialises the cluster the server listens
# on its unix socket only, and must not count as ready yet.
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=10 \
    CMD ["sh", "-c", "pg_isready --host=127.0.0.1 --username=\"$POSTGRES_USER\" --dbname=\"$POSTGRES_DB\""]
ENTRYPOINT ["postgres-entrypoint"]
