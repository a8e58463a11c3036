"""The worker pool's shape and its races.

invsys-fcgi is a master that binds the FastCGI socket once and forks `workers` worker processes
of `threads` threads each; the master never loads a plugin. INVSYS_WORKERS / INVSYS_THREADS
override the file; workers = 0 means one per core. Four workers racing through SQLite for one
resource: exactly one booking wins; disjoint bookings from 200 clients all win."""

import os
import queue
import threading
import time
import unittest

from harness import (FCGI_BINARY, BUILTIN_PLUGINS, PoolTestCase, http_request, iso, proc_io, proc_maps,
                     proc_socket_inodes, proc_stat, proc_thread_count, unix_listening_inodes, utc_us)

WORKERS = 4
THREADS = 4


class PoolShapeTest(PoolTestCase):
    stack_options = {"workers": WORKERS, "threads": THREADS}

    def test_the_master_forks_the_configured_number_of_workers(self):
        pids = self.wait_workers(WORKERS)
        master = self.fcgi.master_pid
        exe = os.path.realpath(FCGI_BINARY)
        self.assertEqual(os.path.realpath(f"/proc/{master}/exe"), exe)
        for pid in pids:
            with self.subTest(worker=pid):
                self.assertEqual(proc_stat(pid)["ppid"], master)
                # Forked, not another program.
                self.assertEqual(os.path.realpath(f"/proc/{pid}/exe"), exe)
                self.assertGreaterEqual(proc_thread_count(pid), THREADS,
                                        f"worker {pid} runs fewer than {THREADS} threads")
        # The pool serves.
        self.assertEqual(self.assertJson(self.req("GET", "/api/health")).get("status"), "ok")

    def test_the_master_loads_no_plugin_and_every_worker_loads_them_all(self):
        pids = self.wait_workers(WORKERS)
        master_maps = proc_maps(self.fcgi.master_pid)
        self.assertTrue(master_maps, "cannot read the master's maps")
        for name in BUILTIN_PLUGINS:
            self.assertNotIn(name, master_maps, f"the master process has {name} mapped")
        self.assertNotIn(self.stack.plugin_dir + "/", master_maps, "the master maps a file of the plugin directory")
        for pid in pids:
            maps = proc_maps(pid)
            for name in BUILTIN_PLUGINS:
                with self.subTest(worker=pid, plugin=name):
                    self.assertIn(os.path.join(self.stack.plugin_dir, name), maps,
                                  f"worker {pid} has not loaded {name} from the plugin directory")

    def test_the_socket_is_bound_once_and_every_worker_accepts_from_it(self):
        pids = self.wait_workers(WORKERS)
        listening = unix_listening_inodes(self.fcgi.socket_path)
        self.assertEqual(len(listening), 1, f"listening sockets bound to {self.fcgi.socket_path}: {listening}")
        inode = next(iter(listening))
        self.assertIn(inode, proc_socket_inodes(self.fcgi.master_pid), "the master does not hold the socket")
        for pid in pids:
            with self.subTest(worker=pid):
                self.assertIn(inode, proc_socket_inodes(pid), f"worker {pid} does not hold the listening socket")


class PoolEnvironmentTest(PoolTestCase):
    """INVSYS_WORKERS and INVSYS_THREADS win over the file (1 worker, 2 threads there)."""
    stack_options = {"workers": 1, "threads": 2, "env": {"INVSYS_WORKERS": "3", "INVSYS_THREADS": "12"}}

    def test_the_environment_overrides_workers_and_threads(self):
        pids = self.wait_workers(3)
        for pid in pids:
            with self.subTest(worker=pid):
                self.assertGreaterEqual(proc_thread_count(pid), 12, f"worker {pid}: INVSYS_THREADS=12 ignored")
        self.assertEqual(self.assertJson(self.req("GET", "/api/health")).get("status"), "ok")


class PoolDefaultWorkersTest(PoolTestCase):
    """workers = 0: one worker per core."""
    stack_options = {"workers": 0, "threads": 2}

    def test_zero_workers_means_one_per_core(self):
        cores = {os.cpu_count() or 1, len(os.sched_getaffinity(0))}
        time.sleep(0.5)
        pids = self.fcgi.worker_pids()
        deadline = time.monotonic() + 10
        while len(pids) not in cores and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = self.fcgi.worker_pids()
        self.assertIn(len(pids), cores, f"workers {sorted(pids)} for cores {cores}\n" + self.stack.log_tails())
        self.assertEqual(self.assertJson(self.req("GET", "/api/health")).get("status"), "ok")


