"""invsys-admin backup / restore on SQLite (issue 15): a backup taken under a booking load holds
every booking acknowledged before it started, passes integrity_check, has no overlap, and a
service started on the restored copy serves it and takes writes; restore refuses a running
service, a file that is not an invsys database and a newer schema."""

import os
import sqlite3
import time

from harness import BookingLoad, Stack, StackTestCase


def overlaps(conn):
    return conn.execute(
        "SELECT count(*) FROM allocations a JOIN allocations b ON a.resource_id = b.resource_id "
        "AND a.id < b.id AND a.from_us < b.to_us AND b.from_us < a.to_us").fetchone()[0]


class BackupUnderLoadTest(StackTestCase):

    def test_a_backup_under_load_restores_with_nothing_acknowledged_lost(self):
        targets = [("cars", self.create_resource("cars", f"load-car-{i}")["id"]) for i in range(4)]
        load = BookingLoad(self.stack.port, targets, clients=4, max_seconds=20, max_requests=3000)
        load.start()
        try:
            load.wait_count(100, timeout=20)
            started = time.monotonic()
            acknowledged = {(r["rid"], r["from_us"]) for r in load.snapshot()
                            if r["status"] == 201 and r["end"] < started}
            backup = os.path.join(self.stack.root, "backup.db")
            r = self.stack.fcgi.admin("backup", backup)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"backed up the database to", r.stderr)
            load.wait_count(len(load.snapshot()) + 20, timeout=20)  # writes went on meanwhile
        finally:
            load.stop()
        self.assertNotIn(None, {r["status"] for r in load.results})
        self.assertEqual({r["status"] for r in load.results}, {201})
        self.assertEqual(self.stack.fcgi.admin("backup", backup).returncode, 1)  # never overwritten

        conn = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            self.assertEqual(conn.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            stored = set(conn.execute("SELECT resource_id, from_us FROM allocations").fetchall())
            self.assertEqual(overlaps(conn), 0)
            audited = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        finally:
            conn.close()
        self.assertLessEqual(len(acknowledged), len(stored))
        self.assertEqual(acknowledged - stored, set(), "acknowledged bookings missing from the backup")
        self.assertGreater(audited, len(acknowledged))  # the trail is in the backup

        # Restore into a new stack (its own database), then serve from it.
        other = Stack()
        try:
            other.start()
            refused = other.fcgi.admin("restore", backup)
            self.assertEqual(refused.returncode, 1)
            self.assertIn(b"running invsys service", refused.stderr)
            other.stop()
            restored = other.fcgi.admin("restore", backup)
            self.assertEqual(restored.returncode, 0, restored.stderr)
            for side in ("-wal", "-shm"):
                self.assertFalse(os.path.exists(other.fcgi.db_path + side), side)
            other.start()
            rid = targets[0][1]
            self.assertEqual(other.request("GET", f"/api/cars/{rid}").status, 200)
            listed = other.request("GET", f"/api/cars/{rid}/allocations?limit=1000").json()
            self.assertEqual(len(listed), sum(1 for r, _ in stored if r == rid))
            new = other.request("POST", f"/api/cars/{rid}/allocations",
                                json={"from_datetime": "1999-01-01T00:00:00Z",
                                      "to_datetime": "1999-01-01T01:00:00Z", "allocation_type": "booking"})
            self.assertEqual(new.status, 201, new.body)
        finally:
            other.stop(quiet=True)
            other.cleanup()


class RestoreRefusalTest(StackTestCase):

    def restore(self, path):
        return self.stack.fcgi.admin("restore", path)

    def test_restore_refuses_what_is_not_an_invsys_database_or_is_newer(self):
        self.stack.stop()
        try:
            junk = os.path.join(self.stack.root, "junk.db")
            with open(junk, "wb") as f:
                f.write(b"not a database at all" * 100)
            r = self.restore(junk)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"not an SQLite database", r.stderr)

            other = os.path.join(self.stack.root, "other.db")
            conn = sqlite3.connect(other)
            conn.execute("CREATE TABLE t (x)")
            conn.commit()
            conn.close()
            r = self.restore(other)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"not an invsys database", r.stderr)

            backup = os.path.join(self.stack.root, "newer.db")
            self.assertEqual(self.stack.fcgi.admin("backup", backup).returncode, 0)
            conn = sqlite3.connect(backup)
            conn.execute("UPDATE schema_guard SET schema_version = 99, min_binary_schema = 99")
            conn.execute("INSERT INTO schema_migrations (version, applied_us) VALUES (99, 0)")
            conn.commit()
            conn.close()
            r = self.restore(backup)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"schema guard: the database is at schema version 99", r.stderr)
            # Nothing was touched: the service starts on its own database.
        finally:
            self.stack.start()
        self.assertEqual(self.req("GET", "/api/health").status, 200)


if __name__ == "__main__":
    import unittest
    unittest.main()
