"""invsys-admin backup / restore on PostgreSQL (pg_dump -Fc / pg_restore): a backup under a
booking load holds every booking acknowledged before it started; restore refuses while the
pool is connected and brings the data back once it is stopped."""

import os
import time

from harness import BookingLoad, StackTestCase


class PgBackupTest(StackTestCase):
    DATABASE = "postgresql"

    def test_backup_under_load_and_restore(self):
        targets = [("cars", self.create_resource("cars", f"pg-load-{i}")["id"]) for i in range(2)]
        load = BookingLoad(self.stack.port, targets, clients=2, max_seconds=15, max_requests=1000)
        load.start()
        try:
            load.wait_count(40, timeout=15)
            started = time.monotonic()
            acknowledged = {r["rid"] + str(r["from_us"]) for r in load.snapshot()
                            if r["status"] == 201 and r["end"] < started}
            backup = os.path.join(self.stack.root, "invsys.dump")
            r = self.stack.fcgi.admin("backup", backup)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            load.stop()
        refused = self.stack.fcgi.admin("restore", backup)
        self.assertEqual(refused.returncode, 1)
        self.assertIn(b"other sessions use the database", refused.stderr)

        self.stack.stop()
        try:
            self.stack.pg.run("DELETE FROM allocations")
            r = self.stack.fcgi.admin("restore", backup)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            self.stack.start()
        stored = {rid + str(f) for rid, f in self.stack.query("SELECT resource_id, from_us FROM allocations")}
        self.assertEqual(acknowledged - stored, set())
        self.assertGreater(self.stack.query("SELECT count(*) FROM audit_log")[0][0], len(acknowledged))


if __name__ == "__main__":
    import unittest
    unittest.main()
