"""Bad request bodies (API.md "Errors", issue 2 "Tests"): each is a clean 4xx problem+json, no
worker crashes, and afterwards the database holds exactly what it held before."""

import json
import uuid
import unittest

from harness import StackTestCase, location_path

MIB = 1024 * 1024

MALFORMED = [
    b"", b" ", b"\n", b"{", b"}", b"[", b'{"name": "x"', b'{"name": "x",}', b"{name: \"x\"}", b"{'name': 'x'}",
    b'{"name": "x"} {"a": 1}', b'{"name": "x"}x', b'{"name": "x"}]', b'{"name": "x" "y": 1}', b'{"name" "x"}',
    b"nul", b"tru", b'{"name": undefined}', b'{"name": "x", "attributes": {"seats": NaN}}',
    b'{"name": "x", "attributes": {"seats": Infinity}}', b'{"name": "x", "attributes": {"seats": -Infinity}}',
    b'{"name": "x", "attributes": {"seats": 1e999}}', b'{"name": "x", "attributes": {"seats": 01}}',
    b'{"name": "x", "attributes": {"seats": +1}}', b'{"name": "x", "attributes": {"seats": .5}}',
    b'{"name": "x", "attributes": {"seats": 0x5}}', b'{"name": "\\x41"}', b'{"name": "\\u12"}', b'{"name": "\\u12G4"}',
    b'{"name": "tab\there"}', b'{"name": "nl\nhere"}', b'/* c */ {"name": "x"}', b'{"name": "x"} // c',
    b'{"name": "x"}\x00', b'\x00{"name": "x"}', b'{"name": "unterminated}', b'{"name": "x",, "a": 1}',
    b'{"name": "x"}' + b" " * 10 + b"{",
]

NOT_AN_OBJECT = [b"null", b"[]", b'[{"name": "x"}]', b'"name"', b"42", b"-0.5", b"true", b"false", b'""', b"[[]]"]

INVALID_UTF8 = [
    b'{"name": "\xff"}', b'{"name": "a\xc3"}', b'{"name": "\xc0\xaf"}', b'{"name": "\xe0\x80\xaf"}',
    b'{"name": "\xed\xa0\x80"}', b'{"name": "\xed\xbf\xbf"}', b'{"name": "\xf4\x90\x80\x80"}', b'{"name": "\xf8\x88\x80\x80\x80"}',
    b'{"name": "\xe2\x82"}', b'{"name": "\x80"}', b'{"name": "ok\xfe"}', b'{"\xff": 1}', b'{"name": "ok", "\xfe": 1}',
    b'{"name": "ok", "attributes": {"\xff": 1}}', b'{"name": "\\ud800"}', b'{"name": "\\udc00x"}',
    b'{"name": "\\ud800\\u0041"}', b'{"name": "x\\ud83d"}',
]


def deep(n, open_, close, inner=b""):
    return open_ * n + inner + close * n


DEEP_BODIES = [
    deep(100_000, b"[", b"]"),
    deep(100_000, b'{"a":', b"}", b"1"),
    b'{"name": "deep", "attributes": ' + deep(100_000, b"[", b"]") + b"}",
    b'{"name": "deep", "attributes": {"seats": ' + deep(100_000, b'{"a":', b"}", b"1") + b"}}",
    deep(100_000, b"[", b""),               # deep and never closed
    deep(100_000, b'{"a":', b""),
    deep(65, b"[", b"]"),
]


