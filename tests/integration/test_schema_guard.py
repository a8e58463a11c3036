"""The schema guard (issue 15, migration 007): a binary refuses to start, with one clear log
line and a failing exit, on a database whose schema needs a newer binary; an older schema is
migrated forward and the guard raised."""

import sqlite3

from harness import StackTestCase, wait_until


class SchemaGuardTest(StackTestCase):

    def set_guard(self, version, minimum):
        if self.stack.is_postgresql:
            self.stack.pg.run("UPDATE schema_guard SET schema_version = ?, min_binary_schema = ?",
                                  (version, minimum))
            return
        conn = sqlite3.connect(self.stack.fcgi.db_path)
        with conn:
            conn.execute("UPDATE schema_guard SET schema_version = ?, min_binary_schema = ?", (version, minimum))
        conn.close()

    def test_a_newer_schema_is_refused_and_the_current_one_is_recorded(self):
        self.assertEqual(self.stack.query("SELECT schema_version, min_binary_schema FROM schema_guard"), [(7, 7)])
        self.stack.stop()
        try:
            self.set_guard(99, 99)
            self.stack.fcgi.start(ensure_key=False)
            self.assertTrue(wait_until(lambda: not self.stack.fcgi.alive(), 30), "invsys-fcgi kept running")
            self.assertNotEqual(self.stack.fcgi.proc.returncode, 0)
            self.assertIn("schema guard: the database is at schema version 99 and needs a binary that knows "
                          "schema 99 or later; this binary knows schema 7", self.stack.fcgi.log())
            check = self.stack.fcgi.admin("keys", "list")
            self.assertEqual(check.returncode, 1)
            self.assertIn(b"schema guard", check.stderr)
            # Forward-compatible: a newer schema that this binary may open still opens.
            self.set_guard(99, 7)
        finally:
            self.stack.start()
        self.assertEqual(self.req("GET", "/api/health").status, 200)
        self.assertEqual(self.stack.query("SELECT schema_version, min_binary_schema FROM schema_guard"), [(99, 7)])

    def test_an_old_schema_is_migrated_forward(self):
        self.stack.stop()
        try:
            # Back to schema 5: what a database of the previous release holds.
            if self.stack.is_postgresql:
                for sql in ("DROP TABLE schema_guard", "DROP TABLE audit_log",
                            "DELETE FROM schema_migrations WHERE version > 5"):
                    self.stack.pg.run(sql)
            else:
                conn = sqlite3.connect(self.stack.fcgi.db_path)
                with conn:
                    conn.execute("DROP TABLE schema_guard")
                    conn.execute("DROP TABLE audit_log")
                    conn.execute("DELETE FROM schema_migrations WHERE version > 5")
                conn.close()
        finally:
            self.stack.start()
        # invsys-admin (the harness's key) or a worker migrated: whoever came first.
        self.assertEqual(self.stack.query("SELECT version FROM schema_migrations WHERE version > 5 "
                                          "ORDER BY version"), [(6,), (7,)])
        self.assertEqual(self.stack.query("SELECT schema_version, min_binary_schema FROM schema_guard"), [(7, 7)])
        self.create_resource("cars", "after-migration")
        self.assertGreater(self.stack.query("SELECT count(*) FROM audit_log")[0][0], 0)


if __name__ == "__main__":
    import unittest
    unittest.main()
