"""The pool's master process, beyond what the other pool tests cover: its log lines and state
changes, a SIGHUP that arrives during a reload (queued: one more reload follows), a `listen`
change that a reload cannot apply, the restart back-off of workers that die young, the
TERMINATING stage of a stop, workers dying with their master, and a Ctrl-C sent to the whole
process group (the workers leave the stop to the master)."""

import errno
import os
import re
import signal
import time
import unittest

from harness import PoolTestCase, is_running, process_group, unix_listening_inodes, wait_until
from harness.log_lines import (PLUGIN_REFUSED, QUEUED_RELOAD_RUNS, RELOAD_CHECK_PASSED, RELOAD_CHECKING, RELOAD_DONE,
                               RELOAD_KEEPS_SETTING, RELOAD_REFUSED, RESTARTING_AFTER_EXIT, SIGHUP_QUEUED,
                               STATE_CHANGE, STOPPED, WORKER_EXITED, WORKER_STARTED, named)


def lines_matching(text, pattern):
    """The lines of text that match pattern (a LogLine's anchored pattern: the whole line)."""
    return [line for line in text.splitlines() if re.search(pattern, line)]


class PoolMasterTestCase(PoolTestCase):

    def wait_log(self, offset, pattern, timeout=15.0):
        """The log lines written since offset that match pattern, once there is one."""
        found = wait_until(lambda: lines_matching(self.fcgi.log_since(offset), pattern), timeout, 0.05)
        if not found:
            self.fail(f"no log line matches {pattern!r} within {timeout} s:\n"
                      + "\n".join(self.fcgi.log_since(offset).splitlines()[-30:]))
        return found

    def restart_pool(self):
        """For the next test (and a clean teardown) after a test that ended the master."""
        self.fcgi.start()
        self.stack.wait_healthy()


class QueuedReloadTest(PoolMasterTestCase):
    stack_options = {"workers": 1, "threads": 2}

    def test_a_sighup_during_a_reload_is_queued_and_runs_after_it(self):
        old = self.wait_workers(1)
        offset = self.fcgi.log_size()
        # dlopen() of a FIFO blocks in open(): the check child waits there until we let it go.
        fifo = os.path.join(self.stack.plugin_dir, "libinvsys-held.so")
        os.mkfifo(fifo)

        def release_check(unlink_first):
            """Lets the check child blocked on the FIFO go on: it reads EOF (not a library)."""
            def open_writer():
                try:
                    return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                except OSError as e:
                    if e.errno == errno.ENXIO:  # no check child has opened it yet
                        return None
                    raise
            writer = wait_until(open_writer, 10)
            self.assertIsNotNone(writer, "no check child opened the plugin FIFO\n" + self.stack.log_tails())
            if unlink_first:
                os.unlink(fifo)   # counted after loading: gone, so this check passes
            os.close(writer)
        try:
            self.fcgi.send_signal(signal.SIGHUP)
            self.wait_log(offset, STATE_CHANGE.pattern(old="NORMAL", new="RELOADING", why="SIGHUP"))
            self.wait_log(offset, RELOAD_CHECKING.pattern())
            self.fcgi.send_signal(signal.SIGHUP)
            self.wait_log(offset, SIGHUP_QUEUED.pattern())
            release_check(unlink_first=False)
            self.wait_log(offset, RELOAD_REFUSED.pattern(why=re.compile(r"check failed \(.+\)")))
            release_check(unlink_first=True)
        finally:
            if os.path.exists(fifo):
                os.unlink(fifo)
        self.wait_log(offset, RELOAD_DONE.pattern(generation=2))
        new = self.wait_workers(1, timeout=15, exclude=old)
        self.assertGone(old, timeout=15, msg="the first worker after the reload")
        log = self.fcgi.log_since(offset)
        order = [RELOAD_REFUSED.regex(why="check failed (exit 1)"),
                 STATE_CHANGE.regex(old="RELOADING", new="NORMAL", why="reload refused"),
                 QUEUED_RELOAD_RUNS.regex(),
                 STATE_CHANGE.regex(old="NORMAL", new="RELOADING", why="SIGHUP"),
                 RELOAD_CHECK_PASSED.regex(generation=2, workers=1, threads=2),
                 WORKER_STARTED.regex(seat=1, worker_pid=next(iter(new)), generation=2),
                 STATE_CHANGE.regex(old="RELOADING", new="NORMAL", why="reload done"),
                 WORKER_EXITED.regex(worker_pid=next(iter(old)), how="code 0")]
        at = 0
        for regex in order:
            m = regex.search(log, at)
            self.assertIsNotNone(m, f"{regex.pattern!r} missing (or out of order) in:\n{log[-4000:]}")
            at = m.end()
        self.assertTrue(PLUGIN_REFUSED.lines(log, path=named("libinvsys-held.so")),
                        "the check's refusal names the plugin file")
        self.assertEqual(self.assertJson(self.req("GET", "/api/health")).get("status"), "ok")


