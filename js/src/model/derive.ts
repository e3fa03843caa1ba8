// Plain data derived from the record for the views: labels, orderings, best-so-far, Pareto front.
// Pure functions of the record, tested without a DOM or plotly.

import type { BestTrial, ImportanceTrait, MetaTrait, StatusTrait } from "../protocol";
import { ABSENT, COMPLETE, STATE_NAMES, type TrialRecord } from "./record";

// The traits as the views read them: declared in ../protocol, and `{}` until the kernel sets them.
export type Meta = Partial<MetaTrait>;
export type Best = BestTrial;
export type Status = Partial<StatusTrait>;
export type Importance = Partial<ImportanceTrait>;

/** A number as a short text: integers as they are, others with 6 significant digits. */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e6)) return v.toExponential(4);
  return String(Number(v.toPrecision(6)));
}

/** Seconds as `1h 02m`, `3m 05s`, `4.2s`, or under a tenth of a second `12ms` / `0.3ms` (a
 * trivial trial's time, which `0.0s` would hide). */
export function formatDuration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return "";
  if (s < 0.095) {
    const ms = s * 1000;
    return ms < 9.95 ? `${ms.toFixed(1)}ms` : `${Math.round(ms)}ms`;
  }
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** A parameter's value of one trial as text (a categorical's choice label). */
export function paramText(rec: TrialRecord, j: number, n: number): string {
  const v = rec.paramValues[j]?.[n];
  if (v === undefined || Number.isNaN(v)) return "";
  const p = rec.params[j];
  if (p?.choices) return p.choices[v] ?? String(v);
  return formatNumber(v);
}

export function objectiveName(meta: Meta, i: number): string {
  const names = meta.objective_names ?? [];
  if (names[i]) return names[i];
  return (meta.directions?.length ?? 1) > 1 ? `value ${i}` : "value";
}

export interface SortKey {
  /** "number", "state", "start", "duration", "v0".. (objectives) or "p0".. (params). */
  column: string;
  descending: boolean;
}

export function columnValue(rec: TrialRecord, column: string, n: number): number {
  switch (column) {
    case "number":
      return n;
    case "state":
      return rec.state[n];
    case "start":
      return rec.start[n];
    case "duration":
      return rec.duration[n];
    case "constraint":
      return rec.constraint[n];
    default: {
      const j = Number(column.slice(1));
      const col = column[0] === "v" ? rec.values[j] : rec.paramValues[j];
      return col ? col[n] : NaN;
    }
  }
}

/** Table filters beside a state's code: every trial, and complete trials that keep or break
 * their constraints. */
export const ALL_TRIALS = -1;
export const FEASIBLE = -2;
export const INFEASIBLE = -3;

function passes(rec: TrialRecord, n: number, filter: number): boolean {
  const s = rec.state[n];
  if (s === ABSENT) return false;
  if (filter === ALL_TRIALS) return true;
  if (filter === FEASIBLE || filter === INFEASIBLE) return s === COMPLETE && rec.infeasible(n) === (filter === INFEASIBLE);
  return s === filter;
}

/** The trial numbers to show: filtered by state or feasibility (ALL_TRIALS: all), sorted, NaN
 * always last. */
export function tableRows(rec: TrialRecord, stateFilter: number, key: SortKey): Int32Array {
  const rows: number[] = [];
  for (let n = 0; n < rec.size; n++) if (passes(rec, n, stateFilter)) rows.push(n);
  const out = Int32Array.from(rows);
  if (key.column === "number" && !key.descending) return out;
  const keys = new Float64Array(rec.size);
  for (const n of rows) keys[n] = columnValue(rec, key.column, n);
  const sign = key.descending ? -1 : 1;
  out.sort((a, b) => {
    const x = keys[a];
    const y = keys[b];
    const xn = Number.isNaN(x);
    const yn = Number.isNaN(y);
    if (xn || yn) return xn === yn ? a - b : xn ? 1 : -1;
    return x === y ? a - b : (x < y ? -1 : 1) * sign;
  });
  return out;
}

export function countStates(rec: TrialRecord): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of STATE_NAMES) counts[name] = 0;
  for (let n = 0; n < rec.size; n++) {
    const name = STATE_NAMES[rec.state[n]];
    if (name) counts[name]++;
  }
  return counts;
}

/** Complete trials with a finite value of objective `i`: their numbers, values, and whether
 * each breaks a constraint. */
