"""SIGHUP: re-read the configuration and re-scan the plugin directory.

A good reload under a continuous load of bookings fails no request, replaces every worker and
serves the new type afterwards (the master still loads no plugin). A reload with a broken plugin
is refused: the running workers stay (same pids) and keep serving, and the log says why."""

import os
import signal
import time
import unittest

from harness import (BookingLoad, PoolTestCase, find_test_plugin, proc_maps, proc_identity,
                     utc_us, wait_until)
from harness.log_lines import PLUGIN_REFUSED, RELOAD_REFUSED, named

WORKERS = 2
BUS_SO = "libinvsys-bus.so"


class ReloadUnderLoadTest(PoolTestCase):
    stack_options = {"workers": WORKERS, "threads": 4}
    sleepy = True

    def test_a_reload_under_load_fails_no_request_and_serves_the_new_type(self):
        old = self.wait_workers(WORKERS)
        old_ids = {proc_identity(p) for p in old}
        cars = [self.create_resource("cars", f"reload car {i}", None, "Car")["id"] for i in range(3)]
        load = BookingLoad(self.stack.port, [("cars", rid) for rid in cars], clients=4, max_seconds=25,
                           max_requests=5000, timeout=10, base_us=utc_us(2100, 1, 1))
        load.start()
        try:
            self.assertGreaterEqual(load.wait_count(20, 10), 20, "the load does not get going\n" + self.stack.log_tails())
            # A slow request on an old worker: that worker must finish it before it goes.
            t, slow = self.request_async("POST", "/api/sleepies",
                                         json={"name": "slow across the reload", "attributes": {"sleep_ms": 2000}},
                                         timeout=15)
            slow_pid = self.wait_sleeping(2000, timeout=5, among=old)[0][0]
            self.stack.add_plugin(find_test_plugin("bus"))
            hup_at = time.monotonic()
            self.fcgi.send_signal(signal.SIGHUP)
            # New workers take over; the old ones finish and exit.
            new = self.wait_workers(WORKERS, timeout=15, exclude=old, stable_s=0.5)
            self.assertGone(old, timeout=15, msg="old workers after the reload")
            swapped_at = time.monotonic()
            self.join_all([t], 10, "the slow request across the reload")
            self.assertIsNone(slow["error"], slow)
            self.assertEqual(slow["status"], 201, f"the request in flight on old worker {slow_pid}: {slow}\n"
                             + self.stack.log_tails())
            n = load.count()
            # + 4: the load's requests still in flight at the swap count in n
            # but started before it.
            self.assertGreaterEqual(load.wait_count(n + 24, 10), n + 24,
                                    "the load stalls after the reload\n" + self.stack.log_tails())
        finally:
            results = load.stop()
        counts = self.assertLoadResults(results, allowed=(201,), msg="bookings during the reload:")
        during = [r for r in results if r["end"] > hup_at and r["start"] < swapped_at]
        self.assertGreaterEqual(len(during), 5, f"the load paused during the reload: {len(during)} requests")
        self.assertGreaterEqual(sum(1 for r in results if r["start"] > swapped_at), 20, counts)
        self.assertEqual(self.overlapping_pairs(), [])
        # Only new processes serve now.
        self.assertTrue(self.fcgi.alive(), "the master died in the reload")
        self.assertTrue(all(proc_identity(p) not in old_ids for p in new))
        self.assertEqual(self.fcgi.worker_pids(), new)
        types = self.assertJson(self.req("GET", "/api/types"))
        self.assertEqual(sorted(t["resource_type"] for t in types), ["Bus", "Car", "Lorry", "Sleepy", "Truck"])
        bus = self.create_resource("buses", "Reloaded Bus", {"wheelchair_spaces": 2}, "Bus")
        self.create_allocation("buses", bus["id"], "2030-01-01T10:00:00Z", "2030-01-01T12:00:00Z")
        self.assertEqual(self.stack.query("SELECT resource_type FROM resources WHERE id = ?", (bus["id"],)), [("Bus",)])
        # The master still loads no plugin; every new worker has the new one.
        self.assertNotIn(BUS_SO, proc_maps(self.fcgi.master_pid))
        self.assertNotIn("libinvsys-car.so", proc_maps(self.fcgi.master_pid))
        for pid in new:
            self.assertIn(os.path.join(self.stack.plugin_dir, BUS_SO), proc_maps(pid), f"worker {pid}")


