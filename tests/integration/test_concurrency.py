"""Concurrency: 64 clients racing through nginx. Overlapping bookings: exactly one wins;
the same name: exactly one wins; disjoint bookings: all win (no 429/503)."""

import threading
import time
import unittest
import uuid

from harness import StackTestCase, http_request, iso, utc_us

CLIENTS = 64
ROUNDS = 3


class ConcurrencyTest(StackTestCase):
    stack_options = {"threads": 8}

    def race(self, make_request, clients=CLIENTS):
        """Runs clients threads that wait on one barrier, then each sends make_request(i).
        Returns [(status, json or None)] in client order."""
        barrier = threading.Barrier(clients, timeout=60)
        results = [None] * clients
        port = self.stack.port

        def client(i):
            method, path, body = make_request(i)
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                results[i] = ("barrier", None, None)
                return
            try:
                r = http_request(port, method, path, json=body, timeout=60)
                try:
                    data = r.json()
                except AssertionError:
                    data = r.text
                results[i] = (r.status, data, r.content_type)
            except Exception as e:  # reported below, never swallowed
                results[i] = (f"error {e!r}", None, None)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        for t in threads:
            t.join(max(0.1, deadline - time.monotonic()))
        self.assertFalse(any(t.is_alive() for t in threads), "clients still waiting after 120 s")
        return results

    def statuses(self, results):
        counts = {}
        for r in results:
            counts[r[0]] = counts.get(r[0], 0) + 1
        return counts

    def test_64_clients_racing_for_overlapping_intervals_get_one_201(self):
        for round_ in range(ROUNDS):
            with self.subTest(round=round_):
                car = self.create_resource("cars", f"race car {round_}", None, "Car")
                rid = car["id"]
                base = utc_us(2030, 1, 1, 10)

                def make(i):
                    # Pairwise overlapping but all different: [10:00 + i min, 12:00 + i min).
                    frm = base + i * 60_000_000
                    return "POST", f"/api/cars/{rid}/allocations", {
                        "from_datetime": iso(frm), "to_datetime": iso(frm + 2 * 3600_000_000),
                        "allocation_type": "booking", "description": f"client {i}"}

                results = self.race(make)
                counts = self.statuses(results)
                self.assertEqual(counts, {201: 1, 409: CLIENTS - 1}, f"{counts}\n{self.stack.log_tails()}")
                winner = next(r[1] for r in results if r[0] == 201)
                for status, body, ctype in results:
                    if status == 409:
                        self.assertEqual(ctype, "application/problem+json")
                        self.assertEqual(body.get("status"), 409)
                        self.assertEqual(body.get("conflicts"), [winner["id"]])
                rows = self.stack.query("SELECT id, description FROM allocations WHERE resource_id = ?", (rid,))
                self.assertEqual(rows, [(winner["id"], winner["description"])])
                listed = self.assertJson(self.req("GET", f"/api/cars/{rid}/allocations"))
                self.assertEqual(listed, [winner])

    def test_64_clients_racing_with_open_ended_and_identical_intervals_get_one_201(self):
        car = self.create_resource("cars", "race car open", None, "Car")
        rid = car["id"]

        def make(i):
            kind = i % 4
            body = {"allocation_type": "maintenance"}
            if kind == 0:
                body.update(from_infinity=True, to_infinity=True)
            elif kind == 1:
                body.update(from_datetime="2030-01-01T00:00:00Z", to_infinity=True)
            elif kind == 2:
                body.update(from_infinity=True, to_datetime="2030-01-02T00:00:00Z")
            else:
                body.update(from_datetime="2030-01-01T00:00:00Z", to_datetime="2030-01-02T00:00:00Z")
            return "POST", f"/api/cars/{rid}/allocations", body

        results = self.race(make)
        self.assertEqual(self.statuses(results), {201: 1, 409: CLIENTS - 1})
        self.assertEqual(self.stack.query("SELECT count(*) FROM allocations WHERE resource_id = ?", (rid,)), [(1,)])

    def test_64_clients_creating_the_same_name_get_one_201(self):
        name = f"Contested {uuid.uuid4().hex[:8]}"
        results = self.race(lambda i: ("POST", "/api/lorries", {"name": name, "attributes": {"max_load_kg": i + 1}}))
        counts = self.statuses(results)
        self.assertEqual(counts, {201: 1, 409: CLIENTS - 1}, counts)
        winner = next(r[1] for r in results if r[0] == 201)
        rows = self.stack.query("SELECT id FROM resources WHERE resource_type = 'Lorry' AND name = ?", (name,))
        self.assertEqual(rows, [(winner["id"],)])
        for status, body, ctype in results:
            if status == 409:
                self.assertEqual(ctype, "application/problem+json")

    def test_64_clients_booking_disjoint_intervals_all_get_201(self):
        car = self.create_resource("cars", "disjoint car", None, "Car")
        rid = car["id"]
        base = utc_us(2031, 1, 1)

        def make(i):
            # Touching neighbours: [base + i h, base + (i + 1) h).
            return "POST", f"/api/cars/{rid}/allocations", {
                "from_datetime": iso(base + i * 3600_000_000), "to_datetime": iso(base + (i + 1) * 3600_000_000),
                "allocation_type": "booking"}

        results = self.race(make)
        self.assertEqual(self.statuses(results), {201: CLIENTS}, f"{self.statuses(results)}")
        rows = self.stack.query("SELECT from_us, to_us FROM allocations WHERE resource_id = ? ORDER BY from_us", (rid,))
        self.assertEqual(rows, [(base + i * 3600_000_000, base + (i + 1) * 3600_000_000) for i in range(CLIENTS)])

    def test_64_clients_on_64_resources_all_get_201(self):
        cars = [self.create_resource("cars", f"fleet {i}", None, "Car")["id"] for i in range(CLIENTS)]
        results = self.race(lambda i: ("POST", f"/api/cars/{cars[i]}/allocations", {
            "from_datetime": "2032-01-01T00:00:00Z", "to_datetime": "2032-01-02T00:00:00Z",
            "allocation_type": "booking"}))
        self.assertEqual(self.statuses(results), {201: CLIENTS})

    def test_64_clients_moving_their_own_allocations_into_one_slot_get_one_200(self):
        car = self.create_resource("cars", "patch race car", None, "Car")
        rid = car["id"]
        base = utc_us(2033, 1, 1)
        ids = []
        for i in range(CLIENTS):
            a = self.create_allocation("cars", rid, iso(base + i * 86400_000_000),
                                       iso(base + i * 86400_000_000 + 3600_000_000))
            ids.append(a["id"])
        target = utc_us(2040, 1, 1)
        results = self.race(lambda i: ("PATCH", f"/api/cars/{rid}/allocations/{ids[i]}", {
            "from_datetime": iso(target + i * 60_000_000), "to_datetime": iso(target + 7200_000_000 + i * 60_000_000)}))
        counts = self.statuses(results)
        self.assertEqual(counts, {200: 1, 409: CLIENTS - 1}, counts)
        rows = self.stack.query("SELECT count(*) FROM allocations WHERE resource_id = ? AND from_us >= ?",
                                (rid, target))
        self.assertEqual(rows, [(1,)])
        self.assertEqual(self.stack.query("SELECT count(*) FROM allocations WHERE resource_id = ?", (rid,)),
                         [(CLIENTS,)])
        # Nothing stored overlaps.
        spans = self.stack.query("SELECT from_us, to_us FROM allocations WHERE resource_id = ? ORDER BY from_us",
                                 (rid,))
        for (f1, t1), (f2, t2) in zip(spans, spans[1:]):
            self.assertLessEqual(t1, f2)

    def test_64_clients_renaming_different_resources_to_one_name_get_one_200(self):
        trucks = [self.create_resource("trucks", f"rename {i}", None, "Truck")["id"] for i in range(CLIENTS)]
        results = self.race(lambda i: ("PATCH", f"/api/trucks/{trucks[i]}", {"name": "Renamed Once"}))
        self.assertEqual(self.statuses(results), {200: 1, 409: CLIENTS - 1})
        self.assertEqual(self.stack.query("SELECT count(*) FROM resources WHERE resource_type = 'Truck' AND name = ?",
                                          ("Renamed Once",)), [(1,)])

    def test_deleting_a_resource_while_it_is_booked_leaves_no_orphan(self):
        pairs = CLIENTS // 2
        cars = [self.create_resource("cars", f"delete race {i}", None, "Car")["id"] for i in range(pairs)]

        def make(i):
            rid = cars[i // 2]
            if i % 2 == 0:
                return "DELETE", f"/api/cars/{rid}", None
            return "POST", f"/api/cars/{rid}/allocations", {
                "from_datetime": "2040-01-01T00:00:00Z", "to_infinity": True, "allocation_type": "booking"}

        results = self.race(make)
        for k in range(pairs):
            deleted, booked = results[2 * k][0], results[2 * k + 1][0]
            with self.subTest(pair=k):
                # Either the booking came first (delete refused) or the delete did (booking 404).
                self.assertIn((deleted, booked), ((409, 201), (204, 404)))
                rows = self.stack.query("SELECT count(*) FROM allocations WHERE resource_id = ?", (cars[k],))
                self.assertEqual(rows, [(1 if booked == 201 else 0,)])
        self.assertEqual(self.stack.query(
            "SELECT count(*) FROM allocations WHERE resource_id NOT IN (SELECT id FROM resources)"), [(0,)])


if __name__ == "__main__":
    unittest.main()
