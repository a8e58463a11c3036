"""Kept-alive FastCGI connections never hold a worker's threads: any free thread serves any
connection that has a request, so requests that nginx sends on connections beyond the thread
count are answered at once instead of waiting in the listen backlog while threads sit on idle
kept-alive connections (which nginx reuses first). The gateway's keep-alive cache is made larger
than the pool here on purpose (2 nginx workers x keepalive 2 > 1 worker x 2 threads).

Also, straight over FastCGI (no nginx): more idle kept-alive connections than threads leave a new
connection served at once, a kept-alive connection goes on serving, a connection the peer closes
is given up, and during a stop a request on an idle kept-alive connection is answered as the last
one on it (the worker then ends the connection) before the worker exits 0."""

import http.client
import json as _json
import os
import signal
import socket
import statistics
import threading
import time
import unittest

from harness import (HOUR_US, default_key, PoolTestCase, fcgi_pair, fcgi_record, iso, proc_socket_inodes,
                     utc_us, wait_until)
from harness.http_client import with_key
from harness.log_lines import STOPPING

THREADS = 2
CLIENTS = 32
LOAD_SECONDS = 5.0
MAX_LATENCY_S = 1.0

FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6
FCGI_RESPONDER, FCGI_KEEP_CONN = 1, 1


class KeptAliveFcgi:
    """One FastCGI connection to invsys-fcgi that asks to be kept open (FCGI_KEEP_CONN), as
    nginx's fastcgi_keep_conn does."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.path = path
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, method, uri, body=b""):
        if isinstance(body, (dict, list)):
            body = _json.dumps(body).encode()
        params = {
            "REQUEST_METHOD": method, "REQUEST_URI": uri, "QUERY_STRING": uri.partition("?")[2],
            "CONTENT_TYPE": "application/json" if body else "", "CONTENT_LENGTH": str(len(body)) if body else "",
            "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1", "REMOTE_ADDR": "127.0.0.1",
        }
        if default_key(self.path):
            params["HTTP_AUTHORIZATION"] = f"Bearer {default_key(self.path)}"
        out = fcgi_record(FCGI_BEGIN_REQUEST, 1, bytes([0, FCGI_RESPONDER, FCGI_KEEP_CONN, 0, 0, 0, 0, 0]))
        out += fcgi_record(FCGI_PARAMS, 1, b"".join(fcgi_pair(k, v) for k, v in params.items()))
        out += fcgi_record(FCGI_PARAMS, 1)
        for i in range(0, len(body), 32768):
            out += fcgi_record(FCGI_STDIN, 1, body[i:i + 32768])
        out += fcgi_record(FCGI_STDIN, 1)
        self.sock.sendall(out)

    def _record(self):
        """The next record as (type, content); None at the end of the stream."""
        while True:
            if len(self.buf) >= 8:
                clen = (self.buf[4] << 8) | self.buf[5]
                total = 8 + clen + self.buf[6]
                if len(self.buf) >= total:
                    rtype, content = self.buf[1], self.buf[8:8 + clen]
                    self.buf = self.buf[total:]
                    return rtype, content
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk

    def response(self):
        """Reads up to FCGI_END_REQUEST: (status, body bytes). Raises on EOF or a timeout."""
        stdout = b""
        while True:
            record = self._record()
            if record is None:
                raise ConnectionError(f"the connection ended before FCGI_END_REQUEST (stdout {stdout[:200]!r})")
            rtype, content = record
            if rtype == FCGI_STDOUT:
                stdout += content
            elif rtype == FCGI_END_REQUEST:
                break
        head, _, payload = stdout.partition(b"\r\n\r\n")
        status = 0
        for line in head.decode("latin-1").splitlines():
            if line.lower().startswith("status:"):
                status = int(line.split(":", 1)[1].split()[0])
        return status, payload

    def request(self, method, uri, body=b""):
        self.send(method, uri, body)
        return self.response()

    def ended_by_server(self, timeout):
        """True when the server ends the connection (EOF) within timeout, records after the last
        FCGI_END_REQUEST (an empty FCGI_STDERR) being allowed."""
        self.sock.settimeout(timeout)
        try:
            return self._record_stream_ends()
        except socket.timeout:
            return False

    def _record_stream_ends(self):
        for _ in range(16):
            record = self._record()
            if record is None:
                return True
            if record[0] == FCGI_END_REQUEST:
                return False
        return False


class KeepAliveLoadTest(PoolTestCase):
    """32 clients through a gateway that keeps more FastCGI connections alive than the pool has
    threads: nothing waits on an idle kept-alive connection."""

    stack_options = {"workers": 1, "threads": THREADS, "keepalive": 2}

    @classmethod
    def prepare_stack(cls, stack):
        super().prepare_stack(stack)
        stack.nginx.nginx_workers = 2

    def test_32_keepalive_clients_are_all_served_promptly(self):
        self.wait_workers(1)
        cars = [self.create_resource("cars", f"keepalive car {i}", None, "Car")["id"] for i in range(8)]
        port = self.stack.port
        base = utc_us(2100, 1, 1)
        lock = threading.Lock()
        counter = [0]
        results = []   # (kind, status, seconds, error, rid, from_us, to_us, body)

        def next_seq():
            with lock:
                counter[0] += 1
                return counter[0] - 1

        def client(i):
            conn = None
            deadline = time.monotonic() + LOAD_SECONDS
            k = 0
            while time.monotonic() < deadline:   # bounded by LOAD_SECONDS + one request's timeout
                rid = cars[(i + k) % len(cars)]
                post = k % 2 == 0
                k += 1
                rec = {"kind": "POST" if post else "GET", "status": None, "error": None, "rid": rid}
                if post:
                    seq = next_seq()
                    rec["from_us"], rec["to_us"] = base + seq * HOUR_US, base + (seq + 1) * HOUR_US
                    body = _json.dumps({"from_datetime": iso(rec["from_us"]), "to_datetime": iso(rec["to_us"]),
                                        "allocation_type": "booking", "description": f"keepalive {i}/{seq}"})
                    method, path = "POST", f"/api/cars/{rid}/allocations"
                    headers = with_key({"Content-Type": "application/json"}, port)
                else:
                    body, method, path, headers = None, "GET", f"/api/cars/{rid}", with_key({}, port)
                start = time.monotonic()
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
                    conn.request(method, path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    rec["status"] = resp.status
                    rec["text"] = data[:300].decode("utf-8", "replace")
                    if post and resp.status == 201:
                        rec["id"] = _json.loads(data)["id"]
                    if resp.will_close:
                        conn.close()
                        conn = None
                except Exception as e:  # a timeout or a broken connection: kept, never swallowed
                    rec["error"] = repr(e)
                    if conn is not None:
                        conn.close()
                    conn = None
                rec["seconds"] = time.monotonic() - start
                with lock:
                    results.append(rec)
            if conn is not None:
                conn.close()

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        join_deadline = time.monotonic() + LOAD_SECONDS + 30
        for t in threads:
            t.join(max(0.1, join_deadline - time.monotonic()))
        self.assertFalse(any(t.is_alive() for t in threads), "clients still waiting 30 s after the load")

        latencies = sorted(r["seconds"] for r in results)
        summary = (f"{len(results)} requests, p50 {statistics.median(latencies) * 1000:.0f} ms, "
                   f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms, "
                   f"over {MAX_LATENCY_S} s: {sum(1 for s in latencies if s >= MAX_LATENCY_S)}")
        print(f"\n[keepalive load] {summary}")
        bad = [r for r in results if r["error"] is not None or not 200 <= r["status"] < 300]
        self.assertEqual(bad[:5], [], f"{len(bad)} requests failed; {summary}\n" + self.stack.log_tails(20))
        self.assertGreater(len(results), CLIENTS, summary)
        slow = sorted((r for r in results if r["seconds"] >= MAX_LATENCY_S), key=lambda r: -r["seconds"])
        self.assertEqual([(r["kind"], round(r["seconds"], 2)) for r in slow[:5]], [],
                         f"requests waited {MAX_LATENCY_S} s or more: {summary}")
        created = [r for r in results if r["kind"] == "POST"]
        stored = dict((row[0], row[1:]) for row in self.stack.query(
            "SELECT id, resource_id, from_us, to_us FROM allocations WHERE from_us >= ?", (base,)))
        self.assertEqual(len(stored), len(created), "bookings answered 201 and bookings stored differ")
        for r in created:
            self.assertEqual(stored.get(r["id"]), (r["rid"], r["from_us"], r["to_us"]), r)


class KeptAliveConnectionsTest(PoolTestCase):
    """Straight over FastCGI: more idle kept-alive connections than threads."""

    stack_options = {"workers": 1, "threads": THREADS}

    def worker_pid(self):
        return next(iter(self.wait_workers(1)))

    def test_idle_kept_alive_connections_hold_no_thread(self):
        worker = self.worker_pid()
        before = proc_socket_inodes(worker)
        path = self.fcgi.socket_path
        conns = []
        try:
            # Twice as many connections as threads, each left idle and open after its request:
            # every new one is still served at once.
            for i in range(2 * THREADS + 1):
                conn = KeptAliveFcgi(path, timeout=3)
                conns.append(conn)
                start = time.monotonic()
                try:
                    status, body = conn.request("GET", "/api/health")
                except (socket.timeout, ConnectionError) as e:
                    self.fail(f"connection {i + 1} (with {i} idle kept-alive ones open, {THREADS} threads) "
                              f"not answered: {e!r}\n" + self.stack.log_tails(20))
                self.assertEqual(status, 200, body)
                self.assertLess(time.monotonic() - start, MAX_LATENCY_S, f"connection {i + 1}")
            opened = proc_socket_inodes(worker) - before
            self.assertGreaterEqual(len(opened), len(conns), "the worker does not hold the connections open")
            # Each kept-alive connection goes on serving, in any order, several requests each.
            car = None
            for round_ in range(3):
                for i, conn in reversed(list(enumerate(conns))):
                    if car is None:
                        status, body = conn.request("POST", "/api/cars", {"name": "kept-alive car"})
                        self.assertEqual(status, 201, body)
                        car = _json.loads(body)["id"]
                        continue
                    status, body = conn.request("GET", f"/api/cars/{car}")
                    self.assertEqual(status, 200, f"round {round_}, connection {i + 1}: {body!r}")
        finally:
            for conn in conns:
                conn.close()
        # Closed by the peer: the worker gives each connection up (no descriptor left behind).
        left = wait_until(lambda: not (proc_socket_inodes(worker) & opened), 5)
        self.assertTrue(left, f"the worker still holds {len(proc_socket_inodes(worker) & opened)} of the "
                              f"{len(opened)} connections closed by the peer")
        # And serves as before.
        conn = KeptAliveFcgi(path, timeout=3)
        try:
            self.assertEqual(conn.request("GET", "/api/health")[0], 200)
        finally:
            conn.close()


class KeptAliveStopTest(PoolTestCase):
    """A stop with idle kept-alive connections open: a request sent on one during the drain is
    answered, as the last one on it, and the worker exits once the connections are gone."""

    stack_options = {"workers": 1, "threads": THREADS, "extra_config": {"shutdown_timeout_s": 10}}

    def test_a_request_on_an_idle_connection_during_the_stop_is_the_last_one(self):
        self.wait_workers(1)
        path = self.fcgi.socket_path
        conns = [KeptAliveFcgi(path, timeout=5) for _ in range(2 * THREADS)]
        try:
            for conn in conns:
                self.assertEqual(conn.request("GET", "/api/health")[0], 200)
            # nginx's own idle connections would hold the drain for its keepalive_timeout.
            self.stack.nginx.stop()
            offset = self.fcgi.log_size()
            signalled = time.monotonic()
            self.fcgi.send_signal(signal.SIGTERM)
            self.assertTrue(wait_until(lambda: STOPPING.lines(self.fcgi.log_since(offset)), 5),
                            "the worker does not begin to stop\n" + self.stack.log_tails())
            time.sleep(0.2)
            for i, conn in enumerate(conns):
                status, body = conn.request("POST", "/api/cars", {"name": f"car during the stop {i}"})
                self.assertEqual(status, 201, body)
                self.assertTrue(conn.ended_by_server(5), f"connection {i + 1} not ended after its last response")
            rc = self.fcgi.wait_exit(10)
            took = time.monotonic() - signalled
        finally:
            for conn in conns:
                conn.close()
        self.assertEqual(rc, 0, "the master exits 0\n" + self.stack.log_tails())
        self.assertLess(took, 8, f"the stop took {took:.1f} s with every connection ended")
        self.assertEqual(self.stack.query(
            "SELECT count(*) FROM resources WHERE name LIKE 'car during the stop %'"), [(len(conns),)])


if __name__ == "__main__":
    unittest.main()