class ReloadConfigurationTest(PoolTestCase):
    stack_options = {"workers": WORKERS, "threads": 4}

    def test_a_reload_rereads_the_configuration(self):
        old = self.wait_workers(WORKERS)
        self.fcgi.workers = 3
        self.fcgi.write_config()
        self.fcgi.send_signal(signal.SIGHUP)
        self.wait_workers(3, timeout=15, exclude=old)
        self.assertGone(old, timeout=15, msg="old workers after the reload")
        self.create_resource("cars", "after the config reload", None, "Car")


class BrokenPluginReloadTest(PoolTestCase):
    stack_options = {"workers": WORKERS, "threads": 4}

    def refused_reload(self, broken_name, write_broken):
        """Drops a broken plugin in, sends SIGHUP under load, checks the refusal, removes it."""
        old = self.wait_workers(WORKERS)
        old_ids = {proc_identity(p) for p in old}
        car = self.create_resource("cars", f"refused reload car {broken_name}", None, "Car")["id"]
        offset = self.fcgi.log_size()
        path = os.path.join(self.stack.plugin_dir, broken_name)
        write_broken(path)
        load = BookingLoad(self.stack.port, [("cars", car)], clients=2, max_seconds=20, max_requests=2000,
                           timeout=10, base_us=utc_us(2100, 1, 1))
        load.start()
        try:
            self.assertGreaterEqual(load.wait_count(10, 10), 10, self.stack.log_tails())
            self.fcgi.send_signal(signal.SIGHUP)

            # The check child refuses the plugin, fails, and the master refuses the reload.
            def refusal():
                return RELOAD_REFUSED.lines(self.fcgi.log_since(offset), why="check failed (exit 1)")
            said = wait_until(refusal, 15, 0.1)
            log = self.fcgi.log_since(offset)
            self.assertTrue(said, f"no log line says the reload was refused:\n{log[-3000:]}")
            self.assertEqual(said[0].group("pid"), str(self.fcgi.master_pid), "the master refuses the reload")
            self.assertTrue(PLUGIN_REFUSED.lines(log, path=named(broken_name)),
                            f"the log does not name the broken plugin:\n{log[-3000:]}")
            # Give a wrong implementation time to swap the workers anyway.
            time.sleep(1.5)
            self.assertEqual({proc_identity(p) for p in self.fcgi.worker_pids()}, old_ids,
                             "the running workers were replaced after a refused reload\n" + self.stack.log_tails())
            n = load.count()
            self.assertGreaterEqual(load.wait_count(n + 10, 10), n + 10, "the old workers stopped serving")
        finally:
            results = load.stop()
            os.remove(path)
        self.assertLoadResults(results, allowed=(201,), msg="bookings around the refused reload:")
        self.assertTrue(self.fcgi.alive(), "the master died")
        types = self.assertJson(self.req("GET", "/api/types"))
        self.assertEqual(sorted(t["resource_type"] for t in types), ["Car", "Lorry", "Truck"])
        self.assertEqual({proc_identity(p) for p in self.fcgi.worker_pids()}, old_ids)
        return old

    def test_a_plugin_for_another_abi_is_refused_and_the_workers_stay(self):
        src = find_test_plugin("wrong_abi")

        def write(path):
            with open(src, "rb") as f, open(path, "wb") as g:
                g.write(f.read())
        self.refused_reload("libinvsys-wrong_abi.so", write)

    def test_a_file_that_is_no_library_is_refused_and_the_workers_stay(self):
        def write(path):
            with open(path, "wb") as f:
                f.write(b"\x7fELF but not really a shared library" * 50)
        self.refused_reload("libinvsys-garbage.so", write)

    def test_after_a_refused_reload_a_good_one_goes_ahead(self):
        def write(path):
            with open(path, "wb") as f:
                f.write(b"not a library")
        old = self.refused_reload("libinvsys-broken.so", write)
        self.stack.add_plugin(find_test_plugin("bus"))
        try:
            self.fcgi.send_signal(signal.SIGHUP)
            self.wait_workers(WORKERS, timeout=15, exclude=old)
            self.assertGone(old, timeout=15, msg="old workers after the good reload")
            types = self.assertJson(self.req("GET", "/api/types"))
            self.assertEqual(sorted(t["resource_type"] for t in types), ["Bus", "Car", "Lorry", "Truck"])
            self.create_resource("buses", "after a refused reload", None, "Bus")
        finally:
            # Back to the built-in types for the other tests of this class.
            self.stack.remove_plugin(BUS_SO)
            before = self.fcgi.worker_pids()
            self.fcgi.send_signal(signal.SIGHUP)
            self.wait_workers(WORKERS, timeout=15, exclude=before)
            self.assertGone(before, timeout=15, msg="workers after the last reload")


if __name__ == "__main__":
    unittest.main()
