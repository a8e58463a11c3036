"""Where things are and how long to wait: the harness's constants, in one place.

Paths come from the environment (CTest sets INVSYS_BUILD_DIR and INVSYS_SOURCE_DIR, see
tests/integration/CMakeLists.txt); without it the source tree is the one holding this package
and the build tree is <source>/build.

Environment:
    INVSYS_BUILD_DIR   the CMake build directory (invsys-fcgi, plugins, test plugins)
    INVSYS_SOURCE_DIR  the source tree (scripts/render-nginx-conf.sh, scripts/pg-test-cluster.sh)
    INVSYS_TEST_KEEP   set to 1 to keep the temporary directories
    INVSYS_TEST_TMPDIR where the temporary directories go (default /tmp; every
                       component must be traversable by nginx's workers)
    INVSYS_TEST_POSTGRESQL_URL
                       for Stack(database="postgresql"): the URL of a running test cluster's
                       database (scripts/pg-test-cluster.sh url DIR; a CTest fixture starts it);
                       each Stack gets a fresh database of its own on that server. Unset: each
                       Stack starts a private cluster in its temporary directory.
    INVSYS_PG_BIN      PostgreSQL's programs (default /usr/lib/postgresql/15/bin)
"""

import os
import shutil

SOURCE_DIR = os.path.abspath(
    os.environ.get("INVSYS_SOURCE_DIR")
    or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
BUILD_DIR = os.path.abspath(os.environ.get("INVSYS_BUILD_DIR") or os.path.join(SOURCE_DIR, "build"))

FCGI_BINARY = os.path.join(BUILD_DIR, "fcgi", "invsys-fcgi")
ADMIN_BINARY = os.path.join(BUILD_DIR, "admin", "invsys-admin")
BUILTIN_PLUGIN_DIR = os.path.join(BUILD_DIR, "plugins")
BUILTIN_PLUGINS = ("libinvsys-car.so", "libinvsys-lorry.so", "libinvsys-truck.so")
TEST_PLUGIN_DIR = os.path.join(BUILD_DIR, "test-plugins")
RENDER_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "render-nginx-conf.sh")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

IS_ROOT = os.geteuid() == 0
# nginx run as root drops its workers to nobody:invsys (see the rendered conf); invsys-fcgi's
# peer check allows the socket's group. scripts/setup.sh creates the group; so does this
# harness (below) when tests run as root on a machine where setup.sh never ran.
SOCKET_GROUP = "invsys" if IS_ROOT else None

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
HTTP_TIMEOUT_S = 30.0
KEEP_TMPDIRS = os.environ.get("INVSYS_TEST_KEEP") == "1"
TMPDIR_BASE = os.environ.get("INVSYS_TEST_TMPDIR", "/tmp")

# PostgreSQL (postgresql.py)
PG_BIN = os.environ.get("INVSYS_PG_BIN", "/usr/lib/postgresql/15/bin")
PSQL = os.path.join(PG_BIN, "psql") if os.path.exists(os.path.join(PG_BIN, "psql")) \
    else (shutil.which("psql") or "/usr/bin/psql")
PG_CLUSTER_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "pg-test-cluster.sh")
PSQL_TIMEOUT_S = 60.0
PG_CLUSTER_TIMEOUT_S = 120.0
POSTGRESQL_URL_VARS = ("INVSYS_TEST_POSTGRESQL_URL", "INVSYS_PG_TEST_URL")
