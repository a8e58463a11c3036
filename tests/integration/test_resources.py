"""Resource types, collections and resources (API.md "Resource types and collections", "Resources")."""

import json
import unittest
import uuid

from harness import StackTestCase, link_next, location_path, now_us, iso, UUID_RE

BUILTIN = {
    "Car": ("cars", "seats"),
    "Lorry": ("lorries", "max_load_kg"),
    "Truck": ("trucks", "axles"),
}

# (collection, attributes, accepted?) — API.md: Car seats integer 1–9; Lorry max_load_kg
# number > 0; Truck axles integer 2–10; all optional; unknown keys, booleans given for
# numbers, NaN and infinities are 400.
ATTRIBUTE_CASES = [
    ("cars", {}, True),
    ("cars", {"seats": 1}, True),
    ("cars", {"seats": 5}, True),
    ("cars", {"seats": 9}, True),
    ("cars", {"seats": 0}, False),
    ("cars", {"seats": 10}, False),
    ("cars", {"seats": 10 ** 20}, False),
    ("cars", {"seats": -(10 ** 20)}, False),
    ("cars", {"seats": 2 ** 64 + 5}, False),
    ("cars", {"seats": -1}, False),
    ("cars", {"seats": 5.5}, False),
    ("cars", {"seats": "5"}, False),
    ("cars", {"seats": True}, False),
    ("cars", {"seats": [5]}, False),
    ("cars", {"seats": {"n": 5}}, False),
    ("cars", {"wheels": 4}, False),
    ("cars", {"seats": 5, "colour": "red"}, False),
    ("cars", {"max_load_kg": 10}, False),
    ("lorries", {}, True),
    ("lorries", {"max_load_kg": 0.001}, True),
    ("lorries", {"max_load_kg": 1}, True),
    ("lorries", {"max_load_kg": 40000.5}, True),
    ("lorries", {"max_load_kg": 1e308}, True),
    ("lorries", {"max_load_kg": 5e-324}, True),
    ("lorries", {"max_load_kg": 0}, False),
    ("lorries", {"max_load_kg": 0.0}, False),
    ("lorries", {"max_load_kg": -5}, False),
    ("lorries", {"max_load_kg": "100"}, False),
    ("lorries", {"max_load_kg": True}, False),
    ("lorries", {"max_load_kg": False}, False),
    ("lorries", {"seats": 2}, False),
    ("trucks", {}, True),
    ("trucks", {"axles": 2}, True),
    ("trucks", {"axles": 10}, True),
    ("trucks", {"axles": 1}, False),
    ("trucks", {"axles": 11}, False),
    ("trucks", {"axles": 2.5}, False),
    ("trucks", {"axles": False}, False),
    ("trucks", {"axles": "3"}, False),
    ("trucks", {"wheels": 6}, False),
]

TYPE_OF = {"cars": "Car", "lorries": "Lorry", "trucks": "Truck"}


def schema_accepts(schema, value):
    """A small JSON Schema check covering what the built-in types' schemas use."""
    if not isinstance(value, dict):
        return False
    props = schema.get("properties", {})
    if schema.get("additionalProperties") is False:
        if any(k not in props for k in value):
            return False
    for req in schema.get("required", []):
        if req not in value:
            return False
    for key, v in value.items():
        s = props.get(key)
        if s is None:
            continue
        t = s.get("type")
        types = t if isinstance(t, list) else [t]
        is_bool = isinstance(v, bool)
        ok_type = False
        for tt in types:
            if tt == "integer" and not is_bool and (isinstance(v, int) or (isinstance(v, float) and v.is_integer())):
                ok_type = True
            if tt == "number" and not is_bool and isinstance(v, (int, float)):
                ok_type = True
            if tt == "string" and isinstance(v, str):
                ok_type = True
            if tt == "boolean" and is_bool:
                ok_type = True
        if not ok_type:
            return False
        if isinstance(v, (int, float)) and not is_bool:
            if "minimum" in s:
                if s.get("exclusiveMinimum") is True:
                    if not v > s["minimum"]:
                        return False
                elif not v >= s["minimum"]:
                    return False
            if "maximum" in s:
                if s.get("exclusiveMaximum") is True:
                    if not v < s["maximum"]:
                        return False
                elif not v <= s["maximum"]:
                    return False
            em = s.get("exclusiveMinimum")
            if isinstance(em, (int, float)) and not isinstance(em, bool) and not v > em:
                return False
            eM = s.get("exclusiveMaximum")
            if isinstance(eM, (int, float)) and not isinstance(eM, bool) and not v < eM:
                return False
    return True


