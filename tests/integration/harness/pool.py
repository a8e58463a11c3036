"""PoolTestCase: a StackTestCase with helpers for the worker pool (the test-only Sleepy type,
requests in the background, waiting for workers and for exits, checks of the database after
crashes and loads)."""

import os
import re
import threading
import time

from .assertions import StackTestCase
from .errors import HarnessError
from .files import find_test_plugin, mkdir_public
from .http_client import http_request
from .load import BookingLoad
from .processes import is_running, wait_until
from .settings import HTTP_TIMEOUT_S

SLEEPY_MARKER_RE = re.compile(r"^(\d+)-(\d+)-(\d+)$")


class PoolTestCase(StackTestCase):
    """A StackTestCase with helpers for the worker pool: the test-only Sleepy type (its attribute
    check sleeps `sleep_ms`, announcing each sleep by a marker file that names the worker's pid),
    background requests, and database checks after crashes."""

    sleepy = False   # add tests/plugins/sleepy and its marker directory before the start

    @classmethod
    def tearDownClass(cls):
        # nginx first: its idle kept-alive connections would hold the pool's drain for up to
        # the upstream keepalive_timeout (5 s).
        try:
            cls.stack.nginx.stop()
        finally:
            super().tearDownClass()

    @classmethod
    def prepare_stack(cls, stack):
        if cls.sleepy:
            stack.add_plugin(find_test_plugin("sleepy"))
            cls.marker_dir = mkdir_public(os.path.join(stack.root, "sleepy-markers"))
            os.chmod(cls.marker_dir, 0o777)
            stack.fcgi.extra_env["SLEEPY_MARKER_DIR"] = cls.marker_dir

    # -- processes

    @property
    def fcgi(self):
        return self.stack.fcgi

    def wait_workers(self, count, timeout=10.0, exclude=(), stable_s=0.5):
        try:
            return self.fcgi.wait_workers(count, timeout=timeout, exclude=exclude, stable_s=stable_s)
        except HarnessError as e:
            self.fail(str(e))

    def assertGone(self, pids, timeout=10.0, msg=""):
        """Every pid in pids has exited (or is a zombie) within timeout."""
        left = wait_until(lambda: not [p for p in pids if is_running(p)], timeout)
        if not left:
            self.fail(f"{msg} still running after {timeout} s: {[p for p in pids if is_running(p)]}\n"
                      + self.stack.log_tails())

    # -- the sleepy type

    def sleepy_markers(self):
        """[(pid, tid, sleep_ms)] of the sleeps announced and not finished (or cut by a kill)."""
        found = []
        try:
            names = os.listdir(self.marker_dir)
        except OSError:
            return found
        for name in names:
            m = SLEEPY_MARKER_RE.match(name)
            if m:
                found.append(tuple(int(g) for g in m.groups()))
        return sorted(found)

    def clear_sleepy_markers(self):
        for name in os.listdir(self.marker_dir):
            os.remove(os.path.join(self.marker_dir, name))

    def wait_sleeping(self, sleep_ms, count=1, timeout=10.0, among=None):
        """Waits until `count` sleeps of sleep_ms are announced (by running processes, among the
        given pids if any); returns their [(pid, tid, ms)]."""
        def sleeping():
            found = [m for m in self.sleepy_markers()
                     if m[2] == sleep_ms and is_running(m[0]) and (among is None or m[0] in among)]
            return found if len(found) >= count else None
        found = wait_until(sleeping, timeout)
        if not found:
            self.fail(f"{count} sleeps of {sleep_ms} ms not in progress within {timeout} s "
                      f"(markers: {self.sleepy_markers()})\n" + self.stack.log_tails())
        return found

    # -- requests in the background

    def request_async(self, method, path, json=None, timeout=HTTP_TIMEOUT_S):
        """Sends one request from a thread. Returns (thread, result dict); the dict gets status,
        content_type, body (JSON or None), text, error, start, end, elapsed."""
        result = {"status": None, "content_type": None, "body": None, "text": "", "error": None}
        port = self.stack.port

        def run():
            result["start"] = time.monotonic()
            try:
                r = http_request(port, method, path, json=json, timeout=timeout)
                result["status"], result["content_type"], result["text"] = r.status, r.content_type, r.text
                try:
                    result["body"] = r.json()
                except AssertionError:
                    result["body"] = None
            except Exception as e:  # kept, never swallowed
                result["error"] = repr(e)
            result["end"] = time.monotonic()
            result["elapsed"] = result["end"] - result["start"]

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, result

    def join_all(self, threads, timeout, msg="requests"):
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.1, deadline - time.monotonic()))
        if any(t.is_alive() for t in threads):
            self.fail(f"{msg}: still waiting for an answer after {timeout} s (a hang)\n" + self.stack.log_tails())

    def assertGatewayProblem502(self, result, msg=""):
        """An answer made by nginx for a cut-off request: 502 application/problem+json."""
        ctx = f"{msg} {result}\n" + self.stack.log_tails(20)
        self.assertIsNone(result.get("error"), ctx)
        self.assertEqual(result["status"], 502, ctx)
        self.assertEqual(result["content_type"], "application/problem+json", ctx)
        self.assertIsInstance(result["body"], dict, ctx)
        self.assertEqual(result["body"].get("status"), 502, ctx)

    # -- the database

    def overlapping_pairs(self):
        """Stored allocations of one resource that overlap (must be none)."""
        return self.stack.query(
            "SELECT a.id, b.id FROM allocations a JOIN allocations b"
            " ON a.resource_id = b.resource_id AND a.seq < b.seq"
            " AND a.from_us < b.to_us AND b.from_us < a.to_us LIMIT 20")

    def assertLoadResults(self, results, allowed=(201,), msg=""):
        """Every answer's status is in `allowed`, none failed without an answer (a hang or a
        broken connection), 502s are nginx's problem+json, and every 201 is stored as answered."""
        counts = BookingLoad.statuses(results)
        bad = [r for r in results if r["status"] not in allowed]
        if bad:
            sample = "\n".join(f"  {r['status']} {r['error'] or ''} after {r['elapsed']:.2f}s: {r['text'][:300]}"
                               for r in bad[:10])
            self.fail(f"{msg} statuses {counts}, allowed only {allowed}; e.g.\n{sample}\n" + self.stack.log_tails(30))
        for r in results:
            if r["status"] == 502:
                self.assertEqual(r["content_type"], "application/problem+json", f"{msg} {r}")
                self.assertIsInstance(r["body"], dict, f"{msg} {r}")
                self.assertEqual(r["body"].get("status"), 502, f"{msg} {r}")
        created = [r for r in results if r["status"] == 201]
        for r in created:
            self.assertIsInstance(r["body"], dict, f"{msg} 201 without a JSON body: {r}")
            self.assertIn("id", r["body"], f"{msg} {r}")
        stored = {}
        ids = [r["body"]["id"] for r in created]
        conn = self.stack.db()
        try:
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                rows = conn.execute(
                    f"SELECT id, resource_id, from_us, to_us FROM allocations WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall()
                stored.update({row[0]: row[1:] for row in rows})
        finally:
            conn.close()
        missing = [r for r in created if r["body"]["id"] not in stored]
        self.assertEqual(missing[:5], [], f"{msg} {len(missing)} bookings answered 201 are not in the database")
        for r in created:
            self.assertEqual(stored[r["body"]["id"]], (r["rid"], r["from_us"], r["to_us"]),
                             f"{msg} stored booking differs from the request {r}")
        return counts
