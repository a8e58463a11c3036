// The admin page in a real browser (Debian's chromium, headless, driven by
// playwright-core) against a running stack. Two modes:
//   flow  sign in, create a car, book by dragging, see the bar, an
//         overlapping drag shows the conflict, reschedule by dragging, a
//         stale version (412) reloads and says why, delete from the bar,
//         find a free one and book any free one; a reader key sees no write
//         controls. A screenshot of each main view.
//   a11y  axe-core in each view: no serious or critical violation.
// Environment: INVSYS_E2E_BASE_URL, INVSYS_E2E_{ADMIN,WRITER,READER}_KEY,
// INVSYS_E2E_SCREENSHOTS (a directory), INVSYS_SOURCE_DIR, optional
// INVSYS_CHROMIUM (default /usr/bin/chromium).
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const mode = process.argv[2] ?? "flow";
const base = env("INVSYS_E2E_BASE_URL").replace(/\/$/, "");
const keys = { admin: env("INVSYS_E2E_ADMIN_KEY"), writer: env("INVSYS_E2E_WRITER_KEY"), reader: env("INVSYS_E2E_READER_KEY") };
const shots = env("INVSYS_E2E_SCREENSHOTS");
const webDir = join(env("INVSYS_SOURCE_DIR"), "web");
const require = createRequire(join(webDir, "package.json"));
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
mkdirSync(shots, { recursive: true });

// Every step is bounded: one action or wait never takes longer than this.
const STEP_TIMEOUT_MS = 15_000;
const TZ = "Europe/London";
// A summer Monday far ahead: 24-hour days, no notice rules in the way.
const DAY = "2030-06-03";

function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

async function api(method, path, key, body) {
  const r = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, headers: r.headers };
}

