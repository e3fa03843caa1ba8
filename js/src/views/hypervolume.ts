// Hypervolume history (as optuna-dashboard's and optuna.visualization.plot_hypervolume_history):
// the hypervolume of the Pareto front of the complete trials up to each trial, against a
// reference point. Computed here, incrementally: each new trial adds its exclusive contribution
// (Optuna's own update, _hypervolume_history.py), so a live redraw costs the new trials alone.
// Exact for 2 objectives (a sorted staircase, O(log k) per trial) and 3 (slices along the third
// objective); more objectives are not computed (the view says so).
//
// Everything below works on minimized values: a maximized objective is negated first.

import { formatNumber, objectiveName, type Meta } from "../model/derive";
import { ABSENT, COMPLETE, RUNNING, type TrialRecord } from "../model/record";
import { escapePlotly as esc } from "./dom";
import { integerTicks, NUMBER_FORMAT } from "./figureAxes";
import { completeCount } from "./completeTrials";
import type { Figure } from "./figureTypes";
import { clean, niceStep } from "./ticks";

/** The most objectives the hypervolume is computed for. */
export const MAX_OBJECTIVES = 3;
const WAITING = 4;

/** A Pareto front that takes one point at a time and says how much hypervolume it added. */
interface Front {
  /** Adds a point (copied if kept); returns the hypervolume it adds (0 when dominated or beyond the reference). */
  insert(p: number[]): number;
  clone(): Front;
}

/**
 * The 2-objective front as a staircase: x ascending, y strictly descending. Its hypervolume is
 * the sum over points of (next x - x) * (ref y - y), so a point changes only its own term, its
 * left neighbour's, and those of the points it dominates (a contiguous run after it).
 */
export class Staircase implements Front {
  constructor(readonly rx: number, readonly ry: number, private xs: number[] = [], private ys: number[] = []) {}

  clone(): Staircase {
    return new Staircase(this.rx, this.ry, this.xs.slice(), this.ys.slice());
  }

  insert(p: number[]): number {
    return this.add(p[0], p[1]);
  }

  add(x: number, y: number): number {
    const { xs, ys, rx, ry } = this;
    if (!(x < rx && y < ry)) return 0;
    // i: the first point right of x.
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    const i = lo;
    const left = i - 1;
    if (left >= 0 && ys[left] <= y) return 0; // dominated (or equal)
    const start = left >= 0 && xs[left] === x ? left : i;
    let end = start;
    while (end < xs.length && ys[end] >= y) end++;
    const next = (j: number) => (j + 1 < xs.length ? xs[j + 1] : rx);
    const a = start - 1;
    let before = a >= 0 ? (next(a) - xs[a]) * (ry - ys[a]) : 0;
    for (let j = start; j < end; j++) before += (next(j) - xs[j]) * (ry - ys[j]);
    const after = (a >= 0 ? (x - xs[a]) * (ry - ys[a]) : 0) + ((end < xs.length ? xs[end] : rx) - x) * (ry - y);
    xs.splice(start, end - start, x);
    ys.splice(start, end - start, y);
    return after - before;
  }
}

/** The hypervolume of 3-objective points: 2-objective slices swept along the third. */
function volume3(points: number[][], ref: number[]): number {
  const inside = points.filter((p) => p[0] < ref[0] && p[1] < ref[1] && p[2] < ref[2]).sort((a, b) => a[2] - b[2]);
  const slice = new Staircase(ref[0], ref[1]);
  let area = 0;
  let volume = 0;
  for (let k = 0; k < inside.length; k++) {
    area += slice.add(inside[k][0], inside[k][1]);
    const top = k + 1 < inside.length ? inside[k + 1][2] : ref[2];
    volume += area * (top - inside[k][2]);
  }
  return volume;
}

/** The 3-objective front: a point adds its box less the part the front already covers. */
class Front3 implements Front {
  constructor(private ref: number[], private points: number[][] = []) {}

  clone(): Front3 {
    return new Front3(this.ref, this.points.slice());
  }

