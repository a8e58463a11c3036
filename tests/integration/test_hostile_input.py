"""Hostile input (issue "Hostile input never takes a worker down"): numbers that crash Debian's
RapidJSON 1.1.0, bodies that would make huge error answers, list pages that would make huge
answers, and HEAD. Every answer is a value or a 4xx, the worker that served it is still the
same process, and nothing is stored by a refused request."""

import json
import unittest
import uuid

from harness import StackTestCase, link_next, location_path

# The two numbers of the issue: an out-of-bounds read (upstream issue #1251) and the
# decimal-exponent underflow of CVE-2024-38517. Before the fix the first one killed the worker.
OOB_READ = "1.00000000000000000000000000001e-340"
UNDERFLOW = "0.0000000000e-2147483639"

# Edge forms: huge exponents both ways, 5 000-digit mantissas, -0, subnormals, int64 edges.
EDGE_NUMBERS = [
    OOB_READ, UNDERFLOW, "1e400", "-1e400", "1e-400", "-1e-400", "1e99999999999999999999",
    "1e-99999999999999999999", "9" * 5000, "-" + "9" * 5000, "0." + "0" * 5000 + "1",
    "1." + "0" * 5000 + "1", "1" + "0" * 5000 + "e-5000", "-0", "-0.0", "0e-400", "4.9e-324",
    "2.2250738585072011e-308", "2.2250738585072014e-308", "1.7976931348623157e308",
    "1.7976931348623159e308", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
    "18446744073709551616", "5E+0", "0.1e1",
]


