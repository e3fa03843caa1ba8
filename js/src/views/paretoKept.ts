// The Pareto view's trials, kept between redraws: the complete trials with every objective
// finite, split into feasible and infeasible ones, and the front of the feasible ones. Finding
// the front of 1,000,000 trials again at each live redraw cost ~50-100 ms (the columns copied,
// a pass of slices); but a finished trial never changes, and the front of a growing set is the
// front of the old front and the new points, so a redraw reads the new trials alone.

import { open } from "../model/columns";
import { paretoFrontColumns } from "../model/derive";
import { COMPLETE, type TrialRecord } from "../model/record";

export interface ParetoTrials {
  /** Feasible trials' numbers, ascending (read-only: a view of kept buffers, valid until the next call). */
  feasible: Int32Array;
  infeasible: Int32Array;
  /** The trials on the front, ascending. */
  front: number[];
}

interface Kept {
  key: string;
  version: number;
  /** Trials below this number are finished: in the lists' first `nGood` / `nBad` and in `front`. */
  settled: number;
  nGood: number;
  nBad: number;
  good: Int32Array;
  bad: Int32Array;
  front: number[];
  out: ParetoTrials;
}

const kept = new WeakMap<TrialRecord, Kept>();

/** The record's Pareto trials for `directions` (see ParetoTrials). */
export function paretoTrials(rec: TrialRecord, directions: string[]): ParetoTrials {
  const key = directions.join(",");
  let k = kept.get(rec);
  if (!k || k.key !== key) {
    const none = { feasible: new Int32Array(0), infeasible: new Int32Array(0), front: [] };
    kept.set(rec, (k = { key, version: -1, settled: 0, nGood: 0, nBad: 0, good: new Int32Array(0), bad: new Int32Array(0), front: [], out: none }));
  }
  if (k.version === rec.version) return k.out;
  reserve(k, rec.size - k.settled);
  // Settle what finished since: into the lists for good, and its front merged into the kept one.
  const before = k.nGood;
  let n = k.settled;
  for (; n < rec.size && !open(rec.state[n]); n++) {
    const kind = kindOf(rec, n);
    if (kind === GOOD) k.good[k.nGood++] = n;
    else if (kind === BAD) k.bad[k.nBad++] = n;
  }
  k.settled = n;
  if (k.nGood > before) k.front = frontOf(rec, directions, k.front, k.good.subarray(before, k.nGood));
  // The unfinished end: after the kept entries, again at each call.
  let [good, bad] = [k.nGood, k.nBad];
  for (; n < rec.size; n++) {
    const kind = kindOf(rec, n);
    if (kind === GOOD) k.good[good++] = n;
    else if (kind === BAD) k.bad[bad++] = n;
  }
  const front = good > k.nGood ? frontOf(rec, directions, k.front, k.good.subarray(k.nGood, good)) : k.front;
  k.version = rec.version;
  k.out = { feasible: k.good.subarray(0, good), infeasible: k.bad.subarray(0, bad), front };
  return k.out;
}

const SKIP = 0;
const GOOD = 1;
const BAD = 2;

function kindOf(rec: TrialRecord, n: number): number {
  if (rec.state[n] !== COMPLETE) return SKIP;
  for (let j = 0; j < rec.values.length; j++) if (!Number.isFinite(rec.values[j][n])) return SKIP;
  return rec.constraint[n] > 0 ? BAD : GOOD;
}

/** The front of `front` and `more` (trial numbers, each ascending, all of `more` after `front`):
 * in trial order, so of duplicates the earliest trial stays on it, as paretoFront's rule. */
function frontOf(rec: TrialRecord, directions: string[], front: number[], more: Int32Array): number[] {
  const trials = new Int32Array(front.length + more.length);
  trials.set(front);
  trials.set(more, front.length);
  const columns = directions.map((_, j) => {
    const [col, out] = [rec.values[j], new Float64Array(trials.length)];
    for (let i = 0; i < trials.length; i++) out[i] = col[trials[i]];
    return out;
  });
  return paretoFrontColumns(columns, directions).map((i) => trials[i]);
}

/** Room in the lists for `more` entries after the kept ones (doubling, and an eighth to spare
 * at first: the next live deltas fit without a copy). */
function reserve(k: Kept, more: number): void {
  const grow = (a: Int32Array, used: number) => {
    const need = used + more;
    if (need <= a.length) return a;
    const out = new Int32Array(Math.max(need + (need >> 3) + 1024, a.length * 2));
    out.set(a.subarray(0, used));
    return out;
  };
  k.good = grow(k.good, k.nGood);
  k.bad = grow(k.bad, k.nBad);
}
