"""Availability, free gaps, "book any free one" and the per-type rules (docs/api.md), through
nginx on SQLite (test_pg_availability runs the same classes on PostgreSQL)."""

import threading
import time
import unittest
import uuid

from harness import (HOUR_US, StackTestCase, allocation_payload, find_test_plugin, http_request, iso,
                     link_next, location_path, now_us, utc_us)

MINUTE_US = 60_000_000
BASE = utc_us(2030, 1, 1, 10)


def t(hours=0, minutes=0):
    """A time string BASE + hours + minutes."""
    return iso(BASE + hours * HOUR_US + minutes * MINUTE_US)


class AvailabilityTest(StackTestCase):

    @classmethod
    def prepare_stack(cls, stack):
        pass

    def setUp(self):
        # Each test gets a type of its own: the cars of other tests must not count.
        self.collection = "cars"
        self.prefix = uuid.uuid4().hex[:8]

    def car(self, name):
        return self.create_resource("cars", f"{self.prefix} {name}")

    def available_ids(self, query):
        r = self.req("GET", f"/api/cars/availability?{query}")
        return [c["id"] for c in self.assertJson(r)]

    def test_availability_lists_the_resources_entirely_free_in_the_window(self):
        busy, touching, free = self.car("busy"), self.car("touching"), self.car("free")
        self.create_allocation("cars", busy["id"], t(1), t(3))
        self.create_allocation("cars", touching["id"], t(0), t(1))   # ends where the window starts
        self.create_allocation("cars", touching["id"], t(3), t(4))   # starts where it ends
        ids = self.available_ids(f"from={t(1)}&to={t(3)}&limit=1000")
        self.assertNotIn(busy["id"], ids)
        self.assertIn(touching["id"], ids)
        self.assertIn(free["id"], ids)
        # Inside, around and across the booking: busy every time.
        for frm, to in ((t(1, 30), t(2)), (t(0), t(5)), (t(2), t(4)), (t(0), t(1, 1))):
            with self.subTest(frm=frm, to=to):
                self.assertNotIn(busy["id"], self.available_ids(f"from={frm}&to={to}&limit=1000"))

    def test_without_to_the_window_runs_forever(self):
        later, free = self.car("later"), self.car("free")
        self.create_allocation("cars", later["id"], t(100), t(101))
        ids = self.available_ids(f"from={t(0)}&limit=1000")
        self.assertNotIn(later["id"], ids)
        self.assertIn(free["id"], ids)
        self.assertIn(later["id"], self.available_ids(f"from={t(101)}&limit=1000"))

    def test_an_open_ended_allocation_blocks_every_later_window(self):
        blocked = self.car("blocked")
        self.create_allocation("cars", blocked["id"], t(5), None)
        self.assertIn(blocked["id"], self.available_ids(f"from={t(0)}&to={t(5)}&limit=1000"))
        self.assertNotIn(blocked["id"], self.available_ids(f"from=2999-01-01T00:00:00Z&limit=1000"))

    def test_availability_pages_oldest_first_with_link(self):
        cars = [self.car(f"page {i}") for i in range(5)]
        self.create_allocation("cars", cars[2]["id"], t(0), t(10))
        seen, path, pages = [], f"/api/cars/availability?from={t(1)}&to={t(2)}&limit=2", 0
        while path is not None and pages < 1000:
            r = self.req("GET", path)
            page = self.assertJson(r)
            self.assertLessEqual(len(page), 2)
            for item in page:
                self.assertResourceShape(item, "Car")
            seen += [c["id"] for c in page]
            path, pages = link_next(r), pages + 1
        mine = [c["id"] for c in cars]
        got = [i for i in seen if i in mine]
        self.assertEqual(got, [mine[0], mine[1], mine[3], mine[4]], "oldest first, the busy one left out")
        self.assertEqual(len(seen), len(set(seen)), "no resource twice across pages")

    def test_availability_query_parameters_are_strict(self):
        for query, field in (("", "from"), (f"to={t(1)}", "from"), ("from=yesterday", "from"),
                             (f"from={t(2)}&to={t(1)}", "to"), (f"from={t(1)}&to={t(1)}", "to"),
                             (f"from={t(1)}&colour=red", "colour"), (f"from={t(1)}&from={t(2)}", "from"),
                             (f"from={t(1)}&limit=0", "limit"), (f"from={t(1)}&after=nope", "after"),
                             (f"from={t(1)}&after={uuid.uuid4()}", "after")):
            with self.subTest(query=query):
                self.assertValidation(self.req("GET", f"/api/cars/availability?{query}"), field)

    def test_the_literal_segments_win_over_ids_and_unknown_collections_are_404(self):
        self.assertProblem(self.req("GET", f"/api/boats/availability?from={t(0)}"), 404)
        r = self.req("POST", f"/api/cars/availability?from={t(0)}")
        self.assertProblem(r, 405)
        self.assertIn("GET", r.headers.get("Allow"))
        r = self.req("GET", "/api/cars/allocations")
        self.assertProblem(r, 405)
        self.assertEqual(r.headers.get("Allow"), "POST")

    # -- free gaps

    def gaps(self, rid, query=""):
        r = self.req("GET", f"/api/cars/{rid}/free?{query}")
        return self.assertJson(r), r

    def test_free_gaps_are_clipped_ordered_and_never_empty(self):
        car = self.car("gaps")
        rid = car["id"]
        self.create_allocation("cars", rid, t(1), t(2))
        self.create_allocation("cars", rid, t(2), t(3))   # touching: no gap between them
        self.create_allocation("cars", rid, t(5), t(6))
        gaps, _ = self.gaps(rid, f"from={t(0)}&to={t(8)}")
        self.assertEqual(gaps, [{"from_datetime": t(0), "to_datetime": t(1)},
                                {"from_datetime": t(3), "to_datetime": t(5)},
                                {"from_datetime": t(6), "to_datetime": t(8)}])
        # A window starting inside a booking and ending inside another: clipped.
        gaps, _ = self.gaps(rid, f"from={t(1, 30)}&to={t(5, 30)}")
        self.assertEqual(gaps, [{"from_datetime": t(3), "to_datetime": t(5)}])
        # Fully booked: no gap; fully free: the whole window.
        self.assertEqual(self.gaps(rid, f"from={t(1)}&to={t(3)}")[0], [])
        self.assertEqual(self.gaps(rid, f"from={t(3, 10)}&to={t(3, 20)}")[0],
                         [{"from_datetime": t(3, 10), "to_datetime": t(3, 20)}])

    def test_open_windows_give_open_gap_ends_as_null(self):
        car = self.car("open gaps")
        rid = car["id"]
        self.assertEqual(self.gaps(rid)[0], [{"from_datetime": None, "to_datetime": None}])
        self.create_allocation("cars", rid, t(1), t(2))
        self.assertEqual(self.gaps(rid)[0], [{"from_datetime": None, "to_datetime": t(1)},
                                             {"from_datetime": t(2), "to_datetime": None}])
        self.assertEqual(self.gaps(rid, f"to={t(1, 30)}")[0], [{"from_datetime": None, "to_datetime": t(1)}])
        self.assertEqual(self.gaps(rid, f"from={t(1, 30)}")[0], [{"from_datetime": t(2), "to_datetime": None}])
        self.create_allocation("cars", rid, None, t(0))
        self.create_allocation("cars", rid, t(3), None)
        self.assertEqual(self.gaps(rid)[0], [{"from_datetime": t(0), "to_datetime": t(1)},
                                             {"from_datetime": t(2), "to_datetime": t(3)}])

    def test_free_gaps_page_with_a_link_that_goes_on_from_the_last_gap(self):
        car = self.car("many gaps")
        rid = car["id"]
        for i in range(7):
            self.create_allocation("cars", rid, t(2 * i + 1), t(2 * i + 2))
        expected = [{"from_datetime": t(0), "to_datetime": t(1)}] + [
            {"from_datetime": t(2 * i + 2), "to_datetime": t(2 * i + 3)} for i in range(6)] + [
            {"from_datetime": t(14), "to_datetime": t(20)}]
        for limit in (1, 2, 3, 7, 8, 100):
            with self.subTest(limit=limit):
                seen, path, pages = [], f"/api/cars/{rid}/free?from={t(0)}&to={t(20)}&limit={limit}", 0
                while path is not None and pages < 100:
                    page, r = self.gaps(rid, path.split("?", 1)[1])
                    self.assertLessEqual(len(page), limit)
                    self.assertTrue(page, f"an empty page at {path}")
                    seen += page
                    path, pages = link_next(r), pages + 1
                self.assertEqual(seen, expected)

    def test_free_gaps_of_unknown_or_other_resources_are_404_and_parameters_strict(self):
        self.assertProblem(self.req("GET", f"/api/cars/{uuid.uuid4()}/free"), 404)
        lorry = self.create_resource("lorries", f"{self.prefix} lorry")
        self.assertProblem(self.req("GET", f"/api/cars/{lorry['id']}/free"), 404)
        rid = self.car("strict")["id"]
        for query, field in (("from=soon", "from"), (f"from={t(2)}&to={t(1)}", "to"),
                             ("after=x", "after"), ("limit=1001", "limit"), ("to=1&to=2", "to")):
            with self.subTest(query=query):
                self.assertValidation(self.req("GET", f"/api/cars/{rid}/free?{query}"), field)


