"""docs/postman/invsys.postman_collection.json, run with newman (web/node_modules, pinned) against
a real stack: every request's test scripts (status and body) must pass, twice in a row on the
same stack (each run makes and deletes its own car)."""

import json
import os
import subprocess
import unittest

from harness import SOURCE_DIR, StackTestCase

NEWMAN = os.path.join(SOURCE_DIR, "web", "node_modules", ".bin", "newman")
COLLECTION = os.path.join(SOURCE_DIR, "docs", "postman", "invsys.postman_collection.json")
ENVIRONMENT = os.path.join(SOURCE_DIR, "docs", "postman", "invsys.postman_environment.json")


class PostmanCollectionTest(StackTestCase):

    def run_newman(self, key, report):
        run = subprocess.run(
            [NEWMAN, "run", COLLECTION, "-e", ENVIRONMENT,
             "--env-var", f"baseUrl=http://127.0.0.1:{self.stack.port}", "--env-var", f"apiKey={key}",
             "--reporters", "cli,json", "--reporter-json-export", report, "--color", "off",
             "--timeout-request", "20000", "--bail"],
            capture_output=True, text=True, timeout=240)
        self.assertTrue(os.path.exists(report), run.stdout[-3000:] + run.stderr[-3000:])
        with open(report) as f:
            summary = json.load(f)["run"]
        return run, summary

    def test_the_collection_passes_against_the_real_stack(self):
        made = self.req("POST", "/api/keys", json={"name": "postman", "role": "writer"})
        self.assertStatus(made, 201)
        key = made.json()["key"]
        for attempt in (1, 2):
            with self.subTest(run=attempt):
                report = os.path.join(self.stack.root, f"newman-{attempt}.json")
                run, summary = self.run_newman(key, report)
                failures = [f"{f['source']['name']}: {f['error']['message']}" for f in summary["failures"]]
                self.assertEqual(run.returncode, 0, "\n".join(failures) + "\n" + run.stdout[-3000:])
                self.assertEqual(failures, [])
                stats = summary["stats"]
                self.assertEqual(stats["requests"]["failed"], 0)
                self.assertEqual(stats["requests"]["total"], 25)
                self.assertGreaterEqual(stats["assertions"]["total"], 60)
                self.assertEqual(stats["assertions"]["failed"], 0)
        # Nothing is left behind: each run deleted its car.
        self.assertEqual(self.req("GET", "/api/cars").json(), [])


if __name__ == "__main__":
    unittest.main()
