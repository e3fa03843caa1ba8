// The empirical distribution function (as Optuna's plot_edf): for each value x, the share of
// complete trials whose objective value is at or below x. One copy of the front end's EDF: the
// panel's EDF view computes it from the record; the compare panel receives it from the kernel
// (optuna_magic/outputs/panel/compare.py, the same rule: at most EDF_POINTS quantiles) and both
// draw it with edfTrace and edfLayout.

import { completeColumns } from "../model/columns";
import { formatNumber, objectiveName, type Meta } from "../model/derive";
import type { TrialRecord } from "../model/record";
import { orderAt } from "../model/select";
import { escapePlotly as esc } from "./dom";
import { NUMBER_FORMAT } from "./figureAxes";
import type { Figure, Trace } from "./figureTypes";

/**
 * Points the EDF keeps at most (compare.py's EDF_POINTS): past them the line is drawn through
 * that many quantiles, which a plot cannot tell from every value, and a redraw costs the same
 * at 50,000 trials as at 500.
 */
export const EDF_POINTS = 512;

export interface EdfData {
  /** Sorted values (quantiles when there are more than EDF_POINTS). */
  values: number[];
  /** The share of trials at or below each value, in (0, 1]. */
  fractions: number[];
  /** The trial of each value (only when every value is drawn: then a point is a trial). */
  numbers: number[] | null;
  /** How many values the EDF is of. */
  count: number;
}

/**
 * The EDF of `values`: every sorted value with i / n, or past EDF_POINTS the quantiles at
 * evenly spaced q (numpy's default, linear, interpolation) with max(q, 1 / n), as compare.py.
 * `numbers`: each value's trial, kept with the values when all are drawn.
 */
export function edfPoints(values: ArrayLike<number>, numbers?: ArrayLike<number>): EdfData {
  const n = values.length;
  if (n <= EDF_POINTS) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b] || a - b);
    return {
      values: order.map((i) => values[i]),
      fractions: order.map((_, k) => (k + 1) / n),
      numbers: numbers ? order.map((i) => numbers[i]) : null,
      count: n,
    };
  }
  // The two order statistics around each quantile, by selection (orderAt): a sort of 1,000,000
  // values cost ~100-150 ms a redraw.
  const positions: number[] = [];
  for (let k = 0; k < EDF_POINTS; k++) {
    const lo = Math.floor((k / (EDF_POINTS - 1)) * (n - 1));
    for (const p of [lo, Math.min(n - 1, lo + 1)]) if (positions[positions.length - 1] !== p) positions.push(p);
  }
  const at = orderAt(values, positions);
  const sorted = new Map(positions.map((p, i) => [p, values[at[i]]]));
  const out: number[] = [];
  const fractions: number[] = [];
  for (let k = 0; k < EDF_POINTS; k++) {
    const q = k / (EDF_POINTS - 1);
    const pos = q * (n - 1);
    const lo = Math.floor(pos);
    const [a, b] = [sorted.get(lo) as number, sorted.get(Math.min(n - 1, lo + 1)) as number];
    out.push(a + (b - a) * (pos - lo));
    fractions.push(Math.max(q, 1 / n));
  }
  return { values: out, fractions, numbers: null, count: n };
}

/** The EDF of one objective over the record's complete trials with a finite value of it. */
export function edfData(rec: TrialRecord, objective: number): EdfData {
  const { numbers, values } = completeColumns(rec, objective);
  return edfPoints(values, numbers);
}

/** One EDF as a step line (the compare panel overlays one per study). */
export function edfTrace(name: string, edf: Pick<EdfData, "values" | "fractions"> & { numbers?: number[] | null }, colour: string): Trace {
  const trace: Trace = {
    type: "scatter", mode: "lines", name: esc(name), line: { shape: "hv", width: 2, color: colour },
    x: edf.values, y: edf.fractions,
    hovertemplate: `${esc(name)}: %{y:.0%} of trials at or below %{x}<extra></extra>`,
  };
  if (edf.numbers) {
    // Every value drawn: each corner is a trial, which a click opens (see plot.ts).
    trace.mode = "lines+markers";
    trace.marker = { size: 5, color: colour };
    trace.customdata = edf.numbers;
    trace.text = edf.numbers.map((n, i) => `trial ${n}: ${esc(formatNumber(edf.values[i]))}`);
    trace.hovertemplate = "%{text}<br>%{y:.1%} of trials at or below<extra></extra>";
  }
  return trace;
}

/** The EDF axes: the objective value across, the share of trials up to 100%. */
export function edfLayout(valueTitle: string): Record<string, unknown> {
  return {
    xaxis: { title: { text: esc(valueTitle) }, ...NUMBER_FORMAT },
    yaxis: { title: { text: "share of trials (EDF)" }, range: [0, 1.02], tickformat: ".0%" },
    // Room for "100%" beside the axis title: a margin plotly widens draws the figure twice.
    margin: { l: 70 },
  };
}

const EDF_COLOUR = "#1f77b4";

/** The panel's EDF view: one study, one objective. */
export function edfFigure(rec: TrialRecord, meta: Meta, objective: number): Figure {
  const edf = edfData(rec, objective);
  if (edf.count === 0) return { data: [], layout: {}, note: "No completed trials yet." };
  const name = objectiveName(meta, objective);
  const direction = meta.directions?.[objective] ?? "minimize";
  const shown = edf.numbers ? "" : `; drawn through ${EDF_POINTS} quantiles`;
  return {
    data: [edfTrace(name, edf, EDF_COLOUR)],
    layout: { ...edfLayout(name), showlegend: false },
    note: `The share of the ${edf.count.toLocaleString()} complete trials with ${name} at or below x (${direction}: ${direction === "maximize" ? "further right" : "further left"} is better)${shown}.`,
  };
}
