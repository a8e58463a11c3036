"""Two invsys pools on one PostgreSQL, behind one nginx upstream (issue 4, "Tests").

Two invsys-fcgi masters (separate configs, sockets and logs: two hosts' pools), two workers each,
one database on the run's PostgreSQL cluster (see test_pg_api), one nginx whose upstream block has
both sockets. The invariant must hold across the pools, since only PostgreSQL (the exclusion
constraint) sees both:

- 64 clients racing through nginx for overlapping intervals of one resource: exactly one 201
  (the others 409), one stored row, and both pools served requests;
- one whole pool killed (SIGKILL, master and workers) during a booking load: nginx sends the
  requests to the other pool (a few in-flight ones may get nginx's 502), every 201 is stored as
  answered, nothing overlaps;
- direct SQL inserting an overlapping row is refused with SQLSTATE 23P01, whoever writes it.
"""

import os
import shutil
import signal
import sys
import threading
import time
import unittest
import uuid

from harness import (ApiAssertions, set_default_key, BUILTIN_PLUGIN_DIR, BUILTIN_PLUGINS, BookingLoad, Fcgi, HOUR_US, Nginx,
                     PgDatabase, PgError, fcgi_request, http_request, is_running, iso, location_path, make_tmpdir,
                     mkdir_public, proc_io, process_tree, utc_us, wait_until)

CLIENTS = 64
ROUNDS = 3
WORKERS = 2
THREADS = 4
# After a pool is killed, requests sent later than this must all succeed (a loaded 2-core machine
# may take a moment to reap the pool and let nginx see its connections close).
GRACE_S = 2.0


class TwoPoolsTestCase(ApiAssertions):
    """Two pools (self.pools: [Fcgi, Fcgi]) + nginx over both, on one fresh PostgreSQL database."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = make_tmpdir("invsys-it-2pools-")
        cls.pg = None
        cls.pools = []
        cls.nginx = None
        try:
            cls.pg = PgDatabase(private_dir=os.path.join(cls.root, "pg")).create()
            plugin_dir = mkdir_public(os.path.join(cls.root, "plugins"))
            for name in BUILTIN_PLUGINS:
                shutil.copyfile(os.path.join(BUILTIN_PLUGIN_DIR, name), os.path.join(plugin_dir, name))
                os.chmod(os.path.join(plugin_dir, name), 0o755)
            for host in ("host-a", "host-b"):
                pool_root = mkdir_public(os.path.join(cls.root, host))
                cls.pools.append(Fcgi(pool_root, threads=THREADS, workers=WORKERS, plugin_dir=plugin_dir,
                                      database=cls.pg.url))
            # Both masters start at once on the fresh database: the migrations race too.
            # (The admin keys come after: invsys-admin would migrate first.)
            for pool in cls.pools:
                pool.start(ensure_key=False)
            cls.nginx = Nginx(cls.root, [f"unix:{p.socket_path}" for p in cls.pools]).start()
            for pool in cls.pools:
                pool.wait_workers(WORKERS, timeout=20)
                ok = wait_until(lambda: cls._fcgi_health(pool), 20, interval=0.1)
                if not ok:
                    raise AssertionError(f"pool {pool.root} not healthy\n{pool.log_tail()}")
            for pool in cls.pools:
                if not pool.ensure_admin_key():
                    raise AssertionError(f"invsys-admin failed for {pool.root}")
            set_default_key(cls.nginx.port, cls.pools[0].admin_key)
            ok = wait_until(lambda: http_request(cls.nginx.port, "GET", "/api/health", timeout=5).status == 200,
                            20, interval=0.1)
            if not ok:
                raise AssertionError("nginx -> pools not healthy\n" + cls.logs())
        except BaseException:
            cls._teardown()
            raise

    @staticmethod
    def _fcgi_health(pool):
        try:
            return fcgi_request(pool.socket_path, "GET", "/api/health", timeout=5)[0] == 200
        except OSError:
            return False

    @classmethod
    def _teardown(cls):
        try:
            if cls.nginx is not None:
                cls.nginx.stop()
            for pool in cls.pools:
                pool.stop()
        finally:
            try:
                if cls.pg is not None:
                    cls.pg.drop()
            finally:
                if os.environ.get("INVSYS_TEST_KEEP") == "1":
                    print(f"[harness] kept {cls.root}")
                else:
                    shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        try:
            cls._teardown()
        finally:
            super().tearDownClass()

    @classmethod
    def logs(cls, lines=20):
        out = [f"--- {p.log_path}\n{p.log_tail(lines)}" for p in cls.pools]
        if cls.nginx is not None:
            out.append(cls.nginx.log_tail(lines))
        return "\n".join(out)

    def log_tails(self, lines=15):
        return self.logs(lines)

    # -- helpers

    @property
    def port(self):
        return self.nginx.port

    def req(self, method, path, json=None, timeout=30):
        return http_request(self.port, method, path, json=json, timeout=timeout)

    def create_car(self, prefix):
        r = self.req("POST", "/api/cars", json={"name": f"{prefix} {uuid.uuid4().hex[:12]}"})
        self.assertStatus(r, 201, "create car")
        return r.json()["id"]

    def pool_writes(self, pool):
        """Write system calls made so far by the pool's workers (they write only when serving)."""
        return sum(proc_io(pid).get("syscw", 0) for pid in pool.worker_pids())

    def overlapping_pairs(self):
        return self.pg.rows(
            "SELECT a.id, b.id FROM allocations a JOIN allocations b"
            " ON a.resource_id = b.resource_id AND a.seq < b.seq"
            " AND a.from_us < b.to_us AND b.from_us < a.to_us LIMIT 20")


