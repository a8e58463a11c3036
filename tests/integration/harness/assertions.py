"""Test bases: ApiAssertions (checks of API answers that show the request and the logs on
failure) and StackTestCase (one Stack per test class, and the common operations on it)."""

import unittest

from .http_client import location_path
from .stack import Stack
from .values import ALLOCATION_FIELDS, RESOURCE_FIELDS, UTC_RE, allocation_payload, now_us, parse_utc


class ApiAssertions(unittest.TestCase):
    """Assertion helpers for API responses; failures show the request and the logs."""

    def log_tails(self, lines=15):
        return ""

    def _context(self, resp):
        return (f"\n{resp.method} {resp.path[:200]} -> {resp.status}\nheaders: {dict(resp.headers)}\n"
                f"body: {resp.text[:1500]}\n{self.log_tails(15)}")

    def assertStatus(self, resp, status, msg=""):
        if isinstance(status, int):
            status = (status,)
        if resp.status not in status:
            self.fail(f"{msg} expected status {status}, got {resp.status}" + self._context(resp))

    def assertProblem(self, resp, status, msg=""):
        """An RFC 9457 problem+json body with type/title/status/detail; returns it."""
        self.assertStatus(resp, status, msg)
        self.assertEqual(resp.content_type, "application/problem+json",
                         f"{msg} Content-Type" + self._context(resp))
        body = resp.json()
        self.assertIsInstance(body, dict, msg + self._context(resp))
        for key in ("type", "title", "status", "detail"):
            self.assertIn(key, body, f"{msg} problem field {key!r}" + self._context(resp))
        self.assertIsInstance(body["type"], str)
        self.assertTrue(body["type"], "type must not be empty")
        self.assertIsInstance(body["title"], str)
        self.assertTrue(body["title"], "title must not be empty")
        self.assertIsInstance(body["detail"], str)
        self.assertIs(type(body["status"]), int, msg + self._context(resp))
        self.assertEqual(body["status"], resp.status, msg + self._context(resp))
        if "errors" in body:
            self.assertIsInstance(body["errors"], list)
            for e in body["errors"]:
                self.assertIsInstance(e, dict)
                self.assertIsInstance(e.get("field"), str, f"errors entry {e!r}")
                self.assertIsInstance(e.get("message"), str, f"errors entry {e!r}")
        if "conflicts" in body:
            self.assertIsInstance(body["conflicts"], list)
        return body

    def assertValidation(self, resp, fields=None, msg=""):
        """A 400 with `errors`; when fields is given, some error names one of them
        (a field matches when it equals a name or starts with `name.` / `name[`)."""
        body = self.assertProblem(resp, 400, msg)
        self.assertIn("errors", body, f"{msg} validation problem without `errors`" + self._context(resp))
        self.assertTrue(body["errors"], f"{msg} empty `errors`" + self._context(resp))
        if fields:
            if isinstance(fields, str):
                fields = (fields,)
            named = [e["field"] for e in body["errors"]]

            def matches(f):
                return any(f == n or f.startswith(n + ".") or f.startswith(n + "[") or f.startswith(n + "/")
                           or f.endswith("." + n) or f.endswith("/" + n)
                           for n in fields)

            self.assertTrue(any(matches(f) for f in named),
                            f"{msg} errors {named} name none of {fields}" + self._context(resp))
        return body

    def assertJson(self, resp, status=200, msg=""):
        self.assertStatus(resp, status, msg)
        self.assertEqual(resp.content_type, "application/json", f"{msg} Content-Type" + self._context(resp))
        return resp.json()

    def assertUtc(self, value, msg=""):
        self.assertIsInstance(value, str, msg)
        self.assertRegex(value, UTC_RE, msg)
        return parse_utc(value)

    def assertRecentCreated(self, value, before_us, after_us, msg="created"):
        t = self.assertUtc(value, msg)
        # Responses may round to the second; allow one second either side.
        self.assertGreaterEqual(t, before_us - 1_000_000, f"{msg} {value} before the request")
        self.assertLessEqual(t, after_us + 1_000_000, f"{msg} {value} after the request")
        return t

    def assertResourceShape(self, body, resource_type, msg=""):
        self.assertIsInstance(body, dict, msg)
        self.assertEqual(set(body), RESOURCE_FIELDS, f"{msg} resource fields of {body!r}")
        self.assertIsInstance(body["id"], str)
        self.assertTrue(body["id"])
        self.assertEqual(body["resource_type"], resource_type, msg)
        self.assertIsInstance(body["name"], str)
        self.assertUtc(body["created"], f"{msg} created")
        self.assertTrue(body["attributes"] is None or isinstance(body["attributes"], dict),
                        f"{msg} attributes {body['attributes']!r}")

    def assertAllocationShape(self, body, resource_type=None, resource_id=None, msg=""):
        self.assertIsInstance(body, dict, msg)
        self.assertEqual(set(body), ALLOCATION_FIELDS, f"{msg} allocation fields of {body!r}")
        self.assertIsInstance(body["id"], str)
        self.assertTrue(body["id"])
        if resource_type is not None:
            self.assertEqual(body["resource_type"], resource_type, msg)
        if resource_id is not None:
            self.assertEqual(body["resource_id"], resource_id, msg)
        self.assertIs(type(body["from_infinity"]), bool, msg)
        self.assertIs(type(body["to_infinity"]), bool, msg)
        if body["from_infinity"]:
            self.assertIsNone(body["from_datetime"], msg)
        else:
            self.assertUtc(body["from_datetime"], f"{msg} from_datetime")
        if body["to_infinity"]:
            self.assertIsNone(body["to_datetime"], msg)
        else:
            self.assertUtc(body["to_datetime"], f"{msg} to_datetime")
        self.assertIsInstance(body["allocation_type"], str)
        self.assertTrue(body["description"] is None or isinstance(body["description"], str))
        self.assertTrue(body["dump"] is None or isinstance(body["dump"], dict))
        self.assertUtc(body["created"], f"{msg} created")


