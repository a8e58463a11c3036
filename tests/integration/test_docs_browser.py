"""/docs/: Swagger UI in headless Chromium (playwright-core, /usr/bin/chromium). Without a key
the description is not shown; with a reader key the three built-in collections are; "Try it out"
sends the key. A screenshot goes to build/screenshots/docs.png (docs/images/swagger-ui.png is a
committed copy, for the README)."""

import json
import os
import subprocess
import unittest

from harness import BUILD_DIR, SOURCE_DIR, StackTestCase

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser", "docs_swagger.mjs")
SCREENSHOT = os.path.join(BUILD_DIR, "screenshots", "docs.png")


@unittest.skipUnless(os.path.exists("/usr/bin/chromium"), "Debian's chromium is not installed (scripts/setup.sh)")
class DocsBrowserTest(StackTestCase):

    def test_swagger_ui_shows_the_collections_only_with_a_key(self):
        made = self.req("POST", "/api/keys", json={"name": "docs-browser", "role": "reader"})
        self.assertStatus(made, 201)
        key = made.json()["key"]
        self.create_resource("cars", "Swagger car", {"seats": 5})
        os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
        run = subprocess.run(["node", SCRIPT, f"http://127.0.0.1:{self.stack.port}", key, SCREENSHOT,
                              os.path.join(SOURCE_DIR, "web")],
                             capture_output=True, text=True, timeout=180)
        self.assertEqual(run.returncode, 0, run.stderr[-4000:])
        seen = json.loads(run.stdout.strip().splitlines()[-1])
        self.assertEqual(seen["tagsWithoutKey"], 0, seen)
        self.assertEqual(seen["tagsWithWrongKey"], 0, seen)
        self.assertIn("not valid", seen["wrongKeyMessage"])
        self.assertLessEqual({"cars", "lorries", "trucks"}, set(seen["tags"]), seen)
        self.assertTrue(seen["storedKeyMatches"], seen)
        self.assertEqual(seen["descriptionFetches"], [401, 200], seen)
        self.assertEqual(seen["tryItOut"], {"authorization": True, "status": 200}, seen)
        self.assertTrue(seen["keptAfterReload"])
        self.assertEqual(seen["tagsAfterForget"], 0, seen)
        self.assertIsNone(seen["storedAfterForget"], seen)
        self.assertEqual(seen["cspViolations"], [], "the page runs under its Content-Security-Policy")
        self.assertEqual(seen["pageErrors"], [], seen)
        self.assertGreater(os.path.getsize(SCREENSHOT), 10000)


if __name__ == "__main__":
    unittest.main()
