// Drives /docs/ (Swagger UI) in headless Chromium for test_docs_browser.py:
//   node docs_swagger.mjs <base url> <reader key> <screenshot path> <web dir>
// Prints one JSON object of what it saw; the Python test asserts on it.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [base, key, screenshot, webDir] = process.argv.slice(2);
const require = createRequire(join(webDir, 'package.json'));
const { chromium } = require('playwright-core');

const seen = { cspViolations: [], pageErrors: [] };
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  // Root in a container has no user namespace for Chromium's sandbox.
  args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.setDefaultTimeout(20000);
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) seen.cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => seen.pageErrors.push(String(e)));
  const descriptionFetches = [];
  page.on('response', (r) => {
    if (r.url().endsWith('/api/openapi.json')) descriptionFetches.push(r.status());
  });

  await page.goto(base + '/docs/');
  await page.waitForSelector('#key-form:not([hidden])');
  seen.tagsWithoutKey = await page.locator('.opblock-tag').count();

  // A key that is not one: refused, still nothing shown.
  await page.fill('#api-key', 'invsys_' + '0'.repeat(64));
  await page.click('#key-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('key-error').textContent !== '');
  seen.wrongKeyMessage = await page.textContent('#key-error');
  seen.tagsWithWrongKey = await page.locator('.opblock-tag').count();

  await page.fill('#api-key', key);
  await page.click('#key-form button[type=submit]');
  await page.waitForSelector('.opblock-tag');
  seen.tags = await page.locator('.opblock-tag').evaluateAll((els) =>
    els.map((e) => e.getAttribute('data-tag')));
  seen.storedKeyMatches = await page.evaluate(
    (k) => sessionStorage.getItem('invsys.apiKey') === k, key);
  seen.descriptionFetches = [...descriptionFetches];  // before the reload below

  // "Try it out" on GET /cars: the request carries the tab's key.
  const op = page.locator('#operations-cars-listResources_cars');
  await op.locator('.opblock-summary').click();
  await op.locator('.try-out__btn').click();
  const [request] = await Promise.all([
    page.waitForRequest((r) => new URL(r.url()).pathname === '/api/cars'),
    op.locator('.execute').click(),
  ]);
  const response = await request.response();
  seen.tryItOut = {
    authorization: (await request.allHeaders()).authorization === 'Bearer ' + key,
    status: response.status(),
  };
  await op.locator('.live-responses-table .response-col_status').first().waitFor();
  await op.locator('.opblock-summary').click();  // folded again for the picture
  // The picture for the README: the collections, as a reader first sees them.
  await page.locator('.opblock-tag[data-tag=cars]').evaluate((e) => e.scrollIntoView());
  await page.screenshot({ path: screenshot, fullPage: false });

  // A new tab of the same session keeps the key; "Forget the key" asks again.
  await page.reload();
  await page.waitForSelector('.opblock-tag');
  seen.keptAfterReload = true;
  await page.click('#forget-key');
  await page.waitForSelector('#key-form:not([hidden])');
  seen.tagsAfterForget = await page.locator('.opblock-tag').count();
  seen.storedAfterForget = await page.evaluate(() => sessionStorage.getItem('invsys.apiKey'));
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
