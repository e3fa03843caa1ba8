// Bundles the panel into ../optuna_magic/static/widget.js and plotly.js into
// ../optuna_magic/static/plotly.js: two ES modules, the second asked of the kernel by the page
// only once the panel is on screen (src/loader.ts, src/widget.ts).
// plotly.js is CommonJS written for browserify: a few node built-ins need stand-ins, and a
// stylesheet that only map traces use is dropped.
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const shim = (name) => fileURLToPath(new URL(`./src/shims/${name}.ts`, import.meta.url));

const plotlyCompat = {
  name: "plotly-compat",
  setup(build) {
    build.onResolve({ filter: /^buffer$/ }, () => ({ path: shim("buffer") }));
    build.onResolve({ filter: /\.css$/ }, (args) => ({ path: args.path, namespace: "empty-css" }));
    build.onLoad({ filter: /.*/, namespace: "empty-css" }, () => ({ contents: "", loader: "js" }));
  },
};

// plotly on its own: 1.5 MB of the 1.65 MB, and a panel first shows its header, its table or
// its search space, none drawn with plotly. Measured in headless Chromium: the panel's module
// imported in a median 144 ms with plotly inside it as text, 45 ms without it.
const chunk = await esbuild.build({
  entryPoints: ["src/plotlyChunk.ts"],
  outfile: "../optuna_magic/static/plotly.js",
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  define: { global: "window", "define.amd": "false", "process.env.NODE_DEBUG": "false" },
  plugins: [plotlyCompat],
  metafile: true,
  logLevel: "warning",
});
const result = await esbuild.build({
  entryPoints: ["src/widget.ts"],
  outfile: "../optuna_magic/static/widget.js",
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  define: { global: "window", "define.amd": "false", "process.env.NODE_DEBUG": "false" },
  plugins: [plotlyCompat],
  metafile: true,
  logLevel: "warning",
});
// The `_esm` every panel sends: it asks the kernel for widget.js once per page (src/loader.ts).
const loader = await esbuild.build({
  entryPoints: ["src/loader.ts"],
  outfile: "../optuna_magic/static/loader.js",
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  metafile: true,
  logLevel: "warning",
});
// The bundle's version, a hash of both parts: the kernel puts it into every panel's loader and
// answers only requests that name it. Written here so the kernel need not read (and keep) 1.65 MB
// to hash it when a panel module is imported.
const hash = createHash("sha256");
for (const part of ["widget.js", "plotly.js"]) hash.update(readFileSync(`../optuna_magic/static/${part}`));
writeFileSync("../optuna_magic/static/version.txt", hash.digest("hex").slice(0, 24) + "\n");
for (const r of [result, chunk, loader]) {
  const [out] = Object.entries(r.metafile.outputs);
  console.log(`${out[0]}: ${out[1].bytes} bytes`);
}