class AnyFreeTest(StackTestCase):
    stack_options = {"threads": 8}

    def fleet(self, collection, count):
        prefix = uuid.uuid4().hex[:8]
        return [self.create_resource(collection, f"{prefix} {i}")["id"] for i in range(count)]

    def book_any(self, collection, frm, to, **extra):
        return self.req("POST", f"/api/{collection}/allocations", json=allocation_payload(frm, to, **extra))

    def test_books_the_first_free_candidate_with_location_and_resource_id(self):
        ids = self.fleet("trucks", 3)
        self.create_allocation("trucks", ids[0], t(0), t(5))
        r = self.book_any("trucks", t(1), t(2), candidates=ids)
        body = self.assertJson(r, 201)
        self.assertAllocationShape(body, "Truck", ids[1])
        self.assertEqual(location_path(r), f"/api/trucks/{ids[1]}/allocations/{body['id']}")
        fetched = self.req("GET", location_path(r))
        got = self.assertJson(fetched)
        self.assertEqual(got, body)
        self.assertEqual(r.header("ETag"), '"1"', "a create answer carries the row's ETag")
        self.assertEqual(fetched.header("ETag"), r.header("ETag"))
        # Order is the client's: the last one first.
        body = self.assertJson(self.book_any("trucks", t(1), t(2), candidates=[ids[2], ids[0]]), 201)
        self.assertEqual(body["resource_id"], ids[2])
        r = self.book_any("trucks", t(1), t(2), candidates=ids)
        problem = self.assertProblem(r, 409)
        self.assertNotIn("conflicts", problem)
        self.assertEqual(self.stack.query("SELECT count(*) FROM allocations WHERE resource_id IN (?, ?, ?)",
                                          tuple(ids))[0][0], 3)

    def test_without_candidates_takes_the_oldest_free_resource_of_the_type(self):
        # Other tests' lorries exist too: block them all from this interval first.
        frm, to = t(1000), t(1001)
        while True:
            r = self.book_any("lorries", frm, to)
            if r.status == 409:
                break
            self.assertStatus(r, 201)
        ids = self.fleet("lorries", 2)
        self.assertEqual(self.assertJson(self.book_any("lorries", frm, to), 201)["resource_id"], ids[0])
        self.assertEqual(self.assertJson(self.book_any("lorries", frm, to), 201)["resource_id"], ids[1])
        self.assertProblem(self.book_any("lorries", frm, to), 409)

    def test_the_allocation_rules_apply_before_any_candidate_is_looked_at(self):
        ids = self.fleet("trucks", 1)
        self.assertValidation(self.book_any("trucks", t(2), t(1), candidates=ids), "to_datetime")
        self.assertValidation(self.req("POST", "/api/trucks/allocations",
                                       json={"from_datetime": t(1), "to_datetime": t(2)}), "allocation_type")

    def test_bad_candidates_are_refused_and_change_nothing(self):
        ids = self.fleet("trucks", 2)
        before = self.stack.snapshot()
        lorry = self.create_resource("lorries", f"{uuid.uuid4().hex[:8]} not a truck")["id"]
        before = self.stack.snapshot()
        for candidates, status, field in (
                ("all", 400, "candidates"), ({"id": ids[0]}, 400, "candidates"), ([], 400, "candidates"),
                ([ids[0], "not-an-id"], 400, "candidates[1]"), ([ids[0], 7], 400, "candidates[1]"),
                ([ids[0], ids[1], ids[0]], 400, "candidates[2]"),
                ([ids[0], ids[1].upper()], 201, None),
                ([str(uuid.uuid4()) for _ in range(101)], 400, "candidates"),
                ([ids[0], str(uuid.uuid4())], 404, None), ([lorry], 404, None)):
            with self.subTest(candidates=str(candidates)[:80]):
                r = self.book_any("trucks", t(50), t(51), candidates=candidates)
                if status == 400:
                    self.assertValidation(r, field)
                    self.assertEqual(self.stack.snapshot(), before)
                elif status == 404:
                    self.assertProblem(r, 404)
                    self.assertEqual(self.stack.snapshot(), before)
                else:
                    self.assertStatus(r, 201)
                    before = self.stack.snapshot()
        r = self.book_any("trucks", t(60), t(61), candidates=[ids[1].upper(), ids[1]])
        self.assertValidation(r, "candidates[1]")

    def race(self, collection, clients, frm, to, candidates):
        barrier = threading.Barrier(clients, timeout=60)
        results = [None] * clients
        port = self.stack.port

        def client(i):
            payload = allocation_payload(frm, to, description=f"client {i}")
            if candidates is not None:
                payload["candidates"] = candidates
            try:
                barrier.wait()
                r = http_request(port, "POST", f"/api/{collection}/allocations", json=payload, timeout=60)
                results[i] = (r.status, r.json() if r.status in (201, 409) else r.text)
            except Exception as e:  # reported below
                results[i] = (f"error {e!r}", None)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for th in threads:
            th.start()
        deadline = time.monotonic() + 120
        for th in threads:
            th.join(max(0.1, deadline - time.monotonic()))
        self.assertFalse(any(th.is_alive() for th in threads), "clients still waiting after 120 s")
        return results

    def check_race(self, results, clients, ids):
        statuses = sorted(r[0] for r in results if isinstance(r[0], int))
        self.assertEqual(len(statuses), clients, f"{results}\n{self.stack.log_tails()}")
        won = [r[1]["resource_id"] for r in results if r[0] == 201]
        self.assertEqual(len(won), min(clients, len(ids)), f"{results}\n{self.stack.log_tails()}")
        self.assertEqual(statuses.count(409), clients - len(won), f"{results}")
        self.assertEqual(len(set(won)), len(won), "two clients on one resource")
        self.assertTrue(set(won) <= set(ids))
        rows = self.stack.query(
            f"SELECT resource_id FROM allocations WHERE resource_id IN ({', '.join('?' * len(ids))})", tuple(ids))
        self.assertEqual(sorted(r[0] for r in rows), sorted(won), "stored exactly what was answered 201")
        return won

    def test_concurrent_clients_over_candidates_get_min_n_m_201s_on_distinct_resources(self):
        for clients, count, hour in ((16, 5, 200), (3, 5, 210), (5, 5, 220)):
            with self.subTest(clients=clients, candidates=count):
                ids = self.fleet("trucks", count)
                won = self.check_race(self.race("trucks", clients, t(hour), t(hour + 2), ids), clients, ids)
                if clients < count:
                    self.assertEqual(sorted(won, key=ids.index), ids[:clients], "the first candidates win")

    def test_concurrent_clients_without_candidates_share_the_free_ones(self):
        # A type of its own in this stack: buses (the bus plugin), none of them booked before.
        ids = self.fleet("buses", 5)
        self.check_race(self.race("buses", 16, t(300), t(301), None), 16, ids)

    @classmethod
    def prepare_stack(cls, stack):
        stack.add_plugin(find_test_plugin("bus"))


