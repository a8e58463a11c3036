"""The nginx gateway (issue 2, "nginx/"): problem+json for the errors nginx makes itself
(404 off the API, 413, 414, 502, 504), URIs up to 8 KiB accepted, an access log."""

import glob
import json
import os
import shutil
import time
import unittest

from harness import ApiAssertions, HangingUpstream, Nginx, StackTestCase, http_request, make_tmpdir

MIB = 1024 * 1024


class GatewayTest(StackTestCase):

    def test_paths_off_the_api_are_404_problem_json(self):
        for path in ("/no-such-page", "/no/such/page.html", "/apix", "/api-docs", "/favicon.ico", "/.env",
                     "/cgi-bin/x"):
            for method in ("GET", "DELETE"):
                with self.subTest(path=path, method=method):
                    self.assertProblem(self.req(method, path), 404)

    def test_a_body_over_1_mib_is_413_problem_json(self):
        before = self.stack.snapshot()
        body = json.dumps({"name": "x" * (2 * MIB)}).encode()
        for path in ("/api/cars", "/api/no-such-collection", "/api/health"):
            with self.subTest(path=path):
                self.assertProblem(self.req("POST", path, body=body), 413)
        self.assertProblem(self.req("POST", "/api/cars", body=body, chunked=True), 413)
        self.assertProblem(self.req("POST", "/api/cars", body=b"[" + b" " * MIB + b"]"), 413)
        self.assertEqual(self.stack.snapshot(), before)

    def test_a_body_of_exactly_1_mib_reaches_invsys(self):
        head, tail = b'{"name": "', b'"}'
        body = head + b"n" * (MIB - len(head) - len(tail)) + tail
        self.assertEqual(len(body), MIB)
        self.assertValidation(self.req("POST", "/api/cars", body=body), "name")   # too long a name, not 413

    def test_a_uri_of_8_kib_is_accepted(self):
        for total in (4096, 8000, 8192):
            path = "/api/cars/"
            path += "a" * (total - len(path))
            self.assertEqual(len(path), total)
            with self.subTest(length=total):
                self.assertProblem(self.req("GET", path), 404)   # an unknown id, answered by invsys
        path = "/api/cars?limit=5&after="
        path += "b" * (8192 - len(path))
        self.assertProblem(self.req("GET", path), 400)           # an unknown `after`, answered by invsys
        path = "/api/cars?limit=5&x="
        path += "c" * (8192 - len(path))
        self.assertLess(self.req("GET", path).status, 414)

    def test_a_uri_over_16_kib_is_414_problem_json(self):
        for total in (16 * 1024 + 1, 17 * 1024, 64 * 1024):
            path = "/api/cars/"
            path += "a" * (total - len(path))
            with self.subTest(length=total):
                self.assertProblem(self.req("GET", path), 414)
        path = "/api/cars?after="
        self.assertProblem(self.req("GET", path + "a" * (20 * 1024)), 414)

    def test_gateway_errors_are_problem_json_for_every_method(self):
        for method in ("GET", "POST", "PATCH", "DELETE", "PUT"):
            with self.subTest(method=method):
                r = self.req(method, "/not-the-api", body=b"{}" if method in ("POST", "PATCH", "PUT") else None)
                self.assertIn(r.status, (404, 405), repr(r))
                self.assertProblem(r, r.status)

    def test_requests_are_written_to_an_access_log(self):
        marker = "/api/cars?limit=7&access-log-marker=1"
        self.req("GET", marker)
        deadline = time.monotonic() + 5
        found = False
        while not found and time.monotonic() < deadline:
            for path in glob.glob(os.path.join(self.stack.nginx.prefix, "**", "*access*"), recursive=True):
                if os.path.isfile(path):
                    with open(path, "rb") as f:
                        if b"access-log-marker=1" in f.read():
                            found = True
            if not found:
                time.sleep(0.1)
        self.assertTrue(found, f"no access log under {self.stack.nginx.prefix} records the request")

    def test_responses_pass_through_unchanged(self):
        r = self.req("POST", "/api/cars", json={"name": "Through"})
        self.assertStatus(r, 201)
        self.assertTrue(r.header("Location"))
        self.assertEqual(r.content_type, "application/json")
        rid = r.json()["id"]
        r = self.req("PUT", "/api/cars", json={})
        self.assertProblem(r, 405)
        self.assertTrue(r.header("Allow"), "Allow survives the gateway")
        r = self.req("DELETE", f"/api/cars/{rid}")
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")


class UpstreamDownTest(StackTestCase):

    def test_502_problem_json_while_invsys_is_stopped_then_recovery(self):
        self.assertEqual(self.stack.fcgi.stop(), 0, self.stack.log_tails())
        for method, path, body in (("GET", "/api/health", None), ("GET", "/api/cars", None),
                                   ("POST", "/api/cars", b'{"name": "x"}'), ("DELETE", "/api/cars/x", None)):
            with self.subTest(method=method, path=path):
                started = time.monotonic()
                self.assertProblem(self.req(method, path, body=body), 502)
                self.assertLess(time.monotonic() - started, 10, "a 502 comes at once, not after a timeout")
        # Off-API errors are still nginx's own.
        self.assertProblem(self.req("GET", "/no-such-page"), 404)
        self.stack.fcgi.start()
        self.stack.wait_healthy()
        self.assertStatus(self.req("POST", "/api/cars", json={"name": "after restart"}), 201)


class UpstreamTimeoutTest(ApiAssertions):
    """nginx (--read-timeout 1s) in front of a socket that accepts and never answers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = make_tmpdir("invsys-it-504-")
        cls.hang = HangingUpstream(cls.root)
        cls.nginx = Nginx(cls.root, f"unix:{cls.hang.path}", read_timeout="1s")
        try:
            cls.nginx.start()
        except BaseException:
            cls.hang.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        cls.hang.close()
        if os.environ.get("INVSYS_TEST_KEEP") != "1":
            shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def log_tails(self, lines=15):
        return self.nginx.log_tail(lines)

    def test_an_upstream_that_never_answers_is_504_problem_json(self):
        for method, path, body in (("GET", "/api/health", None), ("POST", "/api/cars", b'{"name": "x"}'),
                                   ("PATCH", "/api/cars/x", b'{"name": "y"}')):
            with self.subTest(method=method):
                started = time.monotonic()
                r = http_request(self.nginx.port, method, path, body=body, timeout=30)
                elapsed = time.monotonic() - started
                self.assertProblem(r, 504)
                self.assertLess(elapsed, 15, "the read timeout is 1 s")
        self.assertGreater(len(self.hang.accepted), 0, "nginx did reach the upstream")


if __name__ == "__main__":
    unittest.main()
