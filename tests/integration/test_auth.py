"""API keys, roles, the gateway's limits, request ids, logs and metrics (issue 10), through the
real nginx and the real pool.

Every status the gateway's authoriser gives: no key, a bad key, a revoked key (within the key
cache's 2 s), each role against each kind of route, a burst over the rate limit, a wrong Host,
invsys down (fail closed), a request id followed from the answer into both logs, and metrics
that add up across two workers.
"""

import json
import os
import re
import threading
import time
import unittest

from harness import StackTestCase, allocation_payload, fcgi_request, wait_until

KEY_CACHE_S = 2          # auth/key_cache.hpp: key_cache_ttl
REVOCATION_BOUND_S = 5   # what the issue allows
HEX32_RE = re.compile(r"^[0-9a-f]{32}$")


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


class KeysAndRolesTest(StackTestCase):
    """Keys made through the API and the roles they carry."""

    def make_key(self, role, name=None):
        r = self.req("POST", "/api/keys", json={"name": name or f"{role}-key", "role": role})
        self.assertStatus(r, 201)
        body = r.json()
        self.assertEqual(set(body), {"id", "name", "role", "created", "last_used", "key"})
        self.assertEqual(body["role"], role)
        self.assertTrue(body["key"].startswith("invsys_"), body)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        return body

    def assertUnauthorized(self, r, msg=""):
        body = self.assertProblem(r, 401, msg)
        self.assertIn("Bearer", r.header("WWW-Authenticate") or "", msg + self._context(r))
        self.assertTrue(body.get("request_id"), msg + self._context(r))
        return body

    def test_health_answers_without_a_key(self):
        r = self.req("GET", "/api/health", key=None)
        self.assertStatus(r, 200)

    def test_without_a_key_every_other_route_is_401(self):
        rid = self.create_resource("cars", "NoKeyCar")["id"]
        for method, path in [("GET", "/api/types"), ("GET", "/api/cars"), ("POST", "/api/cars"),
                             ("GET", f"/api/cars/{rid}"), ("PATCH", f"/api/cars/{rid}"),
                             ("DELETE", f"/api/cars/{rid}"), ("GET", f"/api/cars/{rid}/allocations"),
                             ("GET", "/api/keys"), ("GET", "/api/metrics"), ("GET", "/metrics"),
                             ("GET", "/api/no-such-collection"), ("PUT", "/api/cars"),
                             ("GET", "/api/keys/current")]:
            with self.subTest(method=method, path=path):
                self.assertUnauthorized(self.req(method, path, json={} if method in ("POST", "PATCH") else None,
                                                 key=None), f"{method} {path}")
        self.assertEqual(len(self.stack.query("SELECT id FROM resources WHERE id = ?", (rid,))), 1)

    def test_a_bad_key_is_401(self):
        for header in ["Bearer invsys_" + "0" * 64, "Bearer short", "Basic dXNlcjpwYXNz", "Bearer",
                       "bearer  " + "x" * 40 + " trailing", "Bearer " + "y" * 300, "Bearer " + "é" * 40]:
            with self.subTest(header=header[:40]):
                r = self.req("GET", "/api/types", headers={"Authorization": header.encode("utf-8").decode("latin-1")})
                self.assertUnauthorized(r)

    def test_the_scheme_is_case_insensitive(self):
        r = self.req("GET", "/api/types", headers={"Authorization": f"bEaReR {self.stack.admin_key}"})
        self.assertStatus(r, 200)

    def test_each_role_against_each_kind_of_route(self):
        reader = self.make_key("reader")["key"]
        writer = self.make_key("writer")["key"]
        admin = self.stack.admin_key
        rid = self.create_resource("cars", "RoleCar")["id"]
        busy = self.create_resource("cars", "RoleBusyCar")["id"]
        self.create_allocation("cars", busy)

        def status(secret, method, path, json=None):
            return self.req(method, path, json=json, key=secret).status

        # reader: reads only
        self.assertEqual(status(reader, "GET", "/api/types"), 200)
        self.assertEqual(status(reader, "GET", "/api/cars"), 200)
        self.assertEqual(status(reader, "HEAD", f"/api/cars/{rid}"), 200)
        self.assertEqual(status(reader, "GET", "/api/keys/current"), 200)
        for method, path, body in [("POST", "/api/cars", {"name": "ReaderCar"}),
                                   ("PATCH", f"/api/cars/{rid}", {"name": "X"}),
                                   ("DELETE", f"/api/cars/{rid}", None),
                                   ("POST", f"/api/cars/{rid}/allocations", {}),
                                   ("GET", "/api/keys", None), ("POST", "/api/keys", {"name": "n", "role": "admin"}),
                                   ("GET", "/metrics", None)]:
            with self.subTest(role="reader", method=method, path=path):
                r = self.req(method, path, json=body, key=reader)
                self.assertProblem(r, 403)
        # writer: reads and writes on resources and allocations, no keys, no force
        r = self.req("POST", "/api/cars", json={"name": "WriterCar"}, key=writer)
        self.assertStatus(r, 201)
        self.assertEqual(status(writer, "PATCH", f"/api/cars/{rid}", {"name": "RoleCar2"}), 200)
        self.assertProblem(self.req("DELETE", f"/api/cars/{busy}?force=true", key=writer), 403)
        self.assertProblem(self.req("DELETE", f"/api/cars/{busy}?force=%74rue", key=writer), 403)
        self.assertProblem(self.req("DELETE", f"/api/cars/{busy}", key=writer), 409)
        self.assertEqual(status(writer, "DELETE", f"/api/cars/{r.json()['id']}"), 204)
        self.assertProblem(self.req("GET", "/api/keys", key=writer), 403)
        self.assertProblem(self.req("GET", "/metrics", key=writer), 403)
        self.assertProblem(self.req("DELETE", f"/api/keys/{self.make_key('reader')['id']}", key=writer), 403)
        # admin: everything, force included
        self.assertEqual(status(admin, "DELETE", f"/api/cars/{busy}?force=true"), 204)
        self.assertEqual(status(admin, "GET", "/api/keys"), 200)

    def test_keys_are_listed_without_secrets_and_stored_hashed(self):
        made = self.make_key("reader", "listed")
        r = self.req("GET", "/api/keys")
        self.assertStatus(r, 200)
        listed = {k["id"]: k for k in r.json()}
        self.assertIn(made["id"], listed)
        self.assertNotIn("key", listed[made["id"]])
        self.assertNotIn(made["key"], r.text)
        rows = self.stack.query("SELECT secret_hash FROM api_keys WHERE id = ?", (made["id"],))
        self.assertEqual(len(rows), 1)
        self.assertRegex(rows[0][0], r"^[0-9a-f]{64}$")
        self.assertNotIn(made["key"][7:], json.dumps(self.stack.query("SELECT * FROM api_keys")))
        # last_used is set once the key is used
        self.assertStatus(self.req("GET", "/api/types", key=made["key"]), 200)
        r = self.req("GET", "/api/keys")
        self.assertIsNotNone({k["id"]: k for k in r.json()}[made["id"]]["last_used"])

    def test_a_revoked_key_stops_working_within_the_cache_time(self):
        made = self.make_key("writer", "to-revoke")
        self.assertStatus(self.req("GET", "/api/types", key=made["key"]), 200)
        self.assertStatus(self.req("DELETE", f"/api/keys/{made['id']}"), 204)
        revoked_at = time.monotonic()
        ok = wait_until(lambda: self.req("GET", "/api/types", key=made["key"]).status == 401, REVOCATION_BOUND_S,
                        interval=0.1)
        self.assertTrue(ok, f"revoked key still accepted after {REVOCATION_BOUND_S} s")
        self.assertLess(time.monotonic() - revoked_at, KEY_CACHE_S + 1.5)
        for _ in range(10):  # every worker and thread
            self.assertUnauthorized(self.req("GET", "/api/types", key=made["key"]))
        self.assertProblem(self.req("DELETE", f"/api/keys/{made['id']}"), 404)

    def test_bad_key_bodies_are_400_and_store_nothing(self):
        before = self.stack.query("SELECT count(*) FROM api_keys")
        for body in ['{"name":"x"}', '{"role":"admin"}', '{"name":"x","role":"root"}', '{"name":"","role":"reader"}',
                     '{"name":"x","role":"reader","key":"invsys_' + "a" * 64 + '"}', '[]', 'nope',
                     '{"name":"a\\u0001","role":"reader"}', '{"name":"' + "n" * 65 + '","role":"reader"}',
                     '{"name":1,"role":"reader"}', '{"name":"x","role":null}']:
            with self.subTest(body=body[:60]):
                self.assertProblem(self.req("POST", "/api/keys", body=body), 400)
        self.assertEqual(self.stack.query("SELECT count(*) FROM api_keys"), before)

    def test_a_cross_site_text_plain_post_creates_nothing(self):
        before = self.stack.snapshot()
        # What a form on another site can send: no Authorization header, a simple content type.
        r = self.req("POST", "/api/cars", body='{"name":"CsrfCar"}', key=None,
                     headers={"Content-Type": "text/plain", "Origin": "http://evil.example",
                              "Cookie": f"key={self.stack.admin_key}"})
        self.assertUnauthorized(r)
        r = self.req(f"POST", f"/api/cars?key={self.stack.admin_key}", body='{"name":"CsrfCar"}', key=None,
                     headers={"Content-Type": "text/plain"})
        self.assertUnauthorized(r)
        self.assertEqual(self.stack.snapshot(), before)

    def test_a_cors_preflight_is_refused(self):
        r = self.req("OPTIONS", "/api/cars", key=None,
                     headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
                              "Access-Control-Request-Headers": "authorization, content-type"})
        self.assertProblem(r, 403)
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))
        self.assertIsNone(r.header("Access-Control-Allow-Headers"))

    def test_another_host_is_421(self):
        for host in ["evil.example", "rebind.attacker.test:8080", "127.0.0.2"]:
            with self.subTest(host=host):
                r = self.req("GET", "/api/cars", headers={"Host": host})
                body = self.assertProblem(r, 421)
                self.assertTrue(body.get("request_id"))
        self.assertStatus(self.req("GET", "/api/types", headers={"Host": f"localhost:{self.stack.port}"}), 200)

    def test_the_raw_fastcgi_socket_needs_a_key_too(self):
        status, headers, body = fcgi_request(self.stack.fcgi.socket_path, "GET", "/api/types", key=None)
        self.assertEqual(status, 401, body)
        self.assertIn("Bearer", headers.get("www-authenticate", ""))
        status, _, _ = fcgi_request(self.stack.fcgi.socket_path, "GET", "/api/types")
        self.assertEqual(status, 200)

    def test_the_docs_viewer_is_public_and_the_description_needs_a_reader_key(self):
        # Swagger UI's files are open-source code (docs/hardening.md, "/docs/"); what the
        # page shows comes from /api/openapi.json, with the key the page asks for.
        r = self.req("GET", "/docs/", key=None)
        self.assertStatus(r, 200)
        self.assertEqual(r.content_type, "text/html")
        self.assertProblem(self.req("GET", "/api/openapi.json", key=None), 401)
        reader = self.make_key("reader", "docs-reader")["key"]
        self.assertStatus(self.req("GET", "/api/openapi.json", key=reader), 200)


