// Plot data and layout for each view, built from the record (data first, picture second, as in
// optuna.visualization). Pure functions: tests assert on these objects, plotly only draws them.
// Strings from the study pass through escapePlotly: plotly renders some HTML in hover text,
// tick labels and titles.

import {
  bestSoFar,
  completed,
  formatNumber,
  objectiveName,
  paramText,
  paretoFront,
  thinForPlot,
  type Importance,
  type Meta,
} from "../model/derive";
import { COMPLETE, PRUNED, RUNNING, STATE_NAMES, type TrialRecord } from "../model/record";
import { SAMPLE_MARKER, SEQUENTIAL_SCALE } from "./colours";
import { escapePlotly as esc } from "./dom";
import { finiteExtent, integerTicks, NUMBER_FORMAT, paramAxisLayout, toAxisUnits } from "./figureAxes";
import { STATE_COLORS, type Figure, type Trace } from "./figureTypes";

export { STATE_COLORS, type Figure, type Trace } from "./figureTypes";
export { timelineFigure } from "./timeline";

/** SVG for small data (no WebGL needed), WebGL past a few thousand points. */
export function scatterType(points: number): string {
  return points > 3000 ? "scattergl" : "scatter";
}

const MAX_LINES = 2000;
/**
 * Markers the history plot draws at most (then thinned, see thinForPlot): ~750 buckets of
 * consecutive trials, 1-2 px each across a notebook-wide plot, so the cloud looks the same as
 * with every trial. The plot is SVG at any size: where the GPU is emulated (headless, VMs,
 * remote desktops) a WebGL plot is read back from the GPU at each redraw, ~130 ms at 50,000
 * trials, more than SVG takes for this many markers.
 */
const MAX_HISTORY_POINTS = 1500;
const GRID = 30;

function empty(note: string): Figure {
  return { data: [], layout: {}, note };
}

function hoverTrial(rec: TrialRecord, n: number, value: number | undefined, label: string): string {
  const parts = [`trial ${n}`];
  if (value !== undefined) parts.push(`${esc(label)}: ${formatNumber(value)}`);
  rec.params.forEach((p, j) => {
    const t = paramText(rec, j, n);
    if (t) parts.push(`${esc(p.name)}: ${esc(t)}`);
  });
  return parts.join("<br>");
}

/**
 * Hover texts of the history plot, kept per record: a completed trial's value and parameters do
 * not change, so a redraw formats only the trials it has not seen (building all 4,000 texts with
 * every parameter cost ~10-15 ms a redraw). Kept while the objective label and the parameter
 * names stay the same; a resent record is a new object, with a new cache.
 */
const historyHover = new WeakMap<TrialRecord, { key: string; texts: Map<number, [number, string]> }>();

function cachedHover(rec: TrialRecord, label: string): (n: number, value: number) => string {
  const key = `${label}\u0000${rec.params.map((p) => p.name).join("\u0000")}`;
  let cache = historyHover.get(rec);
  if (!cache || cache.key !== key) historyHover.set(rec, (cache = { key, texts: new Map() }));
  const texts = cache.texts;
  return (n, value) => {
    const hit = texts.get(n);
    if (hit && Object.is(hit[0], value)) return hit[1];
    const text = hoverTrial(rec, n, value, label);
    texts.set(n, [value, text]);
    return text;
  };
}

export interface HistoryOptions {
  objective: number;
  log: boolean;
}

