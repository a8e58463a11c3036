"""Errors (API.md "Errors"): every error, from invsys or from the gateway, is
application/problem+json (RFC 9457) with type, title, status and detail; validation errors
name their fields; conflicts list ids; 405 carries Allow; nothing answers 500."""

import http
import unittest
import uuid

from harness import StackTestCase

# Reason phrases a title may use (RFC 9110 renamed a few).
TITLES = {
    400: {"Bad Request"}, 404: {"Not Found"}, 405: {"Method Not Allowed"}, 409: {"Conflict"},
    413: {"Content Too Large", "Payload Too Large", "Request Entity Too Large"},
    414: {"URI Too Long", "Request-URI Too Long", "Request-URI Too Large"},
    502: {"Bad Gateway"}, 504: {"Gateway Timeout"},
}


class ErrorShapeTest(StackTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.stack.request("POST", "/api/cars", json={"name": "Err Car"})
        assert r.status == 201, r
        cls.car = r.json()
        r = cls.stack.request("POST", f"/api/cars/{cls.car['id']}/allocations", json={
            "from_datetime": "2030-01-01T10:00:00Z", "to_datetime": "2030-01-01T12:00:00Z",
            "allocation_type": "booking"})
        assert r.status == 201, r
        cls.alloc = r.json()

    def check(self, resp, status):
        problem = self.assertProblem(resp, status)
        if problem["type"] == "about:blank":
            self.assertIn(problem["title"], TITLES.get(status, {http.HTTPStatus(status).phrase}),
                          "with type about:blank the title is the status's reason phrase")
        self.assertTrue(problem["detail"].strip(), "detail says what went wrong")
        return problem

    def error_requests(self):
        cid, aid = self.car["id"], self.alloc["id"]
        base = f"/api/cars/{cid}/allocations"
        return [
            # (what, method, path, json body or raw bytes, status)
            ("malformed JSON", "POST", "/api/cars", b'{"name": ', 400),
            ("not an object", "POST", "/api/cars", b"[1]", 400),
            ("missing name", "POST", "/api/cars", {}, 400),
            ("bad attribute", "POST", "/api/cars", {"name": "e1", "attributes": {"seats": 0}}, 400),
            ("bad time", "POST", base, {"from_datetime": "2030-02-30T00:00:00Z", "to_infinity": True,
                                        "allocation_type": "b"}, 400),
            ("bad limit", "GET", "/api/cars?limit=0", None, 400),
            ("unknown after", "GET", f"/api/cars?after={uuid.uuid4()}", None, 400),
            ("unknown collection", "GET", "/api/planes", None, 404),
            ("unknown collection, POST", "POST", "/api/planes", {"name": "p"}, 404),
            ("unknown id", "GET", f"/api/cars/{uuid.uuid4()}", None, 404),
            ("malformed id", "GET", "/api/cars/%20%20", None, 404),
            ("id of another type", "GET", f"/api/trucks/{cid}", None, 404),
            ("unknown allocation", "GET", f"{base}/{uuid.uuid4()}", None, 404),
            ("unknown api path", "GET", "/api/", None, 404),
            ("unknown api path 2", "GET", "/api/cars/x/allocations/y/z", None, 404),
            ("off the API", "GET", "/no-such-page", None, 404),
            ("off the API 2", "GET", "/apix", None, 404),
            ("off the API, POST", "POST", "/no-such-page", {"a": 1}, (404, 405)),
            ("method", "PUT", "/api/cars", {"name": "x"}, 405),
            ("method on item", "POST", f"/api/cars/{cid}", {"name": "x"}, 405),
            ("name taken", "POST", "/api/cars", {"name": "Err Car"}, 409),
            ("overlap", "POST", base, {"from_datetime": "2030-01-01T11:00:00Z", "to_infinity": True,
                                       "allocation_type": "b"}, 409),
            ("delete while booked", "DELETE", f"/api/cars/{cid}", None, 409),
            ("too large", "POST", "/api/cars", b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}', 413),
            ("URI too long", "GET", "/api/cars/" + "a" * (17 * 1024), None, 414),
        ]

    def test_every_error_is_problem_json(self):
        before = self.stack.snapshot()
        for what, method, path, body, status in self.error_requests():
            with self.subTest(what=what):
                if isinstance(body, (bytes, type(None))):
                    r = self.req(method, path, body=body)
                else:
                    r = self.req(method, path, json=body)
                if isinstance(status, tuple):
                    self.assertIn(r.status, status, repr(r))
                    status = r.status
                self.check(r, status)
        self.assertEqual(self.stack.snapshot(), before)

    def test_validation_errors_name_their_fields(self):
        base = f"/api/cars/{self.car['id']}/allocations"
        cases = [
            ("POST", "/api/cars", {"name": ""}, "name"),
            ("POST", "/api/cars", {"name": "ok", "attributes": {"seats": 11}}, ("seats", "attributes")),
            ("PATCH", f"/api/cars/{self.car['id']}", {"name": "a\x00"}, "name"),
            ("POST", base, {"from_datetime": "2030-01-01T10:00:60Z", "to_infinity": True, "allocation_type": "b"},
             "from_datetime"),
            ("POST", base, {"from_infinity": True, "to_datetime": "nope", "allocation_type": "b"}, "to_datetime"),
            ("POST", base, {"from_infinity": True, "to_infinity": True, "allocation_type": ""}, "allocation_type"),
            ("POST", base, {"from_infinity": True, "to_infinity": True, "allocation_type": "b",
                            "description": "d" * 1001}, "description"),
            ("POST", base, {"from_infinity": True, "to_infinity": True, "allocation_type": "b", "dump": [1]}, "dump"),
            ("PATCH", f"{base}/{self.alloc['id']}", {"to_datetime": "2030-01-01T09:00:00Z"},
             ("from_datetime", "to_datetime")),
        ]
        for method, path, body, fields in cases:
            with self.subTest(body=body):
                problem = self.assertValidation(self.req(method, path, json=body), fields)
                for e in problem["errors"]:
                    self.assertTrue(e["message"].strip(), "each error says what is wrong")

    def test_several_validation_errors_are_reported_together(self):
        r = self.req("POST", f"/api/cars/{self.car['id']}/allocations",
                     json={"from_datetime": "2030-13-01T00:00:00Z", "to_datetime": "2030-02-30T00:00:00Z",
                           "allocation_type": ""})
        problem = self.assertValidation(r)
        # At least the first is named; a careful server names all three.
        fields = {e["field"] for e in problem["errors"]}
        self.assertTrue(fields & {"from_datetime", "to_datetime", "allocation_type"}, fields)

    def test_conflicts_list_the_conflicting_allocation_ids(self):
        r = self.req("POST", f"/api/cars/{self.car['id']}/allocations",
                     json={"from_datetime": "2030-01-01T09:00:00Z", "to_datetime": "2030-01-01T10:30:00Z",
                           "allocation_type": "b"})
        problem = self.check(r, 409)
        self.assertEqual(problem.get("conflicts"), [self.alloc["id"]])

    def test_405_carries_allow(self):
        for method, path, expected in (("PUT", "/api/cars", {"GET", "POST"}),
                                       ("DELETE", "/api/types", {"GET"}),
                                       ("PUT", f"/api/cars/{self.car['id']}", {"GET", "PATCH", "DELETE"})):
            with self.subTest(method=method, path=path):
                r = self.req(method, path, json={} if method == "PUT" else None)
                self.check(r, 405)
                allow = {m.strip().upper() for m in (r.header("Allow") or "").split(",") if m.strip()}
                self.assertLessEqual(expected, allow)

    def test_no_input_here_answers_500(self):
        odd_paths = ["/api/cars/..", "/api/cars/.", "/api//cars", "/api/cars//allocations", "/api/cars/%2e%2e",
                     "/api/cars/%00", "/api/cars/%ff%fe", "/api/cars?limit=%ff", "/api/cars?after=%00",
                     "/api/cars?limit=1&limit=2", "/api/cars?after", "/api/cars?=&&=",
                     f"/api/cars/{self.car['id']}/allocations?from=%ff&to=%00",
                     f"/api/cars/{self.car['id']}/allocations?allocation_type=%ff",
                     "/api/%63ars", "/api/cars;x=y", "/api/cars/" + "%41" * 1000]
        pids = self.stack.fcgi.pids()
        before = self.stack.snapshot()
        for path in odd_paths:
            for method in ("GET", "DELETE", "PATCH"):
                with self.subTest(path=path, method=method):
                    r = self.req(method, path, json={"name": "z"} if method == "PATCH" else None)
                    self.assertLess(r.status, 500, repr(r))
                    if r.status >= 400:
                        self.assertProblem(r, r.status)
        self.assertEqual(self.stack.snapshot(), before)
        self.assertEqual(self.stack.fcgi.pids(), pids)


if __name__ == "__main__":
    unittest.main()
