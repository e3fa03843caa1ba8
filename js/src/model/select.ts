// Order statistics without a full sort: which element sits at given positions of the sorted
// order, and how many keys lie below given values. The views draw a few hundred quantiles or
// ranks of up to 1,000,000 trials; sorting them all (a numeric sort of the keys ~100-150 ms there,
// a comparator sort of indexes ~1.1 s) cost more than everything else the view does.

/** Groups at most this size are sorted outright (by insertion: see leafOrder). */
const LEAF = 64;
/** Buckets per level at most: 65,536 counters (256 kB) stay in cache; ~15 keys a bucket at 1,000,000. */
const BUCKETS = 1 << 16;

/**
 * The indexes at `positions` (ascending, each in 0..n-1) of the ascending (key, index) order of
 * `keys` (finite numbers; `descending`: the order by key descending, ties still by index). A bucketed select: each level counts the keys into equal-width buckets
 * of their range, and only the buckets holding a wanted position are looked into again, so the
 * cost is a few passes over the keys (a skewed distribution adds a level, as its crowded buckets
 * are split again over their own range).
 */
export function orderAt(keys: ArrayLike<number>, positions: ArrayLike<number>, descending = false): Int32Array {
  const out = new Int32Array(positions.length);
  if (positions.length) resolve(keys, descending ? -1 : 1, null, keys.length, positions, 0, positions.length, 0, out);
  return out;
}

/**
 * Fills out[p0..p1) for a group of keys (`ids[i]` the index of `keys[i]`, ascending; null:
 * i itself), whose first element is at absolute position `offset`. Each level copies its wanted
 * buckets' keys beside their indexes: reading the keys through scattered indexes was a cache
 * miss a key, most of the select's time.
 */
function resolve(keys: Keys, sign: number, ids: Int32Array | null, count: number, positions: ArrayLike<number>, p0: number, p1: number, offset: number, out: Int32Array): void {
  if (count <= LEAF) {
    const order = leafOrder(keys, sign, count);
    for (let p = p0; p < p1; p++) {
      const i = order[positions[p] - offset];
      out[p] = ids ? ids[i] : i;
    }
    return;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < count; i++) {
    const k = sign * keys[i];
    if (k < lo) lo = k;
    if (k > hi) hi = k;
  }
  // All equal: the order is the index order, which ids already are in.
  if (!(hi > lo)) {
    for (let p = p0; p < p1; p++) out[p] = ids ? ids[positions[p] - offset] : positions[p] - offset;
    return;
  }
  const buckets = new Buckets(keys, sign, count, lo, hi);
  const wanted = buckets.want(positions, p0, p1, offset);
  const [subKeys, subIds] = buckets.collect(ids);
  for (const [b, q0, q1] of wanted) {
    const at = buckets.slot[b];
    const n = buckets.start[b + 1] - buckets.start[b];
    resolve(subKeys.subarray(at, at + n), 1, subIds.subarray(at, at + n), n, positions, q0, q1, offset + buckets.start[b], out);
  }
}

type Keys = ArrayLike<number>;

/** The order of a small group's keys, ties in index order: an insertion sort (a typed array's
 * comparator sort cost ~25 µs a call on groups of ~15, most of the select at 1,350 positions). */
function leafOrder(keys: Keys, sign: number, count: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const k = sign * keys[i];
    let j = i - 1;
    while (j >= 0 && sign * keys[out[j]] > k) {
      out[j + 1] = out[j];
      j--;
    }
    out[j + 1] = i;
  }
  return out;
}

/** One level: a group's keys counted into equal-width buckets of [lo, hi]. */
class Buckets {
  readonly nb: number;
  readonly shift: number;
  readonly scale: number;
  /** start[b]: how many keys lie in buckets before b. */
  readonly start: Int32Array;
  /** Where each wanted bucket's keys go in collect's buffers (-1: not wanted). */
  readonly slot: Int32Array;
  private size = 0;

  constructor(private keys: Keys, private sign: number, private count: number, lo: number, hi: number) {
    const nb = (this.nb = Math.min(BUCKETS, count >> 2));
    // Halves: hi - lo may overflow to Infinity where the halves' difference does not.
    const shift = (this.shift = lo / 2);
    const scale = (this.scale = nb / 2 / (hi / 2 - lo / 2));
    const start = (this.start = new Int32Array(nb + 1));
    for (let i = 0; i < count; i++) start[Math.min(nb - 1, Math.floor(((sign * keys[i]) / 2 - shift) * scale)) + 1]++;
    for (let b = 0; b < nb; b++) start[b + 1] += start[b];
    this.slot = new Int32Array(nb).fill(-1);
  }