export function historyFigure(rec: TrialRecord, meta: Meta, o: HistoryOptions): Figure {
  const all = completed(rec, o.objective);
  if (all.numbers.length === 0) return empty("No completed trials yet.");
  const direction = meta.directions?.[o.objective] ?? "minimize";
  const name = objectiveName(meta, o.objective);
  const best = bestSoFar(all.values, direction);
  const keep = thinForPlot(all.values, direction, MAX_HISTORY_POINTS);
  const numbers = keep.map((i) => all.numbers[i]);
  const values = keep.map((i) => all.values[i]);
  const hover = cachedHover(rec, name);
  // The step line needs only its corners: the trials that improved the best, and the last one.
  const steps = keep.filter((i, k) => k === 0 || k === keep.length - 1 || best[i] !== best[keep[k - 1]]);
  // A log axis drops values <= 0 without a word (all of them: an empty plot); say so instead.
  let nonPositive = 0;
  if (o.log) for (const x of all.values) if (!(x > 0)) nonPositive++;
  const log = o.log && nonPositive === 0;
  const notes = [
    keep.length < all.numbers.length
      ? `${keep.length.toLocaleString()} of ${all.numbers.length.toLocaleString()} trials drawn: each stretch's lowest and highest, and every new best`
      : "",
    nonPositive
      ? `Log scale needs positive values: ${nonPositive.toLocaleString()} of ${all.values.length.toLocaleString()} values are zero or negative, so the axis stays linear`
      : "",
  ].filter(Boolean);
  return {
    data: [
      {
        type: "scatter", mode: "markers", name: esc(name), x: numbers, y: values,
        marker: { color: STATE_COLORS[COMPLETE], size: 6, opacity: 0.7 },
        text: numbers.map((n, i) => hover(n, values[i])),
        hovertemplate: "%{text}<extra></extra>",
        customdata: numbers, // the trial a click opens (see plot.ts)
      },
      {
        type: "scatter", mode: "lines", name: "best so far", x: steps.map((i) => all.numbers[i]), y: steps.map((i) => best[i]),
        line: { color: "#d62728", shape: "hv", width: 2 }, hoverinfo: "skip",
      },
    ],
    note: notes.join("; ") || undefined,
    layout: {
      xaxis: { title: { text: "trial" }, ...integerTicks(all.numbers[0], all.numbers[all.numbers.length - 1]) },
      yaxis: { title: { text: esc(name) }, type: log ? "log" : "linear", ...NUMBER_FORMAT },
    },
  };
}

export function intermediateFigure(rec: TrialRecord): Figure {
  if (rec.intCount === 0) return empty("No intermediate values: call report(value, step) in the cell.");
  // Only the latest MAX_LINES trials are drawn: find the lowest of their numbers in one pass over
  // a typed array, then group the values of those trials alone. Grouping every value first (an
  // array per trial, 50,000 of them at 50,000 trials) made each redraw cost 100-290 ms there.
  let top = 0;
  for (let i = 0; i < rec.intCount; i++) top = Math.max(top, rec.intTrial[i]);
  const has = new Uint8Array(top + 1);
  for (let i = 0; i < rec.intCount; i++) has[rec.intTrial[i]] = 1;
  let distinct = 0;
  let cutoff = 0;
  for (let n = top; n >= 0; n--) {
    if (!has[n]) continue;
    if (distinct < MAX_LINES) cutoff = n;
    distinct++;
  }
  const byTrial = new Map<number, Array<[number, number]>>();
  for (let i = 0; i < rec.intCount; i++) {
    const n = rec.intTrial[i];
    if (n < cutoff) continue;
    let list = byTrial.get(n);
    if (!list) byTrial.set(n, (list = []));
    list.push([rec.intStep[i], rec.intValue[i]]);
  }
  const trials = [...byTrial.keys()].sort((a, b) => a - b);
  const groups = new Map<number, { x: (number | null)[]; y: (number | null)[]; text: string[] }>();
  const pruned = { x: [] as number[], y: [] as number[], text: [] as string[] };
  for (const n of trials) {
    const state = rec.state[n];
    let g = groups.get(state);
    if (!g) groups.set(state, (g = { x: [], y: [], text: [] }));
    const points = (byTrial.get(n) ?? []).sort((a, b) => a[0] - b[0]);
    for (const [s, v] of points) {
      g.x.push(s);
      g.y.push(v);
      g.text.push(`trial ${n} (${STATE_NAMES[state]?.toLowerCase() ?? ""})<br>step ${s}: ${formatNumber(v)}`);
    }
    g.x.push(null); // a gap between trials in one trace
    g.y.push(null);
    g.text.push("");
    if (state === PRUNED && rec.prunedStep[n] >= 0) {
      const at = points.find((p) => p[0] === rec.prunedStep[n]) ?? points[points.length - 1];
      if (at) {
        pruned.x.push(at[0]);
        pruned.y.push(at[1]);
        pruned.text.push(`trial ${n} pruned at step ${at[0]}: ${formatNumber(at[1])}`);
      }
    }
  }
  const total = trials.length;
  let minStep = Infinity;
  let maxStep = -Infinity;
  for (let i = 0; i < rec.intCount; i++) {
    if (rec.intTrial[i] < cutoff) continue;
    minStep = Math.min(minStep, rec.intStep[i]);
    maxStep = Math.max(maxStep, rec.intStep[i]);
  }
  // SVG, not WebGL: the lines of one state are one trace (plotly draws each trial's stretch as
  // its own path and styles each, ~25 ms of a ~130 ms redraw at 2,000 lines in a profile), while
  // a WebGL context costs ~0.7 s a redraw where the GPU is emulated.
  const data: Trace[] = [...groups.entries()].map(([state, g]) => ({
    type: "scatter", mode: "lines", name: STATE_NAMES[state]?.toLowerCase() ?? "",
    x: g.x, y: g.y, text: g.text, hovertemplate: "%{text}<extra></extra>", connectgaps: false,
    line: { color: STATE_COLORS[state] ?? "#7f7f7f", width: 1 }, opacity: state === RUNNING ? 1 : 0.6,
  }));
  data.push({
    type: "scatter", mode: "markers", name: "pruned here", x: pruned.x, y: pruned.y, text: pruned.text,
    hovertemplate: "%{text}<extra></extra>", marker: { symbol: "x", size: 8, color: STATE_COLORS[PRUNED] },
  });
  return {
    data,
    layout: {
      xaxis: { title: { text: "step" }, ...integerTicks(minStep, maxStep) },
      yaxis: { title: { text: "intermediate value" }, ...NUMBER_FORMAT },
    },
    note: distinct > total ? `latest ${total} of ${distinct} trials` : undefined,
  };
}

