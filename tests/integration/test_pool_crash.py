"""Workers that die and workers that hang.

Crash: while clients book continuously (disjoint intervals), a worker is killed with SIGKILL
three times. The master replaces it each time; requests cut off get nginx's 502 problem+json,
never a hang; every 201 is in the database; no two stored allocations of a resource overlap.

Request timeout: a request running longer than request_timeout_s gets its worker killed and
replaced; the client gets a 502 soon after the timeout, and the log names the request."""

import os
import re
import signal
import time
import unittest

from harness import BookingLoad, PoolTestCase, is_running, utc_us, wait_until
from harness.log_lines import WORKER_STUCK, line_pids

CRASH_WORKERS = 3
KILLS = 3
VICTIM_SLEEP_MS = 6000


class WorkerCrashTest(PoolTestCase):
    stack_options = {"workers": CRASH_WORKERS, "threads": 4}
    sleepy = True

    def test_killed_workers_are_replaced_and_no_201_is_lost(self):
        fcgi = self.fcgi
        workers = self.wait_workers(CRASH_WORKERS)
        cars = [self.create_resource("cars", f"crash car {i}", None, "Car")["id"] for i in range(4)]
        load = BookingLoad(self.stack.port, [("cars", rid) for rid in cars], clients=4, max_seconds=25,
                           max_requests=5000, timeout=10, base_us=utc_us(2100, 1, 1))
        load.start()
        victims, cut = [], []
        try:
            self.assertGreaterEqual(load.wait_count(10, 10), 10, "the load does not get going\n" + self.stack.log_tails())
            for k in range(KILLS):
                # A slow request in flight on a known worker: killing that worker must cut it off.
                self.clear_sleepy_markers()
                t, victim_result = self.request_async("POST", "/api/sleepies", json={
                    "name": f"victim {k}", "attributes": {"sleep_ms": VICTIM_SLEEP_MS}}, timeout=15)
                pid = self.wait_sleeping(VICTIM_SLEEP_MS, timeout=5, among=workers)[0][0]
                os.kill(pid, signal.SIGKILL)
                killed_at = time.monotonic()
                victims.append(pid)
                self.join_all([t], 12, f"the request cut off by kill {k}")
                cut.append((k, victim_result, victim_result["end"] - killed_at))
                # Replaced: N workers again, the victim not among them.
                workers = self.wait_workers(CRASH_WORKERS, timeout=10, exclude=victims, stable_s=0.3)
                restored_at = time.monotonic()
                # The pool keeps serving between the kills.
                wait_until(lambda: sum(1 for r in load.snapshot() if r["start"] > restored_at) >= 10, 10)
        finally:
            results = load.stop()
        for k, result, after_kill in cut:
            with self.subTest(kill=k):
                self.assertGatewayProblem502(result, f"request on the worker killed by kill {k}")
                self.assertLess(after_kill, 3.0, f"the 502 came {after_kill:.1f} s after the kill")
                self.assertEqual(self.stack.query("SELECT count(*) FROM resources WHERE name = ?", (f"victim {k}",)),
                                 [(0,)])
        for pid in victims:
            self.assertFalse(is_running(pid), f"killed worker {pid} still running")
        self.assertEqual(len(set(victims)), KILLS)
        # 201 or nginx's 502 only (no 409: the intervals are disjoint; no 500/503; no hang).
        counts = self.assertLoadResults(results, allowed=(201, 502), msg="booking load during kills:")
        self.assertGreaterEqual(counts.get(201, 0), 30, f"too little load got through: {counts}")
        self.assertEqual(self.overlapping_pairs(), [])
        # Still serving after the last kill, with N workers none of which was killed.
        final = self.wait_workers(CRASH_WORKERS, exclude=victims)
        self.assertTrue(final.isdisjoint(victims))
        self.assertTrue(fcgi.alive(), "the master died")
        self.assertTrue(any(r["status"] == 201 and r["start"] > restored_at for r in results),
                        "no booking succeeded after the last replacement")
        car = self.create_resource("cars", "served after the kills", None, "Car")
        self.create_allocation("cars", car["id"], "2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z")


