"""nginx never sends a write that reached one upstream server to another (issue 11, "Requests
nobody waits for any more": `fastcgi_next_upstream`).

nginx over two servers: a socket that reads each request whole and then closes the connection
without a word (what a worker that dies mid-request looks like), and the real pool. nginx may pass
a request on to the next server after such an error only when running it twice is harmless:

- a GET that met the closing server is passed on and answered 200 by the pool;
- a POST, a PATCH or a DELETE that met it is not passed on (502 problem+json), so nothing is done
  twice or behind the client's back — the DELETE goes to a location with `fastcgi_next_upstream
  off` (nginx/invsys.conf.template), since nginx counts DELETE as idempotent;
- the rendered configuration says `fastcgi_next_upstream error timeout` and never
  `non_idempotent`.
"""

import os
import socket
import threading
import time

from harness import Nginx, StackTestCase, http_request, mkdir_public


class ClosingUpstream:
    """A unix socket that reads a FastCGI request up to its empty STDIN record, then closes."""

    def __init__(self, root):
        self.path = os.path.join(mkdir_public(os.path.join(root, "closing")), "closing.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.methods = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _read_request(self, conn):
        conn.settimeout(5)
        data = b""
        method = None
        while True:
            while len(data) < 8:
                chunk = conn.recv(65536)
                if not chunk:
                    return method
                data += chunk
            rtype, clen, plen = data[1], int.from_bytes(data[4:6], "big"), data[6]
            while len(data) < 8 + clen + plen:
                chunk = conn.recv(65536)
                if not chunk:
                    return method
                data += chunk
            content, data = data[8:8 + clen], data[8 + clen + plen:]
            if rtype == 4 and b"REQUEST_METHOD" in content:  # FCGI_PARAMS
                i = content.index(b"REQUEST_METHOD")
                method = content[i + 14:i + 14 + content[i - 1]].decode()
            if rtype == 5 and clen == 0:  # the empty FCGI_STDIN: the request is whole
                return method

    def _run(self):
        deadline = time.monotonic() + 600
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            try:
                self.methods.append(self._read_request(conn))
            except OSError:
                pass
            finally:
                conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


class NginxNeverMarkingDown(Nginx):
    """nginx as rendered, but the closing server is never marked unavailable after a failure
    (max_fails=0): every other request meets it, not only one per fail_timeout."""

    closing_path = None

    def render(self):
        super().render()
        conf_path = os.path.join(self.prefix, "nginx.conf")
        with open(conf_path) as f:
            conf = f.read()
        line = f"server unix:{self.closing_path};"
        if line not in conf:
            raise AssertionError(f"no {line!r} in the rendered configuration")
        with open(conf_path, "w") as f:
            f.write(conf.replace(line, f"server unix:{self.closing_path} max_fails=0;"))


class GatewayRetriesTest(StackTestCase):
    stack_options = {"threads": 2, "workers": 1}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.closing = ClosingUpstream(cls.stack.root)
        NginxNeverMarkingDown.closing_path = cls.closing.path
        cls.two = NginxNeverMarkingDown(mkdir_public(os.path.join(cls.stack.root, "two")),
                        [f"unix:{cls.closing.path}", f"unix:{cls.stack.fcgi.socket_path}"], keepalive=1)
        cls.two.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.two.stop()
            cls.closing.close()
        finally:
            super().tearDownClass()

    def via_two(self, method, path, json=None):
        return http_request(self.two.port, method, path, json=json, timeout=30,
                            key=self.stack.admin_key)

    def test_the_rendered_configuration_never_retries_non_idempotent_requests(self):
        with open(os.path.join(self.two.prefix, "nginx.conf")) as f:
            directives = [line.strip() for line in f if line.strip().startswith("fastcgi_next_upstream")]
        self.assertEqual(directives, ["fastcgi_next_upstream error timeout;", "fastcgi_next_upstream off;"])

    def send(self, method, car, k):
        if method == "GET":
            return self.via_two("GET", f"/api/cars/{car}")
        if method == "PATCH":
            return self.via_two("PATCH", f"/api/cars/{car}", json={"name": f"retry patched {k} {car[:8]}"})
        if method == "POST":
            return self.via_two("POST", f"/api/cars/{car}/allocations",
                                json={"from_datetime": f"2250-01-{k + 1:02d}T10:00:00Z",
                                      "to_datetime": f"2250-01-{k + 1:02d}T11:00:00Z", "allocation_type": "booking"})
        return self.via_two("DELETE", f"/api/cars/{car}?force=true")

    def test_only_reads_are_passed_on_after_a_server_closed_the_connection(self):
        for method in ("GET", "PATCH", "POST", "DELETE"):
            with self.subTest(method):
                met = False
                for k in range(8):  # round robin: one of two requests meets the closing server
                    car = self.create_resource("cars", f"retry {method} {k}")["id"]
                    seen = len(self.closing.methods)
                    r = self.send(method, car, k)
                    if self.closing.methods[seen:] != [method]:
                        continue
                    met = True
                    if method == "GET":
                        self.assertStatus(r, 200, "a GET is passed on to the pool")
                    else:
                        self.assertStatus(r, 502, f"a {method} that met the closing server is not passed on")
                        self.assertEqual(r.content_type, "application/problem+json")
                    if method == "DELETE":
                        # Nothing ran behind the client's back: the resource is still there.
                        self.assertStatus(self.req("GET", f"/api/cars/{car}"), 200)
                    if method == "POST":
                        self.assertEqual(self.stack.query(
                            "SELECT count(*) FROM allocations WHERE resource_id = ?", (car,)), [(0,)])
                    break
                self.assertTrue(met, f"no {method} met the closing server in 8 tries")
