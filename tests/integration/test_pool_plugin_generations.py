"""A generation of workers loads exactly the plugin files its check validated (issue 11, "Plugins a
worker has not been checked with").

A plugin dropped into the directory without a reload is not loaded by a worker that starts later
(one killed and restarted by the master): it serves the same types as the others, and logs that
the file waits for a reload; after SIGHUP (the check child validates it) the new generation
serves it. A listed plugin replaced by another file is refused by a restarted worker the same way
(core/src/plugins/plugin_manifest.hpp).
"""

import os
import signal

from harness import PoolTestCase, find_test_plugin, wait_until
from harness.log_lines import READY

WORKERS = 2
BUS_SO = "libinvsys-bus.so"


class PluginGenerationsTest(PoolTestCase):
    stack_options = {"workers": WORKERS, "threads": 2}

    def ready_types(self, log, pid):
        return [m.group("types") for m in READY.lines(log) if int(m.group("pid")) == pid]

    def buses_status(self, tries=12):
        """The statuses of several GET /api/buses (spread over the workers)."""
        return {self.req("GET", "/api/buses").status for _ in range(tries)}

    def test_a_plugin_dropped_in_waits_for_a_reload_even_in_a_restarted_worker(self):
        workers = self.wait_workers(WORKERS)
        self.assertEqual(self.buses_status(), {404})
        self.stack.add_plugin(find_test_plugin("bus"))
        offset = self.fcgi.log_size()
        victim = sorted(workers)[0]
        os.kill(victim, signal.SIGKILL)
        now = self.wait_workers(WORKERS, timeout=20, exclude={victim})
        restarted = (now - workers).pop()
        self.assertTrue(wait_until(lambda: self.ready_types(self.fcgi.log_since(offset), restarted), 10),
                        "the restarted worker never got ready\n" + self.fcgi.log_since(offset)[-3000:])
        log = self.fcgi.log_since(offset)
        self.assertEqual(self.ready_types(log, restarted), ["Car,Lorry,Truck"], log[-3000:])
        self.assertIn(f"{BUS_SO} is new since this generation was checked", log)
        # Every worker of the generation agrees: no bus collection anywhere.
        self.assertEqual(self.buses_status(), {404})

        # The reload checks the new file; the next generation serves it.
        self.fcgi.send_signal(signal.SIGHUP)
        self.wait_workers(WORKERS, timeout=20, exclude=now)
        self.assertTrue(wait_until(lambda: self.buses_status(4) == {200}, 10), self.stack.log_tails())
        self.assertEqual(self.buses_status(), {200})

    def test_a_listed_plugin_replaced_without_a_reload_is_refused_by_a_restarted_worker(self):
        workers = self.wait_workers(WORKERS)
        self.assertEqual(self.req("GET", "/api/lorries").status, 200)
        # Replaced by another file under the same name (a new inode): not what was checked.
        path = os.path.join(self.stack.plugin_dir, "libinvsys-lorry.so")
        os.rename(path, path + ".old")
        try:
            self.stack.add_plugin(path + ".old", name="libinvsys-lorry.so")
            offset = self.fcgi.log_size()
            victim = sorted(workers)[0]
            os.kill(victim, signal.SIGKILL)
            now = self.wait_workers(WORKERS, timeout=20, exclude={victim})
            restarted = (now - workers).pop()
            self.assertTrue(wait_until(lambda: self.ready_types(self.fcgi.log_since(offset), restarted), 10))
            log = self.fcgi.log_since(offset)
            self.assertIn("libinvsys-lorry.so: changed since this generation was checked", log)
            self.assertNotIn("Lorry", self.ready_types(log, restarted)[0])
        finally:
            os.remove(path + ".old")
        # A reload checks the replacement and every worker serves it again.
        self.fcgi.send_signal(signal.SIGHUP)
        self.wait_workers(WORKERS, timeout=20, exclude=now)
        self.assertTrue(wait_until(lambda: {self.req("GET", "/api/lorries").status for _ in range(8)} == {200}, 10),
                        self.stack.log_tails())
