"""GET /api/openapi.json: generated from the route table and the loaded plugins, linted by
@redocly/cli (web/redocly.yaml), and the harness's check of every answer against it
(harness/openapi_check.py) catches what it should."""

import json
import os
import subprocess
import unittest

from harness import SOURCE_DIR, Response, StackTestCase, find_test_plugin, iso, now_us, HOUR_US
from harness import openapi_check
from harness.openapi_check import OpenApiMismatch

REDOCLY = os.path.join(SOURCE_DIR, "web", "node_modules", ".bin", "redocly")
METHODS = ("get", "post", "patch", "delete")


class OpenApiDocumentTest(StackTestCase):
    """The built-in types and the test plugin `ruled` (every per-type rule)."""

    @classmethod
    def prepare_stack(cls, stack):
        stack.add_plugin(find_test_plugin("ruled"))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.stack.request("GET", "/api/openapi.json")
        assert r.status == 200, r
        cls.doc = r.json()
        cls.etag = r.header("ETag")
        cls.types = cls.stack.request("GET", "/api/types").json()

    def operations(self):
        for path, item in self.doc["paths"].items():
            for method in METHODS:
                if method in item:
                    yield path, method, item[method]

    def test_it_is_openapi_3_1_relative_to_api(self):
        self.assertEqual(self.doc["openapi"], "3.1.0")
        self.assertEqual(self.doc["servers"][0]["url"], "/api")
        self.assertIn("/health", self.doc["paths"])
        self.assertIn("/openapi.json", self.doc["paths"])

    def test_it_needs_a_reader_key(self):
        self.assertProblem(self.req("GET", "/api/openapi.json", key=None), 401)
        made = self.req("POST", "/api/keys", json={"name": "doc-reader", "role": "reader"})
        self.assertStatus(made, 201)
        self.assertJson(self.req("GET", "/api/openapi.json", key=made.json()["key"]))

    def test_each_loaded_type_has_its_path_set_and_attribute_schema(self):
        collections = {t["collection"]: t for t in self.types}
        self.assertLessEqual({"cars", "lorries", "trucks"}, set(collections))
        tags = {t["name"]: t for t in self.doc["tags"]}
        schemas = self.doc["components"]["schemas"]
        for collection, t in collections.items():
            name = t["resource_type"]
            for suffix in ("", "/availability", "/allocations", "/{id}", "/{id}/free", "/{id}/allocations",
                           "/{id}/allocations/{allocation_id}"):
                self.assertIn(f"/{collection}{suffix}", self.doc["paths"])
            # The plugin's own schema, exactly as /api/types shows it, and its rules.
            self.assertEqual(schemas[f"{name}Attributes"], t["attributes"])
            self.assertEqual(tags[collection]["x-invsys-rules"], t["rules"])
            self.assertEqual(schemas[name]["properties"]["resource_type"], {"const": name})

    def test_operations_declare_their_statuses_headers_and_security(self):
        ids = set()
        for path, method, op in self.operations():
            where = f"{method.upper()} {path}"
            self.assertNotIn(op["operationId"], ids, where)
            ids.add(op["operationId"])
            responses = op["responses"]
            for status in ("400", "429", "500", "502", "503", "504"):
                self.assertIn(status, responses, where)
            if path == "/health":
                self.assertEqual(op["security"], [], where)
                self.assertNotIn("401", responses, where)
            else:
                self.assertNotIn("security", op, where)  # the document's default: bearer
                self.assertIn("401", responses, where)
                self.assertIn("403", responses, where)
            params = {p["$ref"].rsplit("/", 1)[1] for p in op.get("parameters", [])}
            if method == "post":
                self.assertIn("Idempotency-Key", params, where)
                self.assertIn("422", responses, where)
                self.assertIn("Idempotent-Replayed", responses["201"]["headers"], where)
            if method in ("patch", "delete") and "{" in path and not path.startswith("/keys"):
                self.assertIn("If-Match", params, where)
                self.assertIn("412", responses, where)
        self.assertEqual(self.doc["security"], [{"bearer": []}])
        self.assertEqual(self.doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer")
        problems = self.doc["components"]["responses"]
        self.assertIn("WWW-Authenticate", problems["Problem401"]["headers"])
        for status in ("429", "503"):
            self.assertIn("Retry-After", problems[f"Problem{status}"]["headers"])
        self.assertIn("conflicts", self.doc["components"]["schemas"]["Problem"]["properties"])

    def test_every_route_of_the_table_is_described(self):
        # One operation per route row and collection: the table's GET /api/types-style rows
        # once, the {collection} rows once per loaded type.
        operations = list(self.operations())
        per_collection = [o for o in operations if o[0].startswith("/cars")]
        self.assertEqual(len(per_collection), 13)
        # 9: health, openapi.json, types, metrics, keys (GET, POST), keys/current,
        # keys/{id}, audit.
        self.assertEqual(len(operations), 9 + 13 * len(self.types))
        self.assertIn(("/audit", "get"), [(path, method) for path, method, *_ in operations])

    def test_the_etag_answers_if_none_match_with_304(self):
        self.assertRegex(self.etag, r'^"openapi-[0-9a-f]{16}"$')
        again = self.req("GET", "/api/openapi.json")
        self.assertEqual(again.header("ETag"), self.etag, "built once: the same document every time")
        r = self.req("GET", "/api/openapi.json", headers={"If-None-Match": f'"x", W/{self.etag}'})
        self.assertStatus(r, 304)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header("ETag"), self.etag)
        self.assertStatus(self.req("GET", "/api/openapi.json", headers={"If-None-Match": '"other"'}), 200)

    def test_redocly_lints_it_clean(self):
        path = os.path.join(self.stack.root, "openapi.json")
        with open(path, "w") as f:
            json.dump(self.doc, f)
        env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true", NO_COLOR="1")
        run = subprocess.run([REDOCLY, "lint", "--config", os.path.join(SOURCE_DIR, "web", "redocly.yaml"),
                              "--format", "stylish", path],
                             capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(run.returncode, 0, run.stdout[-4000:] + run.stderr[-2000:])
        self.assertNotIn("warning", run.stdout.lower())


class OpenApiCheckTest(StackTestCase):
    """The harness's check would catch a service that breaks its document."""

    def fake(self, method, path, status, body, headers=None, content_type="application/json"):
        import email.message
        msg = email.message.Message()
        msg["Content-Type"] = content_type
        msg["X-Request-Id"] = "test"
        for name, value in (headers or {}).items():
            msg[name] = value
        return Response(method, path, status, msg, json.dumps(body).encode())

    def check(self, response):
        self.req("GET", "/api/health")  # the document is fetched for this port
        openapi_check.check(self.stack.port, response)

    def test_a_real_answer_passes(self):
        car = self.create_resource("cars", "Checked", {"seats": 4})
        self.check(self.req("GET", f"/api/cars/{car['id']}"))

    def test_a_body_off_its_schema_is_caught(self):
        car = self.create_resource("cars", "Off-schema", {"seats": 4})
        wrong = dict(car, attributes={"seats": "four"})
        with self.assertRaisesRegex(OpenApiMismatch, "does not match"):
            self.check(self.fake("GET", f"/api/cars/{car['id']}", 200, wrong, {"ETag": '"1"'}))
        with self.assertRaisesRegex(OpenApiMismatch, "does not match"):
            self.check(self.fake("GET", f"/api/cars/{car['id']}", 200, dict(car, extra=None) | {"id": 5},
                                 {"ETag": '"1"'}))

    def test_an_undeclared_status_is_caught(self):
        with self.assertRaisesRegex(OpenApiMismatch, "status not declared"):
            self.check(self.fake("GET", "/api/types", 201, []))

    def test_a_missing_required_header_is_caught(self):
        car = self.create_resource("cars", "No-etag")
        with self.assertRaisesRegex(OpenApiMismatch, "required header ETag"):
            self.check(self.fake("GET", f"/api/cars/{car['id']}", 200, car))
        problem = {"type": "about:blank", "title": "Unauthorized", "status": 401}
        with self.assertRaisesRegex(OpenApiMismatch, "WWW-Authenticate"):
            self.check(self.fake("GET", "/api/types", 401, problem, content_type="application/problem+json"))

    def test_a_problem_of_the_wrong_shape_is_caught(self):
        frm = iso(now_us() + HOUR_US)
        with self.assertRaisesRegex(OpenApiMismatch, "does not match"):
            self.check(self.fake("GET", f"/api/cars/availability?from={frm}", 400, {"error": "bad"},
                                 content_type="application/problem+json"))


if __name__ == "__main__":
    unittest.main()
