// Runs the front end's unit tests (tests/web/unit/*.test.ts) with Node's
// own test runner: esbuild compiles each to a temporary .mjs, `node --test`
// runs them. The tests set TZ themselves (Node applies a change of
// process.env.TZ at once), so one run covers several time zones.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const testDir = resolve(web, "..", "tests", "web", "unit");
const tests = readdirSync(testDir).filter((f) => f.endsWith(".test.ts"));
if (tests.length === 0) throw new Error(`no *.test.ts in ${testDir}`);

const out = mkdtempSync(join(tmpdir(), "invsys-web-unit-"));
try {
  await build({
    entryPoints: tests.map((f) => join(testDir, f)),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node18",
    outdir: out,
    outExtension: { ".js": ".mjs" },
    external: ["node:*"],
    logLevel: "warning",
  });
  const files = readdirSync(out).filter((f) => f.endsWith(".mjs")).map((f) => join(out, f));
  const run = spawnSync(process.execPath, ["--test", ...files], { stdio: "inherit" });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
