// Parallel coordinates, the pure part: which rows and axes to draw, scales, ticks, colours,
// brushing and the nearest-line hit test. No DOM here (parcoordsView.ts draws), so vitest can
// test all of it in jsdom, where a canvas has no 2D context.

import { completeColumns } from "../model/columns";
import { formatNumber, objectiveName, paramText, sampleRows, type Meta } from "../model/derive";
import type { TrialRecord } from "../model/record";
import { categoryTicks, clean, linearTicks, logTicks, niceDomain, type Tick } from "./ticks";

export { sequential as lineColour } from "./colours";
export { categoryTicks, decadeLabel, linearTicks, logTicks, niceDomain, niceStep, type Tick } from "./ticks";

export type AxisKind = "linear" | "int" | "log" | "categorical";

/**
 * One vertical axis. Values are in axis units: log10 of the value on a log axis, the choice
 * index on a categorical one, the value itself otherwise; NaN where the trial has no value
 * (a conditional parameter it never reached). Brush ranges are kept in the same units, so they
 * stay put when new trials move the data's extent.
 */
export interface Axis {
  /** Stable across redraws: `p:<param name>` or `o:<objective index>`. */
  key: string;
  title: string;
  kind: AxisKind;
  /** The extent of the values that are set (log10 units on a log axis). */
  lo: number;
  hi: number;
  /** Per row, in axis units; NaN: not set. */
  values: Float64Array;
  choices?: string[];
  /** A log axis of an int parameter: whole-number ticks only. */
  int?: boolean;
  /**
   * Some rows have no value: the axis keeps a "not set" band at its bottom for them, so a trial
   * of a conditional space is drawn, not dropped (in the PyTorch example 14 of 16 trials lacked
   * some layer's parameters and vanished).
   */
  missing: boolean;
}

export interface ParcoordsData {
  axes: Axis[];
  /** Trial number of each row: every completed trial with a finite objective value. */
  rows: Int32Array;
  /** Objective value of each row. */
  objective: Float64Array;
  /** Colour position of each row in [0, 1]; 1 is the best end (the scale's orange). */
  colour: Float64Array;
  /** The rows drawn (indexes into `rows`), infeasible and worst first so the best are drawn on top. */
  drawn: Int32Array;
  /** 1 for a row whose trial breaks a constraint: drawn grey, under the others. */
  infeasible?: Uint8Array;
  objectiveName: string;
  /** The objective's data extent: the colour bar's range. */
  objectiveRange: [number, number];
  /** Minimize: low values get the bright end. */
  reverse: boolean;
  /** Every parameter some completed trial has, in the record's order: what the axis chooser offers. */
  available: string[];
  /** The parameters drawn as axes, in the record's order. */
  shown: string[];
  note?: string;
  /** Why nothing is drawn, when nothing is. */
  empty?: string;
}

/**
 * Which parameter axes to draw: `names` as the user chose them (null: the default), and the
 * importance trait's values, which pick the default past MAX_DEFAULT_AXES.
 */
export interface AxisChoice {
  names?: string[] | null;
  importance?: Record<string, number>;
}

/** Brush ranges by axis key, [low, high] in axis units; a low of -Infinity takes in "not set". */
export type Brushes = Map<string, [number, number]>;

/**
 * Lines drawn at most; past this, the best tenth and an even sample of the rest. Measured in
 * headless Chromium without a GPU (software canvas), 5 axes, a study of 50,000 trials: drawing
 * all 50,000 lines took ~400 ms to the painted frame, 5,000 lines ~90 ms (data included).
 */
export const MAX_PARCOORDS_LINES = 5000;
/** Axes at most: past this they are too close to read. */
export const MAX_AXES = 40;
/**
 * Parameter axes shown by default: past this, ~80 px apart in a notebook-wide panel, titles and
 * lines get too close, so the chooser offers the rest and the default is the most important.
 */
export const MAX_DEFAULT_AXES = 8;
/** The part of an axis' height, at its bottom, that the "not set" band takes. */
export const NOT_SET_BAND = 0.1;
export const NOT_SET = "not set";

// ---------------------------------------------------------------------------------- ticks

/**
 * Ticks for an axis `px` pixels tall (labels about 36 px apart, 16 for choices), and the
 * "not set" band's label (at NaN) where the axis has one.
 */
