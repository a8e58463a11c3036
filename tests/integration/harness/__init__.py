"""Integration test harness: the real nginx and the real invsys-fcgi on loopback.

The package, one purpose per module:

    settings     paths (INVSYS_BUILD_DIR, INVSYS_SOURCE_DIR), timeouts, the environment
    errors       HarnessError
    values       the API's values: UTC times, microsecond counts, ids, field sets
    files        temporary directories, log tails, test plugins, the socket group
    processes    processes from /proc, stopping them, bounded waiting
    http_client  HTTP through the gateway (Response, http_request, Link / Location)
    fcgi_client  a raw FastCGI client (straight to invsys-fcgi)
    postgresql   a fresh PostgreSQL database per Stack, psql, a sqlite3-like connection
    stack        Fcgi, Nginx, HangingUpstream, Stack
    load         BookingLoad: a bounded background load of bookings
    assertions   ApiAssertions, StackTestCase
    pool         PoolTestCase: helpers for the worker pool's tests
    private_pg   PrivatePgPoolTestCase: a pool on a private PostgreSQL cluster a test may stop
    pg_suites    pg_classes: existing suites again on PostgreSQL
    log_lines    the exact log lines the tests expect, with the source file that writes each

Everything public is re-exported here: test files say `from harness import StackTestCase, ...`.
"""

from .assertions import ApiAssertions, StackTestCase
from .errors import HarnessError
from . import log_lines
from .fcgi_client import fcgi_pair, fcgi_record, fcgi_request
from .files import ensure_socket_group, find_test_plugin, make_tmpdir, mkdir_public, tail
from .http_client import STACK_KEY, Response, default_key, free_port, http_request, link_next, location_path, set_default_key
from .load import BookingLoad
from .pg_suites import pg_classes
from .pool import PoolTestCase
from .private_pg import PrivatePgPoolTestCase
from .postgresql import PgConnection, PgDatabase, PgError, parse_pg_url, pg_bind, pg_literal, psql
from .processes import (children_of, is_running, proc_identity, proc_io, proc_maps, proc_socket_inodes, proc_stat,
                        proc_thread_count, process_group, process_tree, stop_process, unix_listening_inodes,
                        wait_until)
from .settings import (ADMIN_BINARY, BUILD_DIR, BUILTIN_PLUGIN_DIR, BUILTIN_PLUGINS, FCGI_BINARY, HTTP_TIMEOUT_S, IS_ROOT, NGINX,
                       RENDER_SCRIPT, SOCKET_GROUP, SOURCE_DIR, START_TIMEOUT_S, STOP_TIMEOUT_S, TEST_PLUGIN_DIR)
from .stack import Fcgi, HangingUpstream, Nginx, Stack
from .values import (ALLOCATION_FIELDS, HOUR_US, INT64_MAX, INT64_MIN, RESOURCE_FIELDS, UTC_RE, UUID_RE,
                     allocation_payload, iso, now_us, parse_utc, utc_us)

__all__ = [
    "ADMIN_BINARY", "STACK_KEY", "default_key", "set_default_key", "ALLOCATION_FIELDS", "allocation_payload", "ApiAssertions", "BUILD_DIR", "BUILTIN_PLUGINS", "BUILTIN_PLUGIN_DIR", "BookingLoad",
    "FCGI_BINARY", "Fcgi", "HOUR_US", "HTTP_TIMEOUT_S", "HangingUpstream", "HarnessError", "INT64_MAX", "INT64_MIN",
    "IS_ROOT", "NGINX", "Nginx", "PgConnection", "PgDatabase", "PgError", "PoolTestCase", "PrivatePgPoolTestCase", "RENDER_SCRIPT",
    "RESOURCE_FIELDS", "Response", "SOCKET_GROUP", "SOURCE_DIR", "START_TIMEOUT_S", "STOP_TIMEOUT_S", "Stack",
    "StackTestCase", "TEST_PLUGIN_DIR", "UTC_RE", "UUID_RE", "children_of", "ensure_socket_group", "fcgi_pair",
    "fcgi_record", "fcgi_request", "find_test_plugin", "free_port", "http_request", "is_running", "iso",
    "link_next", "location_path", "make_tmpdir", "mkdir_public", "now_us", "parse_pg_url", "parse_utc",
    "pg_bind", "pg_classes", "pg_literal", "proc_identity", "proc_io", "proc_maps", "proc_socket_inodes",
    "proc_stat", "proc_thread_count", "process_group", "process_tree", "psql", "stop_process", "tail",
    "unix_listening_inodes", "utc_us", "wait_until", "log_lines",
]