class TwoPoolsRaceTest(TwoPoolsTestCase):

    def race(self, make_request, clients=CLIENTS):
        barrier = threading.Barrier(clients, timeout=60)
        results = [None] * clients

        def client(i):
            method, path, body = make_request(i)
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                results[i] = ("barrier", None)
                return
            try:
                r = http_request(self.port, method, path, json=body, timeout=60)
                try:
                    data = r.json()
                except AssertionError:
                    data = r.text
                results[i] = (r.status, data)
            except Exception as e:  # reported below
                results[i] = (f"error {e!r}", None)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120
        for t in threads:
            t.join(max(0.1, deadline - time.monotonic()))
        self.assertFalse(any(t.is_alive() for t in threads), "clients still waiting after 120 s")
        return results

    def test_64_clients_racing_across_both_pools_get_exactly_one_201(self):
        writes_before = [self.pool_writes(p) for p in self.pools]
        for round_ in range(ROUNDS):
            with self.subTest(round=round_):
                rid = self.create_car(f"two-pool race {round_}")
                base = utc_us(2040, 1, 1 + round_)

                # Every interval overlaps every other: [base + i min, base + i min + 2 h).
                def make(i):
                    frm = base + i * 60 * 1_000_000
                    return ("POST", f"/api/cars/{rid}/allocations",
                            {"from_datetime": iso(frm), "to_datetime": iso(frm + 2 * HOUR_US),
                             "allocation_type": "booking", "description": f"racer {i}"})

                results = self.race(make)
                counts = {}
                for status, _ in results:
                    counts[status] = counts.get(status, 0) + 1
                self.assertEqual(counts, {201: 1, 409: CLIENTS - 1},
                                 f"statuses {counts}; e.g. {[r for r in results if r[0] not in (201, 409)][:3]}\n"
                                 + self.logs())
                winner = next(body for status, body in results if status == 201)
                for status, body in results:
                    if status == 409:
                        self.assertIsInstance(body, dict)
                        self.assertIn(winner["id"], body.get("conflicts") or [],
                                      f"409 without the winner among its conflicts: {body}")
                rows = self.pg.rows("SELECT id, description FROM allocations WHERE resource_id = ?", (rid,))
                self.assertEqual(rows, [(winner["id"], winner["description"])])
        self.assertEqual(self.overlapping_pairs(), [])
        writes_after = [self.pool_writes(p) for p in self.pools]
        served = [after - before for before, after in zip(writes_before, writes_after)]
        sys.stderr.write(f"\n[two pools] race: write syscalls per pool's workers {served}\n")
        self.assertTrue(all(n >= 10 for n in served),
                        f"both pools must have served requests (write syscalls per pool: {served})\n" + self.logs())
        for pool in self.pools:
            self.assertTrue(pool.alive(), pool.log_tail())

    def test_direct_sql_overlapping_row_is_refused_by_the_exclusion_constraint(self):
        rid = self.create_car("direct sql")
        a = self.req("POST", f"/api/cars/{rid}/allocations",
                     json={"from_datetime": "2041-03-01T10:00:00Z", "to_datetime": "2041-03-01T12:00:00Z",
                           "allocation_type": "booking"})
        self.assertStatus(a, 201)
        from_us, to_us = utc_us(2041, 3, 1, 11), utc_us(2041, 3, 1, 13)
        # The blocked range (schema version 2) is what the constraint covers; no buffers here.
        insert = ("INSERT INTO allocations (id, resource_id, from_us, to_us, blocked_from_us, blocked_to_us,"
                  " allocation_type, created_us) VALUES (?, ?, ?, ?, ?, ?, 'booking', 0)")
        for label, frm, to in (("overlapping", from_us, to_us),
                               ("open start", -(2 ** 63), utc_us(2041, 3, 1, 10, 30)),
                               ("open end", utc_us(2041, 3, 1, 11, 59), 2 ** 63 - 1),
                               ("unbounded", -(2 ** 63), 2 ** 63 - 1)):
            with self.subTest(label):
                with self.assertRaises(PgError) as caught:
                    self.pg.run(insert, (str(uuid.uuid4()), rid, frm, to, frm, to))
                self.assertEqual(caught.exception.sqlstate, "23P01", str(caught.exception))
        # Not a blanket refusal: a touching interval ([12:00, 13:00) after [10:00, 12:00)) goes in.
        ok_id = str(uuid.uuid4())
        self.pg.run(insert, (ok_id, rid, utc_us(2041, 3, 1, 12), utc_us(2041, 3, 1, 13),
                             utc_us(2041, 3, 1, 12), utc_us(2041, 3, 1, 13)))
        self.assertEqual(self.pg.rows("SELECT count(*) FROM allocations WHERE resource_id = ?", (rid,)), [(2,)])
        # And the API sees the row PostgreSQL took: a booking over it is a 409 naming it.
        r = self.req("POST", f"/api/cars/{rid}/allocations",
                     json={"from_datetime": "2041-03-01T12:30:00Z", "to_datetime": "2041-03-01T12:45:00Z",
                           "allocation_type": "booking"})
        self.assertStatus(r, 409)
        self.assertIn(ok_id, r.json().get("conflicts") or [], r.text)
        # Two concurrent transactions, each inserting an overlapping row: one of them is refused.
        two = ("BEGIN; INSERT INTO allocations (id, resource_id, from_us, to_us, blocked_from_us, blocked_to_us,"
               " allocation_type, created_us) VALUES (?, ?, ?, ?, ?, ?, 'booking', 0);"
               " SELECT pg_sleep(0.5); COMMIT")
        errors = []

        def writer(k):
            try:
                self.pg.run(two, (str(uuid.uuid4()), rid, utc_us(2041, 4, 1) + k, utc_us(2041, 4, 2),
                                  utc_us(2041, 4, 1) + k, utc_us(2041, 4, 2)))
            except PgError as e:
                errors.append(e.sqlstate)

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        # One of them is refused: 23P01, or, when both inserted before either checked, the deadlock
        # PostgreSQL detects between the two constraint checks (40P01; what invsys retries).
        self.assertEqual(len(errors), 1, errors)
        self.assertIn(errors[0], ("23P01", "40P01"))
        self.assertEqual(self.pg.rows("SELECT count(*) FROM allocations WHERE resource_id = ? AND from_us >= ?",
                                      (rid, utc_us(2041, 4, 1))), [(1,)])
        self.assertEqual(self.overlapping_pairs(), [])