  insert(p: number[]): number {
    const ref = this.ref;
    if (!(p[0] < ref[0] && p[1] < ref[1] && p[2] < ref[2])) return 0;
    for (const q of this.points) if (q[0] <= p[0] && q[1] <= p[1] && q[2] <= p[2]) return 0;
    const limited = this.points.map((q) => [Math.max(q[0], p[0]), Math.max(q[1], p[1]), Math.max(q[2], p[2])]);
    const box = (ref[0] - p[0]) * (ref[1] - p[1]) * (ref[2] - p[2]);
    const added = box - volume3(limited, ref);
    this.points = this.points.filter((q) => !(p[0] <= q[0] && p[1] <= q[1] && p[2] <= q[2]));
    this.points.push([p[0], p[1], p[2]]);
    return added;
  }
}

function newFront(ref: number[]): Front {
  return ref.length === 2 ? new Staircase(ref[0], ref[1]) : new Front3(ref);
}

/** The hypervolume of minimized points (1 to 3 objectives) against `ref`. */
export function hypervolume(points: number[][], ref: number[]): number {
  if (ref.length === 1) return Math.max(0, ref[0] - Math.min(...points.map((p) => p[0])));
  if (ref.length === 3) return volume3(points, ref);
  const front = newFront(ref);
  return points.reduce((sum, p) => sum + front.insert(p), 0);
}

/**
 * One objective's reference (minimized): its worst value plus 10% of the range (10% of its
 * size, or 1, when all values are equal), rounded up to a 1-2-5 step near that margin. The
 * rounding keeps it in place while trials stream in, unless a trial moves the worst value or
 * the range enough; a new reference means a new curve, recomputed whole.
 */
function referenceValue(lo: number, hi: number): number {
  const margin = 0.1 * (hi - lo) || 0.1 * Math.abs(hi) || 1;
  const step = niceStep(margin, 1);
  return clean(Math.ceil((hi + margin) / step) * step);
}

/** The reference point of minimized points (see referenceValue). */
export function referencePoint(points: ArrayLike<number>[], dims: number): number[] {
  return Array.from({ length: dims }, (_, k) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of points) {
      lo = Math.min(lo, p[k]);
      hi = Math.max(hi, p[k]);
    }
    return referenceValue(lo, hi);
  });
}

export interface HypervolumeHistory {
  /** The complete trials (with every objective finite), in trial order. */
  numbers: number[];
  /** The hypervolume after each of them. */
  values: number[];
  /** The reference point in the objectives' own units (maximized ones as they are). */
  reference: number[];
}

interface Cache {
  key: string;
  /** Trials before this number are all finished and in `front`. */
  settled: number;
  front: Front;
  volume: number;
  /** The curve of the settled trials: the first `count` entries (typed, grown by doubling: a
   * plain array pushed to a million times cost ~100 ms of a first draw at 1,000,000 trials). */
  count: number;
  numbers: Int32Array;
  values: Float64Array;
}

const caches = new WeakMap<TrialRecord, Cache>();

/** Trials whose end may still come (their hypervolume is computed again at each call). */
const open = (state: number) => state === RUNNING || state === WAITING || state === ABSENT;

const SKIP = 0;
const POINT = 1;
/** Complete with finite values, but breaking a constraint: counted, adding nothing (as Optuna). */
const INFEASIBLE = 2;

/** Reads trial n's minimized values into `into`: POINT, INFEASIBLE, or SKIP (not complete, or a
 * value not finite). `cols`: the objectives' columns, read once per call, not per trial. */
function pointOf(rec: TrialRecord, cols: Float64Array[], signs: number[], n: number, into: number[]): number {
  if (rec.state[n] !== COMPLETE) return SKIP;
  for (let k = 0; k < signs.length; k++) {
    const v = signs[k] * (cols[k]?.[n] ?? NaN);
    if (!Number.isFinite(v)) return SKIP;
    into[k] = v;
  }
  return rec.constraint[n] > 0 ? INFEASIBLE : POINT;
}

/** The curve as kept: its finished prefix (the cache's own arrays, not copied) and the rest. */
interface Curve {
  numbers: Int32Array;
  values: Float64Array;
  tailNumbers: number[];
  tailValues: number[];
  reference: number[];
}

