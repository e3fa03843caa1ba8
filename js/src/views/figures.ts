// Plot data and layout for each view, built from the record (data first, picture second, as in
// optuna.visualization). Pure functions: tests assert on these objects, plotly only draws them.
// Strings from the study pass through escapePlotly: plotly renders some HTML in hover text,
// tick labels and titles.

import { completeColumns, gather, log10Column, splitInfeasible, withParams } from "../model/columns";
import {
  bestSoFarAt,
  evenSample,
  formatNumber,
  objectiveName,
  paramText,
  sampleRows,
  thinForPlot,
  type Importance,
  type Meta,
} from "../model/derive";
import { COMPLETE, PRUNED, RUNNING, STATE_NAMES, type TrialRecord } from "../model/record";
import { INFEASIBLE_COLOR, INFEASIBLE_MARKER, SAMPLE_MARKER, SEQUENTIAL_SCALE } from "./colours";
import { escapePlotly as esc } from "./dom";
import { extremes, finiteExtent, integerTicks, NUMBER_FORMAT, paramAxisLayout } from "./figureAxes";
import { STATE_COLORS, type Figure, type Trace } from "./figureTypes";

export { STATE_COLORS, type Figure, type Trace } from "./figureTypes";
export { paretoFigure } from "./pareto";
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
/**
 * Markers slice, contour and the Pareto front draw at most (as rank, MAX_RANK_POINTS): past them
 * the best tenth and an even sample of the rest (sampleRows). SVG at any size, as history: in
 * headless Chromium (software WebGL) a scattergl plot cost ~1 s a redraw at 50,000 points and
 * 31 s at 1,000,000 (the builder's hover texts alone ~14 s there), and 3,000 SVG markers with
 * a colour scale ~1.7 s a first draw.
 */
export const MAX_POINTS = 1500;
/** Infeasible (grey) markers drawn at most: an even sample of them past it. */
export const MAX_INFEASIBLE = 300;

/** "1,500 of 50,000 trials drawn: the best and an even sample of the rest", or "". */
export function sampledNote(drawn: number, total: number, what = "the best and an even sample of the rest"): string {
  return drawn < total ? `${drawn.toLocaleString()} of ${total.toLocaleString()} trials drawn: ${what}` : "";
}

function empty(note: string): Figure {
  return { data: [], layout: {}, note };
}

/** A trial's hover: its number, value, constraint (where set) and parameters. */
export function hoverTrial(rec: TrialRecord, n: number, value: number | undefined, label: string): string {
  const parts = [`trial ${n}`];
  if (value !== undefined) parts.push(`${esc(label)}: ${formatNumber(value)}`);
  const c = rec.constraint[n];
  if (!Number.isNaN(c) && c !== undefined) parts.push(`${c > 0 ? "infeasible" : "feasible"}: largest constraint ${formatNumber(c)}`);
  rec.params.forEach((p, j) => {
    const t = paramText(rec, j, n);
    if (t) parts.push(`${esc(p.name)}: ${esc(t)}`);
  });
  return parts.join("<br>");
}

/**
 * Hover texts of the scatter views (history, slice, contour, Pareto), kept per record and label:
 * a completed trial's value and parameters do not change, so a redraw formats only the trials it
 * has not seen (building all 4,000 texts with every parameter cost ~10-15 ms a redraw), and only
 * for the points drawn (at most MAX_POINTS). Kept while the objective label and the parameter
 * names stay the same; a resent record is a new object, with new caches.
 */
const hoverCaches = new WeakMap<TrialRecord, Map<string, Map<number, [number | undefined, string]>>>();

export function cachedHover(rec: TrialRecord, label: string): (n: number, value: number | undefined) => string {
  const key = `${label}\u0000${rec.params.map((p) => p.name).join("\u0000")}`;
  let caches = hoverCaches.get(rec);
  if (!caches) hoverCaches.set(rec, (caches = new Map()));
  let texts = caches.get(key);
  if (!texts) {
    if (caches.size > 8) caches.clear(); // labels of a few objectives; renamed params drop the old
    caches.set(key, (texts = new Map()));
  }
  const cache = texts;
  return (n, value) => {
    const hit = cache.get(n);
    if (hit && Object.is(hit[0], value)) return hit[1];
    const text = hoverTrial(rec, n, value, label);
    cache.set(n, [value, text]);
    return text;
  };
}