async function newPage(browser) {
  const context = await browser.newContext({ timezoneId: TZ, locale: "en-GB", viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  return { context, page, problems };
}

async function signIn(page, key) {
  await page.goto(base + "/");
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("header .who").waitFor();
}

// The pixel of local time "HH:MM" on DAY in a resource's row (the track
// says which window it shows).
async function xAt(page, track, hhmm) {
  const box = await track.boundingBox();
  const from = Number(await track.getAttribute("data-from-ms"));
  const to = Number(await track.getAttribute("data-to-ms"));
  const t = await page.evaluate(([d, hm]) => new Date(`${d}T${hm}:00`).getTime(), [DAY, hhmm]);
  return { x: box.x + ((t - from) / (to - from)) * box.width, y: box.y + box.height / 2 };
}

async function drag(page, a, b) {
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  const steps = 8;
  for (let i = 1; i <= steps; i++) await page.mouse.move(a.x + ((b.x - a.x) * i) / steps, a.y);
  await page.mouse.up();
}

async function statusText(page) {
  return (await page.locator("#status").textContent()) ?? "";
}

async function waitStatus(page, re) {
  await page.waitForFunction((src) => new RegExp(src).test(document.querySelector("#status")?.textContent ?? ""), re.source, { timeout: STEP_TIMEOUT_MS });
}

async function flow(browser) {
  const { page, problems, context } = await newPage(browser);
  // The gateway's security headers on the page itself.
  const index = await page.request.get(base + "/");
  const csp = index.headers()["content-security-policy"] ?? "";
  check(index.status() === 200, `GET / is ${index.status()}`);
  check(/default-src 'self'/.test(csp) && /frame-ancestors 'none'/.test(csp) && !/unsafe-inline/.test(csp), `CSP: ${csp}`);
  check(index.headers()["cache-control"] === "no-cache", `index.html is revalidated: ${index.headers()["cache-control"]}`);
  check(index.headers()["x-content-type-options"] === "nosniff", "nosniff on the page");
  const script = /src="(\/assets\/app-[^"]+\.js)"/.exec(await index.text())?.[1];
  check(script, "index.html names a content-hashed script");
  const asset = await page.request.get(base + script);
  check(asset.status() === 200 && /immutable/.test(asset.headers()["cache-control"] ?? "") && /javascript/.test(asset.headers()["content-type"] ?? ""), `the script is cached for long: ${JSON.stringify(asset.headers())}`);
  const unknown = await page.request.get(base + "/no-such-page");
  check(unknown.status() === 404 && /problem\+json/.test(unknown.headers()["content-type"] ?? ""), `an unknown path is the 404 problem: ${unknown.status()}`);

  await signIn(page, keys.writer);
  await page.goto(base + "/#/types");
  await page.getByRole("heading", { name: "Resource types" }).waitFor();
  check(await page.getByText("seats").count() > 0, "the Car type's attribute from its JSON Schema is shown");
  await page.screenshot({ path: join(shots, "types.png"), fullPage: true });

  // Create a car with the generated form.
  await page.goto(base + "/#/resources/cars");
  await page.getByLabel("Name").fill("E2E Car");
  await page.getByLabel("seats").fill("5");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByRole("row", { name: /E2E Car/ }).waitFor();
  await waitStatus(page, /Created E2E Car/);
  const cars = (await api("GET", "/api/cars", keys.writer)).body;
  const car = cars.find((c) => c.name === "E2E Car");
  check(car && car.attributes.seats === 5, `the car was stored with seats 5: ${JSON.stringify(cars)}`);
  await page.screenshot({ path: join(shots, "resources.png"), fullPage: true });

  // Book 10:00–12:00 local by dragging across its row.
  await page.goto(`${base}/#/timeline/cars?scale=day&date=${DAY}`);
  const track = page.locator(`.tl-track[data-resource-id="${car.id}"]`);
  await track.waitFor();
  await page.waitForFunction((id) => !document.querySelector(`.tl-track[data-resource-id="${id}"]`)?.classList.contains("loading"), car.id);
  await drag(page, await xAt(page, track, "10:00"), await xAt(page, track, "12:00"));
  const bar = track.locator(".bar");
  await bar.first().waitFor();
  await waitStatus(page, /Booked E2E Car/);
  let allocations = (await api("GET", `/api/cars/${car.id}/allocations`, keys.writer)).body;
  check(allocations.length === 1, `one allocation after the drag: ${JSON.stringify(allocations)}`);
  check(allocations[0].from_datetime === `${DAY}T09:00:00Z` && allocations[0].to_datetime === `${DAY}T11:00:00Z`, `10:00–12:00 London is 09:00Z–11:00Z: ${JSON.stringify(allocations[0])}`);
  const title = await bar.first().getAttribute("title");
  check(/UTC: .*09:00Z/.test(title ?? ""), `the bar's hover shows UTC: ${title}`);
  const firstId = allocations[0].id;

  // An overlapping drag (from 13:00 back to 11:00, starting on free time): 409, the first bar highlighted.
  const p13 = await xAt(page, track, "13:00");
  await drag(page, p13, await xAt(page, track, "11:00"));
  await waitStatus(page, /Conflict/);
  check(await track.locator(`.bar.conflict[data-id="${firstId}"]`).count() === 1, "the conflicting bar is highlighted");
  check(await track.locator(".ghost.rejected").count() === 1, "the refused booking stays drawn as refused");
  check((await api("GET", `/api/cars/${car.id}/allocations`, keys.writer)).body.length === 1, "nothing more was stored");
  await page.screenshot({ path: join(shots, "timeline-conflict.png"), fullPage: true });

  // Reschedule by dragging the bar three hours later (PATCH with If-Match).
  const barBox = await bar.first().boundingBox();
  const start = { x: barBox.x + barBox.width / 2, y: barBox.y + barBox.height / 2 };
  const threeHours = (await xAt(page, track, "13:00")).x - (await xAt(page, track, "10:00")).x;
  await drag(page, start, { x: start.x + threeHours, y: start.y });
  await waitStatus(page, /Moved to/);
  allocations = (await api("GET", `/api/cars/${car.id}/allocations`, keys.writer)).body;
  check(allocations[0].from_datetime === `${DAY}T12:00:00Z` && allocations[0].to_datetime === `${DAY}T14:00:00Z`, `moved to 13:00–15:00 local: ${JSON.stringify(allocations[0])}`);

  // Someone else changes it: the next drag is refused (412), the row reloads, the page says why.
  const other = await api("PATCH", `/api/cars/${car.id}/allocations/${firstId}`, keys.admin, { description: "changed elsewhere" });
  check(other.status === 200, `the out-of-band change: ${other.status}`);
  const box2 = await bar.first().boundingBox();
  const s2 = { x: box2.x + box2.width / 2, y: box2.y + box2.height / 2 };
  await drag(page, s2, { x: s2.x + threeHours, y: s2.y });
  await waitStatus(page, /Precondition Failed|changed this allocation/);
  check(/someone else changed/.test(await statusText(page)), `the 412 is explained: ${await statusText(page)}`);
  await page.waitForFunction(() => /changed elsewhere/.test(document.querySelector(".tl-track .bar")?.textContent ?? ""));
  allocations = (await api("GET", `/api/cars/${car.id}/allocations`, keys.writer)).body;
  check(allocations[0].from_datetime === `${DAY}T12:00:00Z`, "the stale move changed nothing");

  // Now the reloaded version moves (an hour earlier, with the keyboard).
  await bar.first().focus();
  await page.keyboard.press("ArrowLeft");
  await waitStatus(page, /Moved to/);
  allocations = (await api("GET", `/api/cars/${car.id}/allocations`, keys.writer)).body;
  check(allocations[0].from_datetime === `${DAY}T11:45:00Z`, `a quarter hour earlier by keyboard: ${allocations[0].from_datetime}`);

  // A richer picture for the screenshot: another car with maintenance and an open-ended block.
  const van = (await api("POST", "/api/cars", keys.writer, { name: "Pool car 2", attributes: { seats: 7 } })).body;
  await api("POST", `/api/cars/${van.id}/allocations`, keys.writer, { from_datetime: `${DAY}T06:00:00Z`, to_datetime: `${DAY}T08:30:00Z`, allocation_type: "maintenance", description: "tyres" });
  await api("POST", `/api/cars/${van.id}/allocations`, keys.writer, { from_datetime: `${DAY}T15:00:00Z`, to_infinity: true, allocation_type: "reservation", description: "long lease" });
  await page.reload();
  await page.locator(".tl-track .bar").nth(2).waitFor();
  check(await page.locator(".bar.open-end").count() === 1, "the open-ended allocation runs off the right edge");
  check(await page.locator(".gap").count() >= 3, "free gaps are drawn");
  await page.screenshot({ path: join(shots, "timeline-day.png"), fullPage: true });
  await page.getByRole("button", { name: "Week" }).click();
  await page.locator(".tl-track .bar").first().waitFor();
  await page.screenshot({ path: join(shots, "timeline-week.png"), fullPage: true });
  await page.getByRole("button", { name: "Month" }).click();
  await page.locator(".tl-track .bar").first().waitFor();
  await page.getByRole("button", { name: "Zoom in" }).click();
  check((await page.locator(".zoom-level").textContent()) === "2×", "zoomed in");
  await page.screenshot({ path: join(shots, "timeline-month.png"), fullPage: true });

  // Delete from the bar (day view, the E2E Car's booking).
  await page.goto(`${base}/#/timeline/cars?scale=day&date=${DAY}`);
  await track.locator(".bar").first().click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await waitStatus(page, /Deleted the booking/);
  check(await track.locator(".bar").count() === 0, "the bar is gone");
  check((await api("GET", `/api/cars/${car.id}/allocations`, keys.writer)).body.length === 0, "and the allocation");

  // Find a free one, then book any free one.
  await page.goto(`${base}/#/find/cars`);
  await page.getByLabel("From (local time)").fill(`${DAY}T16:00`);
  await page.getByLabel("To (local time)").fill(`${DAY}T17:00`);
  await page.getByRole("button", { name: "Find" }).click();
  await page.getByRole("heading", { name: /1 Car\(s\) free/ }).waitFor();
  check(await page.locator(".free-list li").filter({ hasText: "E2E Car" }).count() === 1, "the E2E Car is free (Pool car 2 is on lease)");
  await page.getByRole("button", { name: "Book any free one" }).click();
  await waitStatus(page, /Booked E2E Car/);
  await page.getByRole("heading", { name: /0 Car\(s\) free/ }).waitFor();
  await page.screenshot({ path: join(shots, "find.png"), fullPage: true });

  // Force delete (admin): the dialog lists what goes with the car.
  await context.close();
  const admin = await newPage(browser);
  await signIn(admin.page, keys.admin);
  await admin.page.goto(base + "/#/resources/cars");
  await admin.page.getByRole("button", { name: "Force delete Pool car 2" }).click();
  const dlg = admin.page.getByRole("dialog");
  await dlg.getByText("also deletes its 2 allocation(s)").waitFor();
  check(await dlg.locator("ul.removes li").count() === 2, "both allocations are listed");
  await admin.page.screenshot({ path: join(shots, "force-delete.png") });
  await dlg.getByRole("button", { name: "Force delete" }).click();
  await waitStatus(admin.page, /Deleted Pool car 2/);
  check((await api("GET", `/api/cars/${van.id}`, keys.admin)).status === 404, "force-deleted");
  problems.push(...admin.problems);
  await admin.context.close();

  // A reader sees no write controls anywhere.
  const reader = await newPage(browser);
  await signIn(reader.page, keys.reader);
  await reader.page.goto(base + "/#/resources/cars");
  await reader.page.getByRole("row", { name: /E2E Car/ }).waitFor();
  check(await reader.page.getByRole("button", { name: /^(Create|Edit|Delete|Force delete)/ }).count() === 0, "no create/edit/delete for a reader");
  await reader.page.goto(`${base}/#/timeline/cars?scale=day&date=${DAY}`);
  await reader.page.locator(".tl-track .bar").first().waitFor();
  check(await reader.page.getByRole("button", { name: "Book…" }).count() === 0, "no Book… for a reader");
  const before = (await api("GET", `/api/cars/${car.id}/allocations`, keys.reader)).body;
  const rtrack = reader.page.locator(`.tl-track[data-resource-id="${car.id}"]`);
  await drag(reader.page, await xAt(reader.page, rtrack, "01:00"), await xAt(reader.page, rtrack, "03:00"));
  check(await reader.page.locator(".ghost").count() === 0, "dragging books nothing for a reader");
  await reader.page.locator(".tl-track .bar").first().click();
  check(await reader.page.getByRole("dialog").getByRole("button", { name: /Delete|Save/ }).count() === 0, "the bar's dialog offers no change");
  await reader.page.keyboard.press("Escape");
  check((await api("GET", `/api/cars/${car.id}/allocations`, keys.reader)).body.length === before.length, "nothing changed");
  await reader.page.goto(`${base}/#/find/cars`);
  await reader.page.getByRole("button", { name: "Find" }).click();
  await reader.page.locator(".results h2").waitFor();
  check(await reader.page.getByRole("button", { name: /^Book/ }).count() === 0, "no booking from Find for a reader");
  await reader.page.screenshot({ path: join(shots, "reader-find.png"), fullPage: true });
  problems.push(...reader.problems);
  await reader.context.close();

  // The API's own refusals (409, 412) are logged by Chromium as failed
  // loads; anything else on the console is a fault (a CSP violation above all).
  const faults = problems.filter((p) => !/Failed to load resource: the server responded with a status of (409|412)/.test(p));
  check(faults.length === 0, `browser console: ${faults.join(" | ")}`);
}

