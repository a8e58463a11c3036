"""Safe retries and concurrency control (docs/api.md): Idempotency-Key on POST, strong ETags and
If-Match, PATCH merged inside the write transaction. test_pg_retry.py runs every class again on
PostgreSQL.

- A POST retried with the same Idempotency-Key and a JSON-equal body gets the first answer again
  (status, body, Location, ETag, plus Idempotent-Replayed: true) and creates nothing; the same
  key with another request is 422; refusals (4xx) are replayed too; many clients sending one
  key at once create exactly one thing, the others get the replay or 409.
- Through the real nginx: a request cut off by a 504 (nginx's read timeout) or by the client
  hanging up still commits, and its retry replays it; a claim whose worker was killed expires
  after the request timeout and a margin, and the retry then runs afresh, once.
- Every resource and allocation answer carries ETag "<version>"; PATCH and DELETE honour If-Match
  (412 when stale, unknown ids still 404, malformed 400).
- Two concurrent PATCHes of different fields both survive, round after round.
"""

import concurrent.futures
import os
import signal
import socket
import time
import unittest

from harness import PoolTestCase, StackTestCase, allocation_payload, is_running, location_path, wait_until

LOCATION_AND_ETAG = ("Location", "ETag", "Content-Type")


def keyed(key, **headers):
    headers["Idempotency-Key"] = key
    return headers


