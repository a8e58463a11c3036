"""The audit trail (issue 15): every change through the API and invsys-admin is in
GET /api/audit with its key, request id, route and before/after rows, written in the
change's own transaction; replays are not recorded twice; listings page and filter strictly."""

import uuid

from harness import StackTestCase, link_next


def _iso_hour(h):
    return f"2101-01-01T{h:02d}:00:00Z"


class AuditTrailTest(StackTestCase):

    def audit(self, query="", status=200):
        r = self.req("GET", "/api/audit" + (("?" + query) if query else ""))
        self.assertStatus(r, status, query)
        return r

    def entries(self, query):
        return self.audit(query).json()

    def test_every_change_of_a_resource_and_its_allocations_is_recorded(self):
        car = self.create_resource("cars", "audited-car", {"seats": 4})
        rid = car["id"]
        rq = "11111111-2222-4333-8444-555555555555"
        a = self.req("POST", f"/api/cars/{rid}/allocations",
                     json={"from_datetime": _iso_hour(1), "to_datetime": _iso_hour(2),
                           "allocation_type": "booking"},
                     headers={"X-Request-Id": rq})
        self.assertStatus(a, 201)
        aid = a.json()["id"]
        self.assertStatus(self.req("PATCH", f"/api/cars/{rid}/allocations/{aid}",
                                   json={"to_datetime": _iso_hour(3)}), 200)
        self.assertStatus(self.req("PATCH", f"/api/cars/{rid}", json={"name": "renamed-car"}), 200)
        self.assertStatus(self.req("DELETE", f"/api/cars/{rid}/allocations/{aid}"), 204)
        self.assertStatus(self.req("DELETE", f"/api/cars/{rid}"), 204)

        history = self.entries(f"resource_id={rid}")
        # Newest first.
        got = [(e["entity_kind"], e["action"]) for e in history]
        self.assertEqual(got, [("resource", "delete"), ("allocation", "delete"),
                               ("resource", "update"), ("allocation", "update"),
                               ("allocation", "create"), ("resource", "create")])
        create = history[4]
        self.assertEqual(create["request_id"], rq)
        self.assertEqual(create["method"], "POST")
        self.assertEqual(create["route"], "/api/{collection}/{id}/allocations")
        self.assertEqual(create["key"]["name"], "harness")
        self.assertRegex(create["key"]["id"], r"^[0-9a-f-]{36}$")
        self.assertIsNone(create["before"])
        self.assertEqual(create["after"]["id"], aid)
        update = history[3]
        self.assertEqual(update["before"]["to_datetime"], _iso_hour(2))
        self.assertEqual(update["after"]["to_datetime"], _iso_hour(3))
        rename = history[2]
        self.assertEqual((rename["before"]["name"], rename["after"]["name"]), ("audited-car", "renamed-car"))
        self.assertEqual(history[0]["before"]["name"], "renamed-car")
        self.assertIsNone(history[0]["after"])
        # One query gives an allocation's history too.
        self.assertEqual([e["action"] for e in self.entries(f"entity_id={aid}")],
                         ["delete", "update", "create"])
        # The secret of the key is nowhere in the trail.
        self.assertNotIn(self.stack.admin_key.encode(), self.audit(f"resource_id={rid}").body)

    def test_force_delete_records_what_it_removed(self):
        rid = self.create_resource("cars", "forced-car")["id"]
        ids = {self.create_allocation("cars", rid, _iso_hour(h), _iso_hour(h + 1))["id"] for h in (4, 6)}
        self.assertStatus(self.req("DELETE", f"/api/cars/{rid}?force=true"), 204)
        history = self.entries(f"resource_id={rid}")
        forced = [e for e in history if e["action"] == "force-delete"]
        self.assertEqual({e["entity_id"] for e in forced if e["entity_kind"] == "allocation"}, ids)
        self.assertEqual([e["entity_kind"] for e in forced].count("resource"), 1)

    def test_a_replayed_idempotent_request_is_recorded_once(self):
        rid = self.create_resource("cars", "idem-car")["id"]
        body = {"from_datetime": _iso_hour(8), "to_datetime": _iso_hour(9), "allocation_type": "booking"}
        key = {"Idempotency-Key": "audit-" + uuid.uuid4().hex}
        first = self.req("POST", f"/api/cars/{rid}/allocations", json=body, headers=key)
        again = self.req("POST", f"/api/cars/{rid}/allocations", json=body, headers=key)
        self.assertStatus(first, 201)
        self.assertStatus(again, 201)
        creates = [e for e in self.entries(f"resource_id={rid}") if e["entity_kind"] == "allocation"]
        self.assertEqual(len(creates), 1, creates)

    def test_a_refused_change_records_nothing(self):
        rid = self.create_resource("cars", "busy-car")["id"]
        self.create_allocation("cars", rid, _iso_hour(10), _iso_hour(12))
        before = len(self.entries(f"resource_id={rid}"))
        r = self.req("POST", f"/api/cars/{rid}/allocations",
                     json={"from_datetime": _iso_hour(11), "to_datetime": _iso_hour(13),
                           "allocation_type": "booking"})
        self.assertStatus(r, 409)
        self.assertEqual(len(self.entries(f"resource_id={rid}")), before)

    def test_any_free_booking_and_keys_are_recorded(self):
        rid = self.create_resource("lorries", "free-lorry", {"max_load_kg": 1000})["id"]
        r = self.req("POST", "/api/lorries/allocations",
                     json={"from_datetime": _iso_hour(14), "to_datetime": _iso_hour(15),
                           "allocation_type": "booking", "candidates": [rid]})
        self.assertStatus(r, 201)
        self.assertEqual([e["route"] for e in self.entries(f"resource_id={rid}")][0],
                         "/api/{collection}/allocations")
        made = self.req("POST", "/api/keys", json={"name": "audited-key", "role": "reader"})
        self.assertStatus(made, 201)
        kid = made.json()["id"]
        self.assertStatus(self.req("DELETE", f"/api/keys/{kid}"), 204)
        trail = self.entries(f"entity_id={kid}")
        self.assertEqual([e["action"] for e in trail], ["revoke", "create"])
        self.assertNotIn("key", trail[1]["after"])  # the secret is never recorded
        # invsys-admin's changes name the tool and the operator's uid.
        r = self.stack.fcgi.admin("keys", "create", "--role", "reader", "--name", "cli-key")
        self.assertEqual(r.returncode, 0, r.stderr)
        latest = self.entries("limit=1")[0]
        self.assertEqual((latest["method"], latest["route"]), ("CLI", "invsys-admin keys create"))
        self.assertTrue(latest["key"]["name"].startswith("invsys-admin (uid "), latest)
        self.assertIsNone(latest["key"]["id"])

    def test_paging_filters_and_strict_parameters(self):
        rid = self.create_resource("cars", "paged-car")["id"]
        for h in range(16, 21):
            self.create_allocation("cars", rid, _iso_hour(h), _iso_hour(h) .replace(":00:00", ":30:00"))
        r = self.audit(f"resource_id={rid}&limit=2")
        seen = [e["id"] for e in r.json()]
        while link_next(r):
            r = self.req("GET", link_next(r))
            self.assertStatus(r, 200)
            seen += [e["id"] for e in r.json()]
        self.assertEqual(len(seen), 6)
        self.assertEqual(len(set(seen)), 6)
        self.assertEqual(self.entries(f"resource_id={rid}&from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z"), [])
        for bad in ("resource_id=nope", "from=yesterday", "colour=red", "limit=0",
                    f"after={uuid.uuid4()}", "resource_id=a&resource_id=b",
                    "from=2001-01-02T00:00:00Z&to=2001-01-01T00:00:00Z"):
            self.assertProblem(self.audit(bad, status=400), 400)

    def test_only_admins_read_the_trail(self):
        made = self.req("POST", "/api/keys", json={"name": "writer-reader", "role": "writer"})
        self.assertStatus(made, 201)
        self.assertStatus(self.req("GET", "/api/audit", key=made.json()["key"]), 403)
        self.assertStatus(self.req("GET", "/api/audit", key=None), 401)


