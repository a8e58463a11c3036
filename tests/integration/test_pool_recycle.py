"""Recycling: with max_requests = 20 a worker exits after its 20th request and the master forks
a fresh one; no request fails on the way, sequential or concurrent."""

import time
import unittest

from harness import BookingLoad, PoolTestCase, iso, utc_us

WORKERS = 2
MAX_REQUESTS = 20


class RecyclingTest(PoolTestCase):
    stack_options = {"workers": WORKERS, "threads": 2, "extra_config": {"max_requests": MAX_REQUESTS}}

    def test_workers_are_recycled_after_max_requests_and_every_request_succeeds(self):
        first = self.wait_workers(WORKERS)
        car = self.create_resource("cars", "recycled car", None, "Car")["id"]
        base = utc_us(2050, 1, 1)
        seen = set(first)
        statuses = {}
        for i in range(100):
            r = self.req("POST", f"/api/cars/{car}/allocations", timeout=10, json={
                "from_datetime": iso(base + i * 3600_000_000), "to_datetime": iso(base + (i + 1) * 3600_000_000),
                "allocation_type": "booking"})
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status != 201:
                self.fail(f"request {i}: {r.status} {r.text[:300]}\n" + self.stack.log_tails())
            seen |= self.fcgi.worker_pids()
        self.assertEqual(statuses, {201: 100})
        # A worker serves at most 20 requests: 100 need at least 5 different workers.
        self.assertGreaterEqual(len(seen), 100 // MAX_REQUESTS,
                                f"workers seen: {sorted(seen)}\n" + self.stack.log_tails())
        now = self.wait_workers(WORKERS)
        self.assertNotEqual(now, first, "the worker pids never changed")
        self.assertTrue(self.fcgi.alive())
        self.assertEqual(self.stack.query("SELECT count(*) FROM allocations WHERE resource_id = ?", (car,)), [(100,)])

    def test_recycling_under_concurrent_load_fails_no_request(self):
        first = self.wait_workers(WORKERS)
        cars = [self.create_resource("cars", f"recycled load car {i}", None, "Car")["id"] for i in range(2)]
        load = BookingLoad(self.stack.port, [("cars", c) for c in cars], clients=4, max_seconds=30,
                           max_requests=200, timeout=10, base_us=utc_us(2100, 1, 1))
        load.start()
        seen = set(first)
        deadline = time.monotonic() + 40
        while load.running() and time.monotonic() < deadline:
            seen |= self.fcgi.worker_pids()
            time.sleep(0.01)
        results = load.stop()
        self.assertEqual(len(results), 200, "the load did not finish in time")
        self.assertLoadResults(results, allowed=(201,), msg="bookings while workers recycle:")
        self.assertEqual(self.overlapping_pairs(), [])
        now = self.wait_workers(WORKERS)
        self.assertTrue(now.isdisjoint(first), f"first workers {sorted(first)} still serve after 200 requests")
        self.assertGreater(len(seen), WORKERS + 2, f"workers seen: {sorted(seen)}")


if __name__ == "__main__":
    unittest.main()
