"""PostgreSQL behind a route that silently drops every packet (issue 11, "PostgreSQL that stops
answering": "or a dropped route").

invsys reaches a private cluster over TCP on loopback; iptables then drops every packet to and from
the server's port, as a dead link or a firewall would: nothing is refused, nothing is acknowledged.
The statement timeout (and the stall guard a second after it) is set far above the TCP user timeout
here, so an answer within a few seconds can only come from `tcp_user_timeout` on invsys's
connections (core/src/storage/postgresql/store.cpp, with_defaults): sent data unacknowledged for
that long fails the connection. Each request is answered 503 problem+json with Retry-After, health
too; a worker started while the route is down answers 503 as well (its connection attempts end at
connect_timeout); once the rules are removed the pool reconnects by itself and bookings are 201.
The cluster's unix socket stays reachable: the test reads the rows through it.

Needs root (iptables) and a kernel with netfilter; skipped with the reason otherwise.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

from harness import PrivatePgPoolTestCase, free_port, http_request, wait_until

TCP_USER_TIMEOUT_MS = 2000
CONNECT_TIMEOUT_S = 2
# Far above the TCP user timeout: the stall guard (this + 1 s) must not be what answers.
STATEMENT_TIMEOUT_MS = 40000
# The TCP user timeout, or a connect timeout, plus a loaded machine's margin; well below the guard.
ANSWER_WITHIN_S = 12.0


def iptables(*args):
    return subprocess.run(["iptables", "-w", "5", *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=30)


def iptables_usable():
    if os.geteuid() != 0:
        return "needs root for iptables"
    if shutil.which("iptables") is None:
        return "iptables is not installed (scripts/setup.sh installs it)"
    r = iptables("-L", "INPUT", "-n")
    if r.returncode != 0:
        return f"iptables does not work here: {r.stderr.strip()}"
    return None


SKIP_REASON = iptables_usable()


@unittest.skipIf(SKIP_REASON is not None, SKIP_REASON or "")
class PgDroppedRouteTest(PrivatePgPoolTestCase):

    tmp_prefix = "invsys-it-pgroute-"
    fcgi_config = {"pg_statement_timeout_ms": STATEMENT_TIMEOUT_MS, "pg_connect_timeout_s": CONNECT_TIMEOUT_S,
                   "pg_tcp_user_timeout_ms": TCP_USER_TIMEOUT_MS, "pg_keepalives_idle_s": 1,
                   "busy_timeout_ms": 1000, "request_timeout_s": 120}
    nginx_read_timeout = "120s"
    rules = []

    @classmethod
    def pg_tcp_port(cls):
        cls.port_pg = free_port()
        return cls.port_pg

    @classmethod
    def undo_fault(cls):
        cls.restore_route()

    @classmethod
    def drop_route(cls):
        """Drops every loopback packet to or from the server's TCP port, both ways."""
        for rule in (["INPUT", "-i", "lo", "-p", "tcp", "--dport", str(cls.port_pg), "-j", "DROP"],
                     ["INPUT", "-i", "lo", "-p", "tcp", "--sport", str(cls.port_pg), "-j", "DROP"]):
            r = iptables("-I", *rule)
            if r.returncode != 0:
                raise AssertionError(f"iptables -I {' '.join(rule)}: {r.stderr}")
            cls.rules.append(rule)

    @classmethod
    def restore_route(cls):
        while cls.rules:
            iptables("-D", *cls.rules.pop())

    def req(self, method, path, json=None, timeout=90):
        return http_request(self.nginx.port, method, path, json=json, timeout=timeout)

    def book(self, rid, day):
        return self.req("POST", f"/api/cars/{rid}/allocations",
                        json={"from_datetime": f"2231-01-{day:02d}T10:00:00Z",
                              "to_datetime": f"2231-01-{day:02d}T11:00:00Z", "allocation_type": "booking"})

    def assertUnavailable(self, r, took, what):
        self.assertStatus(r, 503, what + "\n" + self.log_tails())
        self.assertEqual(r.content_type, "application/problem+json", what)
        self.assertEqual(r.headers.get("Retry-After"), "1", what)
        self.assertLess(took, ANSWER_WITHIN_S, f"{what}: answered after {took:.1f} s (the stall guard is "
                                               f"{STATEMENT_TIMEOUT_MS / 1000 + 1:.0f} s: no TCP timeout acted)")

    def timed(self, fn):
        start = time.monotonic()
        try:
            r = fn()
        except OSError as e:  # a timeout: what the workers were doing says why
            raise AssertionError(f"no answer after {time.monotonic() - start:.1f} s ({e!r})\n"
                                 + self.log_tails(40)) from e
        return r, time.monotonic() - start

    def test_a_dropped_route_is_503_within_the_tcp_user_timeout_and_service_resumes(self):
        r = self.req("POST", "/api/cars", json={"name": "route"})
        self.assertStatus(r, 201)
        rid = r.json()["id"]
        # Warm every pooled connection the threads may take.
        for day in range(1, 5):
            self.assertStatus(self.book(rid, day), 201)
        self.drop_route()
        try:
            results = [None] * 4

            def client(i):
                try:
                    results[i] = self.timed(lambda: self.book(rid, 10 + i) if i % 2 == 0
                                            else self.req("GET", f"/api/cars/{rid}"))
                except Exception as e:  # reported below
                    results[i] = (e, 0.0)

            threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(results))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            for i, (resp, took) in enumerate(results):
                with self.subTest(client=i):
                    self.assertNotIsInstance(resp, Exception, f"{resp!r}\n" + self.log_tails())
                    self.assertUnavailable(resp, took, f"client {i} with the route dropped")
            sys.stderr.write(f"\n[pg dropped route] answers after {[round(t, 2) for _, t in results]} s\n")
            h, took = self.timed(lambda: self.req("GET", "/api/health"))
            self.assertUnavailable(h, took, "health with the route dropped")

            # A worker started now: its connection attempts end at connect_timeout.
            old = set(self.fcgi.worker_pids())
            for pid in old:
                os.kill(pid, signal.SIGKILL)
            self.fcgi.wait_workers(1, timeout=30, exclude=old)
            r, took = self.timed(lambda: self.book(rid, 20))
            self.assertUnavailable(r, took, "a booking on a worker started with the route dropped")
            self.assertTrue(self.fcgi.alive(), self.fcgi.log_tail())
        finally:
            self.restore_route()
        ok = wait_until(lambda: self.req("GET", "/api/health", timeout=15).status == 200, 40, interval=0.2)
        self.assertTrue(ok, "not healthy again after the route came back\n" + self.log_tails())
        self.assertStatus(self.book(rid, 21), 201, "a booking after the route came back")
        # Through the socket: the four warm-up bookings and the last are stored; the ones of the
        # dropped time never reached the server (their packets were dropped before any ack).
        rows = self.pg.rows("SELECT count(*) FROM allocations WHERE resource_id = ?", (rid,))
        self.assertEqual(rows[0][0], 5, "bookings stored")


if __name__ == "__main__":
    unittest.main()