class TypeRulesTest(StackTestCase):
    """The Van type (tests/plugins/ruled) declares every rule: allocation types booking and
    maintenance, a booking lasts 30 min to 1 day, 15 min buffer before and 30 min after, 1 h
    notice."""

    @classmethod
    def prepare_stack(cls, stack):
        stack.add_plugin(find_test_plugin("ruled"))

    def van(self):
        return self.create_resource("vans", f"van {uuid.uuid4().hex[:8]}")["id"]

    def book(self, rid, frm, to, allocation_type="booking", **extra):
        return self.req("POST", f"/api/vans/{rid}/allocations", json=allocation_payload(frm, to, allocation_type, **extra))

    def test_types_show_the_declared_rules_and_built_in_types_have_none(self):
        types = {x["resource_type"]: x for x in self.assertJson(self.req("GET", "/api/types"))}
        self.assertEqual(types["Van"]["rules"], {
            "allocation_types": ["booking", "maintenance"],
            "durations": [{"allocation_type": "booking", "min_seconds": 1800, "max_seconds": 86400}],
            "buffer_before_seconds": 900, "buffer_after_seconds": 1800, "min_notice_seconds": 3600})
        for name in ("Car", "Lorry", "Truck"):
            self.assertEqual(types[name]["rules"], {
                "allocation_types": None, "durations": [], "buffer_before_seconds": 0,
                "buffer_after_seconds": 0, "min_notice_seconds": 0}, name)

    def test_each_broken_rule_is_a_400_naming_its_field(self):
        rid = self.van()
        soon = iso(now_us() + 10 * MINUTE_US)
        for case, (frm, to, kind), field in (
                ("not an allowed type", (t(1), t(2), "party"), "allocation_type"),
                ("booking too short", (t(1), t(1, 29), "booking"), "to_datetime"),
                ("booking too long", (t(1), t(25, 1), "booking"), "to_datetime"),
                ("open-ended booking", (t(1), None, "booking"), "to_datetime"),
                ("too little notice", (soon, iso(now_us() + 2 * HOUR_US), "booking"), "from_datetime"),
                ("an open start is never notice enough", (None, t(1), "maintenance"), "from_datetime")):
            with self.subTest(case=case):
                self.assertValidation(self.book(rid, frm, to, kind), field)
        self.assertEqual(self.stack.query("SELECT count(*) FROM allocations WHERE resource_id = ?", (rid,))[0][0], 0)
        # Within every rule: accepted, maintenance unbounded.
        self.assertStatus(self.book(rid, t(1), t(1, 30)), 201)
        self.assertStatus(self.book(rid, t(30), t(90), "maintenance"), 201)
        self.assertStatus(self.book(rid, t(100), None, "maintenance"), 201)

    def test_buffers_are_part_of_the_blocked_range(self):
        rid = self.van()
        first = self.assertJson(self.book(rid, t(2), t(3)), 201)
        # The stored blocked range: 15 min before, 30 min after.
        rows = self.stack.query("SELECT blocked_from_us, blocked_to_us FROM allocations WHERE id = ?", (first["id"],))
        self.assertEqual(tuple(rows[0]), (BASE + 2 * HOUR_US - 15 * MINUTE_US, BASE + 3 * HOUR_US + 30 * MINUTE_US))
        # After: needs its own 15 min before plus the first one's 30 min after.
        r = self.book(rid, t(3, 44), t(5))
        problem = self.assertProblem(r, 409)
        self.assertEqual(problem.get("conflicts"), [first["id"]])
        self.assertStatus(self.book(rid, t(3, 45), t(5)), 201)
        # Before: its 30 min after plus the first one's 15 min before.
        problem = self.assertProblem(self.book(rid, t(0), t(1, 16)), 409)
        self.assertEqual(problem.get("conflicts"), [first["id"]])
        self.assertStatus(self.book(rid, t(0), t(1, 15)), 201)
        # Moving the first one into its neighbour's buffer is refused too.
        r = self.req("PATCH", f"/api/vans/{rid}/allocations/{first['id']}", json={"to_datetime": t(3, 30)})
        self.assertProblem(r, 409)

    def test_availability_and_free_gaps_account_for_the_buffers(self):
        rid = self.van()
        self.assertStatus(self.book(rid, t(10), t(11)), 201)   # blocks 9:45 .. 11:30 past BASE
        gaps = self.assertJson(self.req("GET", f"/api/vans/{rid}/free?from={t(8)}&to={t(13)}"))
        self.assertEqual(gaps, [{"from_datetime": t(8), "to_datetime": t(9, 45)},
                                {"from_datetime": t(11, 30), "to_datetime": t(13)}])

        def available(frm, to):
            r = self.req("GET", f"/api/vans/availability?from={frm}&to={to}&limit=1000")
            return rid in [v["id"] for v in self.assertJson(r)]
        # A booking of the window needs its own buffers: 11:45 is the first start that fits.
        self.assertFalse(available(t(11, 44), t(12, 30)))
        self.assertTrue(available(t(11, 45), t(12, 30)))
        self.assertFalse(available(t(8), t(9, 16)))
        self.assertTrue(available(t(8), t(9, 15)))
        r = self.req("POST", "/api/vans/allocations", json=allocation_payload(t(11, 44), t(12, 30), candidates=[rid]))
        self.assertProblem(r, 409)
        r = self.req("POST", "/api/vans/allocations", json=allocation_payload(t(11, 45), t(12, 30), candidates=[rid]))
        self.assertStatus(r, 201)