/** Importance names longer than this are cut short on the axis (the hover has them whole). */
const IMPORTANCE_LABEL = 28;

/**
 * A bar per parameter, the most important on top. `params` are the record's parameter names:
 * those the evaluator left out (PED-ANOVA rates only the parameters every trial has, so a
 * conditional one is missing) are listed too, as "not rated", and a zero is labelled "0", not
 * left as an invisible bar.
 */
export function importanceFigure(imp: Importance, params: string[] = []): Figure {
  const values = imp.values ?? {};
  const rated = Object.entries(values).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? 1 : -1));
  if (rated.length === 0) return empty(imp.note ?? "Importance comes after a few completed trials.");
  // Own keys only: a parameter named "constructor" is not rated by Object.prototype.
  const isRated = new Set(rated.map((e) => e[0]));
  const unrated = params.filter((p) => !isRated.has(p));
  // Bottom to top: unrated first (at the bottom), then from the least to the most important.
  const names = [...[...unrated].reverse(), ...rated.map((e) => e[0])];
  const x = [...unrated.map(() => 0), ...rated.map((e) => e[1])];
  const text = [...unrated.map(() => "not rated"), ...rated.map((e) => (e[1] === 0 ? "0" : e[1] < 0.001 ? "<0.001" : e[1].toFixed(3)))];
  const short = (s: string) => (s.length > IMPORTANCE_LABEL ? `${s.slice(0, IMPORTANCE_LABEL - 1)}…` : s);
  const longest = Math.max(...names.map((s) => short(s).length));
  const top = Math.max(...x, 0);
  return {
    data: [
      {
        type: "bar", orientation: "h", x, y: names.map(esc), text, textposition: "outside", cliponaxis: false,
        marker: { color: names.map((n) => (isRated.has(n) ? STATE_COLORS[COMPLETE] : "#7f7f7f")) },
        customdata: names.map((n, i) => `${esc(n)}: ${text[i]}`), hovertemplate: "%{customdata}<extra></extra>",
      },
    ],
    layout: {
      // Room for the text right of the longest bar.
      xaxis: { title: { text: "importance" }, range: [0, (top || 1) * 1.18], ...NUMBER_FORMAT },
      yaxis: { tickmode: "array", tickvals: names.map(esc), ticktext: names.map((n) => esc(short(n))), automargin: true },
      // Room for the labels (plotly's automargin is bounded by the plot's size).
      margin: { l: Math.min(260, Math.max(60, 12 + longest * 7)), r: 20, t: 20, b: 50 },
      bargap: names.length > 20 ? 0.1 : 0.25,
    },
    note: [
      `${imp.note ?? ""}${imp.n_trials ? ` on ${imp.n_trials} completed trials` : ""}`,
      unrated.length ? `${unrated.length} not rated: not set in every trial` : "",
    ].filter(Boolean).join("; "),
  };
}