export function axisTicks(axis: Axis, px: number): Tick[] {
  const room = axis.missing ? px * (1 - NOT_SET_BAND) : px;
  const count = Math.max(2, Math.floor(room / 36));
  let ticks: Tick[];
  switch (axis.kind) {
    case "categorical":
      ticks = categoryTicks(axis.choices ?? [], Math.max(2, Math.floor(room / 16)));
      break;
    case "log":
      ticks = logTicks(axis.lo, axis.hi, count, axis.int);
      break;
    default:
      ticks = linearTicks(axis.lo, axis.hi, count, axis.kind === "int");
  }
  return axis.missing ? [...ticks, { at: NaN, label: NOT_SET }] : ticks;
}

// ---------------------------------------------------------------------------------- scales

/**
 * Where `u` (axis units) sits on the axis: 0 at the bottom, 1 at the top. On an axis with a
 * "not set" band, NaN (and the band's -Infinity) is at 0 and the values above the band.
 */
export function position(axis: Axis, u: number): number {
  if (axis.missing && !(u >= -Number.MAX_VALUE)) return 0;
  const p = axis.hi > axis.lo ? (u - axis.lo) / (axis.hi - axis.lo) : 0.5;
  return axis.missing ? NOT_SET_BAND + p * (1 - NOT_SET_BAND) : p;
}

/** The axis unit at position `p` (0 bottom, 1 top): the inverse of `position`; -Infinity in the band. */
export function unitAt(axis: Axis, p: number): number {
  if (axis.missing) {
    if (p < NOT_SET_BAND / 2) return -Infinity;
    p = (p - NOT_SET_BAND) / (1 - NOT_SET_BAND);
  }
  return axis.lo + p * (axis.hi - axis.lo);
}

// ---------------------------------------------------------------------------------- data

function paramAxis(rec: TrialRecord, j: number, rows: Int32Array): Axis {
  const p = rec.params[j];
  const col = rec.paramValues[j];
  const n = rows.length;
  const values = new Float64Array(n);
  const key = `p:${p.name}`;
  let missing = false;
  let positive = true;
  // Indexed loops over typed arrays: at 1,000,000 trials each pass is a few ms.
  for (let i = 0; i < n; i++) {
    const v = (values[i] = col[rows[i]]);
    if (Number.isNaN(v)) missing = true;
    else if (!(v > 0)) positive = false;
  }
  if (p.choices) {
    return { key, title: p.name, kind: "categorical", lo: 0, hi: Math.max(0, p.choices.length - 1), values, choices: p.choices.slice(), missing };
  }
  // Unset values are NaN, not a reason to give up the log scale.
  const log = p.log && positive;
  if (log) for (let i = 0; i < n; i++) values[i] = Math.log10(values[i]);
  const [min, max] = extent(values);
  const integer = p.kind === "int";
  if (log) {
    // The data's extent, not whole decades: a log int in [3, 20] was drawn over 1..100.
    const [lo, hi] = max > min ? [min, max] : [min - 0.5, max + 0.5];
    return { key, title: p.name, kind: "log", int: integer, lo: clean(lo), hi: clean(hi), values, missing };
  }
  const [lo, hi] = niceDomain(min, max, integer);
  return { key, title: p.name, kind: integer ? "int" : "linear", lo, hi, values, missing };
}

