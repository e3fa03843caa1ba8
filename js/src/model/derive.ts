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

/** Seconds as `1h 02m`, `3m 05s` or `4.2s`. */
export function formatDuration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return "";
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
    default: {
      const j = Number(column.slice(1));
      const col = column[0] === "v" ? rec.values[j] : rec.paramValues[j];
      return col ? col[n] : NaN;
    }
  }
}

/** The trial numbers to show: filtered by state (-1: all), sorted, NaN always last. */
export function tableRows(rec: TrialRecord, stateFilter: number, key: SortKey): Int32Array {
  const rows: number[] = [];
  for (let n = 0; n < rec.size; n++) {
    const s = rec.state[n];
    if (s !== ABSENT && (stateFilter < 0 || s === stateFilter)) rows.push(n);
  }
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

/** Complete trials with a finite value of objective `i`: their numbers and values. */
export function completed(rec: TrialRecord, i = 0): { numbers: number[]; values: number[] } {
  const numbers: number[] = [];
  const values: number[] = [];
  const col = rec.values[i];
  for (let n = 0; n < rec.size; n++) {
    if (rec.state[n] === COMPLETE && col && Number.isFinite(col[n])) {
      numbers.push(n);
      values.push(col[n]);
    }
  }
  return { numbers, values };
}

/** The running best of `values` in the given direction. */
export function bestSoFar(values: number[], direction: string): number[] {
  const out: number[] = [];
  let best = NaN;
  const better = direction === "maximize" ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  for (const v of values) {
    if (Number.isNaN(best) || better(v, best)) best = v;
    out.push(best);
  }
  return out;
}

/**
 * Which of `values` to draw when there are more than `limit`: in each of `limit / 2` buckets of
 * consecutive trials the lowest and the highest, plus every trial that improved the best so far.
 * The cloud keeps its shape and its extremes, the best-so-far line keeps every step, and the
 * plot costs the same at 50,000 trials as at 2,000 (drawing all of them took ~2 s a redraw).
 */
export function thinForPlot(values: number[], direction: string, limit: number): number[] {
  const n = values.length;
  if (n <= limit) return values.map((_, i) => i);
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
  const better = direction === "maximize" ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  let best = NaN;
  const steps: number[] = [];
  values.forEach((v, i) => {
    if (Number.isNaN(best) || better(v, best)) {
      best = v;
      steps.push(i);
    }
  });
  // A study that improves at nearly every trial has as many steps as trials: keep an even
  // sample of them (the line is then drawn at the sampled steps' resolution).
  const stride = Math.max(1, steps.length / buckets);
  for (let k = 0; k < steps.length; k += stride) keep.add(steps[Math.floor(k)]);
  keep.add(steps[steps.length - 1]);
  keep.add(n - 1);
  return [...keep].sort((a, b) => a - b);
}

/**
 * Which rows parallel coordinates draws past `limit`: the best tenth of the limit, and an even
 * sample of the rest (a redraw's cost grows with the lines).
 */
export function sampleRows(values: number[], direction: string, limit: number): number[] {
  const n = values.length;
  if (n <= limit) return values.map((_, i) => i);
  const order = values.map((_, i) => i).sort((a, b) => (direction === "maximize" ? values[b] - values[a] : values[a] - values[b]));
  const best = order.slice(0, Math.floor(limit / 10));
  const chosen = new Set(best);
  const rest = limit - best.length;
  const step = n / rest;
  for (let k = 0; k < rest && chosen.size < limit; k++) chosen.add(Math.floor(k * step));
  return [...chosen].sort((a, b) => a - b);
}

/** Indexes of the non-dominated points (each point one value per objective). */
export function paretoFront(points: number[][], directions: string[]): number[] {
  const sign = directions.map((d) => (d === "maximize" ? -1 : 1));
  // Sort by the first objective so each point needs comparing only with the front so far.
  const order = points.map((_, i) => i);
  order.sort((a, b) => {
    for (let k = 0; k < sign.length; k++) {
      const d = sign[k] * (points[a][k] - points[b][k]);
      if (d !== 0) return d;
    }
    return a - b;
  });
  const front: number[] = [];
  for (const i of order) {
    const p = points[i];
    const dominated = front.some((j) => {
      const q = points[j];
      let strictly = false;
      for (let k = 0; k < sign.length; k++) {
        const d = sign[k] * (q[k] - p[k]);
        if (d > 0) return false;
        if (d < 0) strictly = true;
      }
      return strictly || q.every((v, k) => v === p[k]);
    });
    if (!dominated) front.push(i);
  }
  return front.sort((a, b) => a - b);
}

/** Progress as text: `k / N`, or elapsed / timeout, or trials so far. */
export function progressText(status: Status, elapsed: number): string {
  const done = status.n_done ?? 0;
  if (status.n_trials) return `${done} / ${status.n_trials}`;
  if (status.timeout) return `${formatDuration(elapsed)} / ${formatDuration(status.timeout)}`;
  return `${done} trials`;
}
