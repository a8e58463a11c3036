#!/usr/bin/env python3
"""Fixtures of the invsys benchmark (called by bench/run.sh).

  fixtures.py create-cars URL COUNT OUT.json
      POSTs COUNT cars through the API (names bench-car-0001 ...) and writes
      their ids, oldest first, as a JSON array to OUT.json.

  fixtures.py populate DB_PATH SPEC.json
      Inserts allocations straight into the SQLite database, while invsys is
      stopped. SPEC.json: [{"resource_id": "...", "count": N}, ...]. Each
      resource gets N non-overlapping one-hour allocations every two hours
      from 2030-01-01T00:00:00Z, so 100 000 of them end before 2053 and the
      benchmark's own bookings (from 2100 on) come after all of them. One
      transaction; then the WAL is checkpointed and truncated.

  fixtures.py postgresql-sql SPEC.json
      The same allocations for PostgreSQL (BENCH_DATABASE=postgresql): prints
      SQL for psql (bench/run.sh runs it with --single-transaction), one
      INSERT ... SELECT over generate_series per resource; ids from
      gen_random_uuid(), the blocked range the allocation's own (no buffers).
      Fails (no row for a resource) when a resource is missing. An entry's
      optional "offset_hours" shifts its allocations (both commands).

  fixtures.py fleet-spec COUNT PER OUT.json
      The fleet of the availability case (g): COUNT trucks
      (bench-truck-00001 ...) with PER allocations each, the even ones from
      2030-01-01T00:00Z and the odd ones an hour later, so that in the
      window [+100 h, +101 h) every other truck is free. Writes
      {"resources": [...], "allocations": SPEC} for the commands below.

  fixtures.py populate-fleet DB_PATH FLEET.json
  fixtures.py postgresql-fleet-sql FLEET.json
      Inserts the fleet's trucks (straight into SQLite, or as SQL for psql),
      then their allocations as `populate` / `postgresql-sql` do.

  fixtures.py cgi-response URL OUT
      GETs URL (with the benchmark's key) and writes its answer to OUT as
      the FastCGI responder of case (h) sends it: a Status line, the
      headers invsys sent (those nginx adds itself -- Server, Date,
      Connection, Keep-Alive, Transfer-Encoding and the benchmark's echo --
      left out), a blank line and the body. So (h) answers what (b) answers.

Standard library only.
"""
import json
import os
import sqlite3
import sys
import time
import urllib.error
import urllib.request
import uuid

HOUR_US = 3600 * 1000000
BASE_US = 1893456000 * 1000000  # 2030-01-01T00:00:00Z