class AdminToolTest(StackTestCase):
    """invsys-admin on the configured database while the service runs."""

    def test_create_list_revoke_with_the_service_running(self):
        fcgi = self.stack.fcgi
        r = fcgi.admin("keys", "create", "--role", "writer", "--name", "ops")
        self.assertEqual(r.returncode, 0, r.stderr)
        secret = r.stdout.decode().strip()
        self.assertRegex(secret, r"^invsys_[0-9a-f]{64}$")
        self.assertStatus(self.req("POST", "/api/cars", json={"name": "OpsCar"}, key=secret), 201)
        r = fcgi.admin("keys", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        line = [l for l in r.stdout.decode().splitlines() if "\tops\t" in l]
        self.assertEqual(len(line), 1, r.stdout)
        self.assertNotIn(secret, r.stdout.decode() + r.stderr.decode())
        key_id = line[0].split("\t")[0]
        r = fcgi.admin("keys", "revoke", key_id)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(wait_until(lambda: self.req("GET", "/api/types", key=secret).status == 401,
                                   REVOCATION_BOUND_S, interval=0.1))
        r = fcgi.admin("keys", "revoke", key_id)
        self.assertEqual(r.returncode, 1)
        r = fcgi.admin("keys", "create", "--role", "root", "--name", "x")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"role", r.stderr)

    def test_ensure_takes_the_secret_from_the_environment(self):
        secret = "ops-secret-" + "k" * 30
        fcgi = self.stack.fcgi
        r = fcgi.admin("keys", "ensure", "--role", "reader", "--name", "env", env={"INVSYS_ADMIN_KEY": secret})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertStatus(self.req("GET", "/api/types", key=secret), 200)
        self.assertProblem(self.req("POST", "/api/cars", json={"name": "EnvCar"}, key=secret), 403)
        r = fcgi.admin("keys", "ensure", "--role", "reader", "--name", "env", env={"INVSYS_ADMIN_KEY": "short"})
        self.assertEqual(r.returncode, 1)


