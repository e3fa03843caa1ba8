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
import { COMPLETE, FAIL, PRUNED, RUNNING, STATE_NAMES, type TrialRecord } from "../model/record";
import { escapePlotly as esc } from "./dom";

export type Trace = Record<string, unknown>;
export interface Figure {
  data: Trace[];
  layout: Record<string, unknown>;
  /** Shown above the plot instead of (or besides) it, e.g. why there is nothing to draw. */
  note?: string;
}

export const STATE_COLORS: Record<number, string> = {
  [COMPLETE]: "#1f77b4",
  [PRUNED]: "#ff7f0e",
  [FAIL]: "#d62728",
  [RUNNING]: "#2ca02c",
  4: "#7f7f7f",
};

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
const MAX_BARS = 1000;
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
  return {
    data: [
      {
        type: "scatter", mode: "markers", name: esc(name), x: numbers, y: values,
        marker: { color: STATE_COLORS[COMPLETE], size: 6, opacity: 0.7 },
        text: numbers.map((n, i) => hover(n, values[i])),
        hovertemplate: "%{text}<extra></extra>",
      },
      {
        type: "scatter", mode: "lines", name: "best so far", x: steps.map((i) => all.numbers[i]), y: steps.map((i) => best[i]),
        line: { color: "#d62728", shape: "hv", width: 2 }, hoverinfo: "skip",
      },
    ],
    note: keep.length < all.numbers.length
      ? `${keep.length.toLocaleString()} of ${all.numbers.length.toLocaleString()} trials drawn: each stretch's lowest and highest, and every new best`
      : undefined,
    layout: {
      xaxis: { title: { text: "trial" } },
      yaxis: { title: { text: esc(name) }, type: o.log ? "log" : "linear" },
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
    layout: { xaxis: { title: { text: "step" } }, yaxis: { title: { text: "intermediate value" } } },
    note: distinct > total ? `latest ${total} of ${distinct} trials` : undefined,
  };
}

/**
 * A parameter's axis values and ticks: categorical as indexes with their labels (escaped:
 * plotly reads cartesian tick labels as HTML).
 */
function paramAxis(rec: TrialRecord, j: number, rows: number[]): { values: number[]; tickvals?: number[]; ticktext?: string[]; log: boolean } {
  const p = rec.params[j];
  const raw = rows.map((n) => rec.paramValues[j][n]);
  if (p.choices) {
    return { values: raw, tickvals: p.choices.map((_, i) => i), ticktext: p.choices.map(esc), log: false };
  }
  return { values: raw, log: p.log };
}

export function importanceFigure(imp: Importance): Figure {
  const entries = Object.entries(imp.values ?? {}).sort((a, b) => a[1] - b[1]);
  if (entries.length === 0) return empty(imp.note ?? "Importance comes after a few completed trials.");
  return {
    data: [
      {
        type: "bar", orientation: "h", x: entries.map((e) => e[1]), y: entries.map((e) => esc(e[0])),
        text: entries.map((e) => e[1].toFixed(3)), textposition: "auto",
        marker: { color: STATE_COLORS[COMPLETE] }, hovertemplate: "%{y}: %{x:.3f}<extra></extra>",
      },
    ],
    layout: { xaxis: { title: { text: "importance" } }, margin: { l: 140 } },
    note: `${imp.note ?? ""}${imp.n_trials ? ` on ${imp.n_trials} completed trials` : ""}`,
  };
}

export function sliceFigure(rec: TrialRecord, meta: Meta, param: number, objective: number): Figure {
  const { numbers, values } = completed(rec, objective);
  const p = rec.params[param];
  if (!p) return empty("No parameters.");
  const rows: number[] = [];
  const ys: number[] = [];
  numbers.forEach((n, i) => {
    if (!Number.isNaN(rec.paramValues[param][n])) {
      rows.push(n);
      ys.push(values[i]);
    }
  });
  if (rows.length === 0) return empty("No completed trials with this parameter yet.");
  const axis = paramAxis(rec, param, rows);
  const name = objectiveName(meta, objective);
  return {
    data: [
      {
        type: scatterType(rows.length), mode: "markers", x: axis.values, y: ys,
        marker: { color: rows, colorscale: "Blues", showscale: true, colorbar: { title: { text: "trial" } }, size: 7, opacity: 0.8 },
        text: rows.map((n, i) => hoverTrial(rec, n, ys[i], name)), hovertemplate: "%{text}<extra></extra>",
      },
    ],
    layout: {
      xaxis: { title: { text: esc(p.name) }, type: axis.log ? "log" : "linear", ...(axis.tickvals ? { tickvals: axis.tickvals, ticktext: axis.ticktext } : {}) },
      yaxis: { title: { text: esc(name) } },
    },
  };
}

