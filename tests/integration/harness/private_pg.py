"""PrivatePgPoolTestCase: one invsys pool (1 worker) and nginx on a private PostgreSQL cluster of
the test class's own, for tests that stop, freeze or cut off that server (the run's shared
cluster must never be touched)."""

import os
import shutil

from .assertions import ApiAssertions
from .files import make_tmpdir, mkdir_public
from .http_client import http_request, set_default_key
from .postgresql import PgDatabase
from .processes import wait_until
from .settings import BUILTIN_PLUGIN_DIR, BUILTIN_PLUGINS
from .stack import Fcgi, Nginx


class PrivatePgPoolTestCase(ApiAssertions):
    """Subclasses set `tmp_prefix`, `fcgi_config` (extra config keys), `nginx_read_timeout`,
    optionally `pg_tcp_port()` (the cluster then listens on loopback TCP too and invsys uses
    it), and `undo_fault()` (called first at teardown: resume the server, restore the route)."""

    tmp_prefix = "invsys-it-pgprivate-"
    fcgi_config = {}
    nginx_read_timeout = None

    @classmethod
    def pg_tcp_port(cls):
        return None

    @classmethod
    def undo_fault(cls):
        pass

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = make_tmpdir(cls.tmp_prefix)
        cls.pg = cls.fcgi = cls.nginx = None
        try:
            tcp_port = cls.pg_tcp_port()
            cls.pg = PgDatabase(private_dir=os.path.join(cls.root, "pg"), private=True,
                                tcp_port=tcp_port).create()
            plugin_dir = mkdir_public(os.path.join(cls.root, "plugins"))
            for name in BUILTIN_PLUGINS:
                shutil.copyfile(os.path.join(BUILTIN_PLUGIN_DIR, name), os.path.join(plugin_dir, name))
                os.chmod(os.path.join(plugin_dir, name), 0o755)
            cls.fcgi = Fcgi(mkdir_public(os.path.join(cls.root, "pool")), threads=4, workers=1,
                            plugin_dir=plugin_dir, database=cls.pg.tcp_url if tcp_port else cls.pg.url,
                            extra_config=dict(cls.fcgi_config))
            cls.fcgi.start()
            cls.nginx = Nginx(cls.root, f"unix:{cls.fcgi.socket_path}", read_timeout=cls.nginx_read_timeout).start()
            set_default_key(cls.nginx.port, cls.fcgi.admin_key)  # as Stack.start does
            ok = wait_until(lambda: http_request(cls.nginx.port, "GET", "/api/health", timeout=5).status == 200,
                            30, interval=0.1)
            if not ok:
                raise AssertionError("not healthy\n" + cls.fcgi.log_tail())
        except BaseException:
            cls._teardown()
            raise

    @classmethod
    def _teardown(cls):
        try:
            cls.undo_fault()
            if cls.nginx is not None:
                cls.nginx.stop()
            if cls.fcgi is not None:
                cls.fcgi.stop()
        finally:
            try:
                if cls.pg is not None:
                    cls.pg.drop()
            finally:
                shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        try:
            cls._teardown()
        finally:
            super().tearDownClass()

    def log_tails(self, lines=15):
        return self.fcgi.log_tail(lines)