  /** The buckets the positions fall in: [bucket, first position, end position] each. */
  want(positions: ArrayLike<number>, p0: number, p1: number, offset: number): Array<[number, number, number]> {
    const wanted: Array<[number, number, number]> = [];
    for (let p = p0, b = 0; p < p1; p++) {
      const rel = positions[p] - offset;
      while (this.start[b + 1] <= rel) b++;
      if (this.slot[b] < 0) {
        this.slot[b] = this.size;
        this.size += this.start[b + 1] - this.start[b];
        wanted.push([b, p, p + 1]);
      } else wanted[wanted.length - 1][2] = p + 1;
    }
    return wanted;
  }

  /** The wanted buckets' keys and indexes, each bucket's together and in index order. */
  collect(ids: Int32Array | null): [Float64Array, Int32Array] {
    const { keys, sign, count, nb, shift, scale } = this;
    const subKeys = new Float64Array(this.size);
    const subIds = new Int32Array(this.size);
    const cursor = this.slot.slice();
    for (let i = 0; i < count; i++) {
      const k = sign * keys[i];
      const b = Math.min(nb - 1, Math.floor((k / 2 - shift) * scale));
      const c = cursor[b];
      if (c < 0) continue;
      subKeys[c] = k;
      subIds[c] = ids ? ids[i] : i;
      cursor[b] = c + 1;
    }
    return [subKeys, subIds];
  }
}

/**
 * For each of `queries`: how many of `keys` are strictly below it. One pass over the keys, each
 * placed among the (few) distinct queries through a table of equal slices of their range: a
 * binary search a key cost ~100 ms at 1,000,000 keys (a mispredicted branch a step), a sort more.
 */
export function countBelow(keys: ArrayLike<number>, queries: ArrayLike<number>): Int32Array {
  const q = Float64Array.from(queries).sort();
  // Distinct queries, ascending, in q[0..m).
  let m = 0;
  for (let i = 0; i < q.length; i++) if (m === 0 || q[i] !== q[m - 1]) q[m++] = q[i];
  const out = new Int32Array(queries.length);
  if (m === 0) return out;
  // below[j]: keys whose first query above them is q[j].
  const below = new Int32Array(m + 1);
  // The table spans the finite queries, [q[f0], q[f1]]; keys outside it are placed by a search.
  let f0 = 0;
  while (f0 < m && !Number.isFinite(q[f0])) f0++;
  let f1 = m - 1;
  while (f1 > f0 && !Number.isFinite(q[f1])) f1--;
  const [lo, hi, last] = [q[f0] ?? Infinity, q[f1] ?? -Infinity, q[m - 1]];
  const slices = Math.min(1 << 14, 4 * m);
  const scale = hi > lo ? slices / 2 / (hi / 2 - lo / 2) : 0;
  const slice = (v: number) => Math.min(slices - 1, Math.floor((v / 2 - lo / 2) * scale));
  // first[s]: the first query in slice s or after it (a query of an earlier slice is below any key of s).
  const first = new Int32Array(slices + 1).fill(f1 + 1);
  for (let j = f1; j >= f0; j--) first[slice(q[j])] = j;
  for (let b = slices - 1; b >= 0; b--) first[b] = Math.min(first[b], first[b + 1]);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (!(k < last)) continue; // below none of the queries (or NaN)
    let j: number;
    if (k >= lo && k < hi) {
      j = first[slice(k)];
      while (q[j] <= k) j++;
    } else j = firstAbove(q, m, k);
    below[j]++;
  }
  for (let j = 1; j < m; j++) below[j] += below[j - 1];
  for (let i = 0; i < queries.length; i++) {
    let l = 0;
    let h = m - 1;
    while (l < h) {
      const mid = (l + h) >> 1;
      if (q[mid] < queries[i]) l = mid + 1;
      else h = mid;
    }
    out[i] = below[l];
  }
  return out;
}

/** The first of q[0..m) above k (m: none). */
function firstAbove(q: Float64Array, m: number, k: number): number {
  let [l, h] = [0, m];
  while (l < h) {
    const mid = (l + h) >> 1;
    if (q[mid] > k) h = mid;
    else l = mid + 1;
  }
  return l;
}
