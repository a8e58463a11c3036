"""The master backs off when fork() fails (fcgi/master.cpp): 250 ms doubling to 30 s, one log
line per step, instead of a retry every 250 ms tick; once fork works again the seat is filled.

fork() is made to fail with EAGAIN by a pids cgroup (cgroup v1, /sys/fs/cgroup/pids) around the
master alone, whose pids.max is its own task count: RLIMIT_NPROC would not do, the tests run as
root. Skipped where no such cgroup can be made.
"""

import os
import signal
import time
import unittest

from harness import IS_ROOT, PoolTestCase, wait_until
from harness.log_lines import FORK_BACKOFF, FORK_FAILED, FORK_WORKS_AGAIN

PIDS_CGROUP = "/sys/fs/cgroup/pids"


def _cgroup_usable():
    return IS_ROOT and os.access(PIDS_CGROUP, os.W_OK) and os.path.exists(os.path.join(PIDS_CGROUP, "cgroup.procs"))


@unittest.skipUnless(_cgroup_usable(), "needs root and a writable pids cgroup (v1)")
class ForkBackoffTest(PoolTestCase):
    stack_options = {"workers": 2, "threads": 2}

    def cage_master(self):
        """Puts the master alone into a fresh pids cgroup; returns that cgroup's directory."""
        cgroup = os.path.join(PIDS_CGROUP, f"invsys-test-{os.getpid()}-{time.monotonic_ns()}")
        os.mkdir(cgroup)
        self.addCleanup(self.free_cgroup, cgroup)
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write(str(self.fcgi.master_pid))
        return cgroup

    @staticmethod
    def set_max(cgroup, value):
        with open(os.path.join(cgroup, "pids.max"), "w") as f:
            f.write(str(value))

    @staticmethod
    def free_cgroup(cgroup):
        # Everything in it back to the parent, then it can go.
        for _ in range(50):
            with open(os.path.join(cgroup, "cgroup.procs")) as f:
                pids = [p for p in f.read().split() if p]
            if not pids:
                break
            for pid in pids:
                try:
                    with open(os.path.join(PIDS_CGROUP, "cgroup.procs"), "w") as f:
                        f.write(pid)
                except OSError:
                    pass
            time.sleep(0.05)
        try:
            os.rmdir(cgroup)
        except OSError:
            pass

    def test_a_failing_fork_backs_off_exponentially_then_the_seat_is_filled(self):
        workers = self.wait_workers(2)
        cgroup = self.cage_master()
        with open(os.path.join(cgroup, "pids.current")) as f:
            self.set_max(cgroup, int(f.read()))  # the master's own tasks: no room for a child
        offset = self.fcgi.log_size()
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)

        time.sleep(5.0)
        log = self.fcgi.log_since(offset)
        delays = [float(m.group("delay")) for m in FORK_BACKOFF.lines(log)]
        forks_failed = len(FORK_FAILED.lines(log))
        self.assertEqual(forks_failed, log.count("fork failed"), "every fork failure is the documented line\n" + log)
        self.assertGreaterEqual(len(delays), 3, "a back-off line per failed attempt\n" + log)
        # 250 ms ticks would have tried about 20 times in these 5 s.
        self.assertLessEqual(forks_failed, 7, "fork retried without backing off\n" + log)
        self.assertEqual(forks_failed, len(delays), "one back-off line per failed fork\n" + log)
        self.assertEqual(delays, sorted(delays), "growing back-off\n" + log)
        self.assertGreater(delays[-1], 2 * delays[0], "growing back-off\n" + log)
        self.assertTrue(self.fcgi.alive())
        self.assertStatus(self.req("GET", "/api/health"), 200, "the other worker serves meanwhile")

        self.set_max(cgroup, "max")
        pids = self.wait_workers(2, timeout=15, exclude={victim})
        self.assertIn(min(workers - {victim}), pids | workers)
        self.assertTrue(wait_until(lambda: FORK_WORKS_AGAIN.lines(self.fcgi.log_since(offset)), 5),
                        self.fcgi.log_since(offset))
        self.assertStatus(self.req("GET", "/api/health"), 200)


if __name__ == "__main__":
    unittest.main()