class BadBodiesTest(StackTestCase):

    def setUp(self):
        # Fresh targets for every test, so that a bad request one test lets through
        # cannot spoil the next.
        r = self.req("POST", "/api/cars", json={"name": f"Target {uuid.uuid4().hex[:12]}", "attributes": {"seats": 4}})
        self.assertStatus(r, 201)
        self.car = r.json()
        r = self.req("POST", f"/api/cars/{self.car['id']}/allocations", json={
            "from_datetime": "2030-01-01T10:00:00Z", "to_datetime": "2030-01-01T12:00:00Z",
            "allocation_type": "booking", "description": "kept", "dump": {"k": [1, 2]}})
        self.assertStatus(r, 201)
        self.allocation = r.json()
        self.targets = [
            ("POST", "/api/cars"),
            ("PATCH", f"/api/cars/{self.car['id']}"),
            ("POST", f"/api/cars/{self.car['id']}/allocations"),
            ("PATCH", f"/api/cars/{self.car['id']}/allocations/{self.allocation['id']}"),
        ]
        self.before = self.stack.snapshot()
        self.pids = self.stack.fcgi.pids()

    def tearDown(self):
        # Bad requests changed nothing, crashed nothing.
        self.assertEqual(self.stack.snapshot(), self.before, "a bad request changed the database")
        self.assertTrue(self.stack.fcgi.alive(), "invsys-fcgi died\n" + self.stack.log_tails())
        self.assertEqual(self.stack.fcgi.pids(), self.pids, "a worker process died or was replaced")
        self.assertStatus(self.req("GET", "/api/health"), 200)
        self.assertEqual(self.assertJson(self.req("GET", f"/api/cars/{self.car['id']}")), self.car)
        self.assertEqual(self.assertJson(self.req(
            "GET", f"/api/cars/{self.car['id']}/allocations/{self.allocation['id']}")), self.allocation)

    def send_all(self, bodies, status=400, targets=None, validation_fields=None):
        for body in bodies:
            for method, path in targets or self.targets:
                with self.subTest(method=method, path=path[-50:], body=body[:60]):
                    r = self.req(method, path, body=body, headers={"Content-Type": "application/json"})
                    if validation_fields is not None:
                        self.assertValidation(r, validation_fields)
                    else:
                        self.assertProblem(r, status)

    def test_malformed_json_is_400(self):
        self.send_all(MALFORMED)

    def test_a_body_that_is_not_an_object_is_400(self):
        self.send_all(NOT_AN_OBJECT)

    def test_an_empty_body_is_400(self):
        for method, path in self.targets:
            with self.subTest(method=method, path=path):
                self.assertProblem(self.req(method, path, body=b""), 400)
                self.assertProblem(self.req(method, path, body=None), 400)

    def test_invalid_utf8_is_400(self):
        self.send_all(INVALID_UTF8)
        alloc_paths = [t for t in self.targets if "allocations" in t[1]]
        self.send_all([
            b'{"from_infinity": true, "to_infinity": true, "allocation_type": "\xff\xfe"}',
            b'{"from_infinity": true, "to_infinity": true, "allocation_type": "b", "description": "\xc3\x28"}',
            b'{"from_infinity": true, "to_infinity": true, "allocation_type": "b", "dump": {"\xed\xa0\x80": 1}}',
            b'{"from_infinity": true, "to_infinity": true, "allocation_type": "b", "dump": {"k": "\xf0\x28\x8c\x28"}}',
            b'{"from_datetime": "2030-01-01T10:00:00\xff", "to_infinity": true, "allocation_type": "b"}',
            b'{"from_infinity": true, "to_infinity": true, "allocation_type": "\\udc00"}',
            b'{"from_infinity": true, "to_infinity": true, "allocation_type": "b", "description": "x\\udfff"}',
            b'{"from_infinity": true, "to_infinity": true, "allocation_type": "b", "dump": {"\\udc00": 1}}',
            b'{"from_infinity": true, "to_infinity": true, "allocation_type": "b", "dump": {"k": ["\\ud800"]}}',
        ], targets=alloc_paths)

    def test_deep_nesting_is_400(self):
        self.send_all(DEEP_BODIES)
        alloc_paths = [t for t in self.targets if "allocations" in t[1]]
        self.send_all([
            b'{"from_infinity": true, "to_infinity": true, "allocation_type": "b", "dump": '
            + deep(100_000, b'{"a":', b"}", b"1") + b"}",
            b'{"from_infinity": true, "to_infinity": true, "allocation_type": "b", "dump": {"a": '
            + deep(100_000, b"[", b"]") + b"}}",
            b'{"from_infinity": true, "to_infinity": true, "allocation_type": "b", "dump": '
            + deep(64, b'{"a":', b"}", b"1") + b"}",   # 65 levels in all
        ], targets=alloc_paths)

    def test_wrong_field_types_are_400_naming_the_field(self):
        resource_cases = [
            ({"name": 5}, "name"), ({"name": True}, "name"), ({"name": ["x"]}, "name"), ({"name": {"x": 1}}, "name"),
            ({"name": 1.5}, "name"), ({"name": "ok", "attributes": "x"}, "attributes"),
            ({"name": "ok", "attributes": [1]}, "attributes"), ({"name": "ok", "attributes": 5}, "attributes"),
            ({"name": "ok", "attributes": {"seats": "4"}}, ("seats", "attributes")),
            ({"name": "ok", "attributes": {"seats": True}}, ("seats", "attributes")),
            ({"name": "ok", "attributes": {"seats": [4]}}, ("seats", "attributes")),
        ]
        for method, path in self.targets[:2]:
            for payload, field in resource_cases:
                with self.subTest(method=method, payload=payload):
                    self.assertValidation(self.req(method, path, json=payload), field)
        base = {"from_datetime": "2035-01-01T10:00:00Z", "to_datetime": "2035-01-01T11:00:00Z",
                "allocation_type": "booking"}
        allocation_cases = [
            ({"from_datetime": 5}, "from_datetime"), ({"to_datetime": ["2035-01-02T00:00:00Z"]}, "to_datetime"),
            ({"from_datetime": None, "from_infinity": "true"}, "from_infinity"),
            ({"to_datetime": None, "to_infinity": 1}, "to_infinity"),
            ({"allocation_type": 7}, "allocation_type"), ({"allocation_type": {"a": 1}}, "allocation_type"),
            ({"description": 5}, "description"), ({"description": ["x"]}, "description"),
            ({"dump": []}, "dump"), ({"dump": "x"}, "dump"), ({"dump": 0}, "dump"), ({"dump": False}, "dump"),
        ]
        for method, path in self.targets[2:]:
            for change, field in allocation_cases:
                payload = dict(base, **change)
                with self.subTest(method=method, payload=change):
                    self.assertValidation(self.req(method, path, json=payload), field)

    def test_unknown_fields_are_400(self):
        for method, path in self.targets[:2]:
            for payload in ({"name": "u1", "colour": "red"}, {"name": "u2", "Name": "u2"},
                            {"name": "u3", "resource_type": "Car"}, {"name": "u4", "": 1}):
                with self.subTest(method=method, payload=payload):
                    extra = [k for k in payload if k not in ("name",)]
                    self.assertValidation(self.req(method, path, json=payload), extra or None)
        base = {"from_datetime": "2035-01-01T10:00:00Z", "to_datetime": "2035-01-01T11:00:00Z",
                "allocation_type": "booking"}
        for method, path in self.targets[2:]:
            for extra in ({"colour": "red"}, {"From_datetime": "2035-01-01T10:00:00Z"}, {"x": None}):
                with self.subTest(method=method, extra=extra):
                    self.assertValidation(self.req(method, path, json=dict(base, **extra)), list(extra))

    def test_a_2_mib_body_is_413_from_the_gateway(self):
        body = json.dumps({"name": "big", "pad": "x" * (2 * MIB)}).encode()
        for method, path in self.targets:
            with self.subTest(method=method, path=path):
                self.assertProblem(self.req(method, path, body=body), 413)
                self.assertProblem(self.req(method, path, body=body, chunked=True), 413)

    def test_one_byte_over_1_mib_is_413_and_1_mib_is_parsed(self):
        def padded(size, allocation):
            if allocation:
                head = b'{"from_infinity": true, "to_infinity": true, "allocation_type": "b", "pad": "'
            else:
                head = b'{"name": "big", "pad": "'
            tail = b'"}'
            return head + b"x" * (size - len(head) - len(tail)) + tail
        for method, path in self.targets:
            allocation = "allocations" in path
            with self.subTest(method=method, path=path):
                self.assertEqual(len(padded(MIB, allocation)), MIB)
                self.assertProblem(self.req(method, path, body=padded(MIB + 1, allocation)), 413)
                # Exactly 1 MiB passes the gateway and is refused for what it says.
                self.assertValidation(self.req(method, path, body=padded(MIB, allocation)), "pad")