class HostileNumbersTest(StackTestCase):

    def setUp(self):
        r = self.req("POST", "/api/cars", json={"name": f"N {uuid.uuid4().hex[:12]}", "attributes": {"seats": 4}})
        self.assertStatus(r, 201)
        self.car = r.json()
        self.pids = self.stack.fcgi.pids()

    def tearDown(self):
        self.assertTrue(self.stack.fcgi.alive(), "invsys-fcgi died\n" + self.stack.log_tails())
        self.assertEqual(self.stack.fcgi.pids(), self.pids, "a worker process died or was replaced")

    def post(self, path, text):
        return self.req("POST", path, body=text.encode(), headers={"Content-Type": "application/json"})

    def test_the_crashing_numbers_are_400_naming_the_attribute_and_the_worker_lives(self):
        for n in (OOB_READ, "1e400", "-1e-400"):
            for collection, attribute in (("cars", "seats"), ("lorries", "max_load_kg"), ("trucks", "axles")):
                with self.subTest(number=n, collection=collection):
                    before = self.stack.snapshot()
                    r = self.post(f"/api/{collection}", '{"name":"x","attributes":{"%s":%s}}' % (attribute, n))
                    self.assertValidation(r, f"attributes.{attribute}")
                    self.assertEqual(r.json()["errors"][0]["message"], "is out of range")
                    self.assertEqual(self.stack.snapshot(), before)

    def test_edge_numbers_anywhere_are_a_value_or_400_never_5xx(self):
        alloc_path = f"/api/cars/{self.car['id']}/allocations"
        year = 2100
        for n in EDGE_NUMBERS:
            bodies = [
                ("/api/lorries", '{"name":"L%s","attributes":{"max_load_kg":%s}}' % (uuid.uuid4().hex[:8], n)),
                ("/api/cars", '{"name":"C%s","attributes":{"seats":%s}}' % (uuid.uuid4().hex[:8], n)),
                ("/api/cars", '{"name":"U%s","colour":%s}' % (uuid.uuid4().hex[:8], n)),
                (alloc_path, '{"from_datetime":"%d-01-01T00:00:00Z","to_datetime":"%d-01-02T00:00:00Z",'
                             '"allocation_type":"b","extra":%s}' % (year, year, n)),
            ]
            for path, body in bodies:
                with self.subTest(number=n[:40], path=path):
                    before = self.stack.snapshot()
                    r = self.post(path, body)
                    self.assertLess(r.status, 500, r)
                    self.assertStatus(r, (201, 400))
                    if r.status == 400:
                        self.assertProblem(r, 400)
                        self.assertEqual(self.stack.snapshot(), before)
                    else:
                        # What was stored reads back as what was answered.
                        self.assertEqual(self.assertJson(self.req("GET", location_path(r))), r.json())

    def test_numbers_in_a_dump_come_back_exactly_as_written(self):
        alloc_path = f"/api/cars/{self.car['id']}/allocations"
        # The 5 000-digit forms would pass the 16 KiB dump limit together: one 3 000-digit one.
        numbers = ",".join([n for n in EDGE_NUMBERS if len(n) < 100] + ["1.50", "0.10", "1E+2", "7" * 3000])
        dump = '{"n":[%s],"s":"1e5","nested":{"x":%s}}' % (numbers, OOB_READ)
        body = ('{"from_datetime":"2090-01-01T00:00:00Z","to_datetime":"2090-01-02T00:00:00Z",'
                '"allocation_type":"b","dump":%s}' % dump)
        r = self.post(alloc_path, body)
        self.assertStatus(r, 201)
        self.assertIn(b'"dump":' + dump.encode() + b',', r.body)
        got = self.req("GET", location_path(r))
        self.assertStatus(got, 200)
        self.assertIn(b'"dump":' + dump.encode() + b',', got.body)
        listed = self.req("GET", alloc_path + "?from=2090-01-01T00:00:00Z&to=2090-01-02T00:00:00Z")
        self.assertIn(b'"dump":' + dump.encode() + b',', listed.body)

    def test_number_grammar_errors_are_400(self):
        for n in ("01", "1.", ".5", "+1", "-", "1e", "1e+", "1-2", "0x10", "1.5e3e4", "--1", "Infinity", "NaN"):
            with self.subTest(number=n):
                self.assertProblem(self.post("/api/cars", '{"name":"G","attributes":{"seats":%s}}' % n), 400)

    def test_a_few_crashing_bodies_a_second_leave_the_pool_serving(self):
        for i in range(50):
            r = self.post("/api/cars", '{"name":"x","attributes":{"seats":%s},"dump":%s}' % (OOB_READ, UNDERFLOW))
            self.assertProblem(r, 400)
        self.assertStatus(self.req("GET", "/api/health"), 200)


