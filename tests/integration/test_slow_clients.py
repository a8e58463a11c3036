"""Slow and stuck clients never take a worker down (docs/hardening.md).

- A client that asks nginx for a ~20 MB answer and does not read it: nginx takes the answer
  into its buffers and a temp file at once, the worker's thread is free, no worker is killed,
  and the answer is whole when the client reads it at last.
- A peer straight on the FastCGI socket that sends a partial record (half a BEGIN_REQUEST, or a
  request whose body never comes) and stalls, or trickles a byte at a time: its connection is
  cut after fastcgi_io_timeout_s, which frees the thread; no worker is killed, and nginx's
  requests are served meanwhile by the other threads and afterwards by the freed ones.

request_timeout_s is short in both classes: if its clock still covered reading the request or
writing the answer, the pool would kill the worker.
"""

import http.client
import json
import socket
import threading
import time
import unittest

from harness import (PoolTestCase, fcgi_pair, fcgi_record, http_request, wait_until)
from harness.log_lines import CONNECTION_CUT, WORKER_STUCK

IO_TIMEOUT_S = 2
REQUEST_TIMEOUT_S = 3
HOUR_US = 3600 * 1_000_000


def begin_request(keep_conn=False):
    return fcgi_record(1, 1, bytes([0, 1, 1 if keep_conn else 0, 0, 0, 0, 0, 0]))


def params_record(params):
    return fcgi_record(4, 1, b"".join(fcgi_pair(k, v) for k, v in params.items()))


POST_PARAMS = {
    "REQUEST_METHOD": "POST", "REQUEST_URI": "/api/cars", "QUERY_STRING": "",
    "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "100", "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
}


class UnreadAnswerTest(PoolTestCase):
    """One worker with one thread: if that thread were held by the unread answer, nothing else
    would be served."""

    stack_options = {
        "workers": 1, "threads": 1,
        "extra_config": {"request_timeout_s": REQUEST_TIMEOUT_S, "fastcgi_io_timeout_s": IO_TIMEOUT_S},
        # Pages are capped in bytes (max_page_bytes, 1 MiB by default): this answer needs 17 MB.
        "env": {"INVSYS_MAX_PAGE_BYTES": "33554432"},
    }

    PAGE = 1000
    DUMP_BYTES = 16 * 1024 - 64  # a dump is at most 16 KiB of JSON

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        port = cls.stack.port
        r = http_request(port, "POST", "/api/cars", json={"name": "slow reader's car"})
        if r.status != 201:
            raise AssertionError(f"car not created: {r.status} {r.text[:300]}\n{cls.stack.log_tails()}")
        cls.rid = r.json()["id"]
        dump = {"blob": "d" * cls.DUMP_BYTES}
        base = 4_102_444_800 * 1_000_000  # 2100-01-01
        errors = []

        def create(indexes):
            for i in indexes:
                body = {"allocation_type": "booking", "dump": dump,
                        "from_datetime": _iso(base + i * HOUR_US), "to_datetime": _iso(base + (i + 1) * HOUR_US)}
                r = http_request(port, "POST", f"/api/cars/{cls.rid}/allocations", json=body)
                if r.status != 201:
                    errors.append(f"{r.status} {r.text[:200]}")
                    return

        threads = [threading.Thread(target=create, args=(range(k, cls.PAGE, 4),)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        if errors or any(t.is_alive() for t in threads):
            raise AssertionError(f"allocations not created: {errors[:3]}\n{cls.stack.log_tails()}")

    def test_a_client_that_never_reads_a_20_mb_answer_costs_no_worker(self):
        workers = self.wait_workers(1)
        log_offset = self.fcgi.log_size()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        # A small receive window: the answer stays in nginx, not in our socket buffer.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(30)
        sock.connect(("127.0.0.1", self.stack.port))
        sock.sendall(f"GET /api/cars/{self.rid}/allocations?limit={self.PAGE} HTTP/1.1\r\n"
                     f"Host: localhost\r\nAuthorization: Bearer {self.stack.admin_key}\r\n"
                     "Connection: close\r\n\r\n".encode())

        # Longer than request_timeout_s and fastcgi_io_timeout_s together, while the one thread
        # keeps serving others.
        stall_until = time.monotonic() + REQUEST_TIMEOUT_S + IO_TIMEOUT_S + 2
        served = 0
        while time.monotonic() < stall_until:
            start = time.monotonic()
            r = self.req("GET", f"/api/cars/{self.rid}", timeout=10)
            self.assertStatus(r, 200, "a request while the answer is not read")
            self.assertLess(time.monotonic() - start, 2.0, "served at once while the answer is not read")
            served += 1
            time.sleep(0.3)
        self.assertGreaterEqual(served, 5)
        self.assertEqual(self.fcgi.worker_pids(), workers, "no worker killed or replaced\n" + self.log_tails())

        # Now read it: whole, and valid.
        response = http.client.HTTPResponse(sock)
        response.begin()
        self.assertEqual(response.status, 200)
        data = response.read()
        self.assertGreater(len(data), 16_000_000, "a ~17 MB answer")
        items = json.loads(data)
        if isinstance(items, dict):
            items = next(v for v in items.values() if isinstance(v, list))
        self.assertEqual(len(items), self.PAGE)
        self.assertEqual(len(items[-1]["dump"]["blob"]), self.DUMP_BYTES)

        log = self.fcgi.log_since(log_offset)
        self.assertEqual(WORKER_STUCK.lines(log), [])
        self.assertEqual(CONNECTION_CUT.lines(log), [])
        self.assertNotIn("stuck on", log)
        self.assertNotIn("FastCGI connection cut", log)
        self.assertEqual(self.fcgi.worker_pids(), workers)
        # nginx took the answer into a temp file (its fastcgi_temp_path) rather than holding the
        # upstream connection.
        self.assertIn("buffered to a temporary file", self.stack.nginx.error_log_tail(200))


def _iso(us):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1_000_000)) + "Z"


