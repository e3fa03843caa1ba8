// Bundles the panel into ../optuna_magic/static/widget.js (one ES module; plotly inside it as
// text, run on first use).
// plotly.js is CommonJS written for browserify: a few node built-ins need stand-ins, and a
// stylesheet that only map traces use is dropped.
import * as esbuild from "esbuild";
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

// plotly first, on its own: the panel's bundle carries it as text and runs it on first use.
const chunk = await esbuild.build({
  entryPoints: ["src/plotlyChunk.ts"],
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  define: { global: "window", "define.amd": "false", "process.env.NODE_DEBUG": "false" },
  plugins: [plotlyCompat],
  write: false,
  logLevel: "warning",
});
const plotlySource = {
  name: "plotly-source",
  setup(build) {
    build.onResolve({ filter: /^virtual:plotly-source$/ }, (args) => ({ path: args.path, namespace: "plotly-source" }));
    build.onLoad({ filter: /.*/, namespace: "plotly-source" }, () => ({ contents: chunk.outputFiles[0].text, loader: "text" }));
  },
};

const result = await esbuild.build({
  entryPoints: ["src/widget.ts"],
  outfile: "../optuna_magic/static/widget.js",
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  define: { global: "window", "define.amd": "false", "process.env.NODE_DEBUG": "false" },
  plugins: [plotlyCompat, plotlySource],
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
for (const r of [result, loader]) {
  const [out] = Object.entries(r.metafile.outputs);
  console.log(`${out[0]}: ${out[1].bytes} bytes`);
}
