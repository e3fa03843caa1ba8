// Rank (as Optuna's plot_rank): complete trials over two parameters (or one against the trial
// number), coloured by the rank of their objective value rather than the value itself, so one
// outlier does not squash every other trial into one colour. The best trial is at the bright
// (orange) end of the scale, as in contour and parallel coordinates.

import { completeColumns, gather } from "../model/columns";
import { completed, formatNumber, objectiveName, type Meta } from "../model/derive";
import type { TrialRecord } from "../model/record";
import { countBelow, orderAt } from "../model/select";
import { SEQUENTIAL_SCALE } from "./colours";
import { escapePlotly as esc } from "./dom";
import { finiteExtent, integerTicks, paramAxisLayout } from "./figureAxes";
import { scatterType } from "./figures";
import type { Figure } from "./figureTypes";

/**
 * Markers drawn at most: past them the best tenth and an even sample of the rest by rank (as
 * parallel coordinates, sampleRows). At 50,000 trials plotly's WebGL scatter took ~1 s a redraw
 * in headless Chromium, where 1,500 SVG markers cost what the history plot costs.
 */
export const MAX_RANK_POINTS = 1500;

/** The y axis shows the trial number instead of a second parameter. */
export const TRIAL_AXIS = -1;

export interface RankData {
  /** The trials drawn (complete, a finite value, both parameters set), worst first. */
  numbers: number[];
  x: number[];
  y: number[];
  values: number[];
  /** Each drawn trial's rank among all ranked trials: 0 the best; ties share a rank. */
  ranks: number[];
  /** The colour of each: 1 for the best, 0 for the worst (the rank scaled to [0, 1]). */
  colours: number[];
  /** How many trials are ranked (complete, with a finite value of the objective). */
  total: number;
  /** The ranked values, best first (the colour bar reads its labels from them). */
  sorted: number[];
}

/**
 * `at(v, after)`: the first index of ascending `sorted` whose value is not below `v` (or, `after`,
 * above it). A table of where each of 65,536 equal slices of the range starts narrows each binary
 * search to its slice: a search over all of a 1,000,000-value array cost ~0.7 µs a value in
 * cache misses, most of the rank view's build.
 */
function bounds(sorted: Float64Array): (v: number, after: boolean) => number {
  const n = sorted.length;
  const SLICES = 1 << 16;
  const lo = n ? sorted[0] : 0;
  const span = n ? sorted[n - 1] - lo : 0;
  const scale = span > 0 && Number.isFinite(span) ? SLICES / span : 0;
  const slice = (v: number) => Math.max(0, Math.min(SLICES - 1, Math.floor((v - lo) * scale)));
  const start = new Int32Array(SLICES + 1).fill(n);
  for (let i = n - 1; i >= 0; i--) start[slice(sorted[i])] = i;
  for (let b = SLICES - 1; b >= 0; b--) start[b] = Math.min(start[b], start[b + 1]);
  return (v, after) => {
    const b = slice(v);
    let l = start[b];
    let h = start[b + 1];
    while (l < h) {
      const mid = (l + h) >> 1;
      if (sorted[mid] < v || (after && sorted[mid] === v)) l = mid + 1;
      else h = mid;
    }
    return l;
  };
}

/**
 * The complete trials' ranks on `objective` (a trial's rank: how many trials are strictly
 * better), and the points of the x / y choice. By a numeric sort and binary searches, and the
 * drawing order by counting ranks: a comparator sort of 50,000 trials cost ~5x as much.
 */
