// The Pareto front view (several objectives): the front of feasible trials, as Optuna's
// best_trials and plot_pareto_front with constraints; infeasible trials greyed apart.

import { evenSample, formatNumber, objectiveName, paretoFront, type Meta } from "../model/derive";
import { COMPLETE, type TrialRecord } from "../model/record";
import { INFEASIBLE_COLOR } from "./colours";
import { escapePlotly as esc } from "./dom";
import { NUMBER_FORMAT } from "./figureAxes";
import { STATE_COLORS, type Figure, type Trace } from "./figureTypes";
import { cachedHover, MAX_INFEASIBLE, MAX_POINTS, sampledNote } from "./figures";

export function paretoFigure(rec: TrialRecord, meta: Meta, ix: number, iy: number): Figure {
  const directions = meta.directions ?? ["minimize"];
  if (directions.length < 2) return { data: [], layout: {}, note: "The Pareto front needs two or more objectives (--directions)." };
  const rows: number[] = [];
  const points: number[][] = [];
  for (let n = 0; n < rec.size; n++) {
    if (rec.state[n] !== COMPLETE) continue;
    const p = rec.values.map((c) => c[n]);
    if (p.every(Number.isFinite)) {
      rows.push(n);
      points.push(p);
    }
  }
  if (rows.length === 0) return { data: [], layout: {}, note: "No completed trials yet." };
  const infeasible = rows.map((n) => rec.infeasible(n));
  const front = new Set(paretoFront(points, directions, infeasible));
  const [nx, ny] = [objectiveName(meta, ix), objectiveName(meta, iy)];
  const hover = cachedHover(rec, "");
  // Each kind drawn at most MAX_POINTS (infeasible: MAX_INFEASIBLE), an even sample past it;
  // the front sorted along x, so a sample of it keeps the staircase's shape.
  const trace = (kind: "dominated" | "front" | "infeasible"): Trace => {
    const every = points.map((_, i) => i).filter((i) => (kind === "infeasible" ? infeasible[i] : !infeasible[i] && front.has(i) === (kind === "front")));
    if (kind === "front") every.sort((a, b) => points[a][ix] - points[b][ix]);
    const idx = evenSample(every.length, kind === "infeasible" ? MAX_INFEASIBLE : MAX_POINTS).map((k) => every[k]);
    if (kind === "front" && idx.length < every.length) idx[idx.length - 1] = every[every.length - 1];
    const style = {
      dominated: { color: STATE_COLORS[COMPLETE], size: 6, opacity: 0.5 },
      front: { color: "#d62728", size: 8, opacity: 1 },
      infeasible: { color: INFEASIBLE_COLOR, size: 6, opacity: 0.6, symbol: "circle-open" },
    }[kind];
    return {
      type: "scatter", mode: kind === "front" ? "lines+markers" : "markers",
      name: kind === "front" ? "Pareto front" : kind,
      x: idx.map((i) => points[i][ix]), y: idx.map((i) => points[i][iy]), customdata: idx.map((i) => rows[i]),
      text: idx.map((i) => hover(rows[i], undefined)), hovertemplate: "%{text}<br>%{x}, %{y}<extra></extra>",
      marker: style, line: { shape: "hv", color: "#d62728" },
    };
  };
  const nBad = infeasible.filter(Boolean).length;
  // The infeasible trace only where there are some, so the front stays data[1].
  const data = [trace("dominated"), trace("front"), ...(nBad ? [trace("infeasible")] : [])];
  const drawn = data.reduce((k, t) => k + (t.x as number[]).length, 0);
  return {
    data,
    layout: { xaxis: { title: { text: esc(nx) }, ...NUMBER_FORMAT }, yaxis: { title: { text: esc(ny) }, ...NUMBER_FORMAT } },
    note: [
      `${front.size} trials on the Pareto front of ${rows.length}${directions.length > 2 ? " (all objectives; two shown)" : ""}`,
      nBad ? `${formatNumber(nBad)} infeasible (a constraint > 0), grey, never on the front` : "",
      sampledNote(drawn, rows.length, "an even sample of each kind"),
    ].filter(Boolean).join("; "),
  };
}