class AuditRetentionTest(StackTestCase):
    """audit.retention_days: entries older than it go in bounded batches after a write."""

    stack_options = {"extra_config": {"audit.retention_days": 1}}

    def test_entries_past_the_retention_are_pruned(self):
        old = str(uuid.uuid4())
        conn_rows = self.stack.query("SELECT count(*) FROM audit_log")
        self.assertGreaterEqual(conn_rows[0][0], 0)
        # An entry from 3 days ago, written as the trail stores it.
        self.stack.fcgi.stop()
        import sqlite3
        db = sqlite3.connect(self.stack.fcgi.db_path)
        with db:
            db.execute("INSERT INTO audit_log (id, at_us, key_id, key_name, request_id, method, route, action, "
                       "entity_kind, entity_id) VALUES (?, ?, '', 'test', '', 'CLI', 'test', 'create', "
                       "'key', ?)", (old, (__import__('time').time() - 3 * 86400) * 1_000_000 // 1, old))
        db.close()
        self.stack.fcgi.start()
        self.stack.wait_healthy()
        self.create_resource("cars", "pruning-trigger")
        self.assertEqual(self.stack.query("SELECT count(*) FROM audit_log WHERE id = ?", (old,))[0][0], 0)
        self.assertGreater(self.stack.query("SELECT count(*) FROM audit_log")[0][0], 0)


if __name__ == "__main__":
    import unittest
    unittest.main()