class PoolRaceTest(PoolTestCase):
    """Races between processes: the write lock and BEGIN IMMEDIATE must hold across workers."""
    stack_options = {"workers": WORKERS, "threads": THREADS}
    CLIENTS = 64
    ROUNDS = 2

    def race(self, requests):
        """Every (method, path, json) at once, one client thread each, released by one barrier."""
        n = len(requests)
        barrier = threading.Barrier(n, timeout=30)
        results = [None] * n
        port = self.stack.port

        def client(i):
            method, path, body = requests[i]
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                results[i] = ("barrier", None, None)
                return
            try:
                r = http_request(port, method, path, json=body, timeout=30)
                try:
                    data = r.json()
                except AssertionError:
                    data = r.text
                results[i] = (r.status, data, r.content_type)
            except Exception as e:  # reported below
                results[i] = (f"error {e!r}", None, None)

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        self.join_all(threads, 60, "racing clients")
        return results

    @staticmethod
    def counts(results):
        out = {}
        for r in results:
            out[r[0]] = out.get(r[0], 0) + 1
        return out

    def test_64_clients_racing_for_overlapping_intervals_on_one_resource_get_one_201(self):
        pids = self.wait_workers(WORKERS)
        read_before = {pid: proc_io(pid).get("rchar", 0) for pid in pids}
        for round_ in range(self.ROUNDS):
            with self.subTest(round=round_):
                car = self.create_resource("cars", f"pool race car {round_}", None, "Car")
                rid = car["id"]
                base = utc_us(2030, 1, 1, 10)
                # Pairwise overlapping, all different: [10:00 + i min, 12:00 + i min).
                reqs = [("POST", f"/api/cars/{rid}/allocations", {
                    "from_datetime": iso(base + i * 60_000_000), "to_datetime": iso(base + i * 60_000_000 + 7200_000_000),
                    "allocation_type": "booking", "description": f"client {i}"}) for i in range(self.CLIENTS)]
                results = self.race(reqs)
                counts = self.counts(results)
                self.assertEqual(counts, {201: 1, 409: self.CLIENTS - 1}, f"{counts}\n{self.stack.log_tails()}")
                winner = next(r[1] for r in results if r[0] == 201)
                for status, body, ctype in results:
                    if status == 409:
                        self.assertEqual(ctype, "application/problem+json")
                        self.assertEqual(body.get("conflicts"), [winner["id"]], body)
                rows = self.stack.query("SELECT id, description FROM allocations WHERE resource_id = ?", (rid,))
                self.assertEqual(rows, [(winner["id"], winner["description"])])
        # The race was between processes: more than one worker read requests meanwhile.
        self.assertEqual(self.fcgi.worker_pids(), pids, "workers changed during the race\n" + self.stack.log_tails())
        busy = [pid for pid in pids if proc_io(pid).get("rchar", 0) > read_before[pid]]
        self.assertGreaterEqual(len(busy), 2, f"only workers {busy} of {sorted(pids)} served the race")

    def test_200_clients_booking_disjoint_intervals_all_get_201(self):
        car = self.create_resource("cars", "pool disjoint car", None, "Car")
        rid = car["id"]
        base = utc_us(2031, 1, 1)
        total, concurrency = 200, 32
        work = queue.Queue()
        for i in range(total):
            work.put(i)
        results = {}
        lock = threading.Lock()
        port = self.stack.port
        deadline = time.monotonic() + 90

        def client():
            while time.monotonic() < deadline:
                try:
                    i = work.get_nowait()
                except queue.Empty:
                    return
                # Touching neighbours: [base + i h, base + (i + 1) h).
                body = {"from_datetime": iso(base + i * 3600_000_000), "to_datetime": iso(base + (i + 1) * 3600_000_000),
                        "allocation_type": "booking"}
                try:
                    r = http_request(port, "POST", f"/api/cars/{rid}/allocations", json=body, timeout=30)
                    out = (r.status, r.json() if r.status == 201 else r.text)
                except Exception as e:  # reported below
                    out = (f"error {e!r}", None)
                with lock:
                    results[i] = out

        threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
        for t in threads:
            t.start()
        self.join_all(threads, 100, "disjoint bookings")
        self.assertEqual(len(results), total, "not every booking was sent in time")
        counts = {}
        for status, _ in results.values():
            counts[status] = counts.get(status, 0) + 1
        self.assertEqual(counts, {201: total}, f"{counts}\n{self.stack.log_tails()}")
        rows = self.stack.query("SELECT id, from_us, to_us FROM allocations WHERE resource_id = ? ORDER BY from_us",
                                (rid,))
        self.assertEqual([(r[1], r[2]) for r in rows],
                         [(base + i * 3600_000_000, base + (i + 1) * 3600_000_000) for i in range(total)])
        self.assertEqual([r[0] for r in rows], [results[i][1]["id"] for i in range(total)])


if __name__ == "__main__":
    unittest.main()