class TypesTest(StackTestCase):

    def test_types_lists_exactly_the_three_built_in_types(self):
        body = self.assertJson(self.req("GET", "/api/types"))
        self.assertIsInstance(body, list)
        self.assertEqual(sorted(t["resource_type"] for t in body), ["Car", "Lorry", "Truck"])
        for t in body:
            self.assertLessEqual({"resource_type", "collection", "attributes"}, set(t))
            self.assertEqual(t["collection"], BUILTIN[t["resource_type"]][0])

    def test_each_type_publishes_a_json_schema_of_its_attributes(self):
        body = self.assertJson(self.req("GET", "/api/types"))
        by_type = {t["resource_type"]: t for t in body}
        for name, (collection, attribute) in BUILTIN.items():
            schema = by_type[name]["attributes"]
            self.assertIsInstance(schema, dict, name)
            self.assertEqual(schema.get("type"), "object", name)
            self.assertEqual(set(schema.get("properties", {})), {attribute}, name)
            self.assertIs(schema.get("additionalProperties"), False,
                          f"{name}: unknown keys are 400, the schema must say so")
            self.assertFalse(schema.get("required"), f"{name}: all attributes are optional")
        self.assertEqual(by_type["Car"]["attributes"]["properties"]["seats"].get("type"), "integer")
        self.assertEqual(by_type["Truck"]["attributes"]["properties"]["axles"].get("type"), "integer")
        self.assertEqual(by_type["Lorry"]["attributes"]["properties"]["max_load_kg"].get("type"), "number")

    def test_the_published_schemas_agree_with_what_the_server_accepts(self):
        body = self.assertJson(self.req("GET", "/api/types"))
        schemas = {t["collection"]: t["attributes"] for t in body}
        for collection, attributes, accepted in ATTRIBUTE_CASES:
            with self.subTest(collection=collection, attributes=attributes):
                self.assertEqual(schema_accepts(schemas[collection], attributes), accepted,
                                 f"schema {json.dumps(schemas[collection])} disagrees with API.md on {attributes}")

    def test_types_answers_405_with_allow_to_other_methods(self):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            with self.subTest(method=method):
                r = self.req(method, "/api/types", json={} if method in ("POST", "PUT", "PATCH") else None)
                self.assertProblem(r, 405)
                allow = {m.strip().upper() for m in (r.header("Allow") or "").split(",") if m.strip()}
                self.assertIn("GET", allow)
                self.assertNotIn(method, allow)