class IdempotencyKeyTest(StackTestCase):
    def count(self, table, where, params):
        return self.stack.query(f"SELECT count(*) FROM {table} WHERE {where}", params)[0][0]

    def assertReplay(self, first, again):
        self.assertEqual(again.status, first.status, self._context(again))
        if first.content_type == "application/problem+json":
            # A problem body names the request that got it: the replay's is its own.
            self.assertEqual(again.json()["request_id"], again.header("X-Request-Id"), self._context(again))
            self.assertEqual({**again.json(), "request_id": None}, {**first.json(), "request_id": None},
                             self._context(again))
        else:
            self.assertEqual(again.body, first.body, self._context(again))
        for name in LOCATION_AND_ETAG:
            self.assertEqual(again.header(name), first.header(name), name + self._context(again))
        self.assertEqual(again.header("Idempotent-Replayed"), "true", self._context(again))
        self.assertIsNone(first.header("Idempotent-Replayed"), self._context(first))

    def test_a_retried_create_replays_the_first_answer_and_creates_nothing(self):
        first = self.req("POST", "/api/cars", json={"name": "Idem car", "attributes": {"seats": 4}},
                         headers=keyed("create-car-1"))
        self.assertStatus(first, 201)
        self.assertEqual(first.header("ETag"), '"1"')
        # JSON-equal: other member order, other white space, an escaped character.
        again = self.req("POST", "/api/cars", body='{ "attributes" : {"seats":4}, "name":"Idem \\u0063ar" }',
                         headers=keyed("create-car-1"))
        self.assertReplay(first, again)
        self.assertEqual(self.count("resources", "name = ?", ("Idem car",)), 1)

        rid = first.json()["id"]
        path = f"/api/cars/{rid}/allocations"
        payload = allocation_payload("2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z", "booking",
                                     dump={"n": 1.50})
        booked = self.req("POST", path, json=payload, headers=keyed("book-1"))
        self.assertStatus(booked, 201)
        self.assertEqual(location_path(booked), f"{path}/{booked.json()['id']}")
        self.assertReplay(booked, self.req("POST", path, json=payload, headers=keyed("book-1")))
        self.assertEqual(self.count("allocations", "resource_id = ?", (rid,)), 1)
        # Without a key a POST is not remembered: the same booking again overlaps.
        self.assertProblem(self.req("POST", path, json=payload), 409)

    def test_the_same_key_with_another_request_is_422(self):
        first = self.req("POST", "/api/cars", json={"name": "Key reuse"}, headers=keyed("reuse-1"))
        self.assertStatus(first, 201)
        for method, path, body in (("POST", "/api/cars", {"name": "Key reuse 2"}),
                                   ("POST", "/api/lorries", {"name": "Key reuse"}),
                                   ("POST", "/api/cars", {"name": "Key reuse", "attributes": {}})):
            with self.subTest(path=path, body=body):
                self.assertProblem(self.req(method, path, json=body, headers=keyed("reuse-1")), 422)
        # Numbers compare as written (dump numbers come back as written): 1.0 is not 1.
        rid = first.json()["id"]
        path = f"/api/cars/{rid}/allocations"
        one = '{"from_datetime":"2031-01-01T00:00:00Z","to_datetime":"2031-01-02T00:00:00Z",' \
              '"allocation_type":"booking","dump":{"n":1}}'
        self.assertStatus(self.req("POST", path, body=one, headers=keyed("number-1")), 201)
        self.assertProblem(self.req("POST", path, body=one.replace('"n":1', '"n":1.0'),
                                    headers=keyed("number-1")), 422)
        self.assertEqual(self.count("resources", "name LIKE ?", ("Key reuse%",)), 1)

    def test_refusals_are_replayed_and_keys_are_per_request_not_per_path(self):
        bad = self.req("POST", "/api/cars", json={"name": ""}, headers=keyed("refused-1"))
        self.assertValidation(bad, "name")
        again = self.req("POST", "/api/cars", json={"name": ""}, headers=keyed("refused-1"))
        self.assertReplay(bad, again)
        self.assertEqual(again.content_type, "application/problem+json")

        self.create_resource("cars", "Taken name")
        taken = self.req("POST", "/api/cars", json={"name": "Taken name"}, headers=keyed("refused-2"))
        self.assertProblem(taken, 409)
        self.assertReplay(taken, self.req("POST", "/api/cars", json={"name": "Taken name"},
                                          headers=keyed("refused-2")))

    def test_a_malformed_key_is_400_and_creates_nothing(self):
        for key in ("", "k" * 256, "tab\there", "caf\xe9"):
            with self.subTest(key=key):
                r = self.req("POST", "/api/cars", json={"name": "Bad key car"}, headers=keyed(key))
                body = self.assertValidation(r, "Idempotency-Key")
                self.assertIn("Idempotency-Key", body["detail"])
        self.assertStatus(self.req("POST", "/api/cars", json={"name": "Long key car"},
                                   headers=keyed("k" * 255)), 201)
        self.assertEqual(self.count("resources", "name = ?", ("Bad key car",)), 0)

    def test_the_key_is_ignored_on_other_methods(self):
        car = self.create_resource("cars", "Keyed patch")
        for _ in range(2):
            r = self.req("PATCH", f"/api/cars/{car['id']}", json={"name": "Keyed patch"},
                         headers=keyed("patch-1"))
            self.assertStatus(r, 200)
            self.assertIsNone(r.header("Idempotent-Replayed"))

    def test_many_clients_sending_one_key_at_once_create_exactly_one(self):
        for round_ in range(3):
            key = f"race-{round_}"
            body = {"name": f"Race car {round_}"}

            def send(_):
                return self.req("POST", "/api/cars", json=body, headers=keyed(key))

            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(send, range(16)))
            statuses = sorted(r.status for r in answers)
            self.assertTrue(set(statuses) <= {201, 409}, statuses)
            created = [r for r in answers if r.status == 201]
            fresh = [r for r in created if r.header("Idempotent-Replayed") is None]
            self.assertEqual(len(fresh), 1, statuses)
            self.assertEqual({r.json()["id"] for r in created}, {fresh[0].json()["id"]})
            for r in answers:
                if r.status == 409:
                    self.assertProblem(r, 409)
                    self.assertEqual(r.header("Retry-After"), "1")
            self.assertEqual(self.count("resources", "name = ?", (body["name"],)), 1)
            # Once the first has answered, every retry is a replay.
            self.assertReplay(fresh[0], send(0))