class ReloadConfigurationChangeTest(PoolMasterTestCase):
    stack_options = {"workers": 1, "threads": 2}

    def test_a_changed_listen_is_kept_with_a_warning_and_the_reload_goes_ahead(self):
        old = self.wait_workers(1)
        before = unix_listening_inodes(self.fcgi.socket_path)
        self.assertEqual(len(before), 1)
        offset = self.fcgi.log_size()
        original = self.fcgi.listen
        other = os.path.join(os.path.dirname(self.fcgi.socket_path), "other.sock")
        self.fcgi.listen = f"unix:{other}"
        try:
            self.fcgi.write_config()
            self.fcgi.send_signal(signal.SIGHUP)
            self.wait_workers(1, timeout=15, exclude=old)
        finally:
            self.fcgi.listen = original
            self.fcgi.write_config()
        warning = self.wait_log(offset, RELOAD_KEEPS_SETTING.pattern(key="listen", old=original, new=f"unix:{other}",
                                                                     kept=original))
        self.assertIn(original, warning[0])
        self.assertIn(other, warning[0])
        self.assertRegex(warning[0], r"WARN .*keeping")
        self.assertEqual(unix_listening_inodes(self.fcgi.socket_path), before, "the socket was replaced")
        self.assertFalse(os.path.exists(other), "a reload bound the new address")
        self.assertEqual(self.assertJson(self.req("GET", "/api/health")).get("status"), "ok")


    def test_a_configuration_error_refuses_the_reload_and_keeps_the_workers(self):
        old = self.wait_workers(1)
        offset = self.fcgi.log_size()
        self.fcgi.extra_config["no_such_key"] = "1"
        try:
            self.fcgi.write_config()
            self.fcgi.send_signal(signal.SIGHUP)
            refused = self.wait_log(offset, RELOAD_REFUSED.pattern(
                why=re.compile(r"configuration error: .*unknown key 'no_such_key'")))
        finally:
            del self.fcgi.extra_config["no_such_key"]
            self.fcgi.write_config()
        self.assertRegex(refused[0], r"keeping the running workers$")
        self.wait_log(offset, STATE_CHANGE.pattern(old="RELOADING", new="NORMAL", why="reload refused"))
        time.sleep(0.5)
        self.assertEqual(self.fcgi.worker_pids(), old)
        self.assertEqual(self.assertJson(self.req("GET", "/api/health")).get("status"), "ok")


class RestartBackoffTest(PoolMasterTestCase):
    stack_options = {"workers": 1, "threads": 2}
    KILLS = 5

    def test_a_worker_that_dies_young_is_restarted_after_a_doubling_delay(self):
        (worker,) = self.wait_workers(1)
        time.sleep(1.2)   # the first one has lived past the "young" second: restarted at once
        offset = self.fcgi.log_size()
        gaps = []
        for _ in range(self.KILLS):
            os.kill(worker, signal.SIGKILL)
            killed_at = time.monotonic()
            found = wait_until(lambda: self.fcgi.worker_pids() - {worker}, 10, 0.005)
            self.assertTrue(found, "the worker was not replaced\n" + self.stack.log_tails())
            gaps.append(time.monotonic() - killed_at)
            worker = next(iter(found))
        delays = [float(m.group("delay")) for m in RESTARTING_AFTER_EXIT.lines(self.fcgi.log_since(offset), seat=1)]
        self.assertEqual(delays, [0.0, 0.1, 0.2, 0.4, 0.8], self.fcgi.log_since(offset))
        for gap, delay in zip(gaps, delays):
            self.assertGreaterEqual(gap, delay - 0.02, f"restarted after {gap:.3f} s, delay {delay} s")
        self.wait_workers(1)
        self.assertEqual(self.assertJson(self.req("GET", "/api/health")).get("status"), "ok")