class ResourceCrudTest(StackTestCase):

    def test_post_creates_a_resource_with_location_and_exact_shape(self):
        before = now_us()
        r = self.req("POST", "/api/cars", json={"name": "Crud Car 1", "attributes": {"seats": 5}})
        after = now_us()
        self.assertStatus(r, 201)
        self.assertEqual(r.content_type, "application/json")
        body = r.json()
        self.assertResourceShape(body, "Car")
        self.assertEqual(body["name"], "Crud Car 1")
        self.assertEqual(body["attributes"], {"seats": 5})
        self.assertRegex(body["id"], UUID_RE)
        created = self.assertRecentCreated(body["created"], before, after)
        self.assertEqual(location_path(r), f"/api/cars/{body['id']}")

        rows = self.stack.query("SELECT id, resource_type, name, attributes, created_us FROM resources WHERE id = ?",
                                (body["id"],))
        self.assertEqual(len(rows), 1)
        rid, rtype, name, attrs, created_us = rows[0]
        self.assertEqual((rid, rtype, name), (body["id"], "Car", "Crud Car 1"))
        self.assertEqual(json.loads(attrs), {"seats": 5})
        self.assertLess(abs(created_us - created), 1_000_000)

        g = self.req("GET", location_path(r))
        self.assertEqual(self.assertJson(g), body)

    def test_every_built_in_collection_creates_its_own_type(self):
        for rtype, (collection, attribute) in BUILTIN.items():
            with self.subTest(collection=collection):
                value = {"seats": 2, "max_load_kg": 1500.5, "axles": 3}[attribute]
                body = self.create_resource(collection, f"{rtype} typed", {attribute: value}, rtype)
                self.assertEqual(body["attributes"], {attribute: value})
                g = self.assertJson(self.req("GET", f"/api/{collection}/{body['id']}"))
                self.assertEqual(g, body)

    def test_attributes_are_validated_by_the_type(self):
        for i, (collection, attributes, accepted) in enumerate(ATTRIBUTE_CASES):
            with self.subTest(collection=collection, attributes=attributes):
                before = self.stack.snapshot()
                r = self.req("POST", f"/api/{collection}", json={"name": f"attr case {i}", "attributes": attributes})
                if accepted:
                    self.assertStatus(r, 201)
                    body = r.json()
                    self.assertIn(body["attributes"], (attributes, None) if attributes == {} else (attributes,))
                else:
                    self.assertValidation(r, "attributes" if not attributes else list(attributes) + ["attributes"])
                    self.assertEqual(self.stack.snapshot(), before, "a refused resource changed the database")

    def test_attributes_that_are_not_an_object_are_400(self):
        for attributes in ([], [1], "seats", 5, True):
            with self.subTest(attributes=attributes):
                r = self.req("POST", "/api/cars", json={"name": "bad attrs", "attributes": attributes})
                self.assertValidation(r, "attributes")
        self.assertEqual(self.stack.query("SELECT count(*) FROM resources WHERE name = 'bad attrs'"), [(0,)])

    def test_null_attributes_count_as_absent(self):
        body = self.create_resource("cars", "null attrs", None, "Car")
        r = self.req("POST", "/api/cars", json={"name": "null attrs 2", "attributes": None})
        self.assertStatus(r, 201)
        self.assertEqual(r.json()["attributes"], body["attributes"])
        self.assertIn(body["attributes"], ({}, None))

    def test_get_unknown_or_malformed_ids_is_404(self):
        ids = [str(uuid.uuid4()), "00000000-0000-0000-0000-000000000000", "not-a-uuid", "x", "-1",
               "a" * 2000, "%ff", "1%3BDROP%20TABLE%20resources", str(uuid.uuid4()) + "0",
               str(uuid.uuid4()).replace("-", "")]
        for rid in ids:
            for method in ("GET", "PATCH", "DELETE"):
                with self.subTest(id=rid[:40], method=method):
                    r = self.req(method, f"/api/cars/{rid}", json={"name": "zz"} if method == "PATCH" else None)
                    self.assertProblem(r, 404)
            with self.subTest(id=rid[:40], what="allocations"):
                self.assertProblem(self.req("GET", f"/api/cars/{rid}/allocations"), 404)

    def test_ids_of_another_type_are_404_and_change_nothing(self):
        car = self.create_resource("cars", "Other Type Car", {"seats": 3}, "Car")
        a = self.create_allocation("cars", car["id"], "2031-01-01T00:00:00Z", "2031-01-02T00:00:00Z")
        before = self.stack.snapshot()
        for collection in ("lorries", "trucks"):
            with self.subTest(collection=collection):
                base = f"/api/{collection}/{car['id']}"
                self.assertProblem(self.req("GET", base), 404)
                self.assertProblem(self.req("PATCH", base, json={"name": "stolen"}), 404)
                self.assertProblem(self.req("DELETE", base), 404)
                self.assertProblem(self.req("DELETE", base + "?force=true"), 404)
                self.assertProblem(self.req("GET", base + "/allocations"), 404)
                self.assertProblem(self.req("POST", base + "/allocations", json={
                    "from_datetime": "2032-01-01T00:00:00Z", "to_datetime": "2032-01-02T00:00:00Z",
                    "allocation_type": "booking"}), 404)
                self.assertProblem(self.req("GET", f"{base}/allocations/{a['id']}"), 404)
                self.assertProblem(self.req("PATCH", f"{base}/allocations/{a['id']}",
                                            json={"description": "x"}), 404)
                self.assertProblem(self.req("DELETE", f"{base}/allocations/{a['id']}"), 404)
        self.assertEqual(self.stack.snapshot(), before)
        self.assertJson(self.req("GET", f"/api/cars/{car['id']}"))

    def test_unknown_collections_are_404(self):
        car = self.create_resource("cars", "Unknown Coll Car", None, "Car")
        for path in ("/api/planes", "/api/Cars", "/api/CARS", "/api/car", "/api/buses", f"/api/planes/{car['id']}",
                     f"/api/planes/{car['id']}/allocations", "/api/cars/x/y/z", f"/api/cars/{car['id']}/bookings",
                     f"/api/cars/{car['id']}/allocations/x/y"):
            for method in ("GET", "POST"):
                with self.subTest(path=path, method=method):
                    r = self.req(method, path, json={"name": "x"} if method == "POST" else None)
                    self.assertProblem(r, 404)
        self.assertEqual(self.stack.query("SELECT count(*) FROM resources WHERE name = 'x'"), [(0,)])

    def test_wrong_methods_are_405_with_allow(self):
        car = self.create_resource("cars", "Method Car", None, "Car")
        a = self.create_allocation("cars", car["id"], "2031-02-01T00:00:00Z", "2031-02-02T00:00:00Z")
        cases = [
            ("/api/cars", ("PUT", "PATCH", "DELETE"), {"GET", "POST"}),
            (f"/api/cars/{car['id']}", ("POST", "PUT"), {"GET", "PATCH", "DELETE"}),
            (f"/api/cars/{car['id']}/allocations", ("PUT", "PATCH", "DELETE"), {"GET", "POST"}),
            (f"/api/cars/{car['id']}/allocations/{a['id']}", ("POST", "PUT"), {"GET", "PATCH", "DELETE"}),
            ("/api/health", ("POST", "DELETE"), {"GET"}),
        ]
        before = self.stack.snapshot()
        for path, methods, allowed in cases:
            for method in methods:
                with self.subTest(path=path, method=method):
                    r = self.req(method, path, json={"name": "m"} if method in ("POST", "PUT", "PATCH") else None)
                    self.assertProblem(r, 405)
                    allow = {m.strip().upper() for m in (r.header("Allow") or "").split(",") if m.strip()}
                    self.assertLessEqual(allowed, allow, f"Allow: {r.header('Allow')!r}")
                    self.assertNotIn(method, allow)
        self.assertEqual(self.stack.snapshot(), before)

    def test_the_body_is_json_whatever_its_content_type(self):
        for i, ctype in enumerate((None, "text/plain", "application/x-www-form-urlencoded")):
            with self.subTest(content_type=ctype):
                headers = {"Content-Type": ctype} if ctype else {}
                r = self.req("POST", "/api/trucks", body=json.dumps({"name": f"ctype {i}", "attributes": {"axles": 4}}),
                             headers=headers)
                self.assertStatus(r, 201)
                self.assertEqual(r.json()["attributes"], {"axles": 4})

    def test_unknown_top_level_fields_are_400(self):
        for extra in ({"colour": "red"}, {"id": str(uuid.uuid4())}, {"created": "2030-01-01T00:00:00Z"},
                      {"seats": 5}):
            with self.subTest(extra=extra):
                payload = {"name": "unknown field car"}
                payload.update(extra)
                self.assertValidation(self.req("POST", "/api/cars", json=payload), list(extra))
        self.assertEqual(self.stack.query("SELECT count(*) FROM resources WHERE name = 'unknown field car'"), [(0,)])


