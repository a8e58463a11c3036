"""Allocations (API.md "Allocations"): create, read, list, patch, delete and every rule."""

import json
import unittest
import urllib.parse
import uuid

from harness import (StackTestCase, INT64_MAX, INT64_MIN, allocation_payload, iso, link_next, location_path, now_us, parse_utc, utc_us,
                     UUID_RE)


payload = allocation_payload


def q(value):
    return urllib.parse.quote(value, safe="")


class AllocationBase(StackTestCase):

    def new_car(self, prefix="car"):
        return self.create_resource("cars", f"{prefix} {uuid.uuid4().hex[:12]}", None, "Car")

    def post(self, rid, body, collection="cars"):
        return self.req("POST", f"/api/{collection}/{rid}/allocations", json=body)

    def stored(self, aid):
        rows = self.stack.query(
            "SELECT resource_id, from_us, to_us, allocation_type, description, dump FROM allocations WHERE id = ?",
            (aid,))
        self.assertEqual(len(rows), 1, f"allocation {aid} stored once")
        return rows[0]

    def count(self, rid):
        return self.stack.query("SELECT count(*) FROM allocations WHERE resource_id = ?", (rid,))[0][0]


class AllocationCrudTest(AllocationBase):

    def test_post_creates_an_allocation_with_location_and_exact_shape(self):
        car = self.new_car()
        rid = car["id"]
        before = now_us()
        r = self.post(rid, payload("2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z", description="Airport run",
                                   dump={"customer": 42}))
        after = now_us()
        self.assertStatus(r, 201)
        self.assertEqual(r.content_type, "application/json")
        body = r.json()
        self.assertAllocationShape(body, "Car", rid)
        self.assertRegex(body["id"], UUID_RE)
        self.assertEqual(location_path(r), f"/api/cars/{rid}/allocations/{body['id']}")
        self.assertIs(body["from_infinity"], False)
        self.assertIs(body["to_infinity"], False)
        self.assertEqual(parse_utc(body["from_datetime"]), utc_us(2030, 1, 1, 10))
        self.assertEqual(parse_utc(body["to_datetime"]), utc_us(2030, 1, 1, 12))
        self.assertEqual(body["allocation_type"], "booking")
        self.assertEqual(body["description"], "Airport run")
        self.assertEqual(body["dump"], {"customer": 42})
        self.assertRecentCreated(body["created"], before, after)

        self.assertEqual(self.assertJson(self.req("GET", location_path(r))), body)
        resource_id, from_us, to_us, atype, desc, dump = self.stored(body["id"])
        self.assertEqual((resource_id, from_us, to_us, atype, desc), (rid, utc_us(2030, 1, 1, 10),
                                                                      utc_us(2030, 1, 1, 12), "booking",
                                                                      "Airport run"))
        self.assertEqual(json.loads(dump), {"customer": 42})

    def test_optional_fields_not_given_read_null(self):
        car = self.new_car()
        body = self.create_allocation("cars", car["id"], "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z")
        self.assertAllocationShape(body, "Car", car["id"])
        self.assertIsNone(body["description"])
        self.assertIsNone(body["dump"])
        body = self.create_allocation("cars", car["id"], "2030-01-02T10:00:00Z", "2030-01-02T12:00:00Z",
                                      description=None, dump=None)
        self.assertIsNone(body["description"])
        self.assertIsNone(body["dump"])

    def test_open_ends_read_null_and_are_stored_as_int64_limits(self):
        for frm, to in ((None, "2030-01-01T00:00:00Z"), ("2030-01-01T00:00:00Z", None), (None, None)):
            with self.subTest(frm=frm, to=to):
                car = self.new_car()
                body = self.create_allocation("cars", car["id"], frm, to, allocation_type="maintenance")
                self.assertAllocationShape(body, "Car", car["id"])
                self.assertIs(body["from_infinity"], frm is None)
                self.assertIs(body["to_infinity"], to is None)
                self.assertEqual(body["from_datetime"] is None, frm is None)
                self.assertEqual(body["to_datetime"] is None, to is None)
                _, from_us, to_us, _, _, _ = self.stored(body["id"])
                self.assertEqual(from_us, INT64_MIN if frm is None else utc_us(2030, 1, 1))
                self.assertEqual(to_us, INT64_MAX if to is None else utc_us(2030, 1, 1))
                self.assertEqual(self.assertJson(self.req("GET", f"/api/cars/{car['id']}/allocations/{body['id']}")),
                                 body)

    def test_every_collection_serves_allocations_of_its_type(self):
        for collection, rtype in (("lorries", "Lorry"), ("trucks", "Truck")):
            with self.subTest(collection=collection):
                res = self.create_resource(collection, f"alloc {collection}", None, rtype)
                body = self.create_allocation(collection, res["id"], "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z")
                self.assertAllocationShape(body, rtype, res["id"])

    def test_get_unknown_or_foreign_allocation_ids_is_404(self):
        car1, car2 = self.new_car(), self.new_car()
        a1 = self.create_allocation("cars", car1["id"], "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z")
        self.assertJson(self.req("GET", f"/api/cars/{car1['id']}/allocations/{a1['id']}"))
        for aid in (str(uuid.uuid4()), "nope", "a" * 1000, car1["id"]):
            with self.subTest(aid=aid[:40]):
                self.assertProblem(self.req("GET", f"/api/cars/{car1['id']}/allocations/{aid}"), 404)
        before = self.stack.snapshot()
        # Not on this resource:
        self.assertProblem(self.req("GET", f"/api/cars/{car2['id']}/allocations/{a1['id']}"), 404)
        self.assertProblem(self.req("PATCH", f"/api/cars/{car2['id']}/allocations/{a1['id']}",
                                    json={"description": "hijack"}), 404)
        self.assertProblem(self.req("DELETE", f"/api/cars/{car2['id']}/allocations/{a1['id']}"), 404)
        # Unknown resource:
        self.assertProblem(self.req("GET", f"/api/cars/{uuid.uuid4()}/allocations/{a1['id']}"), 404)
        self.assertProblem(self.req("POST", f"/api/cars/{uuid.uuid4()}/allocations",
                                    json=payload("2035-01-01T00:00:00Z", "2035-01-02T00:00:00Z")), 404)
        self.assertEqual(self.stack.snapshot(), before)

    def test_delete_is_204_then_404_and_frees_the_interval(self):
        car = self.new_car()
        a = self.create_allocation("cars", car["id"], "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z")
        r = self.req("DELETE", f"/api/cars/{car['id']}/allocations/{a['id']}")
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        self.assertProblem(self.req("GET", f"/api/cars/{car['id']}/allocations/{a['id']}"), 404)
        self.assertProblem(self.req("DELETE", f"/api/cars/{car['id']}/allocations/{a['id']}"), 404)
        self.assertEqual(self.stack.query("SELECT count(*) FROM allocations WHERE id = ?", (a["id"],)), [(0,)])
        self.assertEqual(self.assertJson(self.req("GET", f"/api/cars/{car['id']}/allocations")), [])
        b = self.create_allocation("cars", car["id"], "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z")
        self.assertNotEqual(a["id"], b["id"])

    def test_the_same_interval_on_two_resources_is_fine(self):
        car1, car2 = self.new_car(), self.new_car()
        self.create_allocation("cars", car1["id"], "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z")
        self.create_allocation("cars", car2["id"], "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z")
        lorry = self.create_resource("lorries", "same interval lorry", None, "Lorry")
        self.create_allocation("lorries", lorry["id"], "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z")


