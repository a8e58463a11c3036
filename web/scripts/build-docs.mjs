// Swagger UI for /docs/: the pinned swagger-ui-dist's files (no CDN) and our
// own page and initializer (web/docs/; no inline script, so the page's
// Content-Security-Policy can forbid them) into "$INVSYS_WEB_OUT/docs/".
// nginx serves that directory as static files (nginx/invsys.conf.template).
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = process.env.INVSYS_WEB_OUT;
if (!out) {
  console.error('build-docs.mjs: set INVSYS_WEB_OUT to the web root nginx serves');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const own = resolve(here, '..', 'docs');
const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const target = resolve(out, 'docs');

// Only what the page loads, and the package's licence files beside them.
// Not its index.html or swagger-initializer.js (ours replace them) nor
// oauth2-redirect.* (no OAuth here).
const fromDist = [
  'swagger-ui-bundle.js',
  'swagger-ui.css',
  'favicon-16x16.png',
  'favicon-32x32.png',
  'LICENSE',
  'NOTICE',
];

rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
for (const name of fromDist) {
  const from = join(dist, name);
  if (!existsSync(from)) {
    console.error(`build-docs.mjs: ${from} is missing (npm ci in web/?)`);
    process.exit(1);
  }
  copyFileSync(from, join(target, name));
}
for (const name of readdirSync(own)) copyFileSync(join(own, name), join(target, name));
console.log(`build-docs.mjs: Swagger UI in ${target}`);