async function a11y(browser) {
  const { page, context } = await newPage(browser);
  const failures = [];
  const audit = async (name) => {
    await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ["violations"] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help, target: v.nodes[0]?.target }));
    });
    const serious = result.filter((v) => v.impact === "serious" || v.impact === "critical");
    console.log(`a11y ${name}: ${result.length} violation(s), ${serious.length} serious or critical`);
    for (const v of result) console.log(`  ${v.impact} ${v.id} (${v.nodes}): ${v.help} ${JSON.stringify(v.target)}`);
    if (serious.length) failures.push(`${name}: ${serious.map((v) => v.id).join(", ")}`);
  };
  // Something to draw: a car with a booking and an open-ended block.
  const car = (await api("POST", "/api/cars", keys.writer, { name: "A11y Car", attributes: { seats: 4 } })).body;
  await api("POST", `/api/cars/${car.id}/allocations`, keys.writer, { from_datetime: `${DAY}T08:00:00Z`, to_datetime: `${DAY}T10:00:00Z`, allocation_type: "booking" });
  await api("POST", `/api/cars/${car.id}/allocations`, keys.writer, { from_datetime: `${DAY}T14:00:00Z`, to_infinity: true, allocation_type: "maintenance" });

  await page.goto(base + "/");
  await page.getByLabel("API key").waitFor();
  // The check can fail: an image without alt text (critical) is found.
  await page.evaluate(axeSource);
  const canary = await page.evaluate(async () => {
    const img = document.createElement("img");
    img.src = "/assets/icon.svg";
    document.body.append(img);
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    img.remove();
    return r.violations.filter((v) => v.impact === "critical").map((v) => v.id);
  });
  check(canary.includes("image-alt"), `axe finds a planted violation: ${JSON.stringify(canary)}`);
  await audit("sign-in");
  await signIn(page, keys.writer);
  for (const [name, hash, ready] of [
    ["types", "#/types", "h1"],
    ["resources", "#/resources/cars", "table.resources tbody tr:not(.placeholder)"],
    ["timeline-day", `#/timeline/cars?scale=day&date=${DAY}`, ".tl-track .bar"],
    ["timeline-week", `#/timeline/cars?scale=week&date=${DAY}`, ".tl-track .bar"],
    ["timeline-month", `#/timeline/cars?scale=month&date=${DAY}`, ".tl-track .bar"],
    ["find", "#/find/cars", "form"],
  ]) {
    await page.goto(base + "/" + hash);
    await page.locator(ready).first().waitFor();
    await audit(name);
  }
  await page.goto(`${base}/#/find/cars`);
  await page.getByRole("button", { name: "Find" }).click();
  await page.locator(".results h2").waitFor();
  await audit("find-results");
  await page.goto(`${base}/#/timeline/cars?scale=day&date=${DAY}`);
  await page.locator(".tl-track .bar").first().click();
  await page.getByRole("dialog").waitFor();
  await audit("allocation-dialog");
  await context.close();
  check(failures.length === 0, `serious accessibility violations: ${failures.join("; ")}`);
}

const browser = await chromium.launch({ executablePath: process.env.INVSYS_CHROMIUM ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
try {
  if (mode === "flow") await flow(browser);
  else if (mode === "a11y") await a11y(browser);
  else throw new Error(`unknown mode ${mode}`);
  console.log(`e2e ${mode}: ok (screenshots in ${shots})`);
} finally {
  await browser.close();
}