/** Infeasible trials (a constraint above 0) as one muted trace: open grey markers, at most
 * MAX_INFEASIBLE (an even sample of them). */
function infeasibleTrace(rec: TrialRecord, xs: ArrayLike<number>, ys: ArrayLike<number>, label: string, numbers: ArrayLike<number> = xs): Trace {
  const keep = evenSample(xs.length, MAX_INFEASIBLE);
  const [x, y, n] = [keep.map((i) => xs[i]), keep.map((i) => ys[i]), keep.map((i) => numbers[i])];
  const hover = cachedHover(rec, label);
  return {
    type: "scatter", mode: "markers", name: "infeasible", x, y, marker: INFEASIBLE_MARKER,
    customdata: n, text: n.map((t, i) => hover(t, y[i])), hovertemplate: "%{text}<extra></extra>",
  };
}

export interface HistoryOptions {
  objective: number;
  log: boolean;
}

export function historyFigure(rec: TrialRecord, meta: Meta, o: HistoryOptions): Figure {
  // Typed columns kept between redraws (completeColumns), and the best so far only where drawn:
  // plain arrays of every trial cost ~300 ms a redraw at 1,000,000 trials.
  const all = completeColumns(rec, o.objective);
  const count = all.numbers.length;
  if (count === 0) return empty("No completed trials yet.");
  const direction = meta.directions?.[o.objective] ?? "minimize";
  const name = objectiveName(meta, o.objective);
  // Best so far of feasible trials only, as Optuna's best trial; infeasible ones are drawn apart.
  const kept = thinForPlot(all.values, direction, MAX_HISTORY_POINTS, all.infeasible);
  const best = bestSoFarAt(all.values, direction, all.infeasible, kept);
  const keep = kept.filter((i) => !all.infeasible[i]);
  const apart = kept.filter((i) => all.infeasible[i]);
  const numbers = keep.map((i) => all.numbers[i]);
  const values = keep.map((i) => all.values[i]);
  const hover = cachedHover(rec, name);
  // The step line needs only its corners: the trials that improved the best, and the last one.
  const steps = kept.map((i, k) => [i, best[k]]).filter(([, b], k) => !Number.isNaN(b) && (k === kept.length - 1 || Number.isNaN(best[k - 1]) || b !== best[k - 1]));
  // A log axis drops values <= 0 without a word (all of them: an empty plot); say so instead.
  let nonPositive = 0;
  if (o.log) for (let i = 0; i < count; i++) if (!(all.values[i] > 0)) nonPositive++;
  const log = o.log && nonPositive === 0;
  let nInfeasible = 0;
  for (let i = 0; i < count; i++) nInfeasible += all.infeasible[i]; // indexed: for-of over a typed array was ~40 ms here
  const notes = [
    kept.length < count
      ? `${kept.length.toLocaleString()} of ${count.toLocaleString()} trials drawn: each stretch's lowest and highest, and every new best`
      : "",
    apart.length ? `${nInfeasible.toLocaleString()} infeasible (a constraint > 0): grey, not in the best so far${apart.length > MAX_INFEASIBLE ? ` (${MAX_INFEASIBLE} of them drawn)` : ""}` : "",
    nonPositive
      ? `Log scale needs positive values: ${nonPositive.toLocaleString()} of ${count.toLocaleString()} values are zero or negative, so the axis stays linear`
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
        type: "scatter", mode: "lines", name: "best so far", x: steps.map(([i]) => all.numbers[i]), y: steps.map(([, b]) => b),
        line: { color: "#d62728", shape: "hv", width: 2 }, hoverinfo: "skip",
      },
      ...(apart.length ? [infeasibleTrace(rec, apart.map((i) => all.numbers[i]), apart.map((i) => all.values[i]), name)] : []),
    ],
    note: notes.join("; ") || undefined,
    layout: {
      xaxis: { title: { text: "trial" }, ...integerTicks(all.numbers[0], all.numbers[count - 1]) },
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
  // No hover text per point (10,000 strings at 2,000 trials of 5 steps): the trial's number is
  // its customdata and plotly formats step and value as the axes do, only for the point hovered.
  const groups = new Map<number, { x: (number | null)[]; y: (number | null)[]; trial: (number | null)[] }>();
  const pruned = { x: [] as number[], y: [] as number[], text: [] as string[] };
  for (const n of trials) {
    const state = rec.state[n];
    let g = groups.get(state);
    if (!g) groups.set(state, (g = { x: [], y: [], trial: [] }));
    const points = (byTrial.get(n) ?? []).sort((a, b) => a[0] - b[0]);
    for (const [s, v] of points) {
      g.x.push(s);
      g.y.push(v);
      g.trial.push(n);
    }
    g.x.push(null); // a gap between trials in one trace
    g.y.push(null);
    g.trial.push(null);
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
    x: g.x, y: g.y, customdata: g.trial, connectgaps: false,
    hovertemplate: `trial %{customdata} (${STATE_NAMES[state]?.toLowerCase() ?? ""})<br>step %{x}: %{y}<extra></extra>`,
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
      // Hover values with 6 significant digits, as formatNumber (not the ticks' few).
      yaxis: { title: { text: "intermediate value" }, ...NUMBER_FORMAT, hoverformat: ".6~g" },
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

export function sliceFigure(rec: TrialRecord, meta: Meta, param: number, objective: number): Figure {
  const p = rec.params[param];
  if (!p) return empty("No parameters.");
  const all = withParams(rec, completeColumns(rec, objective), [param]);
  if (all.numbers.length === 0) return empty("No completed trials with this parameter yet.");
  const split = splitInfeasible(rec, all);
  const col = rec.paramValues[param];
  const name = objectiveName(meta, objective);
  // Past MAX_POINTS: the best tenth and an even sample of the rest (the axes span them all).
  const keep = sampleRows(split.values, meta.directions?.[objective] ?? "minimize", MAX_POINTS);
  const rows = keep.map((i) => split.rows[i]);
  const ys = keep.map((i) => split.values[i]);
  const xs = rows.map((n) => col[n]);
  const apart = split.apart;
  const hover = cachedHover(rec, name);
  const [first, last] = [all.numbers[0], all.numbers[all.numbers.length - 1]];
  return {
    data: [
      {
        type: "scatter", mode: "markers", name: "feasible", x: xs, y: ys, customdata: rows, showlegend: apart.rows.length > 0,
        // The trial's number: a scale whose both ends show on white and on the dark theme
        // (plotly's Blues ended in light grey: the latest trials vanished on white).
        marker: {
          color: rows, colorscale: SEQUENTIAL_SCALE, showscale: true, size: 7, opacity: 0.85,
          cmin: first, cmax: last,
          colorbar: { title: { text: "trial" }, ...integerTicks(first, last) },
        },
        text: rows.map((n, i) => hover(n, ys[i])), hovertemplate: "%{text}<extra></extra>",
      },
      ...(apart.rows.length ? [infeasibleTrace(rec, gather(col, apart.rows), apart.values, name, apart.rows)] : []),
    ],
    layout: {
      xaxis: paramAxisLayout(p, extremes(col, all.numbers), { title: p.name }),
      yaxis: { title: { text: esc(name) }, ...NUMBER_FORMAT },
    },
    note: [
      sampledNote(rows.length, split.rows.length),
      apart.rows.length > MAX_INFEASIBLE ? `${MAX_INFEASIBLE} of ${apart.rows.length.toLocaleString()} infeasible trials drawn` : "",
    ].filter(Boolean).join("; ") || undefined,
  };
}

/**
 * The mean objective on a GRID x GRID lattice whose outer nodes lie on the data's extent, so
 * the fill reaches the axes (cell centres left a blank margin of half a cell, and plotly's
 * padded range another one). Empty nodes are left for plotly to bridge.
 */
function contourGrid(xs: Float64Array, ys: Float64Array, rows: ArrayLike<number>, zs: ArrayLike<number>, xr: [number, number], yr: [number, number]): { gx: number[]; gy: number[]; z: (number | null)[][] } {
  const sum = new Float64Array(GRID * GRID);
  const cnt = new Uint32Array(GRID * GRID);
  // One loop, no closure or array a point: a node() closure destructuring the range cost ~70 ms
  // at 1,000,000 trials. `xs`, `ys`: the parameters' columns in axis units, by trial number.
  const [xlo, xspan] = [xr[0], xr[1] - xr[0]];
  const [ylo, yspan] = [yr[0], yr[1] - yr[0]];
  for (let i = 0; i < rows.length; i++) {
    const n = rows[i];
    const x = xs[n];
    const y = ys[n];
    const k = (yspan > 0 ? Math.round(((y - ylo) / yspan) * (GRID - 1)) : 0) * GRID + (xspan > 0 ? Math.round(((x - xlo) / xspan) * (GRID - 1)) : 0);
    sum[k] += zs[i];
    cnt[k] += 1;
  }
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
  const { numbers: rows, values: zs, infeasible } = withParams(rec, completeColumns(rec, objective), [px, py]);
  if (rows.length < 3) return empty("A contour plot needs 3 completed trials with both parameters.");
  const [p, q] = [rec.params[px], rec.params[py]];
  const [xc, yc] = [rec.paramValues[px], rec.paramValues[py]];
  const xaxis = paramAxisLayout(p, extremes(xc, rows), { title: p.name, edge: true });
  const yaxis = paramAxisLayout(q, extremes(yc, rows), { title: q.name, edge: true });
  // The lattice lies in the axes' own units (log10 on a log axis), over the range they show.
  const xr = xaxis.range as [number, number];
  const yr = yaxis.range as [number, number];
  const units = (layout: Record<string, unknown>, j: number) => (layout.type === "log" ? log10Column(rec, j) : rec.paramValues[j]);
  const grid = contourGrid(units(xaxis, px), units(yaxis, py), rows, zs, xr, yr);
  const back = (layout: Record<string, unknown>, v: number) => (layout.type === "log" ? 10 ** v : v);
  const name = objectiveName(meta, objective);
  const minimize = (meta.directions?.[objective] ?? "minimize") === "minimize";
  const zr = finiteExtent(zs);
  // The fill is of every trial; the dots past MAX_POINTS the best tenth and an even sample.
  const keep = sampleRows(zs, minimize ? "minimize" : "maximize", MAX_POINTS, infeasible);
  const dots = keep.map((i) => rows[i]);
  const bad = dots.map((n) => rec.infeasible(n));
  const hover = cachedHover(rec, name);
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
        // White dots with a dark rim: seen on any fill and either theme (black ones were not);
        // an infeasible trial's dot is a grey cross.
        type: "scatter", mode: "markers", x: keep.map((i) => xc[rows[i]]), y: keep.map((i) => yc[rows[i]]), cliponaxis: false, customdata: dots,
        marker: bad.some(Boolean) ? { ...SAMPLE_MARKER, color: bad.map((b) => (b ? INFEASIBLE_COLOR : SAMPLE_MARKER.color)), symbol: bad.map((b) => (b ? "x" : "circle")) } : SAMPLE_MARKER,
        text: keep.map((i) => hover(rows[i], zs[i])), hovertemplate: "%{text}<extra></extra>", showlegend: false,
      },
    ],
    layout: { xaxis, yaxis },
    note: sampledNote(dots.length, rows.length, "the fill is of them all; the dots the best and an even sample of the rest") || undefined,
  };
}
