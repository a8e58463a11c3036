"""Two invsys pools in two PID namespaces on one SQLite file (issue 11, "several containers on one
SQLite file").

What `docker compose up --scale invsys=3` does with the default SQLite: identically started
processes on one volume, each in a PID namespace of its own (`unshare --pid --fork` here), so
their processes and threads have the same ids. The write lock must not depend on those ids
(storage/sqlite/write_lock.hpp): clients racing through one nginx over both pools for one slot
get exactly one 201 and 409s, never a 500, and one row is stored.

Needs root (a PID namespace); skipped with a message otherwise.
"""

import os
import shutil
import sqlite3
import sys
import threading
import time
import unittest
import uuid

from harness import (ApiAssertions, children_of, BUILTIN_PLUGIN_DIR, BUILTIN_PLUGINS, Fcgi, HOUR_US, Nginx, fcgi_request,
                     http_request, iso, make_tmpdir, set_default_key, mkdir_public, proc_io, process_tree, utc_us, wait_until)

CLIENTS = 32
ROUNDS = 4
WORKERS = 2
THREADS = 4
UNSHARE = ["unshare", "--pid", "--fork", "--kill-child=SIGTERM"]


def ns_pids(pid):
    """The ids of pid in each PID namespace it is in, outermost first (NSpid of /proc/<pid>/status)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return [int(x) for x in line.split()[1:]]
    except OSError:
        pass
    return []


def pid_namespace(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def thread_ids_inside(pid):
    """The innermost-namespace ids of every thread of every process under pid."""
    ids = set()
    for p in process_tree(pid):
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            inner = ns_pids(t)
            if len(inner) > 1:
                ids.add(inner[-1])
    return ids


@unittest.skipUnless(os.geteuid() == 0, "needs root to make PID namespaces (unshare --pid); CI runs as root")
@unittest.skipUnless(shutil.which("unshare"), "needs unshare (util-linux)")
class SqliteAcrossPidNamespacesTest(ApiAssertions):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = make_tmpdir("invsys-it-pidns-")
        cls.pools = []
        cls.nginx = None
        try:
            plugin_dir = mkdir_public(os.path.join(cls.root, "plugins"))
            for name in BUILTIN_PLUGINS:
                shutil.copyfile(os.path.join(BUILTIN_PLUGIN_DIR, name), os.path.join(plugin_dir, name))
                os.chmod(os.path.join(plugin_dir, name), 0o755)
            data = mkdir_public(os.path.join(cls.root, "shared-volume"))
            os.chmod(data, 0o777)
            cls.db_path = os.path.join(data, "invsys.db")
            for host in ("container-a", "container-b"):
                pool_root = mkdir_public(os.path.join(cls.root, host))
                cls.pools.append(Fcgi(pool_root, threads=THREADS, workers=WORKERS, plugin_dir=plugin_dir,
                                      database=f"sqlite:{cls.db_path}", wrapper=UNSHARE))
            for pool in cls.pools:
                pool.start()
            cls.nginx = Nginx(cls.root, [f"unix:{p.socket_path}" for p in cls.pools]).start()
            # Both pools share the database, so either one's admin key serves through nginx.
            set_default_key(cls.nginx.port, cls.pools[0].admin_key)
            for pool in cls.pools:
                ok = wait_until(lambda: cls._fcgi_health(pool), 30, interval=0.1)
                if not ok:
                    raise AssertionError(f"pool {pool.root} not healthy\n{pool.log_tail()}")
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

    def req(self, method, path, json=None, timeout=30):
        return http_request(self.nginx.port, method, path, json=json, timeout=timeout)

    def pool_writes(self, pool):
        return sum(proc_io(pid).get("syscw", 0) for pid in process_tree(pool.master_pid))

    def test_the_pools_are_in_two_pid_namespaces_with_colliding_ids(self):
        # The premise of the race below: the masters are pid 1 each, and thread ids repeat.
        # unshare's one child is the pool's master, pid 1 of its namespace.
        masters = [sorted(children_of(pool.master_pid))[0] for pool in self.pools]
        self.assertNotEqual(pid_namespace(masters[0]), pid_namespace(masters[1]))
        self.assertEqual([ns_pids(m)[-1] for m in masters], [1, 1])
        shared = thread_ids_inside(self.pools[0].master_pid) & thread_ids_inside(self.pools[1].master_pid)
        self.assertGreaterEqual(len(shared), WORKERS * THREADS, f"colliding thread ids: {sorted(shared)}")

    def test_clients_racing_across_both_namespaces_get_exactly_one_201_and_no_500(self):
        writes_before = [self.pool_writes(p) for p in self.pools]
        for round_ in range(ROUNDS):
            with self.subTest(round=round_):
                r = self.req("POST", "/api/cars", json={"name": f"pidns {round_} {uuid.uuid4().hex[:10]}"})
                self.assertStatus(r, 201)
                rid = r.json()["id"]
                base = utc_us(2040, 2, 1 + round_)
                barrier = threading.Barrier(CLIENTS, timeout=60)
                results = [None] * CLIENTS

                def client(i):
                    frm = base + i * 60 * 1_000_000
                    body = {"from_datetime": iso(frm), "to_datetime": iso(frm + 2 * HOUR_US),
                            "allocation_type": "booking", "description": f"racer {i}"}
                    try:
                        barrier.wait()
                        resp = http_request(self.nginx.port, "POST", f"/api/cars/{rid}/allocations", json=body,
                                            timeout=60)
                        results[i] = (resp.status, resp.text[:300])
                    except Exception as e:  # reported below
                        results[i] = (f"error {e!r}", None)

                threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
                for t in threads:
                    t.start()
                deadline = time.monotonic() + 120
                for t in threads:
                    t.join(max(0.1, deadline - time.monotonic()))
                self.assertFalse(any(t.is_alive() for t in threads), "clients still waiting after 120 s")
                counts = {}
                for status, _ in results:
                    counts[status] = counts.get(status, 0) + 1
                self.assertEqual(counts, {201: 1, 409: CLIENTS - 1},
                                 f"statuses {counts}; e.g. {[x for x in results if x[0] not in (201, 409)][:3]}\n"
                                 + self.logs())
                conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
                try:
                    rows = conn.execute("SELECT count(*) FROM allocations WHERE resource_id = ?", (rid,)).fetchall()
                finally:
                    conn.close()
                self.assertEqual(rows, [(1,)])
        served = [self.pool_writes(p) - b for p, b in zip(self.pools, writes_before)]
        sys.stderr.write(f"\n[pid namespaces] write syscalls per pool {served}\n")
        self.assertTrue(all(n >= 10 for n in served), f"both pools must have served requests: {served}")
        for pool in self.pools:
            self.assertTrue(pool.alive(), pool.log_tail())
            self.assertNotIn("taken twice by one thread", pool.log())


if __name__ == "__main__":
    unittest.main()