class NamesTest(StackTestCase):

    def test_names_of_1_to_64_code_points_are_accepted(self):
        for name in ("a", "N" * 64, "é" * 64, "€" * 64, "😀" * 64, "名" * 63 + "x", " spaced  name ", "Ünïcödé ✓"):
            with self.subTest(name=name[:10], length=len(name)):
                body = self.create_resource("cars", name, None, "Car")
                self.assertEqual(body["name"], name)
                self.assertEqual(self.assertJson(self.req("GET", f"/api/cars/{body['id']}"))["name"], name)
                self.assertEqual(self.stack.query("SELECT name FROM resources WHERE id = ?", (body["id"],)), [(name,)])

    def test_escaped_surrogate_pairs_count_as_one_code_point(self):
        name = "\U0001F680" * 64
        r = self.req("POST", "/api/cars", body=json.dumps({"name": name}))  # \ud83d\ude80 escapes
        self.assertStatus(r, 201)
        self.assertEqual(r.json()["name"], name)
        self.assertValidation(self.req("POST", "/api/cars", body=json.dumps({"name": name + "x"})), "name")

    def test_names_outside_1_to_64_code_points_are_400(self):
        before = self.stack.snapshot()
        for name in ("", "N" * 65, "é" * 65, "😀" * 65, "x" * 1000):
            with self.subTest(length=len(name)):
                self.assertValidation(self.req("POST", "/api/cars", json={"name": name}), "name")
        self.assertEqual(self.stack.snapshot(), before)

    def test_names_with_control_characters_are_400(self):
        before = self.stack.snapshot()
        for name in ("a\x00b", "\x01", "tab\there", "new\nline", "cr\r", "esc\x1b", "x\x1f", "del\x7f", "\x7f"):
            with self.subTest(name=name):
                self.assertValidation(self.req("POST", "/api/cars", json={"name": name}), "name")
        self.assertEqual(self.stack.snapshot(), before)

    def test_missing_null_or_non_string_names_are_400(self):
        before = self.stack.snapshot()
        for payload in ({}, {"name": None}, {"name": 5}, {"name": True}, {"name": ["a"]}, {"name": {"a": 1}},
                        {"attributes": {"seats": 4}}):
            with self.subTest(payload=payload):
                self.assertValidation(self.req("POST", "/api/cars", json=payload), "name")
        self.assertEqual(self.stack.snapshot(), before)

    def test_names_are_unique_per_type_exactly_and_case_sensitively(self):
        first = self.create_resource("cars", "Unique1", None, "Car")
        before = self.stack.snapshot()
        r = self.req("POST", "/api/cars", json={"name": "Unique1", "attributes": {"seats": 2}})
        self.assertProblem(r, 409)
        self.assertEqual(self.stack.snapshot(), before)
        # Exactly: case, trailing space and Unicode normalisation all make another name.
        for other in ("unique1", "UNIQUE1", "Unique1 ", " Unique1", "Unique１"):
            with self.subTest(other=other):
                self.assertEqual(self.create_resource("cars", other, None, "Car")["name"], other)
        nfc = "Caf\u00e9"
        nfd = "Cafe\u0301"
        self.create_resource("cars", nfc, None, "Car")
        self.create_resource("cars", nfd, None, "Car")
        self.assertProblem(self.req("POST", "/api/cars", json={"name": nfc}), 409)
        self.assertProblem(self.req("POST", "/api/cars", json={"name": nfd}), 409)
        # The same name in another type is fine.
        self.create_resource("lorries", "Unique1", None, "Lorry")
        self.create_resource("trucks", "Unique1", None, "Truck")
        self.assertProblem(self.req("POST", "/api/lorries", json={"name": "Unique1"}), 409)
        rows = self.stack.query("SELECT resource_type FROM resources WHERE name = 'Unique1' ORDER BY resource_type")
        self.assertEqual(rows, [("Car",), ("Lorry",), ("Truck",)])
        self.assertJson(self.req("GET", f"/api/cars/{first['id']}"))

    def test_a_deleted_name_can_be_used_again(self):
        body = self.create_resource("trucks", "Reusable", None, "Truck")
        self.assertStatus(self.req("DELETE", f"/api/trucks/{body['id']}"), 204)
        again = self.create_resource("trucks", "Reusable", None, "Truck")
        self.assertNotEqual(again["id"], body["id"])


