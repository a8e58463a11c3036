"""The database-level overlap guard on SQLite (issue 11, "A database-level guard on SQLite").

PostgreSQL refuses an overlapping row whoever writes it (test_pg_two_pools); on SQLite the
triggers of schema version 5 do (core/src/storage/sqlite/schema/005_overlap_guard.sql):

- an `sqlite3` shell INSERT or UPDATE making two allocations of one resource overlap fails, a
  touching one goes in, and the API then sees the row the shell wrote (a 409 naming it);
- rows that overlap already (written with the guard dropped) are reported at start by one log
  line, and the service still starts and serves.
"""

import os
import subprocess
import uuid

from harness import StackTestCase, utc_us
from harness.log_lines import STORED_OVERLAPS
from harness.settings import SOURCE_DIR

GUARD_SQL = os.path.join(SOURCE_DIR, "core/src/storage/sqlite/schema/005_overlap_guard.sql")


def guard_sql():
    with open(GUARD_SQL) as f:
        return f.read()


class OverlapGuardTest(StackTestCase):
    stack_options = {"threads": 2, "workers": 1}

    def shell(self, sql):
        """Runs sql in the sqlite3 shell on the stack's database: (exit code, output)."""
        p = subprocess.run(["sqlite3", "-bail", self.stack.fcgi.db_path], input=sql, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        return p.returncode, p.stdout

    def insert_sql(self, rid, frm, to, aid=None):
        return ("PRAGMA busy_timeout = 5000; INSERT INTO allocations"
                " (id, resource_id, from_us, to_us, blocked_from_us, blocked_to_us, allocation_type, created_us)"
                f" VALUES ('{aid or uuid.uuid4()}', '{rid}', {frm}, {to}, {frm}, {to}, 'booking', 0);")

    def count(self, rid):
        return self.stack.query("SELECT count(*) FROM allocations WHERE resource_id = ?", (rid,))[0][0]

    def test_a_shell_insert_or_update_of_an_overlapping_row_fails(self):
        rid = self.create_resource("cars", "guarded")["id"]
        self.create_allocation("cars", rid, "2041-03-01T10:00:00Z", "2041-03-01T12:00:00Z")
        for label, frm, to in (("overlapping", utc_us(2041, 3, 1, 11), utc_us(2041, 3, 1, 13)),
                               ("inside", utc_us(2041, 3, 1, 10, 30), utc_us(2041, 3, 1, 11)),
                               ("around", utc_us(2041, 3, 1, 9), utc_us(2041, 3, 1, 14)),
                               ("open start", -(2 ** 63), utc_us(2041, 3, 1, 10, 30)),
                               ("open end", utc_us(2041, 3, 1, 11, 59), 2 ** 63 - 1),
                               ("unbounded", -(2 ** 63), 2 ** 63 - 1)):
            with self.subTest(label):
                code, out = self.shell(self.insert_sql(rid, frm, to))
                self.assertNotEqual(code, 0, out)
                self.assertIn("allocation overlaps an existing allocation", out)
                self.assertEqual(self.count(rid), 1)
        # Not a blanket refusal: touching intervals go in, on both sides.
        ok_id = str(uuid.uuid4())
        code, out = self.shell(self.insert_sql(rid, utc_us(2041, 3, 1, 12), utc_us(2041, 3, 1, 13), ok_id))
        self.assertEqual(code, 0, out)
        code, out = self.shell(self.insert_sql(rid, utc_us(2041, 3, 1, 8), utc_us(2041, 3, 1, 10)))
        self.assertEqual(code, 0, out)
        self.assertEqual(self.count(rid), 3)
        # An update into another row's time fails; one that keeps clear (or only shrinks) goes in.
        shrunk, moved = utc_us(2041, 3, 1, 12, 30), utc_us(2041, 3, 1, 11)
        code, out = self.shell(f"UPDATE allocations SET to_us = {shrunk}, blocked_to_us = {shrunk} WHERE id = '{ok_id}';"
                               f"UPDATE allocations SET from_us = {moved}, blocked_from_us = {moved} WHERE id = '{ok_id}';")
        self.assertNotEqual(code, 0, out)
        self.assertIn("allocation overlaps an existing allocation", out)
        self.assertEqual(self.stack.query("SELECT from_us, to_us FROM allocations WHERE id = ?", (ok_id,)),
                         [(utc_us(2041, 3, 1, 12), utc_us(2041, 3, 1, 12, 30))])
        # The API sees the row the shell wrote.
        r = self.req("POST", f"/api/cars/{rid}/allocations",
                     json={"from_datetime": "2041-03-01T12:10:00Z", "to_datetime": "2041-03-01T12:20:00Z",
                           "allocation_type": "booking"})
        self.assertStatus(r, 409)
        self.assertIn(ok_id, r.json().get("conflicts") or [], r.text)
        # Another resource's time is its own.
        other = self.create_resource("cars", "guarded other")["id"]
        code, out = self.shell(self.insert_sql(other, utc_us(2041, 3, 1, 11), utc_us(2041, 3, 1, 13)))
        self.assertEqual(code, 0, out)

    def test_overlapping_rows_already_stored_are_reported_at_start(self):
        rid = self.create_resource("cars", "legacy overlaps")["id"]
        first = self.create_allocation("cars", rid, "2042-01-01T10:00:00Z", "2042-01-01T12:00:00Z")
        # A writer from before the guard: the triggers dropped, overlapping rows written, the
        # triggers put back from the schema file (so that only the start-up check can tell).
        code, out = self.shell(
            "PRAGMA busy_timeout = 5000;"
            " DROP TRIGGER allocations_refuse_overlapping_insert;"
            " DROP TRIGGER allocations_refuse_overlapping_update;"
            + self.insert_sql(rid, utc_us(2042, 1, 1, 11), utc_us(2042, 1, 1, 13))
            + self.insert_sql(rid, utc_us(2042, 1, 1, 9), utc_us(2042, 1, 1, 10, 30))
            + guard_sql())
        self.assertEqual(code, 0, out)
        code, out = self.shell(self.insert_sql(rid, utc_us(2042, 1, 1, 11), utc_us(2042, 1, 1, 12)))
        self.assertNotEqual(code, 0, "the guard is back: " + out)

        offset = self.stack.fcgi.log_size()
        self.stack.fcgi.stop()
        self.stack.fcgi.start()
        self.stack.wait_healthy()
        log = self.stack.fcgi.log_since(offset)
        lines = STORED_OVERLAPS.lines(log, count=2)
        self.assertTrue(lines, "no report of the overlapping rows at start\n" + log[-3000:])
        # Reported, not refused: the service serves, and the stored rows can be read.
        r = self.req("GET", f"/api/cars/{rid}/allocations")
        self.assertStatus(r, 200)
        self.assertIn(first["id"], r.text)
