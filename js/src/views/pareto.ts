// The Pareto front view (several objectives): the front of feasible trials, as Optuna's
// best_trials and plot_pareto_front with constraints; infeasible trials greyed apart.

import { evenSample, formatNumber, objectiveName, type Meta } from "../model/derive";
import { COMPLETE, type TrialRecord } from "../model/record";
import { INFEASIBLE_COLOR } from "./colours";
import { escapePlotly as esc } from "./dom";
import { NUMBER_FORMAT } from "./figureAxes";
import { STATE_COLORS, type Figure, type Trace } from "./figureTypes";
import { cachedHover, MAX_INFEASIBLE, MAX_POINTS, sampledNote } from "./figures";
import { paretoTrials } from "./paretoKept";

export function paretoFigure(rec: TrialRecord, meta: Meta, ix: number, iy: number): Figure {
  const directions = meta.directions ?? ["minimize"];
  if (directions.length < 2) return { data: [], layout: {}, note: "The Pareto front needs two or more objectives (--directions)." };
  // Kept between redraws (paretoTrials); value arrays per trial and index lists built with map
  // and filter cost ~1 s at 1,000,000 trials.
  const { feasible, infeasible, front } = paretoTrials(rec, directions);
  const total = feasible.length + infeasible.length;
  if (total === 0) return { data: [], layout: {}, note: "No completed trials yet." };
  const [nx, ny] = [objectiveName(meta, ix), objectiveName(meta, iy)];
  const hover = cachedHover(rec, "");
  const [xs, ys] = [rec.values[ix], rec.values[iy]];
  // Each kind drawn at most MAX_POINTS (infeasible: MAX_INFEASIBLE), an even sample past it;
  // the front sorted along x, so a sample of it keeps the staircase's shape.
  const trace = (kind: "dominated" | "front" | "infeasible"): Trace => {
    let trials: number[];
    if (kind === "front") {
      const along = front.slice().sort((a, b) => xs[a] - xs[b]);
      trials = evenSample(along.length, MAX_POINTS).map((k) => along[k]);
      if (trials.length < along.length) trials[trials.length - 1] = along[along.length - 1];
    } else if (kind === "infeasible") trials = evenSample(infeasible.length, MAX_INFEASIBLE).map((k) => infeasible[k]);
    else trials = dominatedAt(feasible, front, evenSample(feasible.length - front.length, MAX_POINTS));
    const style = {
      dominated: { color: STATE_COLORS[COMPLETE], size: 6, opacity: 0.5 },
      front: { color: "#d62728", size: 8, opacity: 1 },
      infeasible: { color: INFEASIBLE_COLOR, size: 6, opacity: 0.6, symbol: "circle-open" },
    }[kind];
    return {
      type: "scatter", mode: kind === "front" ? "lines+markers" : "markers",
      name: kind === "front" ? "Pareto front" : kind,
      x: trials.map((n) => xs[n]), y: trials.map((n) => ys[n]), customdata: trials,
      text: trials.map((n) => hover(n, undefined)), hovertemplate: "%{text}<br>%{x}, %{y}<extra></extra>",
      marker: style, line: { shape: "hv", color: "#d62728" },
    };
  };
  const nBad = infeasible.length;
  // The infeasible trace only where there are some, so the front stays data[1].
  const data = [trace("dominated"), trace("front"), ...(nBad ? [trace("infeasible")] : [])];
  const drawn = data.reduce((k, t) => k + (t.x as number[]).length, 0);
  return {
    data,
    layout: { xaxis: { title: { text: esc(nx) }, ...NUMBER_FORMAT }, yaxis: { title: { text: esc(ny) }, ...NUMBER_FORMAT } },
    note: [
      `${front.length} trials on the Pareto front of ${total}${directions.length > 2 ? " (all objectives; two shown)" : ""}`,
      nBad ? `${formatNumber(nBad)} infeasible (a constraint > 0), grey, never on the front` : "",
      sampledNote(drawn, total, "an even sample of each kind"),
    ].filter(Boolean).join("; "),
  };
}

/**
 * The dominated trials (the feasible ones off the front) at `positions` (ascending) of their
 * list, without the list: the k-th of them is feasible[k + f], f the front's trials before it.
 */
function dominatedAt(feasible: Int32Array, front: number[], positions: number[]): number[] {
  // Where each front trial is in `feasible` (both ascending).
  const at = front.map((t) => {
    let [lo, hi] = [0, feasible.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (feasible[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
  const out: number[] = [];
  let f = 0;
  for (const k of positions) {
    while (f < at.length && at[f] <= k + f) f++;
    out.push(feasible[k + f]);
  }
  return out;
}
