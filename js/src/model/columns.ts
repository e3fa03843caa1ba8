// The record's complete trials as typed columns, kept between redraws, for the views that read
// every trial at 1,000,000 of them. completed() (derive.ts) builds plain arrays a push at a time:
// ~60 ms there for its three arrays; these are extended by the trials that finished since the
// last call, so a live redraw scans only the record's unfinished end.

import { ABSENT, COMPLETE, RUNNING, type TrialRecord } from "./record";

export interface CompleteColumns {
  numbers: Int32Array;
  values: Float64Array;
  /** 1 where the trial breaks a constraint (a value above 0). */
  infeasible: Uint8Array;
}

const WAITING = 4;

interface Kept {
  version: number;
  /** Trials below this number are finished (their state, values and constraint are final). */
  settled: number;
  /** How many of the columns' entries are of trials below `settled`. */
  prefix: number;
  numbers: Int32Array;
  values: Float64Array;
  infeasible: Uint8Array;
  out: CompleteColumns;
}

const kept = new WeakMap<TrialRecord, Map<number, Kept>>();

/**
 * Complete trials with a finite value of objective `i`, in trial order. Read-only, and valid
 * until the next call for this record: the columns are views of buffers kept per record and
 * objective. A record only grows (rows are appended; a running trial finishes, and a finished
 * trial never changes), so the trials before the first unfinished one are kept as they are and
 * only those after it are read again. A full sync brings a new record object, with new columns.
 */
export function completeColumns(rec: TrialRecord, i = 0): CompleteColumns {
  let byObjective = kept.get(rec);
  if (!byObjective) kept.set(rec, (byObjective = new Map()));
  let k = byObjective.get(i);
  if (!k) {
    const empty = { numbers: new Int32Array(0), values: new Float64Array(0), infeasible: new Uint8Array(0) };
    byObjective.set(i, (k = { version: -1, settled: 0, prefix: 0, ...empty, out: empty }));
  }
  if (k.version === rec.version) return k.out;
  const col = rec.values[i];
  const state = rec.state;
  if (!col) return k.out;
  // Room for every trial not settled yet, so the loops below write without a check each.
  reserve(k, k.prefix + rec.size - k.settled);
  const { numbers, values, infeasible } = k;
  const constraint = rec.constraint;
  const size = rec.size;
  // Settle what finished since: appended for good.
  let n = k.settled;
  let end = k.prefix;
  for (; n < size && !open(state[n]); n++) {
    if (state[n] !== COMPLETE || !Number.isFinite(col[n])) continue;
    numbers[end] = n;
    values[end] = col[n];
    infeasible[end++] = constraint[n] > 0 ? 1 : 0;
  }
  k.settled = n;
  k.prefix = end;
  // The unfinished end: written after the prefix, again at each call.
  for (; n < size; n++) {
    if (state[n] !== COMPLETE || !Number.isFinite(col[n])) continue;
    numbers[end] = n;
    values[end] = col[n];
    infeasible[end++] = constraint[n] > 0 ? 1 : 0;
  }
  k.version = rec.version;
  k.out = { numbers: k.numbers.subarray(0, end), values: k.values.subarray(0, end), infeasible: k.infeasible.subarray(0, end) };
  return k.out;
}

/** A trial whose end (or whose row) may still come: what comes before the first such trial is final. */
export function open(state: number): boolean {
  return state === RUNNING || state === WAITING || state === ABSENT;
}

/** Grows the kept columns to hold `need` entries, with room to spare: doubling, and an eighth
 * more than a first build needs, so the next live deltas do not copy them all again. */
function reserve(k: Kept, need: number): void {
  if (need <= k.numbers.length) return;
  const cap = Math.max(need + (need >> 3) + 1024, k.numbers.length * 2);
  k.numbers = grown(k.numbers, new Int32Array(cap));
  k.values = grown(k.values, new Float64Array(cap));
  k.infeasible = grown(k.infeasible, new Uint8Array(cap));
}

function grown<T extends Int32Array | Float64Array | Uint8Array>(a: T, into: T): T {
  into.set(a as never);
  return into;
}

/**
 * The rows of `cols` whose trial has a value of each of `params` (fresh columns; `cols` itself
 * when every row has them all).
 */