class RequestIdTest(StackTestCase):
    """X-Request-Id from the answer into invsys's log and nginx's access log."""

    def invsys_lines(self, request_id):
        out = []
        for line in self.stack.fcgi.log().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("request_id") == request_id:
                    out.append(record)
        return out

    def access_lines(self, request_id):
        path = os.path.join(self.stack.nginx.prefix, "logs", "access.log")
        with open(path) as f:
            return [json.loads(l) for l in f if f'"request_id":"{request_id}"' in l]

    def test_a_given_id_is_followed_into_both_logs(self):
        rid = "trace-0001.abc_DEF"
        r = self.req("GET", "/api/cars/00000000-0000-4000-8000-000000000000", headers={"X-Request-Id": rid})
        body = self.assertProblem(r, 404)
        self.assertEqual(r.header("X-Request-Id"), rid)
        self.assertEqual(body["request_id"], rid)
        self.assertTrue(wait_until(lambda: self.invsys_lines(rid), 5, interval=0.1), self.stack.fcgi.log_tail())
        record = self.invsys_lines(rid)[0]
        self.assertEqual(record["route"], "/api/{collection}/{id}")
        self.assertEqual(record["status"], 404)
        self.assertEqual(record["method"], "GET")
        self.assertEqual(record["key"], "harness")
        self.assertIsInstance(record["duration_ms"], (int, float))
        self.assertNotIn(self.stack.admin_key, self.stack.fcgi.log())
        self.assertTrue(wait_until(lambda: self.access_lines(rid), 5, interval=0.1))
        self.assertEqual(self.access_lines(rid)[0]["status"], 404)

    def test_a_malformed_id_is_replaced(self):
        for given in ["has space", "x" * 65, "quote\"d", ""]:
            with self.subTest(given=given):
                r = self.req("GET", "/api/types", headers={"X-Request-Id": given})
                self.assertStatus(r, 200)
                self.assertRegex(r.header("X-Request-Id"), HEX32_RE)

    def test_gateway_problems_carry_the_id(self):
        r = self.req("GET", "/not-api", headers={"X-Request-Id": "gw-404"})
        body = self.assertProblem(r, 404)
        self.assertEqual(body["request_id"], "gw-404")
        self.assertEqual(r.header("X-Request-Id"), "gw-404")
        r = self.req("GET", "/api/types", key=None, headers={"X-Request-Id": "no-key-1"})
        self.assertEqual(self.assertProblem(r, 401)["request_id"], "no-key-1")


