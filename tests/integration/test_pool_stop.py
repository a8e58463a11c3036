"""Stopping the pool: SIGTERM and SIGQUIT are graceful — the requests in flight finish with their
201, the master exits 0 and no worker is left — and the drain is bounded by shutdown_timeout_s."""

import signal
import time
import unittest

from harness import BookingLoad, PoolTestCase, process_group, utc_us

WORKERS = 2


class StopTestCase(PoolTestCase):
    sleepy = True

    def setUp(self):
        super().setUp()
        if not self.fcgi.alive():   # an earlier test of the class stopped it
            self.fcgi.start()
            self.stack.wait_healthy()
        self.clear_sleepy_markers()

    def assertNothingLeft(self, workers):
        self.assertGone(workers, timeout=3, msg="workers after the master exited")
        self.assertEqual(process_group(self.fcgi.master_pid), [], "processes of the pool left behind")

    def graceful_stop(self, sig, count, sleep_ms, probe=False):
        workers = self.wait_workers(WORKERS)
        names = [f"{sig.name} nap {i}" for i in range(count)]
        started = [self.request_async("POST", "/api/sleepies", json={"name": name, "attributes": {"sleep_ms": sleep_ms}},
                                      timeout=sleep_ms / 1000 + 15) for name in names]
        # All of them are inside a worker, sleeping.
        self.wait_sleeping(sleep_ms, count=count, timeout=10, among=workers)
        load_car = self.create_resource("cars", f"{sig.name} stop car", None, "Car")["id"]
        load = BookingLoad(self.stack.port, [("cars", load_car)], clients=2, max_seconds=sleep_ms / 1000 + 10,
                           max_requests=2000, timeout=10, base_us=utc_us(2100, 1, 1))
        load.start()
        load.wait_count(10, 5)
        signalled = time.monotonic()
        self.fcgi.send_signal(sig)
        probe_result = None
        if probe:
            # A request arriving during the drain is answered (served or refused), never left hanging.
            time.sleep(0.3)
            t, probe_result = self.request_async("GET", "/api/health", timeout=20)
            self.join_all([t], sleep_ms / 1000 + 8, "a request sent during the drain")
        self.join_all([t for t, _ in started], sleep_ms / 1000 + 12, "requests in flight at the stop")
        load_results = load.stop()
        rc = self.fcgi.wait_exit(20)
        self.assertIsNotNone(rc, "the master did not exit\n" + self.stack.log_tails())
        for name, (_, result) in zip(names, started):
            with self.subTest(request=name):
                self.assertIsNone(result["error"], result)
                self.assertEqual(result["status"], 201, f"{result}\n" + self.stack.log_tails(30))
                self.assertEqual(result["body"].get("name"), name)
                self.assertGreaterEqual(result["elapsed"], sleep_ms / 1000 - 0.05)
        self.assertEqual(rc, 0, f"the master exits 0 after a graceful stop\n" + self.stack.log_tails())
        self.assertNothingLeft(workers)
        self.assertEqual(sorted(n for (n,) in self.stack.query(
            "SELECT name FROM resources WHERE resource_type = 'Sleepy' AND name LIKE ?", (f"{sig.name} nap %",))),
            sorted(names))
        # The bookings around the stop: served, or refused by nginx once the pool is gone; none hangs.
        self.assertLoadResults(load_results, allowed=(201, 502, 503), msg="bookings around the stop:")
        if probe:
            self.assertIsNone(probe_result["error"], probe_result)
            self.assertIn(probe_result["status"], (200, 502, 503), probe_result)
            if probe_result["status"] != 200:
                self.assertEqual(probe_result["content_type"], "application/problem+json", probe_result)
        # Stopped: nginx answers for the pool.
        self.assertProblem(self.req("GET", "/api/health", timeout=10), 502)


class GracefulStopTest(StopTestCase):
    stack_options = {"workers": WORKERS, "threads": 6, "extra_config": {"shutdown_timeout_s": 10}}

    def test_sigterm_lets_every_request_in_flight_finish(self):
        self.graceful_stop(signal.SIGTERM, count=6, sleep_ms=1500, probe=True)

    def test_sigquit_lets_every_request_in_flight_finish(self):
        self.graceful_stop(signal.SIGQUIT, count=3, sleep_ms=1000)


class StopTimeoutTest(StopTestCase):
    stack_options = {"workers": WORKERS, "threads": 4, "extra_config": {"shutdown_timeout_s": 2}}

    def test_the_drain_is_bounded_by_shutdown_timeout(self):
        workers = self.wait_workers(WORKERS)
        t, result = self.request_async("POST", "/api/sleepies",
                                       json={"name": "endless nap", "attributes": {"sleep_ms": 30000}}, timeout=40)
        self.wait_sleeping(30000, timeout=5, among=workers)
        signalled = time.monotonic()
        self.fcgi.send_signal(signal.SIGTERM)
        rc = self.fcgi.wait_exit(15)
        took = time.monotonic() - signalled
        self.assertIsNotNone(rc, "the master still runs 15 s after SIGTERM with shutdown_timeout_s = 2\n"
                             + self.stack.log_tails())
        self.assertLess(took, 10, f"the stop took {took:.1f} s with shutdown_timeout_s = 2")
        self.assertGreaterEqual(took, 1.5, f"the request in flight was cut after {took:.1f} s, before the timeout")
        self.join_all([t], 10, "the request cut by the stop")
        self.assertGatewayProblem502(result, "the request cut by the stop")
        self.assertNothingLeft(workers)
        self.assertEqual(self.stack.query("SELECT count(*) FROM resources WHERE name = 'endless nap'"), [(0,)])


if __name__ == "__main__":
    unittest.main()