class ETagTest(StackTestCase):
    def test_resources_carry_their_version_and_honour_if_match(self):
        car = self.req("POST", "/api/cars", json={"name": "Tagged"})
        self.assertEqual(car.header("ETag"), '"1"')
        path = location_path(car)
        got = self.req("GET", path)
        self.assertEqual(got.header("ETag"), '"1"')
        self.assertEqual(self.req("HEAD", path).header("ETag"), '"1"')
        self.assertIsNone(self.req("GET", "/api/cars").header("ETag"), "lists carry no ETag")

        for stale in ('"2"', 'W/"1"', '"0", "01"', '"x"'):
            with self.subTest(if_match=stale):
                r = self.req("PATCH", path, json={"name": "Lost"}, headers={"If-Match": stale})
                self.assertProblem(r, 412)
        self.assertEqual(self.req("GET", path).json()["name"], "Tagged")

        r = self.req("PATCH", path, json={"name": "Tagged 2"}, headers={"If-Match": '"7", "1"'})
        self.assertStatus(r, 200)
        self.assertEqual(r.header("ETag"), '"2"')
        self.assertEqual(self.req("GET", path).header("ETag"), '"2"')
        r = self.req("PATCH", path, json={"attributes": {"seats": 2}}, headers={"If-Match": "*"})
        self.assertEqual(r.header("ETag"), '"3"')
        r = self.req("PATCH", path, json={"attributes": {"seats": 3}})
        self.assertEqual(r.header("ETag"), '"4"')

        for malformed in ('2', '"2', '*, "2"', 'W/2'):
            with self.subTest(if_match=malformed):
                self.assertValidation(self.req("PATCH", path, json={"name": "x"},
                                               headers={"If-Match": malformed}), "If-Match")
                self.assertValidation(self.req("DELETE", path, headers={"If-Match": malformed}), "If-Match")
        unknown = "/api/cars/00000000-0000-4000-8000-000000000000"
        self.assertProblem(self.req("PATCH", unknown, json={"name": "x"}, headers={"If-Match": '"1"'}), 404)
        self.assertProblem(self.req("DELETE", unknown, headers={"If-Match": "*"}), 404)

        self.assertProblem(self.req("DELETE", path, headers={"If-Match": '"3"'}), 412)
        self.assertStatus(self.req("GET", path), 200)
        self.assertStatus(self.req("DELETE", path, headers={"If-Match": '"4"'}), 204)
        self.assertProblem(self.req("GET", path), 404)

    def test_allocations_carry_their_version_and_honour_if_match(self):
        car = self.create_resource("cars", "Tagged booker")
        made = self.req("POST", f"/api/cars/{car['id']}/allocations",
                        json=allocation_payload("2030-02-01T10:00:00Z", "2030-02-01T12:00:00Z"))
        self.assertEqual(made.header("ETag"), '"1"')
        path = location_path(made)
        self.assertEqual(self.req("GET", path).header("ETag"), '"1"')
        self.assertEqual(self.req("HEAD", path).header("ETag"), '"1"')
        self.assertIsNone(self.req("GET", f"/api/cars/{car['id']}/allocations").header("ETag"))

        self.assertProblem(self.req("PATCH", path, json={"description": "late"},
                                    headers={"If-Match": '"2"'}), 412)
        r = self.req("PATCH", path, json={"description": "on time"}, headers={"If-Match": '"1"'})
        self.assertStatus(r, 200)
        self.assertEqual(r.header("ETag"), '"2"')
        self.assertEqual(r.json()["description"], "on time")
        # A refused change (overlap of its own rules) leaves the version alone.
        self.assertValidation(self.req("PATCH", path, json={"to_datetime": "2030-01-01T00:00:00Z"}), "to_datetime")
        self.assertEqual(self.req("GET", path).header("ETag"), '"2"')
        unknown = f"/api/cars/{car['id']}/allocations/00000000-0000-4000-8000-000000000000"
        self.assertProblem(self.req("DELETE", unknown, headers={"If-Match": '"1"'}), 404)
        self.assertProblem(self.req("DELETE", path, headers={"If-Match": '"1"'}), 412)
        self.assertStatus(self.req("DELETE", path, headers={"If-Match": '"2"'}), 204)
        self.assertProblem(self.req("GET", path), 404)


class ConcurrentPatchTest(StackTestCase):
    """Two PATCHes of different fields at once, many rounds: with the merge outside the write
    transaction, one of them is lost now and then; inside it, never."""

    stack_options = {"workers": 2, "threads": 4}
    ROUNDS = 40

    def race(self, path, first, second):
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda body: self.req("PATCH", path, json=body), (first, second)))
        for r in answers:
            self.assertStatus(r, 200)
        return self.req("GET", path)

    def test_both_fields_survive_on_resources_and_allocations(self):
        lost = []
        for i in range(self.ROUNDS):
            car = self.create_resource("cars", f"Patched {i}")
            path = f"/api/cars/{car['id']}"
            got = self.race(path, {"name": f"Renamed {i}"}, {"attributes": {"seats": 7}})
            body = got.json()
            if body["name"] != f"Renamed {i}" or body["attributes"] != {"seats": 7}:
                lost.append(("resource", i, body))
            self.assertEqual(got.header("ETag"), '"3"')

            booking = self.create_allocation("cars", car["id"], "2030-03-01T10:00:00Z", "2030-03-01T12:00:00Z")
            apath = f"{path}/allocations/{booking['id']}"
            got = self.race(apath, {"description": f"described {i}"}, {"dump": {"round": i}})
            body = got.json()
            if body["description"] != f"described {i}" or body["dump"] != {"round": i}:
                lost.append(("allocation", i, body))
        self.assertEqual(lost, [], f"{len(lost)} of {2 * self.ROUNDS} rounds lost a field")