class TwoPoolsFailoverTest(TwoPoolsTestCase):

    def test_killing_one_pool_during_a_booking_load_loses_no_acknowledged_booking(self):
        targets = [("cars", self.create_car(f"failover {k}")) for k in range(4)]
        load = BookingLoad(self.port, targets, clients=8, max_seconds=30, max_requests=3000, timeout=15,
                           base_us=utc_us(2150, 1, 1), pause_s=0.01)
        victim, survivor = self.pools
        writes_before = [self.pool_writes(p) for p in self.pools]
        load.start()
        try:
            if load.wait_count(60, 20) < 60:
                self.fail(f"the load did not get going: {BookingLoad.statuses(load.snapshot())}\n" + self.logs())
            served = [self.pool_writes(p) - b for p, b in zip(self.pools, writes_before)]
            self.assertTrue(all(n > 0 for n in served), f"both pools serve before the kill: {served}")
            # The whole pool, at once: what a host's power cut does to it.
            pids = process_tree(victim.master_pid)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            killed_at = time.monotonic()
            self.assertIsNotNone(victim.wait_exit(10), "the killed master did not exit")
            self.assertTrue(wait_until(lambda: not any(is_running(p) for p in pids), 10),
                            f"killed pool processes still running: {pids}")
            count_at_kill = load.count()
            # Well past the kill: requests sent then must all reach the surviving pool.
            if not wait_until(lambda: load.count() >= count_at_kill + 150
                              and time.monotonic() - killed_at > GRACE_S + 2.0, 30):
                self.fail(f"the load stalled after the kill: {BookingLoad.statuses(load.snapshot())}\n" + self.logs())
        finally:
            results = load.stop()
        counts = BookingLoad.statuses(results)
        bad = [r for r in results if r["status"] not in (201, 502)]
        self.assertEqual(bad[:5], [], f"statuses {counts}\n" + self.logs())
        failed = [r for r in results if r["status"] == 502]
        # Only requests in flight at the kill (each load client has at most one) may fail.
        self.assertLessEqual(len(failed), load.clients, f"statuses {counts}: too many 502s\n" + self.logs())
        for r in failed:
            self.assertLess(r["start"], killed_at + GRACE_S, f"a 502 for a request sent well after the kill: {r}")
            self.assertEqual(r["content_type"], "application/problem+json", r)
        after = [r for r in results if r["start"] > killed_at + GRACE_S]
        sys.stderr.write(f"\n[two pools] failover: statuses {counts}; {len(after)} requests after the kill\n")
        self.assertGreaterEqual(len(after), 50, f"too few requests after the kill ({counts})")
        self.assertTrue(all(r["status"] == 201 for r in after),
                        f"after the kill, requests must go to the surviving pool: "
                        f"{BookingLoad.statuses(after)}\n" + self.logs())
        # Every acknowledged booking is stored exactly as answered.
        created = [r for r in results if r["status"] == 201]
        stored = {}
        ids = [r["body"]["id"] for r in created]
        for i in range(0, len(ids), 200):
            chunk = ids[i:i + 200]
            for row in self.pg.rows("SELECT id, resource_id, from_us, to_us FROM allocations WHERE id IN ("
                                    + ",".join("?" * len(chunk)) + ")", chunk):
                stored[row[0]] = tuple(row[1:])
        missing = [r for r in created if r["body"]["id"] not in stored]
        self.assertEqual(missing[:5], [], f"{len(missing)} bookings answered 201 are not in the database")
        for r in created:
            self.assertEqual(stored[r["body"]["id"]], (r["rid"], r["from_us"], r["to_us"]), r)
        self.assertEqual(self.overlapping_pairs(), [])
        self.assertTrue(survivor.alive(), survivor.log_tail())
        r = self.req("GET", "/api/health")
        self.assertStatus(r, 200)


if __name__ == "__main__":
    unittest.main()