class ResourceListTest(StackTestCase):
    """Listing, order, limit/after and Link, in a collection (trucks) used by nothing else here."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.created = []

    def ensure_trucks(self, n):
        # Names deliberately not in alphabetical or creation order.
        while len(self.created) < n:
            i = len(self.created)
            r = self.req("POST", "/api/trucks", json={"name": f"T{(i * 37) % 997:03d}-{i}"})
            self.assertStatus(r, 201)
            self.created.append(r.json())
        return self.created[:n]

    def list_all(self, path, max_pages=50):
        items, pages = [], 0
        while path is not None and pages < max_pages:
            r = self.req("GET", path)
            page = self.assertJson(r)
            self.assertIsInstance(page, list)
            items.extend(page)
            pages += 1
            path = link_next(r)
        self.assertIsNone(path, "too many pages")
        return items, pages

    def test_a_listing_is_oldest_first_with_full_representations(self):
        created = self.ensure_trucks(7)
        body = self.assertJson(self.req("GET", "/api/trucks"))
        self.assertEqual([b["id"] for b in body[:7]], [c["id"] for c in created])
        for item, c in zip(body, created):
            self.assertResourceShape(item, "Truck")
            self.assertEqual(item, c)

    def test_limit_and_link_page_through_everything_once(self):
        created = self.ensure_trucks(7)
        total = len(self.assertJson(self.req("GET", "/api/trucks?limit=1000")))
        self.assertGreaterEqual(total, 7)
        r = self.req("GET", "/api/trucks?limit=3")
        first = self.assertJson(r)
        self.assertEqual([b["id"] for b in first], [c["id"] for c in created[:3]])
        self.assertIsNotNone(link_next(r), "a Link rel=next while more remain")
        items, pages = self.list_all("/api/trucks?limit=3")
        self.assertEqual(len(items), total)
        self.assertEqual(len({i["id"] for i in items}), total, "no item twice")
        self.assertEqual(pages, (total + 2) // 3, "the link keeps the limit")
        self.assertEqual([i["id"] for i in items[:7]], [c["id"] for c in created])

    def test_after_continues_after_that_id(self):
        created = self.ensure_trucks(7)
        r = self.assertJson(self.req("GET", f"/api/trucks?after={created[2]['id']}&limit=2"))
        self.assertEqual([b["id"] for b in r], [created[3]["id"], created[4]["id"]])
        r = self.assertJson(self.req("GET", f"/api/trucks?limit=2&after={created[0]['id']}"))
        self.assertEqual([b["id"] for b in r], [created[1]["id"], created[2]["id"]])

    def test_no_link_when_nothing_remains(self):
        self.ensure_trucks(7)
        everything = self.assertJson(self.req("GET", "/api/trucks?limit=1000"))
        n = len(everything)
        r = self.req("GET", f"/api/trucks?limit={n}")
        self.assertEqual(len(self.assertJson(r)), n)
        self.assertIsNone(link_next(r), "exactly the remaining count: no next page")
        r = self.req("GET", f"/api/trucks?after={everything[-1]['id']}")
        self.assertEqual(self.assertJson(r), [])
        self.assertIsNone(link_next(r))
        r = self.req("GET", f"/api/trucks?after={everything[-2]['id']}&limit=1")
        self.assertEqual([b["id"] for b in self.assertJson(r)], [everything[-1]["id"]])
        self.assertIsNone(link_next(r))

    def test_default_limit_is_100(self):
        self.ensure_trucks(101)
        r = self.req("GET", "/api/trucks")
        body = self.assertJson(r)
        self.assertEqual(len(body), 100)
        self.assertEqual([b["id"] for b in body], [c["id"] for c in self.created[:100]])
        nxt = link_next(r)
        self.assertIsNotNone(nxt)
        rest = self.assertJson(self.req("GET", nxt))
        self.assertEqual(rest[0]["id"], self.created[100]["id"])
        self.assertEqual(len(self.assertJson(self.req("GET", "/api/trucks?limit=1000"))), len(self.created))

    def test_out_of_range_or_unknown_paging_parameters_are_400(self):
        self.ensure_trucks(2)
        car = self.create_resource("cars", "List Car", None, "Car")
        for query in ("limit=0", "limit=1001", "limit=-1", "limit=abc", "limit=", "limit=1.5", "limit=99999999999999999999",
                      f"after={uuid.uuid4()}", "after=not-an-id", "after=", f"after={car['id']}"):
            with self.subTest(query=query):
                self.assertProblem(self.req("GET", f"/api/trucks?{query}"), 400)
        self.assertStatus(self.req("GET", "/api/trucks?limit=1"), 200)
        self.assertStatus(self.req("GET", "/api/trucks?limit=1000"), 200)

    def test_a_listing_holds_only_its_own_type(self):
        self.ensure_trucks(2)
        self.create_resource("lorries", "List Lorry", None, "Lorry")
        for collection, rtype in (("trucks", "Truck"), ("lorries", "Lorry")):
            items, _ = self.list_all(f"/api/{collection}?limit=1000")
            self.assertTrue(items)
            self.assertTrue(all(i["resource_type"] == rtype for i in items))
            count = self.stack.query("SELECT count(*) FROM resources WHERE resource_type = ?", (rtype,))[0][0]
            self.assertEqual(len(items), count)


class ResourcePatchTest(StackTestCase):

    def test_patch_name_keeps_attributes(self):
        body = self.create_resource("cars", "Patch A", {"seats": 4}, "Car")
        r = self.req("PATCH", f"/api/cars/{body['id']}", json={"name": "Patch A2"})
        new = self.assertJson(r)
        self.assertResourceShape(new, "Car")
        self.assertEqual(new["name"], "Patch A2")
        self.assertEqual(new["attributes"], {"seats": 4})
        self.assertEqual((new["id"], new["created"]), (body["id"], body["created"]))
        self.assertEqual(self.assertJson(self.req("GET", f"/api/cars/{body['id']}")), new)
        rows = self.stack.query("SELECT name, attributes FROM resources WHERE id = ?", (body["id"],))
        self.assertEqual(rows[0][0], "Patch A2")
        self.assertEqual(json.loads(rows[0][1]), {"seats": 4})

    def test_patch_attributes_replaces_the_whole_object_and_keeps_the_name(self):
        body = self.create_resource("lorries", "Patch L", {"max_load_kg": 1200}, "Lorry")
        new = self.assertJson(self.req("PATCH", f"/api/lorries/{body['id']}", json={"attributes": {"max_load_kg": 7.5}}))
        self.assertEqual(new["name"], "Patch L")
        self.assertEqual(new["attributes"], {"max_load_kg": 7.5})
        new = self.assertJson(self.req("PATCH", f"/api/lorries/{body['id']}", json={"attributes": {}}))
        self.assertIn(new["attributes"], ({}, None))
        self.assertNotIn("max_load_kg", new["attributes"] or {})
        self.assertEqual(json.loads(self.stack.query("SELECT attributes FROM resources WHERE id = ?",
                                                     (body["id"],))[0][0] or "{}"), {})

    def test_patch_with_nothing_or_nulls_changes_nothing(self):
        body = self.create_resource("cars", "Patch N", {"seats": 7}, "Car")
        for payload in ({}, {"name": None}, {"attributes": None}, {"name": None, "attributes": None}):
            with self.subTest(payload=payload):
                new = self.assertJson(self.req("PATCH", f"/api/cars/{body['id']}", json=payload))
                self.assertEqual(new, body)

    def test_patch_both_fields(self):
        body = self.create_resource("trucks", "Patch B", {"axles": 3}, "Truck")
        new = self.assertJson(self.req("PATCH", f"/api/trucks/{body['id']}",
                                       json={"name": "Patch B2", "attributes": {"axles": 6}}))
        self.assertEqual((new["name"], new["attributes"]), ("Patch B2", {"axles": 6}))

    def test_patch_to_its_own_name_is_not_a_conflict(self):
        body = self.create_resource("cars", "Patch Self", None, "Car")
        new = self.assertJson(self.req("PATCH", f"/api/cars/{body['id']}", json={"name": "Patch Self"}))
        self.assertEqual(new["name"], "Patch Self")

    def test_patch_to_a_taken_name_is_409_and_changes_nothing(self):
        self.create_resource("cars", "Taken", None, "Car")
        body = self.create_resource("cars", "Patch T", {"seats": 2}, "Car")
        before = self.stack.snapshot()
        self.assertProblem(self.req("PATCH", f"/api/cars/{body['id']}", json={"name": "Taken"}), 409)
        self.assertProblem(self.req("PATCH", f"/api/cars/{body['id']}",
                                    json={"name": "Taken", "attributes": {"seats": 3}}), 409)
        self.assertEqual(self.stack.snapshot(), before)
        # A name taken only in another type is free here.
        self.create_resource("lorries", "Lorry Only", None, "Lorry")
        self.assertEqual(self.assertJson(self.req("PATCH", f"/api/cars/{body['id']}",
                                                  json={"name": "Lorry Only"}))["name"], "Lorry Only")

    def test_invalid_patches_are_400_and_change_nothing(self):
        body = self.create_resource("cars", "Patch Bad", {"seats": 2}, "Car")
        before = self.stack.snapshot()
        for payload, field in (({"name": ""}, "name"), ({"name": "x" * 65}, "name"), ({"name": "a\nb"}, "name"),
                               ({"name": 3}, "name"), ({"attributes": {"seats": 0}}, "seats"),
                               ({"attributes": {"seats": True}}, "seats"), ({"attributes": {"wings": 2}}, "wings"),
                               ({"attributes": []}, "attributes"), ({"colour": "red"}, "colour"),
                               ({"id": str(uuid.uuid4())}, "id"), ({"resource_type": "Lorry"}, "resource_type"),
                               ({"name": "ok name", "attributes": {"seats": 99}}, "seats")):
            with self.subTest(payload=payload):
                self.assertValidation(self.req("PATCH", f"/api/cars/{body['id']}", json=payload),
                                      [field, "attributes"] if field in ("seats", "wings") else field)
        self.assertEqual(self.stack.snapshot(), before)
        self.assertEqual(self.assertJson(self.req("GET", f"/api/cars/{body['id']}")), body)


class ResourceDeleteTest(StackTestCase):

    def alloc(self, rid, frm, to, collection="cars"):
        return self.create_allocation(collection, rid, frm, to)

    def test_delete_without_allocations_is_204_then_404(self):
        body = self.create_resource("cars", "Del Plain", None, "Car")
        r = self.req("DELETE", f"/api/cars/{body['id']}")
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        self.assertProblem(self.req("GET", f"/api/cars/{body['id']}"), 404)
        self.assertProblem(self.req("DELETE", f"/api/cars/{body['id']}"), 404)
        self.assertProblem(self.req("GET", f"/api/cars/{body['id']}/allocations"), 404)
        self.assertEqual(self.stack.query("SELECT count(*) FROM resources WHERE id = ?", (body["id"],)), [(0,)])
        ids = [b["id"] for b in self.assertJson(self.req("GET", "/api/cars?limit=1000"))]
        self.assertNotIn(body["id"], ids)

    def test_force_on_a_resource_without_allocations_is_204(self):
        body = self.create_resource("cars", "Del Force Plain", None, "Car")
        self.assertStatus(self.req("DELETE", f"/api/cars/{body['id']}?force=true"), 204)
        self.assertProblem(self.req("GET", f"/api/cars/{body['id']}"), 404)
        self.assertProblem(self.req("DELETE", f"/api/cars/{body['id']}?force=true"), 404)

    def test_delete_with_only_past_allocations_is_204(self):
        body = self.create_resource("cars", "Del Past", None, "Car")
        self.alloc(body["id"], "2001-01-01T00:00:00Z", "2001-01-02T00:00:00Z")
        self.alloc(body["id"], None, "2000-06-01T00:00:00Z")
        self.assertStatus(self.req("DELETE", f"/api/cars/{body['id']}"), 204)
        self.assertProblem(self.req("GET", f"/api/cars/{body['id']}"), 404)

    def test_delete_is_409_listing_current_future_and_open_ended_allocations(self):
        body = self.create_resource("cars", "Del Busy", None, "Car")
        rid = body["id"]
        now = now_us()
        past = self.alloc(rid, "2001-01-01T00:00:00Z", "2001-01-02T00:00:00Z")
        current = self.alloc(rid, iso(now - 3600_000_000), iso(now + 3600_000_000))
        future = self.alloc(rid, "2040-01-01T00:00:00Z", "2040-01-02T00:00:00Z")
        forever = self.alloc(rid, "2050-01-01T00:00:00Z", None)
        before = self.stack.snapshot()
        problem = self.assertProblem(self.req("DELETE", f"/api/cars/{rid}"), 409)
        self.assertIn("conflicts", problem)
        self.assertEqual(sorted(problem["conflicts"]), sorted([current["id"], future["id"], forever["id"]]))
        self.assertNotIn(past["id"], problem["conflicts"])
        self.assertEqual(self.stack.snapshot(), before)
        self.assertJson(self.req("GET", f"/api/cars/{rid}"))

    def test_only_an_open_ended_allocation_blocks_delete(self):
        body = self.create_resource("cars", "Del Forever", None, "Car")
        forever = self.alloc(body["id"], "2000-01-01T00:00:00Z", None)
        problem = self.assertProblem(self.req("DELETE", f"/api/cars/{body['id']}"), 409)
        self.assertEqual(problem.get("conflicts"), [forever["id"]])
        body2 = self.create_resource("cars", "Del Open Both", None, "Car")
        both = self.alloc(body2["id"], None, None)
        problem = self.assertProblem(self.req("DELETE", f"/api/cars/{body2['id']}"), 409)
        self.assertEqual(problem.get("conflicts"), [both["id"]])

    def test_force_deletes_the_resource_with_its_allocations(self):
        body = self.create_resource("lorries", "Del Force", None, "Lorry")
        rid = body["id"]
        a1 = self.alloc(rid, "2040-01-01T00:00:00Z", "2040-01-02T00:00:00Z", "lorries")
        a2 = self.alloc(rid, "2041-01-01T00:00:00Z", None, "lorries")
        other = self.create_resource("lorries", "Del Force Other", None, "Lorry")
        keep = self.alloc(other["id"], "2040-01-01T00:00:00Z", "2040-01-02T00:00:00Z", "lorries")
        self.assertStatus(self.req("DELETE", f"/api/lorries/{rid}?force=true"), 204)
        self.assertProblem(self.req("GET", f"/api/lorries/{rid}"), 404)
        self.assertProblem(self.req("GET", f"/api/lorries/{rid}/allocations/{a1['id']}"), 404)
        self.assertEqual(self.stack.query("SELECT count(*) FROM resources WHERE id = ?", (rid,)), [(0,)])
        self.assertEqual(self.stack.query("SELECT count(*) FROM allocations WHERE resource_id = ? OR id IN (?, ?)",
                                          (rid, a1["id"], a2["id"])), [(0,)])
        self.assertEqual(self.stack.query("SELECT count(*) FROM allocations WHERE id = ?", (keep["id"],)), [(1,)])
        # A new resource of the same name starts with no allocations.
        again = self.create_resource("lorries", "Del Force", None, "Lorry")
        self.assertEqual(self.assertJson(self.req("GET", f"/api/lorries/{again['id']}/allocations")), [])


if __name__ == "__main__":
    unittest.main()