export function rankData(rec: TrialRecord, meta: Meta, px: number, py: number, objective: number): RankData {
  const { numbers, values } = completed(rec, objective);
  const maximize = (meta.directions?.[objective] ?? "minimize") === "maximize";
  const total = numbers.length;
  const ascending = Float64Array.from(values).sort();
  const ranks = new Int32Array(total);
  const perRank = new Int32Array(total + 1);
  const bound = bounds(ascending);
  for (let i = 0; i < total; i++) {
    ranks[i] = maximize ? total - bound(values[i], true) : bound(values[i], false);
    perRank[ranks[i]]++;
  }
  // Worst first, so the best are drawn last: on top where markers overlap.
  const slot = new Int32Array(total + 1);
  for (let r = total - 1; r > 0; r--) slot[r - 1] = slot[r] + perRank[r];
  const order = new Int32Array(total);
  for (let i = 0; i < total; i++) order[slot[ranks[i]]++] = i;
  const xCol = rec.paramValues[px];
  const yCol = py === TRIAL_AXIS ? null : rec.paramValues[py];
  const sorted = Array.from(ascending);
  if (maximize) sorted.reverse();
  const out: RankData = { numbers: [], x: [], y: [], values: [], ranks: [], colours: [], total, sorted };
  const scale = total > 1 ? 1 / (total - 1) : 0;
  for (let k = 0; k < total; k++) {
    const i = order[k];
    const n = numbers[i];
    const x = xCol ? xCol[n] : NaN;
    const y = yCol ? yCol[n] : n;
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    out.numbers.push(n);
    out.x.push(x);
    out.y.push(y);
    out.values.push(values[i]);
    out.ranks.push(ranks[i]);
    out.colours.push(1 - ranks[i] * scale);
  }
  return out;
}

/** What the Rank view draws: the drawn trials (as RankData, worst first), and of all of them
 * what the axes and the colour bar need. */
export interface RankSample {
  drawn: RankData;
  /** How many trials have both parameters (the others are not drawn). */
  drawable: number;
  /** The extremes of the drawable trials' x and y (see extremes): the axes span them all. */
  xs: number[];
  ys: number[];
  /** The ks-th best of the ranked values (0: the best). */
  best: (ks: number[]) => number[];
}

/**
 * rankData's drawn subset, without ranking every trial: past MAX_RANK_POINTS the best tenth
 * (ties to the earlier trial) and an even sample by rank of the rest, as sampleRows picks them
 * from rankData, found by selection (orderAt) and ranked by one counting pass (countBelow). At
 * 1,000,000 trials rankData's sort, binary searches and per-trial arrays cost ~1.8 s a redraw.
 */
export function rankSample(rec: TrialRecord, meta: Meta, px: number, py: number, objective: number): RankSample {
  const sign = (meta.directions?.[objective] ?? "minimize") === "maximize" ? -1 : 1;
  const { numbers, values } = completeColumns(rec, objective);
  const total = numbers.length;
  // Keys ascending from the best (the kept columns are read-only: negated into a copy).
  const keys = sign === 1 ? values : values.map((v) => -v);
  const xCol = rec.paramValues[px];
  const yCol = py === TRIAL_AXIS ? null : rec.paramValues[py];
  // The drawable trials: all of them, unless some lack a parameter (then their indexes in `numbers`).
  let rows: ArrayLike<number> = numbers;
  let at: Int32Array | null = null;
  const has = (n: number) => !!xCol && !Number.isNaN(xCol[n]) && !(yCol && Number.isNaN(yCol[n]));
  const { m, xs, ys } = drawable(numbers, xCol, yCol);
  if (m < total) {
    at = new Int32Array(m);
    for (let i = 0, d = 0; i < total; i++) if (has(numbers[i])) at[d++] = i;
    rows = gather(numbers, at);
  }
  const drawKeys = at ? gather(keys, at) : keys;
  // The colour bar's values (best, quartiles, worst) from the sample's select where the drawable
  // trials are all of them: the k-th best is the (total - 1 - k)-th worst.
  const bar = m === total && m > MAX_RANK_POINTS ? [0, 0.25, 0.5, 0.75, 1].map((share) => total - 1 - Math.round(share * (total - 1))) : [];
  const sampled = m <= MAX_RANK_POINTS ? null : sampleByRank(drawKeys, MAX_RANK_POINTS, bar);
  const pick = sampled?.pick ?? Int32Array.from({ length: m }, (_, d) => d);
  // Worst first (ties in trial order), so the best are drawn last: on top where markers overlap.
  pick.sort((a, b) => drawKeys[b] - drawKeys[a] || a - b);
  const ranks = countBelow(keys, Array.from(pick, (d) => drawKeys[d]));
  const scale = total > 1 ? 1 / (total - 1) : 0;
  const drawn: RankData = { numbers: [], x: [], y: [], values: [], ranks: Array.from(ranks), colours: [], total, sorted: [] };
  pick.forEach((d, k) => {
    const n = rows[d];
    drawn.numbers.push(n);
    drawn.x.push(xCol[n]);
    drawn.y.push(yCol ? yCol[n] : n);
    drawn.values.push(sign * drawKeys[d]);
    drawn.colours.push(1 - ranks[k] * scale);
  });
  const known = sampled?.also;
  const best = (ks: number[]) => {
    const hits = ks.map((k) => known?.get(total - 1 - k));
    if (hits.every((i) => i !== undefined)) return hits.map((i) => values[i as number]);
    return Array.from(orderAt(keys, ks), (i) => values[i]);
  };
  return { drawn, drawable: m, xs, ys, best };
}