class StalledFastcgiPeerTest(PoolTestCase):
    """One worker, two threads, straight on its unix socket (as root: our own uid is allowed)."""

    stack_options = {
        "workers": 1, "threads": 2,
        "extra_config": {"request_timeout_s": 1, "fastcgi_io_timeout_s": IO_TIMEOUT_S},
    }

    def stalled(self, data):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.settimeout(30)
        sock.connect(self.fcgi.socket_path)
        sock.sendall(data)
        return sock

    def assertClosedByServer(self, sock, within, msg):
        """The server ends the connection within `within` seconds: EOF (or a reset)."""
        start = time.monotonic()
        sock.settimeout(within)
        try:
            while sock.recv(65536):
                pass
        except socket.timeout:
            self.fail(f"{msg}: still open after {within} s\n" + self.log_tails())
        except ConnectionResetError:
            pass
        return time.monotonic() - start

    def test_two_stalled_peers_free_both_threads_after_the_io_timeout(self):
        workers = self.wait_workers(1)
        log_offset = self.fcgi.log_size()
        started = time.monotonic()
        # Half a BEGIN_REQUEST; a whole request header whose body (100 bytes) never comes.
        half_begin = self.stalled(begin_request()[:5])
        no_body = self.stalled(begin_request() + params_record(POST_PARAMS) + fcgi_record(4, 1)
                               + fcgi_record(5, 1, b'{"name":')[:20])
        time.sleep(0.5)  # both threads have taken their connection

        # Both threads are held: a request waits for one of them, and is answered once the io
        # timeout has freed it.
        _t, result = self.request_async("GET", "/api/health", timeout=20)
        _t.join(20)
        self.assertEqual(result["status"], 200, f"{result}\n" + self.log_tails())
        waited = result["end"] - started
        self.assertGreater(waited, IO_TIMEOUT_S - 0.5, "the two stalled peers did hold both threads")
        self.assertLess(waited, IO_TIMEOUT_S + 4, "freed by the io timeout\n" + self.log_tails())
        self.assertClosedByServer(half_begin, 5, "half a BEGIN_REQUEST")
        self.assertClosedByServer(no_body, 5, "a request whose body never comes")
        for _ in range(5):
            self.assertStatus(self.req("GET", "/api/health", timeout=5), 200)
        self.assertEqual(self.fcgi.worker_pids(), workers, "no worker killed\n" + self.log_tails())
        log = self.fcgi.log_since(log_offset)
        self.assertEqual(WORKER_STUCK.lines(log), [])
        self.assertNotIn("stuck on", log)
        self.assertTrue(CONNECTION_CUT.lines(log, seconds=IO_TIMEOUT_S), log)

    def test_requests_are_served_while_one_peer_stalls(self):
        workers = self.wait_workers(1)
        stalled = self.stalled(begin_request() + params_record(POST_PARAMS)[:11])
        time.sleep(0.3)
        for _ in range(5):
            start = time.monotonic()
            self.assertStatus(self.req("GET", "/api/health", timeout=5), 200)
            self.assertLess(time.monotonic() - start, 1.0, "served by the other thread at once")
        self.assertClosedByServer(stalled, IO_TIMEOUT_S + 4, "partial PARAMS")
        self.assertEqual(self.fcgi.worker_pids(), workers, "no worker killed\n" + self.log_tails())

    def test_a_peer_trickling_its_header_is_cut_after_the_io_timeout(self):
        # One byte every 0.25 s: each read gets data well within SO_RCVTIMEO; only the bound on
        # the whole header ends it.
        workers = self.wait_workers(1)
        data = begin_request() + params_record(POST_PARAMS)
        sock = self.stalled(data[:1])
        start = time.monotonic()
        cut = None
        for i in range(1, len(data) - 1):
            if time.monotonic() - start > IO_TIMEOUT_S + 6:
                break
            time.sleep(0.25)
            try:
                sock.sendall(data[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                cut = time.monotonic() - start
                break
        if cut is None:
            self.fail(f"a trickled header still accepted after {time.monotonic() - start:.1f} s\n"
                      + self.log_tails())
        self.assertLess(cut, IO_TIMEOUT_S + 4, "the trickle was cut at the io timeout\n" + self.log_tails())
        self.assertStatus(self.req("GET", "/api/health", timeout=5), 200)
        self.assertEqual(self.fcgi.worker_pids(), workers, "no worker killed\n" + self.log_tails())


if __name__ == "__main__":
    unittest.main()
