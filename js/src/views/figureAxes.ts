// Plotly axis settings for the figures: the same scale and tick rules as our parallel
// coordinates (ticks.ts), so a parameter reads the same in every view.
//
// - Number labels are plain or exponents (`exponentformat: "e"`): plotly's default ("B", SI
//   prefixes) writes 1e-4 as "100µ", which reads as a unit.
// - Whole-number quantities (int parameters, trial numbers, steps) tick at whole numbers: plotly
//   would tick 0..3 at 0.5 steps; a tickformat alone would then print "0, 1, 1, 2".
// - A log parameter is on a log axis with ticks we choose (1-2-5 within a narrow range, decades
//   over a wide one) and the data's own range, not plotly's padded one.

import type { ParamHeader } from "../model/record";
import { escapePlotly as esc } from "./dom";
import { clean, intStep, logTicks } from "./ticks";

export type AxisLayout = Record<string, unknown>;

/**
 * Ticks a plotly axis gets at most: 8 fit a panel's plot either way, and let a narrow log int
 * (4..12) tick at every digit instead of only at 5 and 10.
 */
const TICKS = 8;

/** Numbers as plain text or exponents, never SI prefixes. */
export const NUMBER_FORMAT: AxisLayout = { exponentformat: "e" };

/** Whole-number ticks over lo..hi: tick0 0, a whole dtick, integer labels. */
export function integerTicks(lo: number, hi: number, count = TICKS): AxisLayout {
  const span = Number.isFinite(hi - lo) ? hi - lo : 1;
  return { tick0: 0, dtick: intStep(span, count), tickformat: "d" };
}

/** The lowest and highest finite values (and whether there were any). */
export function finiteExtent(values: ArrayLike<number>, positiveOnly = false): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) || (positiveOnly && !(v > 0))) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

export interface ParamAxisOptions {
  title: string;
  /**
   * The range ends exactly at the data (contour: the fill reaches the axes); otherwise a small
   * margin keeps the outermost markers whole (slice).
   */
  edge?: boolean;
}

/** An axis range in plotly's units (log10 on a log axis), padded unless `edge`. */
function range(lo: number, hi: number, edge: boolean, minPad: number): [number, number] {
  if (!(hi > lo)) return [lo - minPad, hi + minPad];
  const pad = edge ? 0 : (hi - lo) * 0.04;
  return [lo - pad, hi + pad];
}

/**
 * The layout of a parameter's axis for its values in data units (a categorical's values are its
 * choice indexes): type, range and ticks by the parameter's kind.
 */
export function paramAxisLayout(p: ParamHeader, values: ArrayLike<number>, o: ParamAxisOptions): AxisLayout {
  const base: AxisLayout = { title: { text: esc(o.title) }, ...NUMBER_FORMAT };
  const edge = o.edge ?? false;
  if (p.choices) {
    const ext = finiteExtent(values) ?? [0, p.choices.length - 1];
    return {
      ...base, type: "linear", tickmode: "array", tickvals: p.choices.map((_, i) => i), ticktext: p.choices.map(esc),
      // Markers sit on whole indexes: half a choice of room each side unless the fill must
      // reach the axes.
      range: edge && ext[1] > ext[0] ? [ext[0], ext[1]] : [ext[0] - 0.5, ext[1] + 0.5],
    };
  }
  const integer = p.kind === "int";
  const positive = finiteExtent(values, true);
  const all = finiteExtent(values);
  if (p.log && positive && all && all[0] > 0) {
    const [lo, hi] = [Math.log10(positive[0]), Math.log10(positive[1])];
    const ticks = logTicks(lo, hi, TICKS, integer);
    return {
      ...base, type: "log", range: range(lo, hi, edge, 0.3),
      tickmode: "array", tickvals: ticks.map((t) => clean(10 ** t.at)), ticktext: ticks.map((t) => t.label),
    };
  }
  const [lo, hi] = all ?? [0, 1];
  return {
    ...base, type: "linear",
    ...(edge || !(hi > lo) ? { range: range(lo, hi, edge, integer ? 1 : Math.abs(lo) * 0.1 || 1) } : {}),
    ...(integer ? integerTicks(lo, hi) : {}),
  };
}

/** In plotly's axis units: log10 on a log axis (contour bins in these). */
export function toAxisUnits(layout: AxisLayout, v: number): number {
  return layout.type === "log" ? Math.log10(v) : v;
}

/**
 * The few values of `column[rows[i]]` that bound them for paramAxisLayout and finiteExtent
 * (the lowest and highest finite, and the lowest and highest positive): what an axis needs of
 * 1,000,000 values, without an array of them all.
 */
export function extremes(column: ArrayLike<number> | null, rows: ArrayLike<number>): number[] {
  let [lo, hi, plo, phi] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < rows.length; i++) {
    const v = column ? column[rows[i]] : rows[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v > 0 && v < plo) plo = v;
    if (v > 0 && v > phi) phi = v;
  }
  return [lo, hi, plo, phi].filter(Number.isFinite);
}
