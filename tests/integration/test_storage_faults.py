"""Storage faults on SQLite are 503 (or 507 for a full disk), never 500, and the health check tells
the truth (issue 11, "Storage faults are 503, never 500").

The database lives on a small tmpfs that this test mounts itself (`mount -t tmpfs -o size=…`), so
that the disk can really be filled, made read-only and freed again:

- a booking load runs while the tmpfs is filled up: bookings answer 201 or 507/503 problem+json
  with Retry-After, never 500; health answers 503 naming the full disk; every 201 is stored and
  nothing else is (no half-written booking); once the space is freed, the same load gets 201s
  again and health 200 — with no restart;
- the database file renamed away while the service runs: health 503 naming it, writes 503 (they
  would go to a file nobody finds any more); renamed back: healthy again.

(SQLITE_READONLY and SQLITE_IOERR map to 503 the same way: tests/unit/test_sqlite_store.cpp. A tmpfs
with the database open for writing cannot be remounted read-only.)

Needs root (mount); skipped with a message otherwise.
"""

import os
import subprocess
import sys
import time
import unittest

from harness import BookingLoad, PoolTestCase, utc_us, wait_until

TMPFS_SIZE = "6m"


def run(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)


@unittest.skipUnless(os.geteuid() == 0, "needs root to mount a size-limited tmpfs; CI runs as root")
class StorageFaultsTest(PoolTestCase):
    stack_options = {"threads": 4, "workers": 2}
    mounted = None

    @classmethod
    def prepare_stack(cls, stack):
        super().prepare_stack(stack)
        data_dir = os.path.dirname(stack.fcgi.db_path)
        run("mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0777", "invsys-test-tmpfs", data_dir)
        cls.mounted = data_dir

    @classmethod
    def setUpClass(cls):
        try:
            super().setUpClass()
        except BaseException:
            cls._unmount()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls._unmount()

    @classmethod
    def _unmount(cls):
        if cls.mounted is not None:
            subprocess.run(["umount", "-l", cls.mounted], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=30)
            cls.mounted = None

    def filler(self):
        return os.path.join(self.mounted, "filler")

    def fill_disk(self):
        """Writes a file until the tmpfs has no block left."""
        # Unbuffered: every write reaches the file system (and a close has nothing left to fail on).
        with open(self.filler(), "ab", buffering=0) as f:
            for size in (65536, 512):
                try:
                    for _ in range(100_000):
                        f.write(b"\0" * size)
                except OSError:
                    pass

    def free_disk(self):
        try:
            os.remove(self.filler())
        except FileNotFoundError:
            pass

    def health(self):
        return self.req("GET", "/api/health")

    def assertProblem(self, r, status, detail_part, msg=""):
        self.assertStatus(r, status, msg)
        self.assertEqual(r.content_type, "application/problem+json", msg + self._context(r))
        self.assertIn(detail_part, r.json().get("detail", ""), msg + self._context(r))
        self.assertEqual(r.headers.get("Retry-After"), "1", msg + self._context(r))

    def stored_count(self, rid):
        return self.stack.query("SELECT count(*) FROM allocations WHERE resource_id = ?", (rid,))[0][0]

    def test_a_disk_filled_during_a_booking_load_answers_507_and_recovers_by_itself(self):
        rids = [self.create_resource("cars", f"full-disk {k}")["id"] for k in range(2)]
        targets = [("cars", rid) for rid in rids]
        load = BookingLoad(self.stack.port, targets, clients=4, max_seconds=60, max_requests=4000, timeout=15,
                           base_us=utc_us(2200, 1, 1), pause_s=0.005)
        load.start()
        try:
            if load.wait_count(30, 20) < 30:
                self.fail(f"the load did not get going: {BookingLoad.statuses(load.snapshot())}\n" + self.log_tails())
            self.fill_disk()
            full_at = load.count()
            if not wait_until(lambda: any(r["status"] == 507 for r in load.snapshot()[full_at:]), 20):
                self.fail(f"no 507 with the disk full: {BookingLoad.statuses(load.snapshot()[full_at:])}\n"
                          + self.log_tails())
            self.assertProblem(self.health(), 503, "disk is full", "health with the disk full")
            time.sleep(0.5)
            self.free_disk()
            freed_at = time.monotonic()
            # By itself: the same load, no restart, is answered 201 again.
            recovered = wait_until(lambda: [r for r in load.snapshot()
                                            if r["start"] > freed_at + 0.5 and r["status"] == 201][:20]
                                   if len([r for r in load.snapshot()
                                           if r["start"] > freed_at + 0.5 and r["status"] == 201]) >= 20
                                   else None, 30)
            self.assertTrue(recovered, f"no recovery after the disk was freed: "
                            f"{BookingLoad.statuses([r for r in load.snapshot() if r['start'] > freed_at])}\n"
                            + self.log_tails())
        finally:
            self.free_disk()
            results = load.stop()
        counts = self.assertLoadResults(results, allowed=(201, 503, 507), msg="disk full:")
        sys.stderr.write(f"\n[storage faults] disk full load: {counts}\n")
        self.assertGreater(counts.get(507, 0), 0, counts)
        for r in results:
            if r["status"] in (503, 507):
                self.assertEqual(r["content_type"], "application/problem+json", r)
        # Nothing half-written: exactly the bookings answered 201 are stored.
        for rid in rids:
            created = sum(1 for r in results if r["rid"] == rid and r["status"] == 201)
            self.assertEqual(self.stored_count(rid), created, f"stored rows of {rid} vs its 201s")
        self.assertEqual(self.overlapping_pairs(), [])
        self.assertStatus(self.health(), 200, "health after the disk was freed")
        self.assertTrue(self.fcgi.alive(), self.fcgi.log_tail())

    def test_a_database_file_renamed_away_is_503_for_health_and_writes(self):
        rid = self.create_resource("cars", "renamed")["id"]
        db = self.stack.fcgi.db_path
        aside = db + ".aside"
        os.rename(db, aside)
        try:
            self.assertProblem(self.health(), 503, "removed or replaced", "health with the file renamed away")
            r = self.req("POST", f"/api/cars/{rid}/allocations",
                         json={"from_datetime": "2211-01-01T10:00:00Z", "to_datetime": "2211-01-01T11:00:00Z",
                               "allocation_type": "booking"})
            self.assertProblem(r, 503, "removed or replaced", "a write with the file renamed away")
        finally:
            os.rename(aside, db)
        self.assertStatus(self.health(), 200, "health with the file back")
        self.assertStatus(self.req("POST", f"/api/cars/{rid}/allocations",
                                   json={"from_datetime": "2211-01-01T10:00:00Z",
                                         "to_datetime": "2211-01-01T11:00:00Z", "allocation_type": "booking"}),
                          201)


if __name__ == "__main__":
    unittest.main()