class RateLimitTest(StackTestCase):
    """A small per-key rate (render --rate-limit 5r/s --rate-burst 5): a burst is 429."""

    stack_options = {"limits": {"rate_limit": "5r/s", "rate_burst": "5", "conn_limit": "1000"}}

    def test_a_burst_over_the_rate_is_429_with_retry_after(self):
        statuses = []
        too_many = None
        for _ in range(40):
            r = self.req("GET", "/api/types")
            statuses.append(r.status)
            if r.status == 429:
                too_many = r
        self.assertIsNotNone(too_many, statuses)
        self.assertProblem(too_many, 429)
        self.assertEqual(too_many.header("Retry-After"), "1")
        self.assertIn(200, statuses)
        # Another key has its own bucket.
        other = self.req("POST", "/api/keys", json={"name": "other", "role": "reader"})
        if other.status == 429:  # the admin's bucket may still be empty
            time.sleep(1.5)
            other = self.req("POST", "/api/keys", json={"name": "other", "role": "reader"})
        self.assertStatus(other, 201)
        self.assertStatus(self.req("GET", "/api/types", key=other.json()["key"]), 200)


class DefaultLimitsTest(StackTestCase):
    """The render script's default limits, as a deployment gets them."""

    stack_options = {"limits": "default", "threads": 8, "workers": 2}

    def test_64_concurrent_requests_of_one_client_pass(self):
        results = []
        lock = threading.Lock()
        start = threading.Event()

        def one():
            start.wait(10)
            try:
                r = self.req("GET", "/api/types", timeout=60)
                with lock:
                    results.append(r.status)
            except OSError as e:
                with lock:
                    results.append(repr(e))

        threads = [threading.Thread(target=one, daemon=True) for _ in range(64)]
        for t in threads:
            t.start()
        start.set()
        for t in threads:
            t.join(90)
        self.assertEqual(results.count(200), 64, results)