# (input, expected microseconds UTC)
VALID_TIMES = [
    ("2030-01-01T10:00:00Z", utc_us(2030, 1, 1, 10)),
    ("2030-01-01T10:00:00+02:00", utc_us(2030, 1, 1, 8)),
    ("2030-01-01T10:00:00-05:30", utc_us(2030, 1, 1, 15, 30)),
    ("2030-01-01T01:00:00+02:00", utc_us(2029, 12, 31, 23)),
    ("2030-12-31T23:59:59-01:00", utc_us(2031, 1, 1, 0, 59, 59)),
    ("2030-01-01T10:00:00+00:00", utc_us(2030, 1, 1, 10)),
    ("2030-01-01T10:00:00-00:00", utc_us(2030, 1, 1, 10)),
    ("2030-01-01T10:00:00+14:00", utc_us(2029, 12, 31, 20)),
    ("2030-01-01T10:00:00.5Z", utc_us(2030, 1, 1, 10, 0, 0, 500000)),
    ("2030-01-01T10:00:00.123456Z", utc_us(2030, 1, 1, 10, 0, 0, 123456)),
    ("2030-01-01T10:00:00.000001Z", utc_us(2030, 1, 1, 10, 0, 0, 1)),
    ("2030-01-01T10:00:00.1234567Z", utc_us(2030, 1, 1, 10, 0, 0, 123456)),
    ("2030-01-01T10:00:00.999999999Z", utc_us(2030, 1, 1, 10, 0, 0, 999999)),
    ("2030-01-01T10:00:00.25+01:00", utc_us(2030, 1, 1, 9, 0, 0, 250000)),
    ("2030-01-01T10:00:00", utc_us(2030, 1, 1, 10)),
    ("2030-01-01t10:00:00z", utc_us(2030, 1, 1, 10)),
    ("2030-01-01t10:00:00+02:00", utc_us(2030, 1, 1, 8)),
    ("2030-01-01T10:00:00z", utc_us(2030, 1, 1, 10)),
    ("2028-02-29T00:00:00Z", utc_us(2028, 2, 29)),
    ("2000-02-29T12:00:00Z", utc_us(2000, 2, 29, 12)),
    ("1970-01-01T00:00:00Z", 0),
    ("1969-12-31T23:59:59.5Z", -500000),
    ("1900-03-01T00:00:00Z", utc_us(1900, 3, 1)),
    ("9999-12-31T23:59:59.999999Z", utc_us(9999, 12, 31, 23, 59, 59, 999999)),
    ("0001-01-01T00:00:00Z", utc_us(1, 1, 1)),
]

INVALID_TIMES = [
    "2030-13-01T00:00:00Z", "2030-00-10T00:00:00Z", "2030-02-30T00:00:00Z", "2031-02-29T00:00:00Z",
    "2100-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2030-04-31T00:00:00Z", "2030-01-32T00:00:00Z",
    "2030-01-00T00:00:00Z", "2030-01-01T24:00:00Z", "2030-01-01T23:60:00Z", "2030-06-30T23:59:60Z",
    "2030-12-31T23:59:60Z", "2030-12-31T23:59:60.5Z", "2030-01-01T10:00:61Z", "2030-01-01", "2030-01-01T10:00Z",
    "2030-01-01T10Z", "2030-01-01T10:00:00.Z", "2030-01-01T10:00:00ZZ", "2030-01-01T10:00:00Z ",
    " 2030-01-01T10:00:00Z", "2030-01-01T10:00:00+0200", "2030-01-01T10:00:00+02", "2030-01-01T10:00:00+24:00",
    "2030-01-01T10:00:00+02:60", "20300101T100000Z", "2030-1-1T10:00:00Z", "30-01-01T10:00:00Z", "tomorrow", "",
    "2030-01-01T10:00:00 Z", "2030-01-01X10:00:00Z", "+2030-01-01T10:00:00Z", "2030-01-01T10:00:00,5Z",
    "2030-01-01T10:00:00Zjunk", "2030-01-01T10:00:00UTC", "2030-01-01T1a:00:00Z", "2030-01-01T10:00:00.12a4Z",
    "-2030-01-01T10:00:00Z", "2030/01/01T10:00:00Z", "2030-01-01T10:00:00+02:00Z",
]

