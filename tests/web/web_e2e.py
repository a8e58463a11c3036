"""The admin page in Chromium against a real stack (tests/integration/harness).

Each test class starts nginx + invsys-fcgi (Stack), makes a writer and a
reader key with the stack's admin key, and runs tests/web/e2e.mjs in one
mode: BrowserFlowTest (CTest web.browser) the user's journey,
AccessibilityTest (CTest web.a11y) axe-core in every view. Screenshots go to
<build>/screenshots/<mode>/. The page is BUILD_DIR/web (scripts/web-build.sh;
CTest's fixture web.build makes it first).
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import BUILD_DIR, SOURCE_DIR, Stack  # noqa: E402

# The whole browser run of one mode, Chromium's start included.
E2E_TIMEOUT_S = 240
E2E_SCRIPT = os.path.join(SOURCE_DIR, "tests", "web", "e2e.mjs")


class _E2E(unittest.TestCase):
    mode = None

    @classmethod
    def setUpClass(cls):
        index = os.path.join(BUILD_DIR, "web", "index.html")
        if not os.path.exists(index):
            raise AssertionError(f"{index} missing: run scripts/web-build.sh {os.path.join(BUILD_DIR, 'web')}")
        cls.stack = Stack().start()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def make_key(self, role):
        r = self.stack.request("POST", "/api/keys", json={"name": f"e2e-{role}", "role": role})
        self.assertEqual(r.status, 201, r.body)
        return r.json()["key"]

    def run_browser(self):
        shots = os.path.join(BUILD_DIR, "screenshots", self.mode)
        env = dict(os.environ,
                   INVSYS_E2E_BASE_URL=f"http://127.0.0.1:{self.stack.port}",
                   INVSYS_E2E_ADMIN_KEY=self.stack.admin_key,
                   INVSYS_E2E_WRITER_KEY=self.make_key("writer"),
                   INVSYS_E2E_READER_KEY=self.make_key("reader"),
                   INVSYS_E2E_SCREENSHOTS=shots,
                   INVSYS_SOURCE_DIR=SOURCE_DIR)
        r = subprocess.run(["node", E2E_SCRIPT, self.mode], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=E2E_TIMEOUT_S)
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        self.assertEqual(r.returncode, 0, f"e2e.mjs {self.mode} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
                         f"\n{self.stack.log_tails(30)}")


class BrowserFlowTest(_E2E):
    mode = "flow"

    def test_sign_in_create_book_by_dragging_conflict_reschedule_delete_and_a_read_only_reader(self):
        self.run_browser()


class AccessibilityTest(_E2E):
    mode = "a11y"

    def test_every_view_has_no_serious_or_critical_axe_violation(self):
        self.run_browser()


if __name__ == "__main__":
    unittest.main()