/** Trials with a finite value of `objective` and a value of every parameter in `params`. */
function rowsWith(rec: TrialRecord, objective: number, params: number[]): { rows: number[]; values: number[] } {
  const { numbers, values } = completed(rec, objective);
  const rows: number[] = [];
  const out: number[] = [];
  numbers.forEach((n, i) => {
    if (params.every((j) => !Number.isNaN(rec.paramValues[j][n]))) {
      rows.push(n);
      out.push(values[i]);
    }
  });
  return { rows, values: out };
}

export function sliceFigure(rec: TrialRecord, meta: Meta, param: number, objective: number): Figure {
  const p = rec.params[param];
  if (!p) return empty("No parameters.");
  const { rows, values: ys } = rowsWith(rec, objective, [param]);
  if (rows.length === 0) return empty("No completed trials with this parameter yet.");
  const xs = rows.map((n) => rec.paramValues[param][n]);
  const name = objectiveName(meta, objective);
  return {
    data: [
      {
        type: scatterType(rows.length), mode: "markers", x: xs, y: ys, customdata: rows,
        // The trial's number: a scale whose both ends show on white and on the dark theme
        // (plotly's Blues ended in light grey: the latest trials vanished on white).
        marker: {
          color: rows, colorscale: SEQUENTIAL_SCALE, showscale: true, size: 7, opacity: 0.85,
          colorbar: { title: { text: "trial" }, ...integerTicks(rows[0], rows[rows.length - 1]) },
        },
        text: rows.map((n, i) => hoverTrial(rec, n, ys[i], name)), hovertemplate: "%{text}<extra></extra>",
      },
    ],
    layout: {
      xaxis: paramAxisLayout(p, xs, { title: p.name }),
      yaxis: { title: { text: esc(name) }, ...NUMBER_FORMAT },
    },
  };
}

/**
 * The mean objective on a GRID x GRID lattice whose outer nodes lie on the data's extent, so
 * the fill reaches the axes (cell centres left a blank margin of half a cell, and plotly's
 * padded range another one). Empty nodes are left for plotly to bridge.
 */
function contourGrid(xs: number[], ys: number[], zs: number[], xr: [number, number], yr: [number, number]): { gx: number[]; gy: number[]; z: (number | null)[][] } {
  const sum = new Float64Array(GRID * GRID);
  const cnt = new Uint32Array(GRID * GRID);
  const node = (v: number, [lo, hi]: [number, number]) => (hi > lo ? Math.round(((v - lo) / (hi - lo)) * (GRID - 1)) : 0);
  xs.forEach((x, i) => {
    const k = node(ys[i], yr) * GRID + node(x, xr);
    sum[k] += zs[i];
    cnt[k] += 1;
  });
  const at = ([lo, hi]: [number, number], i: number) => lo + ((hi - lo) * i) / (GRID - 1);
  return {
    gx: Array.from({ length: GRID }, (_, i) => at(xr, i)),
    gy: Array.from({ length: GRID }, (_, i) => at(yr, i)),
    z: Array.from({ length: GRID }, (_, r) => Array.from({ length: GRID }, (_, c) => (cnt[r * GRID + c] ? sum[r * GRID + c] / cnt[r * GRID + c] : null))),
  };
}