class RetryThroughTheGatewayTest(PoolTestCase):
    """The cases Idempotency-Key serves: the client never saw the answer."""

    sleepy = True
    REQUEST_TIMEOUT_S = 4
    stack_options = {"workers": 2, "threads": 4, "read_timeout": "1s",
                     "extra_config": {"request_timeout_s": REQUEST_TIMEOUT_S}}

    def sleepy_count(self, name):
        return self.stack.query("SELECT count(*) FROM resources WHERE name = ?", (name,))[0][0]

    def wait_no_sleep(self, timeout=10):
        """Until no running worker sleeps (a killed one leaves its marker behind)."""
        def awake():
            return not [m for m in self.sleepy_markers() if is_running(m[0])]
        self.assertTrue(wait_until(awake, timeout), self.sleepy_markers())

    def test_a_retry_after_a_504_replays_the_request_that_went_on(self):
        body = {"name": "Slow after 504", "attributes": {"sleep_ms": 2000}}
        first = self.req("POST", "/api/sleepies", json=body, headers=keyed("after-504"))
        self.assertProblem(first, 504)
        # Still running: the retry is told so, and runs nothing.
        busy = self.req("POST", "/api/sleepies", json=body, headers=keyed("after-504"))
        self.assertProblem(busy, 409)
        self.assertEqual(busy.header("Retry-After"), "1")
        self.wait_no_sleep()
        again = wait_until(lambda: (lambda r: r if r.status != 409 else None)(
            self.req("POST", "/api/sleepies", json=body, headers=keyed("after-504"))), 5)
        self.assertTrue(again, "still in flight 5 s after the sleep ended")
        self.assertStatus(again, 201)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(location_path(again), f"/api/sleepies/{again.json()['id']}")
        self.assertEqual(self.sleepy_count("Slow after 504"), 1)

    def test_a_retry_after_a_dropped_connection_replays_the_request_that_went_on(self):
        self.clear_sleepy_markers()
        payload = b'{"name": "Slow dropped", "attributes": {"sleep_ms": 800}}'
        request = (b"POST /api/sleepies HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   b"Authorization: Bearer " + self.stack.admin_key.encode() + b"\r\n"
                   b"Idempotency-Key: dropped-1\r\nContent-Length: " + str(len(payload)).encode() +
                   b"\r\n\r\n" + payload)
        with socket.create_connection(("127.0.0.1", self.stack.port), timeout=5) as s:
            s.sendall(request)
            self.wait_sleeping(800, timeout=5)
        # Hung up mid-request: nginx drops the upstream request (499), the worker goes on.
        self.wait_no_sleep()
        again = wait_until(lambda: (lambda r: r if r.status != 409 else None)(
            self.req("POST", "/api/sleepies", body=payload, headers=keyed("dropped-1"))), 5)
        self.assertTrue(again, "still in flight 5 s after the sleep ended")
        self.assertStatus(again, 201)
        self.assertEqual(again.header("Idempotent-Replayed"), "true")
        self.assertEqual(self.sleepy_count("Slow dropped"), 1)

    def test_the_claim_of_a_killed_worker_expires_and_the_retry_runs_once(self):
        self.clear_sleepy_markers()
        body = {"name": "Killed keyed", "attributes": {"sleep_ms": 2000}}
        claimed_at = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            future = pool.submit(self.req, "POST", "/api/sleepies", json=body,
                                 headers=keyed("killed-1"), timeout=10)
            pid = self.wait_sleeping(2000, timeout=5)[0][0]
            os.kill(pid, signal.SIGKILL)
            cut = future.result(10)
        self.assertIn(cut.status, (502, 504))
        self.assertEqual(self.sleepy_count("Killed keyed"), 0)
        # The dead claim holds for its lease (request timeout + 2 s): meanwhile 409.
        self.assertProblem(self.req("POST", "/api/sleepies", json=body, headers=keyed("killed-1")), 409)
        lease_s = self.REQUEST_TIMEOUT_S + 2
        time.sleep(max(0.0, claimed_at + lease_s + 0.5 - time.monotonic()))
        retried = self.req("POST", "/api/sleepies", json=body, headers=keyed("killed-1"))
        self.assertProblem(retried, 504)  # taken over: it runs (and outlasts nginx's read timeout)
        self.wait_no_sleep()
        final = wait_until(lambda: (lambda r: r if r.status == 201 else None)(
            self.req("POST", "/api/sleepies", json=body, headers=keyed("killed-1"))), 6)
        self.assertTrue(final, "the retry after the lease never answered")
        self.assertEqual(final.header("Idempotent-Replayed"), "true")
        self.assertEqual(self.sleepy_count("Killed keyed"), 1)

if __name__ == "__main__":
    unittest.main()