class ToleratedBodiesTest(StackTestCase):
    """Inputs a careful server may accept or refuse, but never with a 5xx and never half-stored;
    and the deepest nesting allowed."""

    def test_a_dump_nested_64_levels_deep_in_all_is_accepted(self):
        r = self.req("POST", "/api/cars", json={"name": "Deep64"})
        self.assertStatus(r, 201)
        rid = r.json()["id"]
        body = (b'{"from_infinity": true, "to_infinity": true, "allocation_type": "b", "dump": '
                + deep(63, b'{"a":', b"}", b"1") + b"}")
        r = self.req("POST", f"/api/cars/{rid}/allocations", body=body)
        self.assertStatus(r, 201)
        self.assertEqual(r.json()["dump"], json.loads(body)["dump"])
        self.assertEqual(self.assertJson(self.req("GET", location_path(r)))["dump"], json.loads(body)["dump"])

    def test_odd_but_valid_json_round_trips_or_is_refused(self):
        r = self.req("POST", "/api/cars", json={"name": "Tolerated"})
        self.assertStatus(r, 201)
        rid = r.json()["id"]
        cases = [
            b'{"from_infinity": true, "to_datetime": "2001-01-01T00:00:00Z", "allocation_type": "b", '
            b'"description": "nul\\u0000byte"}',
            b'{"from_datetime": "2002-01-01T00:00:00Z", "to_datetime": "2002-01-02T00:00:00Z", "allocation_type": "b", '
            b'"dump": {"nul": "\\u0000", "k\\u0000": 1}}',
            b'{"from_datetime": "2003-01-01T00:00:00Z", "to_datetime": "2003-01-02T00:00:00Z", "allocation_type": "b", '
            b'"allocation_type": "c"}',
            b'\xef\xbb\xbf{"from_datetime": "2004-01-01T00:00:00Z", "to_datetime": "2004-01-02T00:00:00Z", '
            b'"allocation_type": "b"}',
            b'{"from_datetime": "2005-01-01T00:00:00Z", "to_datetime": "2005-01-02T00:00:00Z", "allocation_type": "b", '
            b'"dump": {"big": 123456789012345678901234567890, "small": 1e-320}}',
        ]
        for body in cases:
            with self.subTest(body=body[:80]):
                before = self.stack.snapshot()
                r = self.req("POST", f"/api/cars/{rid}/allocations", body=body)
                self.assertStatus(r, (201, 400))
                if r.status == 400:
                    self.assertProblem(r, 400)
                    self.assertEqual(self.stack.snapshot(), before)
                    continue
                created = r.json()
                got = self.assertJson(self.req("GET", f"/api/cars/{rid}/allocations/{created['id']}"))
                self.assertEqual(got, created)
                if b"description" in body:
                    self.assertEqual(got["description"], "nul\x00byte")
                if b'"nul"' in body:
                    self.assertEqual(got["dump"], {"nul": "\x00", "k\x00": 1})
        self.assertTrue(self.stack.fcgi.alive())


if __name__ == "__main__":
    unittest.main()