class ConfiguredRulesTest(StackTestCase):
    """The configuration overrides rules per type: Car gets rules it does not declare, Van loses
    some of its own."""

    stack_options = {"extra_config": {
        "rules.Car.allocation_types": "booking, maintenance",
        "rules.Car.buffer_after": "1h",
        "rules.Car.duration.booking": "1h..",
        "rules.Van.min_notice": "0",
        "rules.Van.buffer_before": "0",
        "rules.Van.duration.booking": "..2d",
    }}

    @classmethod
    def prepare_stack(cls, stack):
        stack.add_plugin(find_test_plugin("ruled"))

    def test_types_show_the_rules_in_force(self):
        types = {x["resource_type"]: x for x in self.assertJson(self.req("GET", "/api/types"))}
        self.assertEqual(types["Car"]["rules"], {
            "allocation_types": ["booking", "maintenance"],
            "durations": [{"allocation_type": "booking", "min_seconds": 3600, "max_seconds": None}],
            "buffer_before_seconds": 0, "buffer_after_seconds": 3600, "min_notice_seconds": 0})
        self.assertEqual(types["Van"]["rules"], {
            "allocation_types": ["booking", "maintenance"],
            "durations": [{"allocation_type": "booking", "min_seconds": None, "max_seconds": 172800}],
            "buffer_before_seconds": 0, "buffer_after_seconds": 1800, "min_notice_seconds": 0})
        self.assertEqual(types["Truck"]["rules"]["allocation_types"], None)

    def test_the_overrides_are_enforced(self):
        car = self.create_resource("cars", f"car {uuid.uuid4().hex[:8]}")["id"]
        path = f"/api/cars/{car}/allocations"
        self.assertValidation(self.req("POST", path, json=allocation_payload(t(1), t(3), "party")), "allocation_type")
        self.assertValidation(self.req("POST", path, json=allocation_payload(t(1), t(1, 59))), "to_datetime")
        self.assertStatus(self.req("POST", path, json=allocation_payload(t(1), t(2))), 201)
        self.assertProblem(self.req("POST", path, json=allocation_payload(t(2, 59), t(4))), 409)
        self.assertStatus(self.req("POST", path, json=allocation_payload(t(3), t(4))), 201)
        van = self.create_resource("vans", f"van {uuid.uuid4().hex[:8]}")["id"]
        path = f"/api/vans/{van}/allocations"
        soon = iso(now_us() + MINUTE_US)
        self.assertStatus(self.req("POST", path, json=allocation_payload(soon, iso(now_us() + 2 * HOUR_US))), 201)
        self.assertStatus(self.req("POST", path, json=allocation_payload(t(1), t(1, 5))), 201)
        self.assertStatus(self.req("POST", path, json=allocation_payload(t(1, 35), t(40))), 201)
        self.assertValidation(self.req("POST", path, json=allocation_payload(t(50), t(99))), "to_datetime")


if __name__ == "__main__":
    unittest.main()
