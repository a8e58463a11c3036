"""GET /api/health and the service process: configuration, socket, start-up failure,
clean stop, restart on the same database, environment overrides, TCP listening."""

import grp
import os
import re
import signal
import stat
import time
import unittest

import shutil
import sqlite3

from harness import (ApiAssertions, Fcgi, SOCKET_GROUP, StackTestCase, fcgi_request, free_port, make_tmpdir,
                     mkdir_public, BUILTIN_PLUGIN_DIR, BUILTIN_PLUGINS)
from harness.log_lines import CONFIGURATION_ERROR, SERVICE_START_FAILED


class HealthTest(StackTestCase):

    def test_health_is_200_ok_json(self):
        r = self.req("GET", "/api/health")
        body = self.assertJson(r)
        self.assertIsInstance(body, dict)
        self.assertEqual(body.get("status"), "ok")

    def test_health_answers_many_times_in_a_row(self):
        for _ in range(50):
            self.assertEqual(self.assertJson(self.req("GET", "/api/health")).get("status"), "ok")

    def test_the_database_is_sqlite_in_wal_mode(self):
        self.assertEqual(self.stack.query("PRAGMA journal_mode")[0][0].lower(), "wal")
        tables = {r[0] for r in self.stack.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        self.assertLessEqual({"resources", "allocations"}, tables)

    def test_the_socket_is_0660_and_reachable_by_the_gateway_group(self):
        st = os.stat(self.stack.fcgi.socket_path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660, oct(stat.S_IMODE(st.st_mode)))
        if SOCKET_GROUP:
            self.assertEqual(grp.getgrgid(st.st_gid).gr_name, SOCKET_GROUP)



class LifecycleTest(StackTestCase):

    def test_sigterm_stops_cleanly_and_a_restart_keeps_every_row(self):
        r = self.req("POST", "/api/cars", json={"name": "Survivor", "attributes": {"seats": 3}})
        self.assertStatus(r, 201)
        car = r.json()
        a = self.create_allocation("cars", car["id"], "2030-01-01T10:00:00Z", None, description="kept")
        rc = self.stack.fcgi.stop(signal.SIGTERM, timeout=15)
        self.assertEqual(rc, 0, "invsys-fcgi exits 0 on SIGTERM\n" + self.stack.log_tails())
        self.assertEqual(self.stack.fcgi.leftover, [], "processes left behind after the stop")
        # The gateway now answers 502 problem+json.
        self.assertProblem(self.req("GET", "/api/health"), 502)
        # Same config, same database.
        self.stack.fcgi.start()
        self.stack.wait_healthy()
        self.assertEqual(self.assertJson(self.req("GET", f"/api/cars/{car['id']}")), car)
        self.assertEqual(self.assertJson(self.req("GET", f"/api/cars/{car['id']}/allocations")), [a])
        self.assertProblem(self.req("POST", "/api/cars", json={"name": "Survivor"}), 409)

    def test_sigint_stops_cleanly_too(self):
        self.stack.fcgi.stop(signal.SIGINT, timeout=15)
        self.assertEqual(self.stack.fcgi.returncode, 0, self.stack.log_tails())
        self.assertEqual(self.stack.fcgi.leftover, [], "processes left behind after the stop")
        self.stack.fcgi.start()
        self.stack.wait_healthy()


class StartupFailureTest(ApiAssertions):

    def setUp(self):
        self.root = make_tmpdir("invsys-it-fail-")
        self.plugins = mkdir_public(os.path.join(self.root, "plugins"))
        for name in BUILTIN_PLUGINS:
            shutil.copyfile(os.path.join(BUILTIN_PLUGIN_DIR, name), os.path.join(self.plugins, name))
        self.fcgi = None

    def tearDown(self):
        if self.fcgi:
            self.fcgi.stop(timeout=5)
        if os.environ.get("INVSYS_TEST_KEEP") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    def run_to_exit(self, **kw):
        self.fcgi = Fcgi(self.root, plugin_dir=self.plugins, **kw).start()
        rc = self.fcgi.wait_exit(15)
        self.assertIsNotNone(rc, "invsys-fcgi kept running\n" + self.fcgi.log_tail())
        return rc

    def test_a_database_that_cannot_be_opened_exits_1_with_a_log_line(self):
        for database in ("sqlite:/nonexistent-dir-for-invsys/sub/invsys.db",
                         f"sqlite:{self.plugins}"):   # a directory
            with self.subTest(database=database):
                rc = self.run_to_exit(database=database)
                self.assertEqual(rc, 1, self.fcgi.log_tail())
                log = self.fcgi.log()
                path = database.split(":", 1)[1]
                self.assertTrue(path in log or "database" in log.lower(),
                                f"the log says what failed:\n{log[-2000:]}")
                self.assertTrue(SERVICE_START_FAILED.lines(log), f"the documented line says it:\n{log[-2000:]}")
                open(self.fcgi.log_path, "w").close()

    def test_a_file_that_is_not_a_database_exits_1(self):
        bad = os.path.join(self.root, "garbage.db")
        with open(bad, "wb") as f:
            f.write(b"this is not an SQLite database at all" * 100)
        rc = self.run_to_exit(database=f"sqlite:{bad}")
        self.assertEqual(rc, 1, self.fcgi.log_tail())
        self.assertTrue(self.fcgi.log().strip())
        with open(bad, "rb") as f:
            self.assertTrue(f.read().startswith(b"this is not an SQLite database"), "the file was overwritten")

    def test_an_unknown_config_key_is_refused(self):
        rc = self.run_to_exit(extra_config={"no_such_key": "1"})
        self.assertNotEqual(rc, 0)
        self.assertIn("no_such_key", self.fcgi.log())
        self.assertTrue(CONFIGURATION_ERROR.lines(self.fcgi.log(), detail=re.compile(r".*unknown key 'no_such_key'")),
                        self.fcgi.log_tail())


class TcpListenTest(ApiAssertions):
    """listen = 127.0.0.1:PORT, spoken to directly over FastCGI."""

    def test_invsys_serves_fastcgi_on_loopback_tcp(self):
        root = make_tmpdir("invsys-it-tcp-")
        plugins = mkdir_public(os.path.join(root, "plugins"))
        for name in BUILTIN_PLUGINS:
            shutil.copyfile(os.path.join(BUILTIN_PLUGIN_DIR, name), os.path.join(plugins, name))
        fcgi = None
        status, headers = None, {}
        try:
            for _attempt in range(3):
                port = free_port()
                fcgi = Fcgi(root, plugin_dir=plugins, listen=f"127.0.0.1:{port}").start()
                deadline = time.monotonic() + 10
                status = None
                while time.monotonic() < deadline and fcgi.alive():
                    try:
                        status, headers, body = fcgi_request(("127.0.0.1", port), "GET", "/api/health")
                        if status == 200:
                            break
                    except OSError:
                        time.sleep(0.05)
                if status == 200 or "in use" not in fcgi.log():
                    break
                fcgi.stop()
            self.assertEqual(status, 200, fcgi.log_tail())
            self.assertIn("json", headers.get("content-type", ""))
            status, headers, body = fcgi_request(("127.0.0.1", port), "POST", "/api/cars",
                                                 body=b'{"name": "tcp car"}')
            self.assertEqual(status, 201, body)
            self.assertIn("/api/cars/", headers.get("location", ""))
            # invsys enforces the 1 MiB body limit itself too, behind any gateway.
            for size in (1024 * 1024 + 1, 2 * 1024 * 1024):
                body = b'{"name": "' + b"x" * (size - 12) + b'"}'
                self.assertEqual(len(body), size)
                status, headers, payload = fcgi_request(("127.0.0.1", port), "POST", "/api/cars", body=body)
                self.assertEqual(status, 413, payload[:300])
                self.assertIn("application/problem+json", headers.get("content-type", ""))
            self.assertEqual(fcgi.stop(), 0, fcgi.log_tail())
        finally:
            if fcgi:
                fcgi.stop(timeout=5)
            shutil.rmtree(root, ignore_errors=True)


class EnvironmentOverrideTest(StackTestCase):
    """INVSYS_<KEY> overrides the config file."""

    @classmethod
    def prepare_stack(cls, stack):
        cls.other_db = os.path.join(mkdir_public(os.path.join(stack.root, "other")), "env.db")
        stack.fcgi.extra_env = {"INVSYS_DATABASE": f"sqlite:{cls.other_db}"}

    def test_invsys_database_overrides_the_config_file(self):
        r = self.req("POST", "/api/cars", json={"name": "Env Car"})
        self.assertStatus(r, 201)
        self.assertTrue(os.path.exists(self.other_db))
        conn = sqlite3.connect(f"file:{self.other_db}?mode=ro", uri=True, timeout=10)
        try:
            self.assertEqual(conn.execute("SELECT name FROM resources WHERE id = ?", (r.json()["id"],)).fetchall(),
                             [("Env Car",)])
        finally:
            conn.close()
        if os.path.exists(self.stack.fcgi.db_path):
            conn = sqlite3.connect(f"file:{self.stack.fcgi.db_path}?mode=ro", uri=True, timeout=10)
            try:
                rows = conn.execute("SELECT count(*) FROM resources").fetchall()
            except sqlite3.Error:
                rows = [(0,)]
            finally:
                conn.close()
            self.assertEqual(rows, [(0,)])


if __name__ == "__main__":
    unittest.main()