/**
 * How many of the trials have both parameters (x, and y unless it is the trial number), and the
 * extremes of their x and y (as figureAxes' extremes): one pass, where a count and an extremes
 * pass per axis cost ~30 ms a redraw at 1,000,000 trials.
 */
function drawable(numbers: Int32Array, xCol: Float64Array | undefined, yCol: Float64Array | null): { m: number; xs: number[]; ys: number[] } {
  const e = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity];
  if (!xCol) return { m: 0, xs: [], ys: [] };
  let m = 0;
  for (let i = 0; i < numbers.length; i++) {
    const n = numbers[i];
    const x = xCol[n];
    const y = yCol ? yCol[n] : n;
    if (Number.isNaN(x) || Number.isNaN(y)) continue;
    m++;
    widen(e, 0, x);
    widen(e, 4, y);
  }
  const pick = (o: number) => e.slice(o, o + 4).filter(Number.isFinite);
  return { m, xs: pick(0), ys: pick(4) };
}

/** e[o..o+4): the lowest and highest finite value, and the lowest and highest positive one. */
function widen(e: number[], o: number, v: number): void {
  if (!Number.isFinite(v)) return;
  if (v < e[o]) e[o] = v;
  if (v > e[o + 1]) e[o + 1] = v;
  if (v > 0 && v < e[o + 2]) e[o + 2] = v;
  if (v > 0 && v > e[o + 3]) e[o + 3] = v;
}

/**
 * sampleRows' choice in rankData's worst-first order: the best `limit / 10` (lowest keys, ties
 * to the earlier trial), then the positions k * m / rest of the worst-first order not taken yet.
 */
function sampleByRank(keys: Float64Array, limit: number, also: number[] = []): { pick: Int32Array; also: Map<number, number> } {
  const m = keys.length;
  const want = Math.floor(limit / 10);
  const rest = limit - want;
  const step = m / rest;
  // In the worst-first order (keys descending, ties in trial order): the even positions, the
  // first of the best `want` (whose key is the cut), and `also` (the colour bar's: one select
  // for all, each a few passes over the keys).
  const evens = Array.from({ length: rest }, (_, k) => Math.floor(k * step));
  const positions = [...new Set([...evens, m - want, ...also])].sort((a, b) => a - b);
  const found = orderAt(keys, positions, true);
  const at = new Map(positions.map((p, i) => [p, found[i]]));
  const cut = keys[at.get(m - want) as number];
  const chosen = new Set<number>();
  const out: number[] = [];
  let ties = want;
  for (let d = 0; d < m; d++) if (keys[d] < cut) ties--;
  for (let d = 0; d < m; d++) {
    if (keys[d] < cut || (keys[d] === cut && ties-- > 0)) {
      chosen.add(d);
      out.push(d);
    }
  }
  for (const p of evens) {
    const d = at.get(p) as number;
    if (!chosen.has(d)) {
      chosen.add(d);
      out.push(d);
    }
  }
  return { pick: Int32Array.from(out), also: new Map(also.map((p) => [p, at.get(p) as number])) };
}

/** Colour bar ticks: the best, the quartiles and the worst, each with its value (`best(ks)`: the
 * ks-th best values of the `total` ranked). */
function colourBar(total: number, best: (ks: number[]) => number[]): { tickvals: number[]; ticktext: string[] } {
  const marks: Array<[number, string]> = total > 4
    ? [[0, "best"], [0.25, "top 25%"], [0.5, "median"], [0.75, "top 75%"], [1, "worst"]]
    : [[0, "best"], [1, "worst"]];
  const tickvals: number[] = [];
  const ticktext: string[] = [];
  const shown = total > 1 ? marks : marks.slice(0, 1);
  const ks = shown.map(([share]) => Math.round(share * (total - 1)));
  const values = best(ks);
  shown.forEach(([, label], i) => {
    tickvals.push(total > 1 ? 1 - ks[i] / (total - 1) : 1);
    ticktext.push(`${label}: ${esc(formatNumber(values[i]))}`);
  });
  return { tickvals, ticktext };
}

