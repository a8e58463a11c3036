"""Group commit on SQLite, through nginx and the real pool (docs/architecture.md, "Group commit").

Racing: 48 clients at once, 24 for one slot of one car and 24 for slots of their own on another.
Exactly one of the 24 wins the slot, every one of the other 24 wins its own, and the workers'
counters show that writes shared COMMITs (fewer groups than writes): the race ran in groups,
where a conflict is one booking's 409 and no one else's.

kill -9 of group leaders: bookings pour in with no pause from many clients on two workers (so a
worker is always inside an open group: its leader between BEGIN and COMMIT, members queued or
writing) while a worker is SIGKILLed again and again. Every 201 is in the database as answered;
every request got 201 or nginx's 502; a row whose client got a 502 (the worker died after its
COMMIT, before the answer left) can only be one that was in flight on a killed worker; no two
stored bookings of a car overlap; and groups formed throughout."""

import os
import random
import signal
import sys
import threading
import time
import unittest

from harness import BookingLoad, PoolTestCase, http_request, iso, utc_us, wait_until

HOUR_US = 3600 * 1_000_000


class GroupCommitRaceTest(PoolTestCase):
    stack_options = {"workers": 2, "threads": 8}

    def test_a_conflict_in_a_group_is_one_bookings_409_and_groups_share_commits(self):
        self.wait_workers(2)
        contested = self.create_resource("cars", "contested car", None, "Car")["id"]
        spread = self.create_resource("cars", "spread car", None, "Car")["id"]
        base = utc_us(2300, 1, 1)
        clients = 48
        barrier = threading.Barrier(clients, timeout=60)
        results = [None] * clients

        def client(i):
            if i % 2 == 0:  # all overlapping each other: exactly one may win
                rid, frm = contested, base + i * 60_000_000
            else:  # a slot of its own
                rid, frm = spread, base + i * HOUR_US * 2
            body = {"from_datetime": iso(frm), "to_datetime": iso(frm + HOUR_US), "allocation_type": "booking"}
            barrier.wait()
            r = http_request(self.stack.port, "POST", f"/api/cars/{rid}/allocations", json=body, timeout=60)
            results[i] = r.status

        rounds, before = 5, self.scrape()
        for k in range(rounds):
            base += HOUR_US * 1000
            threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            self.assertFalse(any(t.is_alive() for t in threads), "clients still waiting after 90 s")
            contested_statuses = sorted(results[0::2])
            self.assertEqual(contested_statuses, [201] + [409] * 23, f"round {k}: one winner for the slot")
            self.assertEqual(results[1::2], [201] * 24, f"round {k}: every booking of its own slot wins")
        after = self.scrape()
        groups = self.value(after, "invsys_commit_groups_total") - self.value(before, "invsys_commit_groups_total")
        writes = (self.value(after, "invsys_commit_group_writes_total")
                  - self.value(before, "invsys_commit_group_writes_total"))
        self.assertEqual(self.value(after, "invsys_commit_group_failures_total"), 0)
        # Every booking that won went through a committed group (a refused one counts only as a
        # member: a leader refused abandons its group, whose members then lead or join another).
        self.assertGreaterEqual(writes, rounds * (clients // 2 + 1), after)
        self.assertLess(groups, writes, f"no two writes shared a COMMIT: {groups} groups for {writes} writes")
        self.assertEqual(self.overlapping_pairs(), [])


class GroupLeaderKillTest(PoolTestCase):
    stack_options = {"workers": 2, "threads": 8}

    KILLS = 6

    def group_counts(self):
        text = self.scrape()
        return (self.value(text, "invsys_commit_groups_total"), self.value(text, "invsys_commit_group_writes_total"))

    def test_killing_workers_mid_group_never_answers_201_for_a_missing_row(self):
        workers = self.wait_workers(2)
        cars = [self.create_resource("cars", f"group car {i}", None, "Car")["id"] for i in range(8)]
        load = BookingLoad(self.stack.port, [("cars", rid) for rid in cars], clients=24, max_seconds=40,
                           max_requests=40_000, timeout=15, base_us=utc_us(2200, 1, 1), pause_s=0)
        rng = random.Random(14)
        victims = []
        load.start()
        try:
            self.assertGreaterEqual(load.wait_count(100, 15), 100, "the load does not get going\n" + self.log_tails())
            groups0, writes0 = self.group_counts()
            for k in range(self.KILLS):
                time.sleep(rng.uniform(0.3, 1.0))
                victim = rng.choice(sorted(workers))
                os.kill(victim, signal.SIGKILL)
                victims.append(victim)
                workers = self.wait_workers(2, timeout=15, exclude=victims, stable_s=0.2)
                restored_at = time.monotonic()
                wait_until(lambda: sum(1 for r in load.snapshot() if r["start"] > restored_at) >= 20, 15)
            groups1, writes1 = self.group_counts()
        finally:
            results = load.stop()
        counts = self.assertLoadResults(results, allowed=(201, 502), msg="bookings while leaders were killed:")
        self.assertGreaterEqual(counts.get(201, 0), 500, f"too little load got through: {counts}")
        self.assertGreater(counts.get(502, 0), 0, f"no request was cut off by {self.KILLS} kills: {counts}")
        self.assertEqual(self.overlapping_pairs(), [])
        # The writes shared COMMITs while the workers were being killed.
        per_group = (writes1 - writes0) / max(1.0, groups1 - groups0)
        print(f"\n{counts}; {writes1 - writes0:.0f} writes in {groups1 - groups0:.0f} groups "
              f"({per_group:.2f} per COMMIT)", file=sys.stderr)
        self.assertGreater(per_group, 1.2, f"groups {groups1 - groups0}, writes {writes1 - writes0}")
        # A 502 whose booking is stored: committed, then its worker died before answering. Each
        # killed worker had at most its threads' requests in flight.
        cut = {f"load {r['client']}/{r['seq']}" for r in results if r["status"] == 502}
        stored_cut = [d for (d,) in self.stack.query("SELECT description FROM allocations") if d in cut]
        self.assertLessEqual(len(stored_cut), self.KILLS * self.stack_options["threads"], stored_cut[:10])
        # Still serving, and bookable, after the last kill.
        rid = self.create_resource("cars", "after the kills", None, "Car")["id"]
        self.create_allocation("cars", rid, "2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z")


if __name__ == "__main__":
    unittest.main()