WRONG_TYPED_TIMES = [1893456000, 1893456000.5, True, False, [], ["2030-01-01T10:00:00Z"], {"t": 1}]


class AllocationTimeFormsTest(AllocationBase):

    def test_valid_time_forms_are_read_and_written_back_in_utc(self):
        car = self.new_car("times")
        rid = car["id"]
        for text, expected in VALID_TIMES:
            for end in ("from", "to"):
                with self.subTest(time=text, end=end):
                    body = payload(text, None) if end == "from" else payload(None, text)
                    r = self.post(rid, body)
                    self.assertStatus(r, 201)
                    a = r.json()
                    self.assertAllocationShape(a, "Car", rid)
                    got = a[f"{end}_datetime"]
                    self.assertTrue(got.endswith("Z"), got)
                    self.assertEqual(parse_utc(got), expected, f"{text} came back as {got}")
                    _, from_us, to_us, _, _, _ = self.stored(a["id"])
                    self.assertEqual(from_us if end == "from" else to_us, expected)
                    self.assertEqual(to_us if end == "from" else from_us, INT64_MAX if end == "from" else INT64_MIN)
                    g = self.assertJson(self.req("GET", f"/api/cars/{rid}/allocations/{a['id']}"))
                    self.assertEqual(g[f"{end}_datetime"], got)
                    self.assertStatus(self.req("DELETE", f"/api/cars/{rid}/allocations/{a['id']}"), 204)

    def test_whole_seconds_come_back_exactly(self):
        car = self.new_car("times")
        a = self.create_allocation("cars", car["id"], "2030-01-01T10:00:00+02:00", "2030-01-01t12:00:00z")
        self.assertIn(a["from_datetime"], ("2030-01-01T08:00:00Z", "2030-01-01T08:00:00.000000Z"))
        self.assertIn(a["to_datetime"], ("2030-01-01T12:00:00Z", "2030-01-01T12:00:00.000000Z"))

    def test_invalid_times_are_400_naming_the_field(self):
        car = self.new_car("badtimes")
        rid = car["id"]
        before = self.stack.snapshot()
        for text in INVALID_TIMES + WRONG_TYPED_TIMES:
            for end in ("from", "to"):
                with self.subTest(time=text, end=end):
                    if end == "from":
                        body = payload(text, "2040-01-01T00:00:00Z")
                    else:
                        body = payload("2000-01-01T00:00:00Z", text)
                    self.assertValidation(self.post(rid, body), f"{end}_datetime")
        self.assertEqual(self.stack.snapshot(), before)

    def test_a_leap_second_is_400(self):
        car = self.new_car("leap")
        r = self.post(car["id"], payload("2016-12-31T23:59:60Z", "2017-01-01T00:00:01Z"))
        self.assertValidation(r, "from_datetime")
        self.assertEqual(self.count(car["id"]), 0)