/**
 * The hypervolume after each complete trial (for 2 or 3 objectives; null otherwise). The
 * finished prefix of the record is kept between calls; the trials after the first one still
 * running are added to a copy, as another may end before them.
 */
export function hypervolumeHistory(rec: TrialRecord, directions: string[]): HypervolumeHistory | null {
  const c = curveOf(rec, directions);
  return c && { numbers: Array.from(c.numbers).concat(c.tailNumbers), values: Array.from(c.values).concat(c.tailValues), reference: c.reference };
}

function grow(cache: Cache): void {
  const numbers = new Int32Array(cache.numbers.length * 2);
  const values = new Float64Array(cache.values.length * 2);
  numbers.set(cache.numbers);
  values.set(cache.values);
  [cache.numbers, cache.values] = [numbers, values];
}

function curveOf(rec: TrialRecord, directions: string[]): Curve | null {
  const dims = directions.length;
  if (dims < 2 || dims > MAX_OBJECTIVES) return null;
  const signs = directions.map((d) => (d === "maximize" ? -1 : 1));
  const cols = signs.map((_, k) => rec.values[k]);
  const ref = referenceOf(rec, cols, signs);
  if (!ref) return { numbers: new Int32Array(0), values: new Float64Array(0), tailNumbers: [], tailValues: [], reference: [] };
  const key = `${ref.join(",")}|${signs.join(",")}`;
  let cache = caches.get(rec);
  if (!cache || cache.key !== key) {
    cache = { key, settled: 0, front: newFront(ref), volume: 0, count: 0, numbers: new Int32Array(1024), values: new Float64Array(1024) };
    caches.set(rec, cache);
  }
  const p = signs.map(() => NaN);
  for (; cache.settled < rec.size && !open(rec.state[cache.settled]); cache.settled++) {
    const kind = pointOf(rec, cols, signs, cache.settled, p);
    if (kind === SKIP) continue;
    if (kind === POINT) cache.volume += cache.front.insert(p);
    if (cache.count === cache.numbers.length) grow(cache);
    cache.numbers[cache.count] = cache.settled;
    cache.values[cache.count++] = cache.volume;
  }
  const out: Curve = { numbers: cache.numbers.subarray(0, cache.count), values: cache.values.subarray(0, cache.count), tailNumbers: [], tailValues: [], reference: ref.map((r, k) => signs[k] * r) };
  if (cache.settled < rec.size) {
    const front = cache.front.clone();
    let volume = cache.volume;
    for (let n = cache.settled; n < rec.size; n++) {
      const kind = pointOf(rec, cols, signs, n, p);
      if (kind === SKIP) continue;
      if (kind === POINT) volume += front.insert(p);
      out.tailNumbers.push(n);
      out.tailValues.push(volume);
    }
  }
  return out;
}

/** Each record's objective extents over its finished prefix (as the curve's cache, per signs). */
const extents = new WeakMap<TrialRecord, { key: string; settled: number; lo: number[]; hi: number[] }>();

/**
 * The reference point (minimized) of the record's feasible complete trials; null when there are
 * none. The extents of the finished prefix are kept between calls (a pass over every trial cost
 * ~70 ms a redraw at 1,000,000), the rest read again.
 */
function referenceOf(rec: TrialRecord, cols: Float64Array[], signs: number[]): number[] | null {
  const key = signs.join(",");
  let kept = extents.get(rec);
  if (!kept || kept.key !== key) extents.set(rec, (kept = { key, settled: 0, lo: signs.map(() => Infinity), hi: signs.map(() => -Infinity) }));
  const p = signs.map(() => NaN);
  const widen = (lo: number[], hi: number[]) => {
    for (let k = 0; k < p.length; k++) {
      if (p[k] < lo[k]) lo[k] = p[k];
      if (p[k] > hi[k]) hi[k] = p[k];
    }
  };
  for (; kept.settled < rec.size && !open(rec.state[kept.settled]); kept.settled++) {
    if (pointOf(rec, cols, signs, kept.settled, p) === POINT) widen(kept.lo, kept.hi);
  }
  const [lo, hi] = [kept.lo.slice(), kept.hi.slice()];
  for (let n = kept.settled; n < rec.size; n++) if (pointOf(rec, cols, signs, n, p) === POINT) widen(lo, hi);
  return lo[0] <= hi[0] ? signs.map((_, k) => referenceValue(lo[k], hi[k])) : null;
}