def create_cars(url, count, out_path):
    ids = []
    for i in range(1, count + 1):
        body = json.dumps({"name": "bench-car-%04d" % i, "attributes": {"seats": 5}}).encode()
        req = urllib.request.Request(
            url.rstrip("/") + "/api/cars", data=body, method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": "Bearer " + os.environ.get("BENCH_KEY", "")})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                if resp.status != 201:
                    sys.exit("create-cars: POST /api/cars answered %d" % resp.status)
                ids.append(json.load(resp)["id"])
        except urllib.error.HTTPError as e:
            sys.exit("create-cars: POST /api/cars answered %d: %s" % (e.code, e.read()[:300]))
    with open(out_path, "w") as f:
        json.dump(ids, f)


def populate(db_path, spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    started = time.monotonic()
    db = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = FULL")
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    if mode.lower() != "wal":
        sys.exit("populate: %s is not in WAL mode (%s)" % (db_path, mode))
    now_us = int(time.time() * 1000000)
    total = 0
    db.execute("BEGIN IMMEDIATE")
    try:
        for entry in spec:
            rid, count = entry["resource_id"], int(entry["count"])
            if db.execute("SELECT 1 FROM resources WHERE id = ?", (rid,)).fetchone() is None:
                raise SystemExit("populate: no resource %s" % rid)
            offset = int(entry.get("offset_hours", 0)) * HOUR_US
            rows = ((str(uuid.uuid4()), rid, BASE_US + offset + 2 * k * HOUR_US,
                     BASE_US + offset + (2 * k + 1) * HOUR_US, "booking", None, None, now_us)
                    for k in range(count))
            # No buffers: the blocked range is the allocation's own.
            db.executemany(
                "INSERT INTO allocations (id, resource_id, from_us, to_us, allocation_type,"
                " description, dump, created_us, blocked_from_us, blocked_to_us)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?3, ?4)", rows)
            total += count
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print("populate: %d allocations on %d resources in %.1f s"
          % (total, len(spec), time.monotonic() - started), file=sys.stderr)


def postgresql_sql(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    now_us = int(time.time() * 1000000)
    out = []
    for entry in spec:
        rid, count = str(entry["resource_id"]), int(entry["count"])
        offset = int(entry.get("offset_hours", 0)) * HOUR_US
        if count < 1 or "'" in rid or "\\" in rid:
            sys.exit("postgresql-sql: bad entry %r" % (entry,))
        # The resource must exist: the DO block stops the transaction when not.
        out.append("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM resources WHERE id = '%s') THEN"
                   " RAISE EXCEPTION 'populate: no resource %s'; END IF; END $$;" % (rid, rid))
        out.append(
            "INSERT INTO allocations (id, resource_id, from_us, to_us, allocation_type,"
            " description, dump, created_us, blocked_from_us, blocked_to_us)"
            " SELECT CAST(gen_random_uuid() AS text), '%s', f, t, 'booking', NULL, NULL, %d, f, t"
            " FROM (SELECT %d + 2 * k * %d AS f, %d + (2 * k + 1) * %d AS t"
            " FROM generate_series(CAST(0 AS bigint), %d) AS k) AS s;"
            % (rid, now_us, BASE_US + offset, HOUR_US, BASE_US + offset, HOUR_US, count - 1))
    sys.stdout.write("\n".join(out) + "\n")


def fleet_spec(count, per, out_path):
    resources = [{"id": str(uuid.uuid4()), "name": "bench-truck-%05d" % i} for i in range(1, count + 1)]
    allocations = [{"resource_id": r["id"], "count": per, "offset_hours": i % 2}
                   for i, r in enumerate(resources)]
    with open(out_path, "w") as f:
        json.dump({"resources": resources, "allocations": allocations}, f)


def populate_fleet(db_path, fleet_path):
    with open(fleet_path) as f:
        fleet = json.load(f)
    now_us = int(time.time() * 1000000)
    db = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO resources (id, resource_type, name, attributes, created_us)"
                   " VALUES (?, 'Truck', ?, '{}', ?)",
                   ((r["id"], r["name"], now_us) for r in fleet["resources"]))
    db.execute("COMMIT")
    db.close()
    spec_path = fleet_path + ".allocations.json"
    with open(spec_path, "w") as f:
        json.dump(fleet["allocations"], f)
    populate(db_path, spec_path)


def postgresql_fleet_sql(fleet_path):
    with open(fleet_path) as f:
        fleet = json.load(f)
    now_us = int(time.time() * 1000000)
    values = ",".join("('%s', 'Truck', '%s', '{}', %d)" % (r["id"], r["name"], now_us)
                      for r in fleet["resources"])
    sys.stdout.write("INSERT INTO resources (id, resource_type, name, attributes, created_us) VALUES %s;\n"
                     % values)
    spec_path = fleet_path + ".allocations.json"
    with open(spec_path, "w") as f:
        json.dump(fleet["allocations"], f)
    sys.stdout.flush()
    postgresql_sql(spec_path)


# Headers nginx writes itself on the way out, not the FastCGI responder.
NGINX_HEADERS = {"server", "date", "connection", "keep-alive", "transfer-encoding", "x-bench-echo"}


def cgi_response(url, out_path):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + os.environ.get("BENCH_KEY", "")})
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = resp.read()
        status, reason = resp.status, resp.reason
        headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in NGINX_HEADERS]
    if status != 200:
        sys.exit("cgi-response: %s answered %d" % (url, status))
    head = "Status: %d %s\r\n" % (status, reason)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in headers) + "\r\n"
    with open(out_path, "wb") as f:
        f.write(head.encode("latin-1") + body)


def main(argv):
    if len(argv) == 5 and argv[1] == "create-cars":
        create_cars(argv[2], int(argv[3]), argv[4])
    elif len(argv) == 4 and argv[1] == "populate":
        populate(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "postgresql-sql":
        postgresql_sql(argv[2])
    elif len(argv) == 5 and argv[1] == "fleet-spec":
        fleet_spec(int(argv[2]), int(argv[3]), argv[4])
    elif len(argv) == 4 and argv[1] == "populate-fleet":
        populate_fleet(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "cgi-response":
        cgi_response(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "postgresql-fleet-sql":
        postgresql_fleet_sql(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