class BoundedAnswersTest(StackTestCase):
    """No request makes a large answer: problem bodies are capped, list pages stop at
    max_page_bytes and Link carries on."""

    PAGE_BYTES = 64 * 1024
    stack_options = {"extra_config": {"max_page_bytes": PAGE_BYTES}}

    def setUp(self):
        self.pids = self.stack.fcgi.pids()

    def tearDown(self):
        self.assertEqual(self.stack.fcgi.pids(), self.pids, "a worker process died or was replaced")

    def assertSmallProblem(self, r, total):
        body = self.assertValidation(r)
        self.assertLess(len(r.body), 8 * 1024, "problem body too large")
        self.assertEqual(len(body["errors"]), 20)
        self.assertEqual(body["errors_total"], total)
        first = body["errors"][0]
        self.assertTrue(body["detail"].startswith(f"{first['field']}: {first['message']}"), body["detail"])
        self.assertIn(f"(and {total - 1} more)", body["detail"])

    def test_100_000_duplicate_keys_answer_400_under_8_kib(self):
        body = "{" + ",".join(['"n":1'] * 100_000) + "}"
        self.assertLess(len(body), 1024 * 1024)
        before = self.stack.snapshot()
        # `n` is an unknown field, then 99 999 repeats of it.
        self.assertSmallProblem(self.req("POST", "/api/cars", body=body), 100_000)
        dup_names = "{" + ",".join(['"name":"d"'] * 90_000) + "}"
        self.assertSmallProblem(self.req("POST", "/api/cars", body=dup_names), 89_999)
        self.assertEqual(self.stack.snapshot(), before)

    def test_50_000_unknown_fields_and_attributes_answer_400_under_8_kib(self):
        fields = "{" + ",".join(f'"f{i}":1' for i in range(50_000)) + "}"
        self.assertSmallProblem(self.req("POST", "/api/cars", body=fields), 50_000)
        attributes = '{"name":"a","attributes":{' + ",".join(f'"a{i}":1' for i in range(50_000)) + "}}"
        self.assertSmallProblem(self.req("POST", "/api/cars", body=attributes), 50_000)

    def test_a_huge_unknown_field_name_is_quoted_short(self):
        r = self.req("POST", "/api/cars", body='{"%s":1}' % ("k" * 900_000))
        body = self.assertValidation(r)
        self.assertLess(len(r.body), 1024)
        self.assertEqual(body["errors"][0]["field"], "k" * 64 + "\u2026")

    def test_a_page_of_big_dumps_stops_at_the_byte_cap_and_link_goes_on(self):
        r = self.req("POST", "/api/cars", json={"name": f"Dumps {uuid.uuid4().hex[:8]}"})
        self.assertStatus(r, 201)
        path = f"/api/cars/{r.json()['id']}/allocations"
        dump = {"pad": "x" * (16 * 1024 - 12)}
        created = []
        for day in range(1, 21):
            r = self.req("POST", path, json={
                "from_datetime": f"2040-01-{day:02d}T00:00:00Z", "to_datetime": f"2040-01-{day:02d}T12:00:00Z",
                "allocation_type": "booking", "dump": dump})
            self.assertStatus(r, 201)
            created.append(r.json()["id"])
        seen = []
        url = path + "?limit=1000"
        pages = 0
        while url is not None and pages < 30:
            r = self.req("GET", url)
            page = self.assertJson(r)
            self.assertLessEqual(len(r.body), self.PAGE_BYTES)
            self.assertGreaterEqual(len(page), 1)
            seen += [a["id"] for a in page]
            url = link_next(r)
            pages += 1
        self.assertEqual(seen, created, "every allocation exactly once, in order")
        self.assertGreater(pages, 5, "the byte cap cut the page of 1000")

    def test_a_page_of_resources_also_stops_at_the_cap(self):
        long_names = []
        for i in range(800):
            r = self.req("POST", "/api/trucks", json={"name": f"T{i:04d}-" + "\u00e9" * 58})
            self.assertStatus(r, 201)
            long_names.append(r.json()["id"])
        r = self.req("GET", "/api/trucks?limit=1000")
        page = self.assertJson(r)
        self.assertLessEqual(len(r.body), self.PAGE_BYTES)
        self.assertLess(len(page), 800)
        self.assertIsNotNone(link_next(r))
        rest = self.assertJson(self.req("GET", link_next(r)))
        self.assertEqual([t["id"] for t in page + rest][:len(page) + len(rest)], long_names[:len(page) + len(rest)])


class HeadTest(StackTestCase):

    def test_head_answers_the_content_length_of_get_without_a_body(self):
        r = self.req("POST", "/api/cars", json={"name": "Head", "attributes": {"seats": 2}})
        self.assertStatus(r, 201)
        for path in ("/api/health", "/api/types", "/api/cars", location_path(r), location_path(r) + "/allocations",
                     "/api/cars/00000000-0000-0000-0000-000000000000"):
            with self.subTest(path=path):
                get = self.req("GET", path)
                head = self.req("HEAD", path)
                self.assertEqual(head.status, get.status)
                self.assertEqual(head.body, b"")
                self.assertEqual(head.header("Content-Length"), str(len(get.body)), head.headers)
                self.assertEqual(head.header("Content-Type"), get.header("Content-Type"))


if __name__ == "__main__":
    unittest.main()
