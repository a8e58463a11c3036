"""PostgreSQL that stops answering (issue 11, "PostgreSQL that stops answering").

A private cluster (the run's shared one must not be stopped) whose processes are all stopped with
SIGSTOP: the kernel still acknowledges every packet, so only invsys's own bounds can end a request
(core/src/storage/postgresql/stall_guard.hpp, connect_timeout, statement_timeout). With the
server stopped, each request is answered 503 problem+json with Retry-After within those bounds,
never hangs until the worker is killed; health says 503 too. After SIGCONT the pool reconnects by
itself and bookings are 201 again; nothing is stored twice or overlapping. A worker started while
the server is stopped (the one before it was killed) does not hang in its start-up: it answers 503
too, and 201 once the server continues.
"""

import os
import signal
import sys
import threading
import time
import unittest

from harness import PrivatePgPoolTestCase, http_request, process_tree, wait_until

STATEMENT_TIMEOUT_MS = 1500
CONNECT_TIMEOUT_S = 2
# Statement (1.5 s) + the guard's second, or a connect timeout (2 s), plus a loaded machine's margin.
ANSWER_WITHIN_S = 10.0


class PgStalledServerTest(PrivatePgPoolTestCase):

    tmp_prefix = "invsys-it-pgstall-"
    fcgi_config = {"pg_statement_timeout_ms": STATEMENT_TIMEOUT_MS, "pg_connect_timeout_s": CONNECT_TIMEOUT_S,
                   "busy_timeout_ms": 1000, "request_timeout_s": 30}
    stopped = []

    @classmethod
    def undo_fault(cls):
        cls.resume_server()

    @classmethod
    def server_pids(cls):
        with open(os.path.join(cls.pg.host, "data", "postmaster.pid")) as f:
            postmaster = int(f.readline())
        return sorted(process_tree(postmaster))

    @classmethod
    def stop_server(cls):
        cls.stopped = cls.server_pids()
        for pid in cls.stopped:
            os.kill(pid, signal.SIGSTOP)

    @classmethod
    def resume_server(cls):
        for pid in cls.stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        cls.stopped = []

    def req(self, method, path, json=None, timeout=60):
        return http_request(self.nginx.port, method, path, json=json, timeout=timeout)

    def book(self, rid, day):
        return self.req("POST", f"/api/cars/{rid}/allocations",
                        json={"from_datetime": f"2230-01-{day:02d}T10:00:00Z",
                              "to_datetime": f"2230-01-{day:02d}T11:00:00Z", "allocation_type": "booking"})

    def test_a_stopped_server_is_503_within_the_timeouts_and_service_resumes_after_it_continues(self):
        r = self.req("POST", "/api/cars", json={"name": "stall"})
        self.assertStatus(r, 201)
        rid = r.json()["id"]
        self.assertStatus(self.book(rid, 1), 201)
        self.stop_server()
        try:
            # Several at once: every pooled connection, and new ones, meet the stopped server.
            results = [None] * 6

            def client(i):
                start = time.monotonic()
                try:
                    resp = self.book(rid, 2 + i) if i % 2 == 0 else self.req("GET", f"/api/cars/{rid}")
                    results[i] = (resp, time.monotonic() - start)
                except Exception as e:  # reported below
                    results[i] = (e, time.monotonic() - start)

            threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(results))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            for i, (resp, took) in enumerate(results):
                with self.subTest(client=i):
                    self.assertNotIsInstance(resp, Exception, f"{resp!r}\n" + self.log_tails())
                    self.assertStatus(resp, 503, "with the server stopped")
                    self.assertEqual(resp.content_type, "application/problem+json")
                    self.assertEqual(resp.headers.get("Retry-After"), "1")
                    self.assertLess(took, ANSWER_WITHIN_S, f"answered after {took:.1f} s")
            sys.stderr.write(f"\n[pg stalled] answers with the server stopped after "
                             f"{[round(t, 2) for _, t in results]} s\n")
            start = time.monotonic()
            h = self.req("GET", "/api/health")
            self.assertStatus(h, 503, "health with the server stopped")
            self.assertLess(time.monotonic() - start, ANSWER_WITHIN_S)
            self.assertTrue(self.fcgi.alive(), self.fcgi.log_tail())
        finally:
            self.resume_server()
        # Back by itself: the pool reconnects.
        ok = wait_until(lambda: self.req("GET", "/api/health", timeout=15).status == 200, 30, interval=0.2)
        self.assertTrue(ok, "not healthy again after SIGCONT\n" + self.log_tails())
        r = self.book(rid, 20)
        self.assertStatus(r, 201, "a booking after the server continued")
        rows = self.pg.rows("SELECT count(*) FROM allocations WHERE resource_id = ?", (rid,))
        # The first booking, the one after, and any of the stopped-time ones that reached the server
        # before it stopped (none is acknowledged; each may or may not have committed).
        self.assertGreaterEqual(rows[0][0], 2)
        self.assertLessEqual(rows[0][0], 2 + 3)

    def test_a_worker_started_while_the_server_is_stopped_answers_503_then_recovers(self):
        r = self.req("POST", "/api/cars", json={"name": "restarted while stalled"})
        self.assertStatus(r, 201)
        rid = r.json()["id"]
        self.stop_server()
        try:
            old = set(self.fcgi.worker_pids())
            for pid in old:
                os.kill(pid, signal.SIGKILL)
            # The master replaces the killed worker; its start-up must not wait on the server for ever.
            self.fcgi.wait_workers(1, timeout=30, exclude=old)
            start = time.monotonic()
            r = self.book(rid, 25)
            took = time.monotonic() - start
            self.assertStatus(r, 503, "a booking on the new worker with the server stopped\n" + self.log_tails())
            self.assertEqual(r.content_type, "application/problem+json")
            self.assertLess(took, ANSWER_WITHIN_S, f"answered after {took:.1f} s")
            h = self.req("GET", "/api/health")
            self.assertStatus(h, 503, "health on the new worker with the server stopped")
        finally:
            self.resume_server()
        ok = wait_until(lambda: self.req("GET", "/api/health", timeout=15).status == 200, 30, interval=0.2)
        self.assertTrue(ok, "not healthy again after SIGCONT\n" + self.log_tails())
        self.assertStatus(self.book(rid, 26), 201, "a booking on the new worker after the server continued")


if __name__ == "__main__":
    unittest.main()