class AllocationRulesTest(AllocationBase):

    def assert_refused(self, rid, body, fields):
        before = self.stack.snapshot()
        problem = self.assertValidation(self.post(rid, body), fields, f"{body}")
        self.assertEqual(self.stack.snapshot(), before)
        return problem

    def test_exactly_one_start_and_one_end(self):
        rid = self.new_car("ends")["id"]
        F, T = "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z"
        bad = [
            ({"to_datetime": T}, ("from_datetime", "from_infinity")),
            ({"from_datetime": F}, ("to_datetime", "to_infinity")),
            ({"from_datetime": F, "from_infinity": True, "to_datetime": T}, ("from_datetime", "from_infinity")),
            ({"from_datetime": F, "to_datetime": T, "to_infinity": True}, ("to_datetime", "to_infinity")),
            ({"from_infinity": False, "to_datetime": T}, ("from_datetime", "from_infinity")),
            ({"from_datetime": F, "to_infinity": False}, ("to_datetime", "to_infinity")),
            ({"from_datetime": None, "to_datetime": T}, ("from_datetime", "from_infinity")),
            ({"from_infinity": None, "to_datetime": T}, ("from_datetime", "from_infinity")),
            ({"from_datetime": F, "to_datetime": None, "to_infinity": None}, ("to_datetime", "to_infinity")),
            ({}, ("from_datetime", "from_infinity", "to_datetime", "to_infinity")),
            ({"from_infinity": True, "from_datetime": F, "to_infinity": True, "to_datetime": T},
             ("from_datetime", "from_infinity", "to_datetime", "to_infinity")),
            ({"from_infinity": "true", "to_datetime": T}, ("from_infinity",)),
            ({"from_infinity": 1, "to_datetime": T}, ("from_infinity",)),
            ({"from_datetime": F, "to_infinity": "yes"}, ("to_infinity",)),
            ({"from_datetime": F, "to_infinity": []}, ("to_infinity",)),
        ]
        for body, fields in bad:
            body = dict(body, allocation_type="booking")
            with self.subTest(body=body):
                self.assert_refused(rid, body, fields)

    def test_false_and_null_count_as_not_given(self):
        rid = self.new_car("falsenull")["id"]
        a = self.create_allocation("cars", rid, "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z",
                                   from_infinity=False, to_infinity=False)
        self.assertEqual((a["from_infinity"], a["to_infinity"]), (False, False))
        r = self.post(rid, {"from_infinity": True, "from_datetime": None, "to_datetime": "2020-01-01T00:00:00Z",
                            "to_infinity": False, "allocation_type": "booking"})
        self.assertStatus(r, 201)
        b = r.json()
        self.assertEqual((b["from_infinity"], b["from_datetime"], b["to_infinity"]), (True, None, False))
        r = self.post(rid, {"from_datetime": "2031-01-01T00:00:00Z", "from_infinity": None, "to_infinity": True,
                            "to_datetime": None, "allocation_type": "booking"})
        self.assertStatus(r, 201)
        self.assertEqual((r.json()["to_infinity"], r.json()["to_datetime"]), (True, None))

    def test_from_must_be_before_to(self):
        rid = self.new_car("order")["id"]
        for frm, to in (("2030-01-01T10:00:00Z", "2030-01-01T10:00:00Z"),
                        ("2030-01-01T12:00:00Z", "2030-01-01T10:00:00Z"),
                        ("2030-01-01T10:00:00Z", "2030-01-01T12:00:00+02:00"),   # the same instant
                        ("2030-01-01T10:00:00.0000009Z", "2030-01-01T10:00:00Z"),  # equal after truncation
                        ("2030-01-01T10:00:00.000001Z", "2030-01-01T10:00:00Z")):
            with self.subTest(frm=frm, to=to):
                self.assert_refused(rid, payload(frm, to), ("from_datetime", "to_datetime"))
        # One microsecond is enough; instants are compared, not strings.
        a = self.create_allocation("cars", rid, "2030-01-01T10:00:00Z", "2030-01-01T10:00:00.000001Z")
        self.assertEqual(parse_utc(a["to_datetime"]) - parse_utc(a["from_datetime"]), 1)
        self.create_allocation("cars", rid, "2030-01-02T10:00:00+02:00", "2030-01-02T09:00:00Z")

    def test_allocation_type_is_required_with_1_to_32_characters(self):
        rid = self.new_car("atype")["id"]
        F, T = "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z"
        for value in (None, "", "x" * 33, "é" * 33, 5, True, ["booking"], {"t": "booking"}):
            with self.subTest(value=value):
                body = {"from_datetime": F, "to_datetime": T}
                if value is not None:
                    body["allocation_type"] = value
                self.assert_refused(rid, body, "allocation_type")
        self.assert_refused(rid, {"from_datetime": F, "to_datetime": T, "allocation_type": None}, "allocation_type")
        for i, value in enumerate(("x", "y" * 32, "é" * 32, "maintenance", "booking", "Booking Type 7")):
            with self.subTest(value=value):
                a = self.create_allocation("cars", rid, f"2030-02-{i + 1:02d}T10:00:00Z",
                                           f"2030-02-{i + 1:02d}T11:00:00Z", allocation_type=value)
                self.assertEqual(a["allocation_type"], value)
                self.assertEqual(self.stored(a["id"])[3], value)

    def test_description_is_optional_up_to_1000_characters(self):
        rid = self.new_car("desc")["id"]
        for i, value in enumerate(("", "x" * 1000, "é" * 1000, "😀" * 1000, "line\nbreak\ttab",
                                   "quotes \" and \\ backslash")):
            with self.subTest(length=len(value)):
                a = self.create_allocation("cars", rid, f"2030-03-{i + 1:02d}T10:00:00Z",
                                           f"2030-03-{i + 1:02d}T11:00:00Z", description=value)
                self.assertEqual(a["description"], value)
                self.assertEqual(self.stored(a["id"])[4], value)
        for value in ("x" * 1001, "é" * 1001, 5, True, ["d"], {"d": 1}):
            with self.subTest(value=str(value)[:20]):
                self.assert_refused(rid, payload("2030-04-01T10:00:00Z", "2030-04-01T11:00:00Z", description=value),
                                    "description")

    def test_dump_is_an_object_returned_as_given(self):
        rid = self.new_car("dump")["id"]
        dumps = [
            {},
            {"customer": 42},
            {"z": 1, "a": 2, "m": {"y": [1, 2.5, -3, 1e-7, 12345678901234, None, True, False, "s"], "b": {}}},
            {"unicode": "héllo wörld ✓ 😀", "escapes": "\"\\/\b\f\n\r\t\u0001", "empty": [], "nested": [[[{}]]]},
            {"big": "x" * 15000},
        ]
        for i, dump in enumerate(dumps):
            with self.subTest(dump=str(dump)[:60]):
                a = self.create_allocation("cars", rid, f"2030-05-{i + 1:02d}T10:00:00Z",
                                           f"2030-05-{i + 1:02d}T11:00:00Z", dump=dump)
                self.assertEqual(a["dump"], dump)
                r = self.req("GET", f"/api/cars/{rid}/allocations/{a['id']}")
                self.assertEqual(r.json()["dump"], dump)
                # …with its keys in the order given.
                ordered = r.json(object_pairs_hook=list)
                got = dict(ordered)["dump"]
                self.assertEqual(json.dumps(got), json.dumps(json.loads(json.dumps(dump), object_pairs_hook=list)),
                                 "dump keys reordered")
                self.assertEqual(json.loads(self.stored(a["id"])[5]), dump)

    def test_dump_must_be_an_object_of_at_most_16_kib(self):
        rid = self.new_car("dumpbad")["id"]
        for value in ([], [1, 2], "dump", 5, True, {"big": "x" * (17 * 1024)},
                      {"many": ["abcdefgh"] * 2000}):
            with self.subTest(value=str(value)[:30]):
                self.assert_refused(rid, payload("2030-06-01T10:00:00Z", "2030-06-01T11:00:00Z", dump=value), "dump")

    def test_unknown_fields_are_400(self):
        rid = self.new_car("unknown")["id"]
        for extra in ({"colour": "red"}, {"from": "2030-01-01T10:00:00Z"}, {"start": 1}, {"notes": None}):
            with self.subTest(extra=extra):
                self.assert_refused(rid, payload("2030-07-01T10:00:00Z", "2030-07-01T11:00:00Z", **extra),
                                    list(extra))