class MetricsTest(StackTestCase):
    """GET /metrics sums the counters of every worker."""

    stack_options = {"workers": 2, "threads": 2}

    def worker_pids_of(self, path):
        pids = set()
        for line in self.stack.fcgi.log().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("route") == path:
                    pids.add(record["pid"])
        return pids

    def test_counts_add_up_across_two_workers(self):
        self.wait_for_two_ready_workers()
        before = self.scrape()
        # Concurrent, so that nginx opens connections that both workers accept.
        n, results, lock = 96, [], threading.Lock()

        def some(count):
            for _ in range(count):
                status = self.req("GET", "/api/types").status
                with lock:
                    results.append(status)

        threads = [threading.Thread(target=some, args=(n // 8,), daemon=True) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(results, [200] * n)
        rid = self.create_resource("cars", "MetricsCar")["id"]
        self.create_allocation("cars", rid)
        self.assertProblem(self.req("POST", f"/api/cars/{rid}/allocations", json=allocation_payload(None, None)), 409)
        after = self.scrape()
        labels = {"method": "GET", "route": "/api/types", "status": "200"}
        self.assertEqual(self.value(after, "invsys_requests_total", **labels)
                         - self.value(before, "invsys_requests_total", **labels), n, after)
        self.assertEqual(self.value(after, "invsys_conflicts_total") - self.value(before, "invsys_conflicts_total"), 1)
        count = self.value(after, "invsys_request_duration_seconds_count", method="GET", route="/api/types")
        inf = self.value(after, "invsys_request_duration_seconds_bucket", method="GET", route="/api/types", le="+Inf")
        self.assertEqual(count, inf)
        self.assertGreaterEqual(count, n)
        self.assertEqual(self.value(after, "invsys_pool_workers"), 2)
        self.assertGreaterEqual(self.value(after, "invsys_pool_busy_threads"), 1)  # the scrape itself
        self.assertGreater(self.value(after, "invsys_write_lock_waits_total"), 0)
        self.assertIn("invsys_idempotent_replays_total 0", after)
        # Both workers served some of them: the sum is not one worker's count.
        self.assertEqual(len(self.worker_pids_of("/api/types")), 2, "one worker served everything")

    def wait_for_two_ready_workers(self):
        ok = wait_until(lambda: self.value(self.scrape(), "invsys_pool_workers") == 2, 10, interval=0.2)
        self.assertTrue(ok)

    def test_nginx_stub_status_is_beside_it_on_loopback(self):
        r = self.req("GET", "/nginx_status", key=None)
        self.assertStatus(r, 200)
        self.assertIn("Active connections", r.text)

    def test_a_worker_restart_is_counted(self):
        before = self.value(self.scrape(), "invsys_pool_worker_restarts_total")
        victim = sorted(self.stack.fcgi.worker_pids())[0]
        os.kill(victim, 9)
        ok = wait_until(lambda: self.value(self.scrape(), "invsys_pool_worker_restarts_total") == before + 1, 15,
                        interval=0.2)
        self.assertTrue(ok, self.scrape())


class FailClosedTest(StackTestCase):
    """invsys down: nginx answers 502 problem+json, never the resource."""

    def test_with_invsys_down_nothing_is_served(self):
        reader = self.req("POST", "/api/keys", json={"name": "fc-reader", "role": "reader"}).json()["key"]
        self.assertStatus(self.req("GET", "/api/types"), 200)
        self.stack.fcgi.stop()
        for key in (self.stack.admin_key, None, "invsys_" + "1" * 64):
            for path in ("/api/types", "/api/cars", "/metrics"):
                with self.subTest(key=key and key[:12], path=path):
                    r = self.req("GET", path, key=key)
                    body = self.assertProblem(r, (502, 503))
                    self.assertTrue(body.get("request_id"))
        # The docs viewer's static files stay up; the description it needs does not.
        r = self.req("GET", "/api/openapi.json", key=reader)
        self.assertProblem(r, (502, 503))


if __name__ == "__main__":
    unittest.main()