export function contourFigure(rec: TrialRecord, meta: Meta, px: number, py: number, objective: number): Figure {
  if (rec.params.length < 2) return empty("A contour plot needs two parameters.");
  if (px === py) return empty("Choose two different parameters.");
  const { numbers, values } = completed(rec, objective);
  const rows: number[] = [];
  const zs: number[] = [];
  numbers.forEach((n, i) => {
    if (!Number.isNaN(rec.paramValues[px][n]) && !Number.isNaN(rec.paramValues[py][n])) {
      rows.push(n);
      zs.push(values[i]);
    }
  });
  if (rows.length < 3) return empty("A contour plot needs 3 completed trials with both parameters.");
  const ax = paramAxis(rec, px, rows);
  const ay = paramAxis(rec, py, rows);
  const tx = (v: number) => (ax.log ? Math.log10(v) : v);
  const ty = (v: number) => (ay.log ? Math.log10(v) : v);
  const xs = ax.values.map(tx);
  const ys = ay.values.map(ty);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  // Mean objective per cell of a GRID x GRID grid; empty cells are left for plotly to bridge.
  const sum = new Float64Array(GRID * GRID);
  const cnt = new Uint32Array(GRID * GRID);
  const cell = (v: number, lo: number, hi: number) => (hi > lo ? Math.min(GRID - 1, Math.floor(((v - lo) / (hi - lo)) * GRID)) : 0);
  xs.forEach((x, i) => {
    const k = cell(ys[i], y0, y1) * GRID + cell(x, x0, x1);
    sum[k] += zs[i];
    cnt[k] += 1;
  });
  const centre = (lo: number, hi: number, i: number) => lo + ((hi - lo) * (i + 0.5)) / GRID;
  const gx = Array.from({ length: GRID }, (_, i) => centre(x0, x1, i)).map((v) => (ax.log ? 10 ** v : v));
  const gy = Array.from({ length: GRID }, (_, i) => centre(y0, y1, i)).map((v) => (ay.log ? 10 ** v : v));
  const z = Array.from({ length: GRID }, (_, r) => Array.from({ length: GRID }, (_, c) => (cnt[r * GRID + c] ? sum[r * GRID + c] / cnt[r * GRID + c] : null)));
  const name = objectiveName(meta, objective);
  const reverse = (meta.directions?.[objective] ?? "minimize") === "minimize";
  return {
    data: [
      { type: "contour", x: gx, y: gy, z, connectgaps: true, colorscale: "Blues", reversescale: !reverse, colorbar: { title: { text: esc(name) } }, hoverinfo: "skip" },
      {
        type: "scatter", mode: "markers", x: ax.values, y: ay.values, marker: { color: "#000", size: 4, opacity: 0.5 },
        text: rows.map((n, i) => hoverTrial(rec, n, zs[i], name)), hovertemplate: "%{text}<extra></extra>", showlegend: false,
      },
    ],
    layout: {
      xaxis: { title: { text: esc(rec.params[px].name) }, type: ax.log ? "log" : "linear", ...(ax.tickvals ? { tickvals: ax.tickvals, ticktext: ax.ticktext } : {}) },
      yaxis: { title: { text: esc(rec.params[py].name) }, type: ay.log ? "log" : "linear", ...(ay.tickvals ? { tickvals: ay.tickvals, ticktext: ay.ticktext } : {}) },
    },
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
      x: idx.map((i) => points[i][ix]), y: idx.map((i) => points[i][iy]),
      text: idx.map((i) => hoverTrial(rec, rows[i], undefined, "")), hovertemplate: "%{text}<br>%{x}, %{y}<extra></extra>",
      marker: { color: onFront ? "#d62728" : STATE_COLORS[COMPLETE], size: onFront ? 8 : 6, opacity: onFront ? 1 : 0.5 },
      line: { shape: "hv", color: "#d62728" },
    };
  };
  return {
    data: [trace(false), trace(true)],
    layout: { xaxis: { title: { text: esc(nx) } }, yaxis: { title: { text: esc(ny) } } },
    note: `${front.size} trials on the Pareto front of ${rows.length}${directions.length > 2 ? " (all objectives; two shown)" : ""}`,
  };
}

export function timelineFigure(rec: TrialRecord, now: number): Figure {
  const rows = rec.rows().filter((n) => Number.isFinite(rec.start[n])).slice(-MAX_BARS);
  if (rows.length === 0) return empty("No trials yet.");
  const byState = new Map<number, number[]>();
  for (const n of rows) {
    const list = byState.get(rec.state[n]) ?? [];
    list.push(n);
    byState.set(rec.state[n], list);
  }
  const data: Trace[] = [...byState.entries()].map(([state, ns]) => ({
    type: "bar", orientation: "h", name: STATE_NAMES[state]?.toLowerCase() ?? "",
    y: ns, base: ns.map((n) => new Date(rec.start[n] * 1000).toISOString()),
    x: ns.map((n) => 1000 * (Number.isFinite(rec.duration[n]) ? rec.duration[n] : Math.max(0, now - rec.start[n]))),
    marker: { color: STATE_COLORS[state] ?? "#7f7f7f" },
    text: ns.map((n) => `trial ${n}`), hovertemplate: "%{text}<extra></extra>",
  }));
  return {
    data,
    layout: { barmode: "overlay", xaxis: { type: "date", title: { text: "time" } }, yaxis: { title: { text: "trial" } } },
    note: rec.rows().length > rows.length ? `latest ${rows.length} trials` : undefined,
  };
}

