// Parallel coordinates, the pure part: which rows and axes to draw, scales, ticks, colours,
// brushing and the nearest-line hit test. No DOM here (parcoordsView.ts draws), so vitest can
// test all of it in jsdom, where a canvas has no 2D context.

import { completed, formatNumber, objectiveName, paramText, sampleRows, type Meta } from "../model/derive";
import type { TrialRecord } from "../model/record";

export type AxisKind = "linear" | "int" | "log" | "categorical";

export interface Tick {
  /** Where, in axis units. */
  at: number;
  label: string;
}

/**
 * One vertical axis. Values are in axis units: log10 of the value on a log axis, the choice
 * index on a categorical one, the value itself otherwise. Brush ranges are kept in the same
 * units, so they stay put when new trials move the data's extent.
 */
export interface Axis {
  /** Stable across redraws: `p:<param name>` or `o:<objective index>`. */
  key: string;
  title: string;
  kind: AxisKind;
  lo: number;
  hi: number;
  /** Per row, in axis units. */
  values: Float64Array;
  choices?: string[];
}

export interface ParcoordsData {
  axes: Axis[];
  /** Trial number of each row (the completed trials with every drawn parameter). */
  rows: Int32Array;
  /** Objective value of each row. */
  objective: Float64Array;
  /** Colour position of each row in [0, 1]; 1 is the best end (Viridis' yellow). */
  colour: Float64Array;
  /** The rows drawn (indexes into `rows`), worst first so the best are drawn on top. */
  drawn: Int32Array;
  objectiveName: string;
  /** The objective's data extent: the colour bar's range. */
  objectiveRange: [number, number];
  /** Minimize: low values get the bright end. */
  reverse: boolean;
  note?: string;
  /** Why nothing is drawn, when nothing is. */
  empty?: string;
}

/** Brush ranges by axis key, [low, high] in axis units. */
export type Brushes = Map<string, [number, number]>;

/**
 * Lines drawn at most; past this, the best tenth and an even sample of the rest. Measured in
 * headless Chromium without a GPU (software canvas), 5 axes, a study of 50,000 trials: drawing
 * all 50,000 lines took ~400 ms to the painted frame, 5,000 lines ~90 ms (data included).
 */
export const MAX_PARCOORDS_LINES = 5000;
/** Axes at most: past this they are too close to read. */
export const MAX_AXES = 40;

// ---------------------------------------------------------------------------------- ticks