/** Points the curve draws at most: past them, its corners only (every rise, and the ends). */
const MAX_POINTS = 1500;

/** Which points of the curve (indexes of prefix then tail) to draw: one pass, no array of every index. */
function thinned(c: Curve): { keep: number[]; sampled: boolean } {
  const n = c.values.length + c.tailValues.length;
  const at = (i: number) => (i < c.values.length ? c.values[i] : c.tailValues[i - c.values.length]);
  if (n <= MAX_POINTS) return { keep: Array.from({ length: n }, (_, i) => i), sampled: false };
  const rises: number[] = [];
  for (let i = 0; i < n; i++) if (i === 0 || i === n - 1 || at(i) !== at(i - 1)) rises.push(i);
  if (rises.length <= MAX_POINTS) return { keep: rises, sampled: false };
  const stride = rises.length / MAX_POINTS;
  const keep = new Set<number>();
  for (let k = 0; k < rises.length; k += stride) keep.add(rises[Math.floor(k)]);
  keep.add(n - 1);
  return { keep: [...keep].sort((a, b) => a - b), sampled: true };
}

/** The reference point as text: `loss 1.2, accuracy 0.5`. */
function referenceText(meta: Meta, ref: number[]): string {
  return ref.map((r, k) => `${objectiveName(meta, k)} ${formatNumber(r)}`).join(", ");
}

/** The hypervolume view: the curve against the trial number, each point a trial to open. */
export function hypervolumeFigure(rec: TrialRecord, meta: Meta): Figure {
  const directions = meta.directions ?? ["minimize"];
  const empty = (note: string): Figure => ({ data: [], layout: {}, note });
  if (directions.length < 2) return empty("Hypervolume needs two or more objectives (--directions).");
  const history = curveOf(rec, directions);
  if (!history) return empty(`Hypervolume is computed for 2 or 3 objectives; this study has ${directions.length}.`);
  const total = history.numbers.length + history.tailNumbers.length;
  if (total === 0) {
    return empty(completeCount(rec) ? "No feasible trial yet: a trial that breaks a constraint adds no hypervolume." : "No completed trials yet.");
  }
  const { keep, sampled } = thinned(history);
  const prefix = history.numbers.length;
  const x = keep.map((i) => (i < prefix ? history.numbers[i] : history.tailNumbers[i - prefix]));
  const y = keep.map((i) => (i < prefix ? history.values[i] : history.tailValues[i - prefix]));
  const notes = [
    `Reference point ${referenceText(meta, history.reference)}: per objective the worst value of the feasible complete trials plus 10% of their range, rounded up; the curve is recomputed when a trial moves it`,
    keep.length < total
      ? `${keep.length.toLocaleString()} of ${total.toLocaleString()} trials drawn: ${sampled ? "an even sample of its rises" : "every rise"}`
      : "",
  ].filter(Boolean);
  return {
    data: [
      {
        type: "scatter", mode: "lines+markers", name: "hypervolume", x, y, customdata: x,
        line: { shape: "hv", color: "#1f77b4", width: 2 }, marker: { size: 5, color: "#1f77b4" },
        text: x.map((n, i) => `trial ${n}<br>hypervolume: ${esc(formatNumber(y[i]))}`), hovertemplate: "%{text}<extra></extra>",
      },
    ],
    layout: {
      showlegend: false,
      xaxis: { title: { text: "trial" }, ...integerTicks(x[0], x[x.length - 1]) },
      yaxis: { title: { text: "hypervolume" }, rangemode: "tozero", ...NUMBER_FORMAT },
      // Room for volumes such as "1.25M" beside the title: a margin plotly widens draws twice.
      margin: { l: 80 },
    },
    note: `${notes.join("; ")}.`,
  };
}