class TerminatingTest(PoolMasterTestCase):
    stack_options = {"workers": 2, "threads": 2, "extra_config": {"shutdown_timeout_s": 1}}

    def test_a_worker_that_does_not_stop_in_time_is_killed_and_the_master_exits_1(self):
        workers = self.wait_workers(2)
        frozen = min(workers)
        os.kill(frozen, signal.SIGSTOP)
        offset = self.fcgi.log_size()
        started = time.monotonic()
        self.fcgi.send_signal(signal.SIGTERM)
        rc = self.fcgi.wait_exit(20)
        took = time.monotonic() - started
        self.assertEqual(rc, 1, "the master exits 1 when it had to kill\n" + self.stack.log_tails())
        # shutdown_timeout_s (1) + 5 s, then SIGKILL.
        self.assertGreaterEqual(took, 5.5, f"killed after {took:.1f} s")
        self.assertLess(took, 12, f"stopped after {took:.1f} s")
        log = self.fcgi.log_since(offset)
        self.assertTrue(STATE_CHANGE.lines(log, old="NORMAL", new="FINISHING", why="SIGTERM"), log)
        self.assertTrue(STATE_CHANGE.lines(log, old="FINISHING", new="TERMINATING",
                                           why=re.compile(r"1 workers still running after \d+\.\d s")), log)
        self.assertTrue(WORKER_EXITED.lines(log, worker_pid=frozen, how="signal 9"), log)
        self.assertTrue(STOPPED.lines(log, code=1), log)
        self.assertFalse(is_running(frozen))
        self.assertFalse(os.path.exists(self.fcgi.socket_path), "the socket file is left behind")
        self.assertEqual(process_group(self.fcgi.master_pid), [])
        self.restart_pool()


class MasterDeathTest(PoolMasterTestCase):
    stack_options = {"workers": 2, "threads": 2}

    def test_the_workers_die_with_their_master(self):
        workers = self.wait_workers(2)
        os.kill(self.fcgi.master_pid, signal.SIGKILL)
        self.fcgi.wait_exit(5)
        self.assertGone(workers, timeout=3, msg="workers of a killed master")
        # The socket file stays behind; the next start removes it as stale.
        self.restart_pool()
        self.assertEqual(self.assertJson(self.req("GET", "/api/health")).get("status"), "ok")


class ProcessGroupInterruptTest(PoolMasterTestCase):
    """A Ctrl-C in a terminal signals the whole foreground process group."""
    stack_options = {"workers": 2, "threads": 2}
    sleepy = True

    def test_sigint_to_the_whole_group_lets_the_request_in_flight_finish(self):
        workers = self.wait_workers(2)
        t, result = self.request_async("POST", "/api/sleepies",
                                       json={"name": "group nap", "attributes": {"sleep_ms": 1500}}, timeout=20)
        self.wait_sleeping(1500, timeout=5, among=workers)
        os.killpg(self.fcgi.master_pid, signal.SIGINT)
        self.join_all([t], 15, "the request in flight at the Ctrl-C")
        self.assertEqual(result["status"], 201, f"{result}\n" + self.stack.log_tails())
        self.assertEqual(self.fcgi.wait_exit(15), 0, self.stack.log_tails())
        self.assertTrue(STATE_CHANGE.lines(self.fcgi.log(), old="NORMAL", new="FINISHING", why="SIGINT"))
        self.assertEqual(process_group(self.fcgi.master_pid), [])
        self.restart_pool()


if __name__ == "__main__":
    unittest.main()