/** A 1, 2 or 5 times a power of ten near `span / count`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

/** The extent widened to whole steps, so the axis ends on labelled ticks. */
export function niceDomain(lo: number, hi: number, integer: boolean): [number, number] {
  if (lo === hi) {
    const pad = integer ? 1 : Math.abs(lo) * 0.1 || 1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  let step = niceStep(hi - lo, 5);
  if (integer) step = Math.max(1, Math.round(step));
  return [clean(Math.floor(lo / step + 1e-9) * step), clean(Math.ceil(hi / step - 1e-9) * step)];
}

/** Drops floating-point dust (0.30000000000000004 -> 0.3) and negative zero. */
function clean(v: number): number {
  const r = Number(v.toPrecision(12));
  return r === 0 ? 0 : r;
}

function tickLabel(v: number, step: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) return v.toExponential(Math.max(0, Math.min(3, -Math.floor(Math.log10(step / a)) - 1)));
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

/** About `count` ticks at round values in [lo, hi]; whole numbers only when `integer`. */
export function linearTicks(lo: number, hi: number, count: number, integer = false): Tick[] {
  if (!(hi > lo)) return [{ at: lo, label: tickLabel(lo, 1) }];
  let step = niceStep(hi - lo, count);
  if (integer) step = Math.max(1, Math.round(step));
  const out: Tick[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  for (let k = first; k <= last; k++) {
    const at = clean(k * step);
    out.push({ at, label: tickLabel(at, step) });
  }
  return out;
}

/** `0.01`, `0.1`, `1`, `10`, `100`, and `1e-3` / `1e3` style further out. */
export function decadeLabel(k: number): string {
  return Math.abs(k) <= 2 ? String(clean(10 ** k)) : `1e${k}`;
}

/** Decades between lo and hi (log10 units), every `n`-th when there are too many. */
export function logTicks(lo: number, hi: number, count: number): Tick[] {
  const stride = Math.max(1, Math.ceil((hi - lo) / Math.max(1, count)));
  const out: Tick[] = [];
  for (let k = Math.ceil(lo - 1e-9); k <= hi + 1e-9; k += stride) out.push({ at: k, label: decadeLabel(k) });
  return out;
}

/** Every choice, or every n-th when their labels would overlap. */
export function categoryTicks(choices: string[], count: number): Tick[] {
  const stride = Math.max(1, Math.ceil(choices.length / Math.max(1, count)));
  const out: Tick[] = [];
  for (let i = 0; i < choices.length; i += stride) out.push({ at: i, label: choices[i] });
  return out;
}

/** Ticks for an axis `px` pixels tall (labels about 36 px apart, 16 for choices). */
export function axisTicks(axis: Axis, px: number): Tick[] {
  const count = Math.max(2, Math.floor(px / 36));
  switch (axis.kind) {
    case "categorical":
      return categoryTicks(axis.choices ?? [], Math.max(2, Math.floor(px / 16)));
    case "log":
      return logTicks(axis.lo, axis.hi, count);
    default:
      return linearTicks(axis.lo, axis.hi, count, axis.kind === "int");
  }
}

// ---------------------------------------------------------------------------------- scales

/** Where `u` (axis units) sits on the axis: 0 at the bottom, 1 at the top. */
export function position(axis: Axis, u: number): number {
  return axis.hi > axis.lo ? (u - axis.lo) / (axis.hi - axis.lo) : 0.5;
}

/** The axis unit at position `p` (0 bottom, 1 top): the inverse of `position`. */
export function unitAt(axis: Axis, p: number): number {
  return axis.lo + p * (axis.hi - axis.lo);
}

// ---------------------------------------------------------------------------------- data

function paramAxis(rec: TrialRecord, j: number, rows: number[]): Axis {
  const p = rec.params[j];
  const col = rec.paramValues[j];
  const values = new Float64Array(rows.length);
  const key = `p:${p.name}`;
  if (p.choices) {
    rows.forEach((n, i) => (values[i] = col[n]));
    return { key, title: p.name, kind: "categorical", lo: 0, hi: Math.max(0, p.choices.length - 1), values, choices: p.choices.slice() };
  }
  const log = p.log && rows.every((n) => col[n] > 0);
  rows.forEach((n, i) => (values[i] = log ? Math.log10(col[n]) : col[n]));
  const [min, max] = extent(values);
  if (log) {
    const lo = clean(Math.floor(min + 1e-9));
    const hi = clean(Math.max(lo + 1, Math.ceil(max - 1e-9)));
    return { key, title: p.name, kind: "log", lo, hi, values };
  }
  const integer = p.kind === "int";
  const [lo, hi] = niceDomain(min, max, integer);
  return { key, title: p.name, kind: integer ? "int" : "linear", lo, hi, values };
}

function extent(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Colour positions: 0..1 over the extent, flipped for minimize so the best is 1. */
export function colourPositions(values: ArrayLike<number>, reverse: boolean): Float64Array {
  const [lo, hi] = extent(values);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const t = hi > lo ? (values[i] - lo) / (hi - lo) : 0.5;
    out[i] = reverse ? 1 - t : t;
  }
  return out;
}

/** Which rows to draw (indexes into the rows), ordered by colour so the best come last. */
export function drawOrder(objective: number[], colour: Float64Array, direction: string, limit: number): Int32Array {
  const pick = Int32Array.from(sampleRows(objective, direction, limit));
  return pick.sort((a, b) => colour[a] - colour[b] || a - b);
}

/** What the view draws for one objective: axes for the used parameters, then the objective. */
export function parcoordsData(rec: TrialRecord, meta: Meta, objective: number, limit = MAX_PARCOORDS_LINES): ParcoordsData {
  const name = objectiveName(meta, objective);
  const direction = meta.directions?.[objective] ?? "minimize";
  const reverse = direction !== "maximize";
  const { numbers, values } = completed(rec, objective);
  const used = rec.params.map((_, j) => j).filter((j) => numbers.some((n) => !Number.isNaN(rec.paramValues[j][n])));
  const shown = used.slice(0, MAX_AXES);
  const rows: number[] = [];
  const vals: number[] = [];
  numbers.forEach((n, i) => {
    if (used.every((j) => !Number.isNaN(rec.paramValues[j][n]))) {
      rows.push(n);
      vals.push(values[i]);
    }
  });
  const notes = [
    rows.length < numbers.length ? `${numbers.length - rows.length} trials without every parameter left out` : "",
    shown.length < used.length ? `the first ${shown.length} of ${used.length} parameters shown` : "",
    rows.length > limit ? `${limit.toLocaleString()} of ${rows.length.toLocaleString()} trials drawn: the best tenth and an even sample` : "",
  ].filter(Boolean);
  const objectiveValues = Float64Array.from(vals);
  const colour = colourPositions(objectiveValues, reverse);
  const [min, max] = rows.length ? extent(objectiveValues) : [0, 0];
  const [lo, hi] = niceDomain(min, max, false);
  const axes = shown.map((j) => paramAxis(rec, j, rows));
  axes.push({ key: `o:${objective}`, title: name, kind: "linear", lo, hi, values: objectiveValues });
  return {
    axes,
    rows: Int32Array.from(rows),
    objective: objectiveValues,
    colour,
    drawn: drawOrder(vals, colour, direction, limit),
    objectiveName: name,
    objectiveRange: [min, max],
    reverse,
    note: notes.join("; ") || undefined,
    empty: numbers.length === 0 ? "No completed trials yet." : rows.length === 0 ? "No completed trial has every parameter." : undefined,
  };
}

// ---------------------------------------------------------------------------------- brushing

/** Forgets ranges on axes that are no longer drawn (another objective, a parameter gone). */
export function keepBrushes(brushes: Brushes, axes: Axis[]): void {
  const keys = new Set(axes.map((a) => a.key));
  for (const k of [...brushes.keys()]) if (!keys.has(k)) brushes.delete(k);
}

/** 1 for each row inside every active range (all rows when none is), and how many. */
export function brushMask(data: ParcoordsData, brushes: Brushes): { mask: Uint8Array; count: number } {
  const n = data.rows.length;
  const mask = new Uint8Array(n).fill(1);
  let count = n;
  for (const axis of data.axes) {
    const range = brushes.get(axis.key);
    if (!range) continue;
    const [lo, hi] = range;
    const v = axis.values;
    for (let i = 0; i < n; i++) {
      if (mask[i] && !(v[i] >= lo && v[i] <= hi)) {
        mask[i] = 0;
        count--;
      }
    }
  }
  return { mask, count };
}

// ---------------------------------------------------------------------------------- colour

// Viridis at ten even stops (matplotlib's colour map, as plotly's "Viridis").
const VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"]
  .map((hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16)));

/** Viridis at t in [0, 1] (0 dark purple, 1 yellow) as `rgb(r,g,b)`. */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [VIRIDIS[i], VIRIDIS[i + 1]];
  const c = a.map((v, k) => Math.round(v + (b[k] - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Which of `buckets` colour bands a colour position falls in. */
export function colourBucket(t: number, buckets: number): number {
  return Math.min(buckets - 1, Math.max(0, Math.floor(t * buckets)));
}

// ---------------------------------------------------------------------------------- hover

/**
 * The drawn line nearest to (x, y) in pixels, within `maxDistance`, or -1: an index into `ys`'s
 * columns. `xs` are the axes' x positions, `ys[a][k]` line k's y on axis a, `mask[k]` whether
 * line k may be picked (0: faint, outside a brush). One pass over the lines of the segment under
 * the pointer; a later line (drawn on top) wins a tie.
 */
export function nearestLine(
  xs: number[], ys: Float32Array[], mask: Uint8Array | null, x: number, y: number, maxDistance: number,
): number {
  if (xs.length === 0) return -1;
  const lines = ys[0].length;
  let a = 0;
  if (xs.length === 1) {
    if (Math.abs(x - xs[0]) > maxDistance) return -1;
  } else {
    if (x < xs[0] - maxDistance || x > xs[xs.length - 1] + maxDistance) return -1;
    while (a < xs.length - 2 && x > xs[a + 1]) a++;
  }
  const b = Math.min(a + 1, xs.length - 1);
  const dx = xs[b] - xs[a];
  const f = dx > 0 ? Math.min(1, Math.max(0, (x - xs[a]) / dx)) : 0;
  const y0 = ys[a];
  const y1 = ys[b];
  let best = -1;
  let bestD = maxDistance;
  for (let k = 0; k < lines; k++) {
    if (mask && !mask[k]) continue;
    const rise = y1[k] - y0[k];
    const at = y0[k] + rise * f;
    // Distance to the segment's line, not straight down: steep segments look thin.
    const slope = dx > 0 ? rise / dx : 0;
    const d = Math.abs(at - y) / Math.sqrt(1 + slope * slope);
    if (d <= bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

/** The hover text of one row: trial, objective and parameter values, one line each. */
export function hoverLines(rec: TrialRecord, data: ParcoordsData, row: number): string[] {
  const n = data.rows[row];
  const lines = [`trial ${n}`, `${data.objectiveName}: ${formatNumber(data.objective[row])}`];
  rec.params.forEach((p, j) => {
    const t = paramText(rec, j, n);
    if (t) lines.push(`${p.name}: ${t}`);
  });
  return lines;
}