/** The lowest and highest of the values that are not NaN. */
function extent(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
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

/** Which rows to draw (indexes into the rows), infeasible ones first, then by colour so the
 * best come last. */
export function drawOrder(
  objective: ArrayLike<number>, colour: Float64Array, direction: string, limit: number, infeasible?: ArrayLike<boolean | number>,
): Int32Array {
  const pick = Int32Array.from(sampleRows(objective, direction, limit, infeasible));
  const bad = (i: number) => (infeasible?.[i] ? 0 : 1);
  return pick.sort((a, b) => bad(a) - bad(b) || colour[a] - colour[b] || a - b);
}

/**
 * Which of the used parameters (indexes) get an axis: the user's choice; else all of them up
 * to MAX_DEFAULT_AXES; else the most important ones (by the importance trait), or the first.
 * Always in the record's order, so axes do not jump when importance is refreshed.
 */
export function chooseAxes(rec: TrialRecord, used: number[], choice: AxisChoice = {}): number[] {
  if (choice.names) {
    const want = new Set(choice.names);
    return used.filter((j) => want.has(rec.params[j].name)).slice(0, MAX_AXES);
  }
  if (used.length <= MAX_DEFAULT_AXES) return used;
  const imp = choice.importance ?? {};
  const score = (j: number) => {
    const name = rec.params[j].name;
    return Object.prototype.hasOwnProperty.call(imp, name) ? imp[name] : -1;
  };
  const ranked = Object.keys(imp).length
    ? [...used].sort((a, b) => score(b) - score(a) || a - b)
    : used;
  const keep = new Set(ranked.slice(0, MAX_DEFAULT_AXES));
  return used.filter((j) => keep.has(j));
}

/** What the view draws for one objective: axes for the chosen parameters, then the objective. */
export function parcoordsData(
  rec: TrialRecord, meta: Meta, objective: number, limit = MAX_PARCOORDS_LINES, choice: AxisChoice = {},
): ParcoordsData {
  const name = objectiveName(meta, objective);
  const direction = meta.directions?.[objective] ?? "minimize";
  const reverse = direction !== "maximize";
  // The record's typed columns of completed trials, kept between redraws (completeColumns):
  // plain arrays of them, rebuilt at each redraw, cost ~60-230 ms at 1,000,000 trials.
  const { numbers, values, infeasible } = completeColumns(rec, objective);
  let nBad = 0;
  for (let i = 0; i < infeasible.length; i++) nBad += infeasible[i];
  const used = rec.params.map((_, j) => j).filter((j) => {
    const col = rec.paramValues[j];
    for (let i = 0; i < numbers.length; i++) if (!Number.isNaN(col[numbers[i]])) return true;
    return false;
  });
  const shown = chooseAxes(rec, used, choice);
  const axes = shown.map((j) => paramAxis(rec, j, numbers));
  // Only what the axis choice does not change: the view's note is set when new data is drawn,
  // not when the user picks axes (the chooser's button says how many are shown, and the "not
  // set" label's tooltip what the band is).
  const notes = [
    numbers.length > limit ? `${limit.toLocaleString()} of ${numbers.length.toLocaleString()} trials drawn: the best tenth and an even sample` : "",
    nBad ? `${nBad.toLocaleString()} infeasible (a constraint > 0): grey` : "",
  ].filter(Boolean);
  const objectiveValues = values.slice(); // the view keeps it: a copy the next redraw does not reuse
  const colour = colourPositions(objectiveValues, reverse);
  const [min, max] = numbers.length ? extent(objectiveValues) : [0, 0];
  const [lo, hi] = niceDomain(min, max, false);
  axes.push({ key: `o:${objective}`, title: name, kind: "linear", lo, hi, values: objectiveValues, missing: false });
  return {
    axes,
    rows: numbers.slice(),
    objective: objectiveValues,
    colour,
    drawn: drawOrder(objectiveValues, colour, direction, limit, nBad ? infeasible : undefined),
    ...(nBad ? { infeasible: infeasible.slice() } : {}),
    objectiveName: name,
    objectiveRange: [min, max],
    reverse,
    available: used.map((j) => rec.params[j].name),
    shown: shown.map((j) => rec.params[j].name),
    note: notes.join("; ") || undefined,
    empty: numbers.length === 0 ? "No completed trials yet." : undefined,
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
    // A range reaching into the "not set" band (low -Infinity) takes in the unset rows.
    const unset = lo === -Infinity;
    const v = axis.values;
    for (let i = 0; i < n; i++) {
      if (mask[i] && !(Number.isNaN(v[i]) ? unset : v[i] >= lo && v[i] <= hi)) {
        mask[i] = 0;
        count--;
      }
    }
  }
  return { mask, count };
}

// ---------------------------------------------------------------------------------- colour

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

/**
 * The hover text of one row: trial, objective and parameter values, one line each; "not set"
 * for a drawn axis the trial has no value on.
 */
export function hoverLines(rec: TrialRecord, data: ParcoordsData, row: number): string[] {
  const n = data.rows[row];
  const shown = new Set(data.shown);
  const lines = [`trial ${n}`, `${data.objectiveName}: ${formatNumber(data.objective[row])}`];
  rec.params.forEach((p, j) => {
    const t = paramText(rec, j, n);
    if (t) lines.push(`${p.name}: ${t}`);
    else if (shown.has(p.name)) lines.push(`${p.name}: ${NOT_SET}`);
  });
  return lines;
}
