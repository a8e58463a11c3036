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

Standard library only.
"""
import json
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
            headers={"Content-Type": "application/json"})
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
            rows = ((str(uuid.uuid4()), rid, BASE_US + 2 * k * HOUR_US,
                     BASE_US + (2 * k + 1) * HOUR_US, "booking", None, None, now_us)
                    for k in range(count))
            db.executemany(
                "INSERT INTO allocations (id, resource_id, from_us, to_us, allocation_type,"
                " description, dump, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            total += count
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print("populate: %d allocations on %d resources in %.1f s"
          % (total, len(spec), time.monotonic() - started), file=sys.stderr)


def main(argv):
    if len(argv) == 5 and argv[1] == "create-cars":
        create_cars(argv[2], int(argv[3]), argv[4])
    elif len(argv) == 4 and argv[1] == "populate":
        populate(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