class OverlapTest(AllocationBase):
    D = "2030-03-01T"

    def t(self, hhmm):
        return f"{self.D}{hhmm}Z"

    def assert_conflict(self, rid, frm, to, expected_ids):
        before = self.stack.snapshot()
        r = self.post(rid, payload(frm, to))
        problem = self.assertProblem(r, 409, f"[{frm}, {to})")
        self.assertIn("conflicts", problem)
        self.assertEqual(sorted(problem["conflicts"]), sorted(expected_ids), f"[{frm}, {to})")
        self.assertEqual(self.stack.snapshot(), before)

    def test_every_kind_of_overlap_is_409_listing_the_conflict(self):
        rid = self.new_car("overlap")["id"]
        e = self.create_allocation("cars", rid, self.t("10:00:00"), self.t("12:00:00"))
        cases = {
            "partial, left": (self.t("09:00:00"), self.t("11:00:00")),
            "partial, right": (self.t("11:00:00"), self.t("13:00:00")),
            "equal": (self.t("10:00:00"), self.t("12:00:00")),
            "containing": (self.t("09:00:00"), self.t("13:00:00")),
            "contained": (self.t("10:30:00"), self.t("11:30:00")),
            "same start": (self.t("10:00:00"), self.t("11:00:00")),
            "same start, longer": (self.t("10:00:00"), self.t("13:00:00")),
            "same end": (self.t("11:00:00"), self.t("12:00:00")),
            "same end, earlier start": (self.t("08:00:00"), self.t("12:00:00")),
            "one microsecond at the end": (self.t("11:59:59.999999"), self.t("13:00:00")),
            "one microsecond at the start": (self.t("09:00:00"), self.t("10:00:00.000001")),
            "open start": (None, self.t("11:00:00")),
            "open start up to the end": (None, self.t("12:00:00")),
            "open end": (self.t("11:00:00"), None),
            "open end from the start": (self.t("10:00:00"), None),
            "fully open": (None, None),
            "another offset": ("2030-03-01T12:30:00+02:00", "2030-03-01T13:30:00+02:00"),
        }
        for name, (frm, to) in cases.items():
            with self.subTest(case=name):
                self.assert_conflict(rid, frm, to, [e["id"]])
        self.assertEqual(self.count(rid), 1)

    def test_touching_is_not_an_overlap(self):
        rid = self.new_car("touch")["id"]
        e = self.create_allocation("cars", rid, self.t("10:00:00"), self.t("12:00:00"))
        before = self.create_allocation("cars", rid, self.t("08:00:00"), self.t("10:00:00"))
        after = self.create_allocation("cars", rid, self.t("12:00:00"), self.t("14:00:00"))
        first = self.create_allocation("cars", rid, None, self.t("08:00:00"))
        last = self.create_allocation("cars", rid, "2030-03-01T16:00:00+02:00", None)  # 14:00Z
        self.assertEqual(self.count(rid), 5)
        ids = [first["id"], before["id"], e["id"], after["id"], last["id"]]
        self.assert_conflict(rid, self.t("09:30:00"), self.t("12:30:00"), [before["id"], e["id"], after["id"]])
        self.assert_conflict(rid, None, None, ids)
        self.assert_conflict(rid, "2020-01-01T00:00:00Z", "2040-01-01T00:00:00Z", ids)
        self.assert_conflict(rid, self.t("13:59:59"), self.t("14:00:01"), [after["id"], last["id"]])
        self.assertEqual(self.count(rid), 5)

    def test_open_ends_conflict_with_each_other(self):
        rid = self.new_car("open")["id"]
        start = self.create_allocation("cars", rid, None, "2000-01-01T00:00:00Z")
        end = self.create_allocation("cars", rid, "2100-01-01T00:00:00Z", None)
        self.assert_conflict(rid, None, "1990-01-01T00:00:00Z", [start["id"]])
        self.assert_conflict(rid, "2200-01-01T00:00:00Z", None, [end["id"]])
        self.assert_conflict(rid, "2200-01-01T00:00:00Z", "2201-01-01T00:00:00Z", [end["id"]])
        self.assert_conflict(rid, "0001-01-01T00:00:00Z", "0002-01-01T00:00:00Z", [start["id"]])
        self.create_allocation("cars", rid, "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
        self.assertEqual(self.count(rid), 3)

    def test_a_fully_open_allocation_blocks_everything(self):
        rid = self.new_car("forever")["id"]
        a = self.create_allocation("cars", rid, None, None, allocation_type="maintenance")
        for frm, to in ((None, "2030-01-01T00:00:00Z"), ("2030-01-01T00:00:00Z", None),
                        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000001Z"), (None, None)):
            with self.subTest(frm=frm, to=to):
                self.assert_conflict(rid, frm, to, [a["id"]])

    def test_conflicts_only_come_from_the_same_resource(self):
        r1, r2 = self.new_car("same1")["id"], self.new_car("same2")["id"]
        a1 = self.create_allocation("cars", r1, self.t("10:00:00"), self.t("12:00:00"))
        self.create_allocation("cars", r2, self.t("09:00:00"), self.t("13:00:00"))
        self.assert_conflict(r1, self.t("08:00:00"), self.t("14:00:00"), [a1["id"]])


class AllocationListTest(AllocationBase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fixture = None

    def setup_allocations(self):
        if self.fixture is None:
            rid = self.new_car("list")["id"]
            # Created out of order: C, D, B, A.
            c = self.create_allocation("cars", rid, "2030-01-02T00:00:00Z", "2030-01-03T00:00:00Z")
            d = self.create_allocation("cars", rid, "2030-01-03T00:00:00Z", None)
            b = self.create_allocation("cars", rid, "2030-01-01T00:00:00Z", "2030-01-01T01:00:00Z",
                                       allocation_type="maintenance")
            a = self.create_allocation("cars", rid, None, "2030-01-01T00:00:00Z")
            type(self).fixture = (rid, a, b, c, d)
        return self.fixture

    def ids(self, path):
        r = self.req("GET", path)
        body = self.assertJson(r)
        self.assertIsInstance(body, list)
        return [x["id"] for x in body], r

    def test_listing_is_ordered_by_start_with_open_starts_first(self):
        rid, a, b, c, d = self.setup_allocations()
        r = self.req("GET", f"/api/cars/{rid}/allocations")
        body = self.assertJson(r)
        self.assertEqual([x["id"] for x in body], [a["id"], b["id"], c["id"], d["id"]])
        for item, expected in zip(body, (a, b, c, d)):
            self.assertAllocationShape(item, "Car", rid)
            self.assertEqual(item, expected)
        self.assertIsNone(link_next(r))

    def test_an_empty_resource_lists_nothing(self):
        rid = self.new_car("empty")["id"]
        self.assertEqual(self.assertJson(self.req("GET", f"/api/cars/{rid}/allocations")), [])

    def test_a_window_keeps_the_allocations_that_overlap_it(self):
        rid, a, b, c, d = self.setup_allocations()
        base = f"/api/cars/{rid}/allocations"
        cases = [
            ("2030-01-01T00:30:00Z", "2030-01-02T00:00:00Z", [b]),        # touching A and C: neither
            ("2030-01-01T00:00:00Z", "2030-01-02T00:00:01Z", [b, c]),
            ("2029-12-31T23:59:59Z", "2030-01-01T00:00:01Z", [a, b]),
            ("2029-01-01T00:00:00Z", "2029-01-02T00:00:00Z", [a]),
            ("2100-01-01T00:00:00Z", "2100-01-02T00:00:00Z", [d]),
            ("2030-01-01T01:00:00Z", "2030-01-02T00:00:00Z", []),          # the gap between B and C
            ("2000-01-01T00:00:00Z", "2200-01-01T00:00:00Z", [a, b, c, d]),
            ("2030-01-01T02:30:00+02:00", "2030-01-02T00:00:00Z", [b]),    # an offset in the query
        ]
        for frm, to, expected in cases:
            with self.subTest(frm=frm, to=to):
                got, _ = self.ids(f"{base}?from={q(frm)}&to={q(to)}")
                self.assertEqual(got, [x["id"] for x in expected])

    def test_allocation_type_filters(self):
        rid, a, b, c, d = self.setup_allocations()
        base = f"/api/cars/{rid}/allocations"
        self.assertEqual(self.ids(f"{base}?allocation_type=maintenance")[0], [b["id"]])
        self.assertEqual(self.ids(f"{base}?allocation_type=booking")[0], [a["id"], c["id"], d["id"]])
        self.assertEqual(self.ids(f"{base}?allocation_type=party")[0], [])
        self.assertEqual(self.ids(f"{base}?allocation_type=Booking")[0], [])
        got, _ = self.ids(f"{base}?allocation_type=booking&from={q('2030-01-01T00:00:00Z')}&to={q('2030-01-02T12:00:00Z')}")
        self.assertEqual(got, [c["id"]])

    def test_limit_after_and_link(self):
        rid, a, b, c, d = self.setup_allocations()
        base = f"/api/cars/{rid}/allocations"
        got, r = self.ids(f"{base}?limit=2")
        self.assertEqual(got, [a["id"], b["id"]])
        nxt = link_next(r)
        self.assertIsNotNone(nxt, "Link rel=next while more remain")
        got, r = self.ids(nxt)
        self.assertEqual(got, [c["id"], d["id"]])
        self.assertIsNone(link_next(r), "no Link when nothing remains")
        got, r = self.ids(f"{base}?after={b['id']}&limit=1")
        self.assertEqual(got, [c["id"]])
        self.assertIsNotNone(link_next(r))
        got, r = self.ids(f"{base}?after={a['id']}")
        self.assertEqual(got, [b["id"], c["id"], d["id"]])
        self.assertIsNone(link_next(r))
        got, r = self.ids(f"{base}?after={d['id']}")
        self.assertEqual(got, [])
        # Paging keeps the filters.
        got, r = self.ids(f"{base}?allocation_type=booking&limit=1")
        self.assertEqual(got, [a["id"]])
        pages = [got]
        for _ in range(10):
            nxt = link_next(r)
            if nxt is None:
                break
            got, r = self.ids(nxt)
            pages.append(got)
        self.assertEqual(pages, [[a["id"]], [c["id"]], [d["id"]]])

    def test_next_links_keep_filters_with_reserved_characters(self):
        rid = self.new_car("linkenc")["id"]
        atype = "a&b c+d=é%"
        ids = [self.create_allocation("cars", rid, f"2030-01-0{i + 1}T10:00:00Z", f"2030-01-0{i + 1}T11:00:00Z",
                                      allocation_type=atype)["id"] for i in range(3)]
        self.create_allocation("cars", rid, "2030-01-05T10:00:00Z", "2030-01-05T11:00:00Z", allocation_type="a")
        for query in (f"allocation_type={q(atype)}&limit=1",
                      f"from={q('2030-01-01T12:00:00+02:00')}&to={q('2030-01-04T00:00:00+01:00')}&limit=1"):
            with self.subTest(query=query):
                got, r = self.ids(f"/api/cars/{rid}/allocations?{query}")
                pages = [got]
                for _ in range(10):
                    nxt = link_next(r)
                    if nxt is None:
                        break
                    got, r = self.ids(nxt)
                    pages.append(got)
                self.assertEqual(pages, [[i] for i in ids])

    def test_the_default_limit_is_100(self):
        rid = self.new_car("hundred")["id"]
        base = utc_us(2035, 1, 1)
        ids = [self.create_allocation("cars", rid, iso(base + i * 3600_000_000),
                                      iso(base + (i + 1) * 3600_000_000))["id"] for i in range(101)]
        got, r = self.ids(f"/api/cars/{rid}/allocations")
        self.assertEqual(got, ids[:100])
        nxt = link_next(r)
        self.assertIsNotNone(nxt)
        got, r = self.ids(nxt)
        self.assertEqual(got, ids[100:])
        self.assertIsNone(link_next(r))

    def test_bad_list_parameters_are_400(self):
        rid, a, b, c, d = self.setup_allocations()
        other = self.new_car("other")
        oa = self.create_allocation("cars", other["id"], "2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z")
        base = f"/api/cars/{rid}/allocations"
        for query in ("limit=0", "limit=1001", "limit=-5", "limit=x", f"after={uuid.uuid4()}", "after=nope",
                      f"after={oa['id']}", f"after={rid}",
                      f"from={q('2030-13-01T00:00:00Z')}&to={q('2030-01-02T00:00:00Z')}",
                      f"from=garbage&to={q('2030-01-02T00:00:00Z')}",
                      f"from={q('2030-01-01T00:00:00Z')}&to={q('2030-02-30T00:00:00Z')}",
                      f"from={q('2030-06-30T23:59:60Z')}&to={q('2030-07-02T00:00:00Z')}"):
            with self.subTest(query=query):
                self.assertProblem(self.req("GET", f"{base}?{query}"), 400)
        self.assertStatus(self.req("GET", f"{base}?limit=1000"), 200)


class AllocationPatchTest(AllocationBase):

    def setUp(self):
        self.rid = self.new_car("patch")["id"]
        self.p = self.create_allocation("cars", self.rid, "2030-05-01T10:00:00Z", "2030-05-01T12:00:00Z",
                                        description="d", dump={"k": 1})
        self.q = self.create_allocation("cars", self.rid, "2030-05-01T14:00:00Z", "2030-05-01T16:00:00Z")
        self.path = f"/api/cars/{self.rid}/allocations/{self.p['id']}"

    def patch(self, body, status=200):
        r = self.req("PATCH", self.path, json=body)
        if status == 200:
            a = self.assertJson(r)
            self.assertAllocationShape(a, "Car", self.rid)
            self.assertEqual((a["id"], a["created"]), (self.p["id"], self.p["created"]))
            self.assertEqual(self.assertJson(self.req("GET", self.path)), a)
            _, from_us, to_us, atype, desc, dump = self.stored(a["id"])
            self.assertEqual(from_us, INT64_MIN if a["from_infinity"] else parse_utc(a["from_datetime"]))
            self.assertEqual(to_us, INT64_MAX if a["to_infinity"] else parse_utc(a["to_datetime"]))
            self.assertEqual((atype, desc), (a["allocation_type"], a["description"]))
            self.assertEqual(None if dump is None else json.loads(dump), a["dump"])
            return a
        return r

    def assert_unchanged_after(self, body, status, fields=None):
        before = self.stack.snapshot()
        r = self.req("PATCH", self.path, json=body)
        if status == 400:
            problem = self.assertValidation(r, fields, f"{body}")
        else:
            problem = self.assertProblem(r, status, f"{body}")
        self.assertEqual(self.stack.snapshot(), before)
        return problem

    def test_omitted_fields_keep_their_values(self):
        a = self.patch({"description": "new"})
        self.assertEqual(a["description"], "new")
        for key in ("from_datetime", "to_datetime", "from_infinity", "to_infinity", "allocation_type", "dump"):
            self.assertEqual(a[key], self.p[key], key)
        a = self.patch({})
        self.assertEqual(a["description"], "new")
        a = self.patch({"description": None, "dump": None, "to_infinity": False, "from_infinity": False})
        self.assertEqual((a["description"], a["dump"]), ("new", {"k": 1}))
        self.assertEqual((a["from_datetime"], a["to_datetime"]), (self.p["from_datetime"], self.p["to_datetime"]))

    def test_changing_times_does_not_conflict_with_itself(self):
        a = self.patch({"to_datetime": "2030-05-01T13:00:00Z"})
        self.assertEqual(parse_utc(a["to_datetime"]), utc_us(2030, 5, 1, 13))
        self.assertEqual(a["from_datetime"], self.p["from_datetime"])
        a = self.patch({"from_datetime": "2030-05-01T09:00:00Z", "to_datetime": "2030-05-01T11:00:00+00:00"})
        self.assertEqual((parse_utc(a["from_datetime"]), parse_utc(a["to_datetime"])),
                         (utc_us(2030, 5, 1, 9), utc_us(2030, 5, 1, 11)))
        a = self.patch({"to_datetime": "2030-05-01T14:00:00Z"})  # touches q
        self.assertEqual(parse_utc(a["to_datetime"]), utc_us(2030, 5, 1, 14))

    def test_either_form_of_one_end_replaces_that_end(self):
        a = self.patch({"from_infinity": True})
        self.assertEqual((a["from_infinity"], a["from_datetime"]), (True, None))
        self.assertEqual(a["to_datetime"], self.p["to_datetime"])
        a = self.patch({"from_datetime": "2030-05-01T08:00:00+01:00"})
        self.assertEqual((a["from_infinity"], parse_utc(a["from_datetime"])), (False, utc_us(2030, 5, 1, 7)))
        # q is in the way of an open end; after moving q out of the way it fits.
        self.assert_unchanged_after({"to_infinity": True}, 409)
        self.assertStatus(self.req("DELETE", f"/api/cars/{self.rid}/allocations/{self.q['id']}"), 204)
        a = self.patch({"to_infinity": True})
        self.assertEqual((a["to_infinity"], a["to_datetime"]), (True, None))
        a = self.patch({"to_datetime": "2030-05-02T00:00:00Z"})
        self.assertEqual((a["to_infinity"], parse_utc(a["to_datetime"])), (False, utc_us(2030, 5, 2)))

    def test_a_patch_that_overlaps_another_allocation_is_409(self):
        for body in ({"to_datetime": "2030-05-01T15:00:00Z"}, {"to_datetime": "2030-05-01T14:00:00.000001Z"},
                     {"from_datetime": "2030-05-01T15:00:00Z", "to_datetime": "2030-05-01T15:30:00Z"},
                     {"from_datetime": "2030-05-01T13:00:00Z", "to_datetime": "2030-05-01T17:00:00Z"},
                     {"to_infinity": True}):
            with self.subTest(body=body):
                problem = self.assert_unchanged_after(body, 409)
                self.assertEqual(problem.get("conflicts"), [self.q["id"]])

    def test_the_merged_allocation_must_satisfy_the_rules(self):
        cases = [
            ({"from_datetime": "2030-05-01T09:00:00Z", "from_infinity": True}, ("from_datetime", "from_infinity")),
            ({"to_datetime": "2030-05-01T13:00:00Z", "to_infinity": True}, ("to_datetime", "to_infinity")),
            ({"to_datetime": "2030-05-01T09:00:00Z"}, ("from_datetime", "to_datetime")),
            ({"to_datetime": "2030-05-01T10:00:00Z"}, ("from_datetime", "to_datetime")),
            ({"from_datetime": "2030-05-01T12:00:00Z"}, ("from_datetime", "to_datetime")),
            ({"from_datetime": "2030-05-01T13:00:00Z"}, ("from_datetime", "to_datetime")),
            ({"to_datetime": "2030-02-30T10:00:00Z"}, "to_datetime"),
            ({"from_datetime": "2030-05-01T09:59:60Z"}, "from_datetime"),
            ({"from_datetime": 5}, "from_datetime"),
            ({"to_infinity": "yes"}, "to_infinity"),
            ({"allocation_type": ""}, "allocation_type"),
            ({"allocation_type": "x" * 33}, "allocation_type"),
            ({"allocation_type": 3}, "allocation_type"),
            ({"description": "x" * 1001}, "description"),
            ({"dump": [1]}, "dump"),
            ({"dump": "x"}, "dump"),
            ({"colour": "red"}, "colour"),
            ({"id": str(uuid.uuid4())}, "id"),
        ]
        for body, fields in cases:
            with self.subTest(body=body):
                self.assert_unchanged_after(body, 400, fields)

    def test_other_fields_change(self):
        a = self.patch({"allocation_type": "maintenance", "dump": {"new": [1, 2]}, "description": "é" * 1000})
        self.assertEqual((a["allocation_type"], a["dump"], a["description"]), ("maintenance", {"new": [1, 2]}, "é" * 1000))
        self.assertEqual(a["from_datetime"], self.p["from_datetime"])

    def test_patching_unknown_allocations_is_404(self):
        before = self.stack.snapshot()
        for path in (f"/api/cars/{self.rid}/allocations/{uuid.uuid4()}",
                     f"/api/cars/{self.rid}/allocations/{self.rid}",
                     f"/api/cars/{uuid.uuid4()}/allocations/{self.p['id']}"):
            with self.subTest(path=path):
                self.assertProblem(self.req("PATCH", path, json={"description": "x"}), 404)
        self.assertEqual(self.stack.snapshot(), before)


if __name__ == "__main__":
    unittest.main()
