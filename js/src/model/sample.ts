// Which rows a view draws past a limit (parallel coordinates, rank, slice, contour): the best
// tenth of the limit and an even sample of the rest.

/**
 * Which rows a view draws past `limit`: the best tenth of the limit (feasible ones first, ties
 * to the earlier trial), and an even sample of the rest (a redraw's cost grows with what is
 * drawn). The best are found among the few values below a threshold read off a strided sample,
 * then an exact select of those: a comparator sort of every index took ~1.5 s at 1,000,000
 * values, and a select over a copy of all of them (with closures per value) ~65 ms.
 */
export function sampleRows(values: ArrayLike<number>, direction: string, limit: number, infeasible?: ArrayLike<boolean | number>): number[] {
  const n = values.length;
  if (n <= limit) return Array.from({ length: n }, (_, i) => i);
  const sign = direction === "maximize" ? -1 : 1;
  const want = Math.floor(limit / 10);
  const best: number[] = [];
  // The best `want` of the feasible values, then (if they are too few) of the infeasible ones.
  // NaN values sort last in the comparator sort this replaced: never among the best.
  for (const bad of [false, true]) {
    if (best.length >= want) break;
    for (const i of bestOfGroup(values, sign, infeasible, bad, want - best.length)) best.push(i);
  }
  best.sort((a, b) => a - b);
  // The even sample of the rest, merged with the best in index order (both come ascending).
  const rest = limit - best.length;
  const step = n / rest;
  const out: number[] = [];
  let b = 0;
  for (let k = 0; k < rest; k++) {
    const i = Math.floor(k * step);
    while (b < best.length && best[b] < i) out.push(best[b++]);
    if (b < best.length && best[b] === i) continue; // taken already: as the best
    out.push(i);
  }
  while (b < best.length) out.push(best[b++]);
  return out;
}

/** Whether row i is of the group (infeasible or not) and has a value. */
function member(values: ArrayLike<number>, infeasible: ArrayLike<boolean | number> | undefined, bad: boolean, i: number): boolean {
  return !!infeasible?.[i] === bad && !Number.isNaN(values[i]);
}

/** The `need` best rows of the group (lowest sign * value, ties to the earlier row), ascending. */
function bestOfGroup(values: ArrayLike<number>, sign: number, infeasible: ArrayLike<boolean | number> | undefined, bad: boolean, need: number): number[] {
  const n = values.length;
  let count = 0;
  for (let i = 0; i < n; i++) if (member(values, infeasible, bad, i)) count++;
  if (count === 0) return [];
  need = Math.min(need, count);
  // A threshold from a strided sample of the group, with room: the rows at or below it are the
  // candidates, and if they are too few (an unlucky sample), every row of the group is.
  let threshold = Infinity;
  const SAMPLE = 4096;
  if (count > 8 * SAMPLE) {
    const stride = Math.max(1, Math.floor(n / SAMPLE));
    const sample: number[] = [];
    for (let i = 0; i < n; i += stride) if (member(values, infeasible, bad, i)) sample.push(sign * values[i]);
    const k = Math.ceil((need / count) * sample.length * 4) + 16;
    if (k < sample.length) threshold = nthSmallest(Float64Array.from(sample), k);
  }
  let candidates = collect(values, sign, infeasible, bad, threshold);
  if (candidates.length < need) candidates = collect(values, sign, infeasible, bad, Infinity);
  const keys = Float64Array.from(candidates, (i) => sign * values[i]);
  const cut = nthSmallest(keys.slice(), need - 1);
  let ties = need; // strictly better than the cut: all taken; ties at the cut by row order
  for (let k = 0; k < keys.length; k++) if (keys[k] < cut) ties--;
  const out: number[] = [];
  for (let k = 0; k < keys.length; k++) if (keys[k] < cut || (keys[k] === cut && ties-- > 0)) out.push(candidates[k]);
  return out;
}

/** The group's rows whose sign * value is at most `threshold`, ascending. */
function collect(values: ArrayLike<number>, sign: number, infeasible: ArrayLike<boolean | number> | undefined, bad: boolean, threshold: number): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (sign * values[i] <= threshold && member(values, infeasible, bad, i)) out.push(i);
  return Int32Array.from(out);
}

/** The k-th smallest of `a` (0-based; `a` is reordered): Hoare's quickselect, O(n), where a
 * full sort of 1,000,000 values took ~100 ms. */
export function nthSmallest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}