export function completed(rec: TrialRecord, i = 0): { numbers: number[]; values: number[]; infeasible: boolean[] } {
  const numbers: number[] = [];
  const values: number[] = [];
  const infeasible: boolean[] = [];
  const col = rec.values[i];
  for (let n = 0; n < rec.size; n++) {
    if (rec.state[n] === COMPLETE && col && Number.isFinite(col[n])) {
      numbers.push(n);
      values.push(col[n]);
      infeasible.push(rec.constraint[n] > 0);
    }
  }
  return { numbers, values, infeasible };
}

/** How many complete trials break a constraint. */
export function countInfeasible(rec: TrialRecord): number {
  let k = 0;
  for (let n = 0; n < rec.size; n++) if (rec.state[n] === COMPLETE && rec.constraint[n] > 0) k++;
  return k;
}

/**
 * The running best of `values` in the given direction, of feasible trials only (as Optuna's
 * best trial): an infeasible one (`infeasible[i]`) never becomes the best; NaN before the first
 * feasible one.
 */
export function bestSoFar(values: ArrayLike<number>, direction: string, infeasible?: ArrayLike<boolean | number>): number[] {
  return bestSoFarAt(values, direction, infeasible, Array.from({ length: values.length }, (_, i) => i));
}

/** bestSoFar's values at the indexes `at` (ascending) alone: no array of every value's best. */
export function bestSoFarAt(values: ArrayLike<number>, direction: string, infeasible: ArrayLike<boolean | number> | undefined, at: number[]): number[] {
  const out: number[] = [];
  let best = NaN;
  const maximize = direction === "maximize";
  for (let i = 0, k = 0; k < at.length; i++) {
    const v = values[i];
    if (!infeasible?.[i] && (Number.isNaN(best) || (maximize ? v > best : v < best))) best = v;
    if (i === at[k]) {
      out.push(best);
      k++;
    }
  }
  return out;
}

/** The best feasible complete trial of objective `i` (the one Optuna's study.best_trial is),
 * or -1; ties go to the earliest. */
export function bestTrial(rec: TrialRecord, direction: string, i = 0): number {
  const { numbers, values, infeasible } = completed(rec, i);
  let at = -1;
  values.forEach((v, k) => {
    if (infeasible[k]) return;
    if (at < 0 || (direction === "maximize" ? v > values[at] : v < values[at])) at = k;
  });
  return at < 0 ? -1 : numbers[at];
}

/**
 * Which of `values` to draw when there are more than `limit`: in each of `limit / 2` buckets of
 * consecutive trials the lowest and the highest, plus every trial that improved the best so far.
 * The cloud keeps its shape and its extremes, the best-so-far line keeps every step, and the
 * plot costs the same at 50,000 trials as at 2,000 (drawing all of them took ~2 s a redraw).
 */
export function thinForPlot(values: ArrayLike<number>, direction: string, limit: number, infeasible?: ArrayLike<boolean | number>): number[] {
  const n = values.length;
  if (n <= limit) return Array.from({ length: n }, (_, i) => i);
  const keep = new Set<number>();
  const buckets = Math.max(1, Math.floor(limit / 2));
  const size = n / buckets;
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor(b * size);
    const hi = Math.min(n, Math.floor((b + 1) * size));
    let min = lo;
    let max = lo;
    for (let i = lo + 1; i < hi; i++) {
      if (values[i] < values[min]) min = i;
      if (values[i] > values[max]) max = i;
    }
    keep.add(min).add(max);
  }
  const maximize = direction === "maximize";
  let best = NaN;
  const steps: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!infeasible?.[i] && (Number.isNaN(best) || (maximize ? v > best : v < best))) {
      best = v;
      steps.push(i);
    }
  }
  // A study that improves at nearly every trial has as many steps as trials: keep an even
  // sample of them (the line is then drawn at the sampled steps' resolution).
  const stride = Math.max(1, steps.length / buckets);
  for (let k = 0; k < steps.length; k += stride) keep.add(steps[Math.floor(k)]);
  if (steps.length) keep.add(steps[steps.length - 1]);
  keep.add(n - 1);
  return [...keep].sort((a, b) => a - b);
}

// Which rows a view draws past a limit: in sample.ts, re-exported for the views that import it here.
export { sampleRows } from "./sample";

/** `limit` indexes of 0..n-1 evenly spread (all of them when n <= limit). */
export function evenSample(n: number, limit: number): number[] {
  if (n <= limit) return Array.from({ length: n }, (_, i) => i);
  const step = n / limit;
  return Array.from({ length: limit }, (_, k) => Math.floor(k * step));
}

/**
 * Indexes of the non-dominated points (each point one value per objective). Of feasible points
 * only where `infeasible` is given, as Optuna's best_trials and plot_pareto_front: an
 * infeasible point is never on the front and dominates nothing.
 */