/**
 * Each trial's hover text up to its value, kept per record: a complete trial's value does not
 * change, and formatting 50,000 values took most of a redraw. A resent record is a new object.
 */
const heads = new WeakMap<TrialRecord, { key: string; texts: Map<number, string> }>();

function headOf(rec: TrialRecord, name: string): (n: number, value: number) => string {
  let cache = heads.get(rec);
  if (!cache || cache.key !== name) heads.set(rec, (cache = { key: name, texts: new Map() }));
  const texts = cache.texts;
  const label = esc(name);
  return (n, value) => {
    let t = texts.get(n);
    if (t === undefined) texts.set(n, (t = `trial ${n}<br>${label}: ${formatNumber(value)}`));
    return t;
  };
}

/**
 * Hover texts and template: the trial, its value and rank as text; a numeric parameter as
 * plotly's own %{x} / %{y} (formatted only when shown), a categorical one by its label.
 */
function hoverOf(rec: TrialRecord, d: RankData, name: string, px: number, py: number): { text: string[]; hovertemplate: string } {
  const head = headOf(rec, name);
  const axes: Array<[number, string, number[]]> = [[px, "x", d.x]];
  if (py !== TRIAL_AXIS) axes.push([py, "y", d.y]);
  let template = "%{text}";
  const labels: Array<[string, string[], number[]]> = [];
  for (const [j, axis, values] of axes) {
    const p = rec.params[j];
    if (p.choices) labels.push([esc(p.name), p.choices.map(esc), values]);
    else template += `<br>${esc(p.name)}: %{${axis}}`;
  }
  const of = ` of ${d.total}`;
  const text = d.numbers.map((n, i) => {
    let t = `${head(n, d.values[i])}<br>rank ${d.ranks[i] + 1}${of}`;
    for (const [label, choices, values] of labels) t += `<br>${label}: ${choices[values[i]] ?? ""}`;
    return t;
  });
  return { text, hovertemplate: `${template}<extra></extra>` };
}

/** The Rank view: parameter `px` across, `py` (or the trial number) up, colour by rank. */
export function rankFigure(rec: TrialRecord, meta: Meta, px: number, py: number, objective: number): Figure {
  const empty = (note: string): Figure => ({ data: [], layout: {}, note });
  const p = rec.params[px];
  const q = py === TRIAL_AXIS ? null : rec.params[py];
  if (!p || (py !== TRIAL_AXIS && !q)) return empty("No parameters.");
  if (px === py) return empty("Choose two different parameters, or the trial number.");
  const sample = rankSample(rec, meta, px, py, objective);
  const d = sample.drawn;
  const drawable = sample.drawable;
  if (d.numbers.length === 0) return empty(q ? "No completed trials with both parameters yet." : "No completed trials with this parameter yet.");
  const name = objectiveName(meta, objective);
  const missing = d.total - drawable;
  const [lo, hi] = finiteExtent(sample.ys) ?? [0, 1];
  return {
    data: [
      {
        type: scatterType(d.numbers.length), mode: "markers", x: d.x, y: d.y, customdata: d.numbers, // the trial a click opens
        marker: {
          color: d.colours, colorscale: SEQUENTIAL_SCALE, cmin: 0, cmax: 1, showscale: true, size: 7, opacity: 0.9,
          colorbar: { title: { text: `${esc(name)} by rank` }, tickmode: "array", ...colourBar(d.total, sample.best) },
        },
        ...hoverOf(rec, d, name, px, py),
      },
    ],
    layout: {
      // The axes span every trial, drawn or not: a sample's extent would move between redraws.
      xaxis: paramAxisLayout(p, sample.xs, { title: p.name }),
      yaxis: q ? paramAxisLayout(q, sample.ys, { title: q.name }) : { title: { text: "trial" }, ...integerTicks(lo, hi) },
    },
    note: `${d.total.toLocaleString()} complete trials ranked by ${name}; colour by rank, not value (the best is orange)${missing ? `; ${missing.toLocaleString()} without ${q ? "both parameters" : "this parameter"} not drawn` : ""}${
      d.numbers.length < drawable ? `; ${d.numbers.length.toLocaleString()} of ${drawable.toLocaleString()} drawn: the best and an even sample of the rest` : ""}.`,
  };
}