class RequestTimeoutTest(PoolTestCase):
    stack_options = {"workers": 2, "threads": 4,
                     "extra_config": {"request_timeout_s": 2, "shutdown_timeout_s": 2}}
    sleepy = True

    def test_an_idle_worker_is_not_taken_for_a_stuck_one(self):
        pids = self.wait_workers(2)
        offset = self.fcgi.log_size()
        for i in range(4):
            self.create_resource("cars", f"before idling {i}", None, "Car")
        # nginx keeps connections to the workers open while idle: that is no request running.
        time.sleep(3.5)
        self.assertEqual(self.fcgi.worker_pids(), pids, "workers were replaced while idle\n" + self.stack.log_tails())
        self.assertEqual(WORKER_STUCK.lines(self.fcgi.log_since(offset)), [])
        self.assertNotIn("stuck on", self.fcgi.log_since(offset))
        self.create_resource("cars", "after idling", None, "Car")

    def test_a_request_under_the_timeout_completes(self):
        r = self.req("POST", "/api/sleepies", json={"name": "quick nap", "attributes": {"sleep_ms": 800}})
        self.assertStatus(r, 201)

    def test_a_stuck_request_gets_its_worker_killed_and_replaced(self):
        pids = self.wait_workers(2)
        offset = self.fcgi.log_size()
        t, result = self.request_async("POST", "/api/sleepies",
                                       json={"name": "stuck sleeper", "attributes": {"sleep_ms": 10000}}, timeout=15)
        stuck_pid = self.wait_sleeping(10000, timeout=5, among=pids)[0][0]
        self.join_all([t], 14, "the stuck request")
        self.assertGatewayProblem502(result, "the stuck request")
        # Killed soon after request_timeout_s = 2, long before the 10 s sleep ends.
        self.assertGreaterEqual(result["elapsed"], 1.8, f"cut after {result['elapsed']:.1f} s, before the timeout")
        self.assertLess(result["elapsed"], 5.0, f"cut after {result['elapsed']:.1f} s")
        self.assertGone([stuck_pid], timeout=3, msg="the stuck worker")
        # The log names the request.
        found = wait_lines = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            wait_lines = self.fcgi.log_since(offset).splitlines()
            found = WORKER_STUCK.lines("\n".join(wait_lines), worker_pid=stuck_pid, label=re.compile(r".*/api/sleepies.*"))
            if found:
                break
            time.sleep(0.1)
        self.assertTrue(found, "no log line says which request was stuck ('stuck on' and the URI):\n"
                        + "\n".join(wait_lines[-20:]))
        # Replaced, and the replacement serves.
        new = self.wait_workers(2, exclude=[stuck_pid])
        self.assertEqual(len(new - pids), 1, f"before {sorted(pids)}, after {sorted(new)}")
        self.assertEqual(self.stack.query("SELECT count(*) FROM resources WHERE name = 'stuck sleeper'"), [(0,)])
        for i in range(6):
            self.create_resource("cars", f"after the timeout {i}", None, "Car")
        self.assertEqual(self.fcgi.worker_pids(), new)


class CrashLoopTest(PoolTestCase):
    """Workers that die at once after every start (the database has become a directory) are
    restarted with a back-off, not in a tight loop; the pool recovers once the cause is gone."""
    stack_options = {"workers": 2, "threads": 2}

    WINDOW_S = 4.0

    def test_a_crash_loop_does_not_spin_and_the_pool_recovers(self):
        workers = self.wait_workers(2)
        db = self.fcgi.db_path
        away = db + ".away"
        offset = self.fcgi.log_size()
        os.rename(db, away)
        os.mkdir(db)
        try:
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
            # Every process that lived during the window: sampled from /proc and named in the log.
            seen = set()
            end = time.monotonic() + self.WINDOW_S
            while time.monotonic() < end:
                seen |= self.fcgi.worker_pids()
                time.sleep(0.005)
            logged = line_pids(self.fcgi.log_since(offset))
            started = (seen | logged) - workers - {self.fcgi.master_pid}
            self.assertTrue(self.fcgi.alive(), "the master died in the crash loop\n" + self.stack.log_tails())
            self.assertGreaterEqual(len(started), 2, f"the dead workers were not restarted: {sorted(started)}\n"
                                    + self.stack.log_tails())
            self.assertLessEqual(len(started), 40, f"{len(started)} workers started in {self.WINDOW_S} s: "
                                 "the crash loop spins\n" + self.stack.log_tails())
        finally:
            os.rmdir(db)
            os.rename(away, db)
        # The cause is gone: within the longest back-off the pool serves again.
        self.wait_workers(2, timeout=15, exclude=workers, stable_s=1.0)
        self.assertTrue(wait_until(lambda: self.req("GET", "/api/health", timeout=5).status == 200, 10),
                        self.stack.log_tails())
        self.create_resource("cars", "after the crash loop", None, "Car")


if __name__ == "__main__":
    unittest.main()