export function paretoFront(points: number[][], directions: string[], infeasible?: ArrayLike<boolean | number>): number[] {
  const columns = directions.map((_, k) => Float64Array.from(points, (p) => p[k]));
  return paretoFrontColumns(columns, directions, infeasible);
}

/** paretoFront of points given as one column per objective (columns[k][i]: point i's value k):
 * no array per point, which cost ~1 s at 1,000,000 trials. */
export function paretoFrontColumns(columns: ArrayLike<number>[], directions: string[], infeasible?: ArrayLike<boolean | number>): number[] {
  const sign = directions.map((d) => (d === "maximize" ? -1 : 1));
  if (sign.length === 2) return paretoFront2(columns, sign, infeasible);
  const n = columns[0]?.length ?? 0;
  const at = (i: number, k: number) => columns[k][i];
  // Sort by the first objective so each point needs comparing only with the front so far.
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => !infeasible?.[i]);
  order.sort((a, b) => {
    for (let k = 0; k < sign.length; k++) {
      const d = sign[k] * (at(a, k) - at(b, k));
      if (d !== 0) return d;
    }
    return a - b;
  });
  const front: number[] = [];
  for (const i of order) {
    const dominated = front.some((j) => {
      let strictly = false;
      let equal = true;
      for (let k = 0; k < sign.length; k++) {
        const d = sign[k] * (at(j, k) - at(i, k));
        if (d > 0) return false;
        if (d < 0) strictly = true;
        if (at(j, k) !== at(i, k)) equal = false;
      }
      return strictly || equal;
    });
    if (!dominated) front.push(i);
  }
  return front.sort((a, b) => a - b);
}

/**
 * The 2-objective front by one sort and a sweep: in the order (first, second, index), a point
 * is on the front iff its second value is below every earlier one's (an equal earlier point is
 * its duplicate: only the first of duplicates is on the front, as in the general case). The
 * general scan compares each point with the front so far: 17 s at 1,000,000 points.
 */
function paretoFront2(columns: ArrayLike<number>[], sign: number[], infeasible?: ArrayLike<boolean | number>): number[] {
  const [c0, c1] = columns;
  const [s0, s1] = sign;
  const n = c0.length;
  // Values signed on the fly and each point's slice kept in 2 bytes: copies of both columns
  // and a slice computed twice cost ~70 ms at 1,000,000 points, most of this function.
  const idx = new Int32Array(n);
  let k = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (infeasible?.[i]) continue;
    const v = s0 * c0[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    idx[k++] = i;
  }
  // Only a point whose second value is below those of every slice of lower first values can be
  // on the front (a point of an earlier slice has a lower first value): the sort is of these few.
  const SLICES = 4096;
  const scale = hi > lo && Number.isFinite(hi - lo) ? SLICES / (hi - lo) : 0;
  const slice = (v: number) => (Number.isFinite(v) ? Math.max(0, Math.min(SLICES - 1, Math.floor((v - lo) * scale))) : v > 0 ? SLICES - 1 : 0);
  const least = new Float64Array(SLICES + 1).fill(Infinity); // least[s + 1]: the lowest b of slices <= s
  const sliceOf = new Uint16Array(k);
  for (let j = 0; j < k; j++) {
    const i = idx[j];
    const s = (sliceOf[j] = slice(s0 * c0[i]));
    const b = s1 * c1[i];
    if (b < least[s + 1]) least[s + 1] = b;
  }
  for (let s = 1; s <= SLICES; s++) least[s] = Math.min(least[s], least[s - 1]);
  let m = 0;
  for (let j = 0; j < k; j++) {
    const i = idx[j];
    if (!(s1 * c1[i] >= least[sliceOf[j]])) idx[m++] = i; // least[s]: the lowest b of slices < s
  }
  const a = (i: number) => s0 * c0[i];
  const b = (i: number) => s1 * c1[i];
  const order = Array.from(idx.subarray(0, m)).sort((x, y) => a(x) - a(y) || b(x) - b(y) || x - y);
  const front: number[] = [];
  let lowest = Infinity;
  for (const i of order) {
    if (b(i) < lowest || (front.length === 0 && b(i) === Infinity)) {
      lowest = b(i);
      front.push(i);
    }
  }
  return front.sort((x, y) => x - y);
}

/** Progress as text: `k / N`, or elapsed / timeout, or trials so far. */
export function progressText(status: Status, elapsed: number): string {
  const done = status.n_done ?? 0;
  if (status.n_trials) return `${done} / ${status.n_trials}`;
  if (status.timeout) return `${formatDuration(elapsed)} / ${formatDuration(status.timeout)}`;
  return `${done} trials`;
}