export function contourFigure(rec: TrialRecord, meta: Meta, px: number, py: number, objective: number): Figure {
  if (rec.params.length < 2) return empty("A contour plot needs two parameters.");
  if (px === py) return empty("Choose two different parameters.");
  const { rows, values: zs } = rowsWith(rec, objective, [px, py]);
  if (rows.length < 3) return empty("A contour plot needs 3 completed trials with both parameters.");
  const [p, q] = [rec.params[px], rec.params[py]];
  const xv = rows.map((n) => rec.paramValues[px][n]);
  const yv = rows.map((n) => rec.paramValues[py][n]);
  const xaxis = paramAxisLayout(p, xv, { title: p.name, edge: true });
  const yaxis = paramAxisLayout(q, yv, { title: q.name, edge: true });
  // The lattice lies in the axes' own units (log10 on a log axis), over the range they show.
  const xr = xaxis.range as [number, number];
  const yr = yaxis.range as [number, number];
  const grid = contourGrid(xv.map((v) => toAxisUnits(xaxis, v)), yv.map((v) => toAxisUnits(yaxis, v)), zs, xr, yr);
  const back = (layout: Record<string, unknown>, v: number) => (layout.type === "log" ? 10 ** v : v);
  const name = objectiveName(meta, objective);
  const minimize = (meta.directions?.[objective] ?? "minimize") === "minimize";
  const zr = finiteExtent(zs);
  return {
    data: [
      {
        type: "contour", x: grid.gx.map((v) => back(xaxis, v)), y: grid.gy.map((v) => back(yaxis, v)), z: grid.z, connectgaps: true,
        // The best values get the bright (orange) end, as in parallel coordinates.
        colorscale: SEQUENTIAL_SCALE, reversescale: minimize,
        ...(zr ? { zmin: zr[0], zmax: zr[1] } : {}),
        colorbar: { title: { text: esc(name) }, ...NUMBER_FORMAT }, hoverinfo: "skip",
      },
      {
        // White dots with a dark rim: seen on any fill and either theme (black ones were not).
        type: "scatter", mode: "markers", x: xv, y: yv, marker: SAMPLE_MARKER, cliponaxis: false, customdata: rows,
        text: rows.map((n, i) => hoverTrial(rec, n, zs[i], name)), hovertemplate: "%{text}<extra></extra>", showlegend: false,
      },
    ],
    layout: { xaxis, yaxis },
  };
}

export function paretoFigure(rec: TrialRecord, meta: Meta, ix: number, iy: number): Figure {
  const directions = meta.directions ?? ["minimize"];
  if (directions.length < 2) return empty("The Pareto front needs two or more objectives (--directions).");
  const rows: number[] = [];
  const points: number[][] = [];
  for (let n = 0; n < rec.size; n++) {
    if (rec.state[n] !== COMPLETE) continue;
    const p = rec.values.map((c) => c[n]);
    if (p.every(Number.isFinite)) {
      rows.push(n);
      points.push(p);
    }
  }
  if (rows.length === 0) return empty("No completed trials yet.");
  const front = new Set(paretoFront(points, directions));
  const [nx, ny] = [objectiveName(meta, ix), objectiveName(meta, iy)];
  const trace = (onFront: boolean): Trace => {
    const idx = points.map((_, i) => i).filter((i) => front.has(i) === onFront);
    if (onFront) idx.sort((a, b) => points[a][ix] - points[b][ix]);
    return {
      type: scatterType(idx.length), mode: onFront ? "lines+markers" : "markers", name: onFront ? "Pareto front" : "dominated",
      x: idx.map((i) => points[i][ix]), y: idx.map((i) => points[i][iy]), customdata: idx.map((i) => rows[i]),
      text: idx.map((i) => hoverTrial(rec, rows[i], undefined, "")), hovertemplate: "%{text}<br>%{x}, %{y}<extra></extra>",
      marker: { color: onFront ? "#d62728" : STATE_COLORS[COMPLETE], size: onFront ? 8 : 6, opacity: onFront ? 1 : 0.5 },
      line: { shape: "hv", color: "#d62728" },
    };
  };
  return {
    data: [trace(false), trace(true)],
    layout: { xaxis: { title: { text: esc(nx) }, ...NUMBER_FORMAT }, yaxis: { title: { text: esc(ny) }, ...NUMBER_FORMAT } },
    note: `${front.size} trials on the Pareto front of ${rows.length}${directions.length > 2 ? " (all objectives; two shown)" : ""}`,
  };
}
