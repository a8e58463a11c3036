// Builds the admin UI into "$INVSYS_WEB_OUT/" (default ../build/web):
// index.html (no-cache at the gateway) and assets/app-<hash>.js /
// assets/app-<hash>.css (content-hashed: cached for a year). One esbuild
// call bundles src/main.ts and the CSS it imports; no inline script or
// style anywhere, for the gateway's Content-Security-Policy.
import { build } from "esbuild";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = resolve(process.env.INVSYS_WEB_OUT ?? join(web, "..", "build", "web"));
const assets = join(out, "assets");

// Only what this script writes is replaced: the Swagger UI's docs/ stays.
rmSync(assets, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  entryPoints: { app: join(web, "src", "main.ts") },
  bundle: true,
  minify: true,
  sourcemap: "linked",
  format: "esm",
  target: ["es2022"],
  outdir: assets,
  entryNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((p) => resolve(p));
const pick = (ext) => {
  const found = outputs.find((p) => p.endsWith(ext) && !p.endsWith(".map"));
  if (!found) throw new Error(`build-app: no ${ext} output`);
  return "/" + relative(out, found).split("\\").join("/");
};
const js = pick(".js");
const css = pick(".css");

// A small icon so browsers' /favicon.ico guess is not needed.
writeFileSync(
  join(assets, "icon.svg"),
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#24292f"/><rect x="2" y="4" width="8" height="3" fill="#5a9bff"/><rect x="6" y="9" width="8" height="3" fill="#f0b400"/></svg>\n`,
);

writeFileSync(
  join(out, "index.html"),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>invsys</title>
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${css}">
<script type="module" src="${js}"></script>
</head>
<body>
<noscript>The invsys admin page needs JavaScript.</noscript>
</body>
</html>
`,
);
console.log(`build-app: ${basename(js)}, ${basename(css)} -> ${out}`);