class StackTestCase(ApiAssertions):
    """One Stack per test class; assertion helpers that show the logs on failure."""

    stack_options = {}
    extra_plugins = ()  # (source path or callable returning one, name or None)
    DATABASE = "sqlite"  # or "postgresql": the store behind the class's Stack

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        options = dict(cls.stack_options)
        options.setdefault("database", cls.DATABASE)
        cls.stack = Stack(**options)
        try:
            cls.prepare_stack(cls.stack)
            cls.stack.start()
        except BaseException:
            cls.stack.stop(quiet=True)
            cls.stack.cleanup()
            raise

    @classmethod
    def prepare_stack(cls, stack):
        """Hook: add plugins etc. before start."""

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stack.stop()
            cls.stack.cleanup()
        finally:
            super().tearDownClass()

    # -- requests

    def req(self, method, path, json=None, body=None, headers=None, **kw):
        return self.stack.request(method, path, json=json, body=body, headers=headers, **kw)

    def log_tails(self, lines=15):
        return self.stack.log_tails(lines)

    def scrape(self):
        """GET /metrics (the Prometheus text of every worker's counters, summed)."""
        r = self.req("GET", "/metrics")
        self.assertStatus(r, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/plain; version=0.0.4"))
        return r.text

    @staticmethod
    def value(text, name, **labels):
        """One series' value in a scrape(); 0.0 when absent."""
        wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            series, _, value = line.rpartition(" ")
            if series == (f"{name}{{{wanted}}}" if labels else name):
                return float(value)
        return 0.0

    # -- common operations

    def create_resource(self, collection, name, attributes=None, resource_type=None):
        payload = {"name": name}
        if attributes is not None:
            payload["attributes"] = attributes
        before = now_us()
        r = self.req("POST", f"/api/{collection}", json=payload)
        after = now_us()
        self.assertStatus(r, 201, f"create {collection} {name!r}")
        body = r.json()
        if resource_type is not None:
            self.assertResourceShape(body, resource_type)
            self.assertRecentCreated(body["created"], before, after)
        self.assertEqual(location_path(r), f"/api/{collection}/{body['id']}", "Location" + self._context(r))
        return body

    def create_allocation(self, collection, rid, frm=None, to=None, allocation_type="booking", **extra):
        """frm/to: a time string, or None for an open end."""
        payload = allocation_payload(frm, to, allocation_type, **extra)
        r = self.req("POST", f"/api/{collection}/{rid}/allocations", json=payload)
        self.assertStatus(r, 201, f"allocate {payload}")
        body = r.json()
        self.assertEqual(location_path(r), f"/api/{collection}/{rid}/allocations/{body['id']}",
                         "Location" + self._context(r))
        return body
