"""The service-level suites (health and lifecycle, plugins, gateway, the pool's master) against
PostgreSQL, plus PostgreSQL's own start-up and schema checks. A fresh database per test class on the
run's PostgreSQL cluster (see test_pg_api)."""

import os
import shutil
import unittest

import test_gateway
import test_health
import test_plugins
import test_pool_master
from harness import (ApiAssertions, BUILTIN_PLUGIN_DIR, BUILTIN_PLUGINS, Fcgi, PgDatabase, StackTestCase, pg_classes,
                     make_tmpdir, mkdir_public)
from harness.log_lines import SERVICE_START_FAILED


_SKIP = {
    "HealthTest.test_the_database_is_sqlite_in_wal_mode":
        "SQLite-specific (PRAGMA journal_mode); see PgSchemaTest for PostgreSQL's schema",
    "EnvironmentOverrideTest": "SQLite-specific: reads a second SQLite file named by INVSYS_DATABASE",
}

for _module in (test_health, test_plugins, test_gateway, test_pool_master):
    for _name, _cls in pg_classes(_module, skip=_SKIP).items():
        _cls.__module__ = __name__
        globals()[_name] = _cls
del _module, _name, _cls


class PgSchemaTest(StackTestCase):
    """What invsys made of a fresh PostgreSQL database: the migrated tables and the constraint that
    carries the no-overlap invariant."""
    DATABASE = "postgresql"

    def test_the_schema_has_the_tables_and_the_exclusion_constraint(self):
        tables = {r[0] for r in self.stack.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
        self.assertLessEqual({"resources", "allocations", "schema_migrations"}, tables)
        self.assertEqual(self.stack.query(
            "SELECT contype, pg_get_constraintdef(oid) LIKE '%EXCLUDE USING gist (resource_id WITH =, blocked WITH &&)%'"
            " FROM pg_constraint WHERE conrelid = 'allocations'::regclass AND contype = 'x'"), [("x", True)])
        self.assertEqual(self.stack.query(
            "SELECT data_type, is_nullable FROM information_schema.columns"
            " WHERE table_name = 'allocations' AND column_name = 'blocked'"), [("tstzrange", "NO")])

    def test_open_ends_are_unbounded_range_ends(self):
        car = self.create_resource("cars", "open ends", None, "Car")
        a = self.create_allocation("cars", car["id"], None, "2030-01-01T00:00:00Z")
        b = self.create_allocation("cars", car["id"], "2031-01-01T00:00:00Z", None)
        rows = dict((r[0], r[1:]) for r in self.stack.query(
            "SELECT id, lower_inf(blocked), upper_inf(blocked), lower(blocked) = timestamptz '2031-01-01 00:00:00+00',"
            " upper(blocked) = timestamptz '2030-01-01 00:00:00+00' FROM allocations WHERE resource_id = ?",
            (car["id"],)))
        self.assertEqual(rows[a["id"]], (True, False, None, True))
        self.assertEqual(rows[b["id"]], (False, True, True, None))


class PgStartupFailureTest(ApiAssertions):
    """A PostgreSQL database that cannot be reached makes invsys-fcgi exit 1 with a log line."""

    def setUp(self):
        self.root = make_tmpdir("invsys-it-pgfail-")
        self.plugins = mkdir_public(os.path.join(self.root, "plugins"))
        for name in BUILTIN_PLUGINS:
            shutil.copyfile(os.path.join(BUILTIN_PLUGIN_DIR, name), os.path.join(self.plugins, name))
        self.fcgi = None

    def tearDown(self):
        if self.fcgi:
            self.fcgi.stop(timeout=5)
        if os.environ.get("INVSYS_TEST_KEEP") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    def test_an_unreachable_or_missing_database_exits_1_with_a_log_line(self):
        missing = None
        if os.environ.get("INVSYS_TEST_POSTGRESQL_URL"):
            db = PgDatabase()   # not created: a database that does not exist on a running server
            missing = db.url
        for database in filter(None, (f"postgresql://invsys@{self.root.replace('/', '%2F')}%2Fno-server/invsys",
                                      missing)):
            with self.subTest(database=database):
                self.fcgi = Fcgi(self.root, plugin_dir=self.plugins, database=database).start()
                rc = self.fcgi.wait_exit(30)
                self.assertIsNotNone(rc, "invsys-fcgi kept running\n" + self.fcgi.log_tail())
                self.assertEqual(rc, 1, self.fcgi.log_tail())
                self.assertIn("database", self.fcgi.log().lower(), self.fcgi.log_tail())
                self.assertTrue(SERVICE_START_FAILED.lines(self.fcgi.log()), self.fcgi.log_tail())
                open(self.fcgi.log_path, "w").close()


if __name__ == "__main__":
    unittest.main()