export function withParams(rec: TrialRecord, cols: CompleteColumns, params: number[]): CompleteColumns {
  if (params.length === 0) return cols;
  const pcols = params.map((j) => rec.paramValues[j]);
  if (pcols.some((c) => !c)) return { numbers: new Int32Array(0), values: new Float64Array(0), infeasible: new Uint8Array(0) };
  const { numbers, values, infeasible } = cols;
  // The views ask for one or two parameters: fixed columns, not a loop over them a row (~40 ms
  // at 1,000,000 trials).
  const [a, b] = [pcols[0], pcols[1] ?? pcols[0]];
  const many = pcols.length > 2;
  const has = (n: number) => !Number.isNaN(a[n]) && !Number.isNaN(b[n]) && (!many || pcols.every((c) => !Number.isNaN(c[n])));
  let count = 0;
  for (let r = 0; r < numbers.length; r++) if (has(numbers[r])) count++;
  if (count === numbers.length) return cols;
  const out = { numbers: new Int32Array(count), values: new Float64Array(count), infeasible: new Uint8Array(count) };
  for (let r = 0, k = 0; r < numbers.length; r++) {
    if (!has(numbers[r])) continue;
    out.numbers[k] = numbers[r];
    out.values[k] = values[r];
    out.infeasible[k++] = infeasible[r];
  }
  return out;
}

/** `column[rows[i]]` for each row: a parameter's values of the rows. */
export function gather(column: ArrayLike<number>, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = column[rows[i]];
  return out;
}

const logs = new WeakMap<TrialRecord, Map<number, { settled: number; out: Float64Array }>>();

/**
 * log10 of parameter j's values, indexed by trial number, kept between redraws as the complete
 * columns are: a finished trial's parameters never change, so only the trials from the first
 * unfinished one on are computed again (log10 of 1,000,000 values cost ~40 ms a redraw).
 */
export function log10Column(rec: TrialRecord, j: number): Float64Array {
  const col = rec.paramValues[j];
  let byParam = logs.get(rec);
  if (!byParam) logs.set(rec, (byParam = new Map()));
  let k = byParam.get(j);
  if (!k || k.out.length < rec.size) {
    const out = new Float64Array(Math.max(rec.capacity, rec.size));
    if (k) out.set(k.out.subarray(0, k.settled));
    byParam.set(j, (k = { settled: k?.settled ?? 0, out }));
  }
  const { out } = k;
  for (let n = k.settled; n < rec.size; n++) out[n] = Math.log10(col[n]);
  while (k.settled < rec.size && !open(rec.state[k.settled])) k.settled++;
  return out;
}

export interface Split {
  rows: Int32Array;
  values: Float64Array;
  apart: { rows: Int32Array; values: Float64Array };
}

const splits = new WeakMap<TrialRecord, { good: Int32Array; goodValues: Float64Array; bad: Int32Array; badValues: Float64Array }>();

/**
 * The rows of `cols` split into feasible ones and infeasible ones (drawn apart, muted). Into
 * buffers kept per record (read-only views, valid until the next call): four arrays of every
 * trial allocated at each redraw cost a garbage collection's pause now and then at 1,000,000.
 */
export function splitInfeasible(rec: TrialRecord, cols: CompleteColumns): Split {
  const { numbers, values, infeasible } = cols;
  const n = numbers.length;
  let b = splits.get(rec);
  if (!b || b.good.length < n) {
    const cap = n + (n >> 3) + 1024;
    splits.set(rec, (b = { good: new Int32Array(cap), goodValues: new Float64Array(cap), bad: new Int32Array(cap), badValues: new Float64Array(cap) }));
  }
  let [g, k] = [0, 0];
  for (let i = 0; i < n; i++) {
    if (infeasible[i]) {
      b.bad[k] = numbers[i];
      b.badValues[k++] = values[i];
    } else {
      b.good[g] = numbers[i];
      b.goodValues[g++] = values[i];
    }
  }
  return { rows: b.good.subarray(0, g), values: b.goodValues.subarray(0, g), apart: { rows: b.bad.subarray(0, k), values: b.badValues.subarray(0, k) } };
}
