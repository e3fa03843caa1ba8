// Tick positions and labels, one copy for every view: our own parallel coordinates draws these
// ticks, and the plotly figures pass them as tickvals / ticktext or dtick. Labels are plain
// numbers or exponents (2e-4), never SI prefixes: plotly's default writes 1e-4 as "100µ", which
// reads as a unit, not as a learning rate.

export interface Tick {
  /** Where, in axis units (log10 of the value on a log axis). */
  at: number;
  label: string;
}

/** A 1, 2 or 5 times a power of ten near `span / count`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

/** A whole-number tick step (1, 2, 5, 10, ...) for about `count` ticks over `span`. */
export function intStep(span: number, count: number): number {
  return Math.max(1, Math.round(niceStep(span, count)));
}

/** The extent widened to whole steps, so the axis ends on labelled ticks. */
export function niceDomain(lo: number, hi: number, integer: boolean): [number, number] {
  if (lo === hi) {
    const pad = integer ? 1 : Math.abs(lo) * 0.1 || 1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  let step = niceStep(hi - lo, 5);
  if (integer) step = Math.max(1, Math.round(step));
  return [clean(Math.floor(lo / step + 1e-9) * step), clean(Math.ceil(hi / step - 1e-9) * step)];
}

/** Drops floating-point dust (0.30000000000000004 -> 0.3) and negative zero. */
export function clean(v: number): number {
  const r = Number(v.toPrecision(12));
  return r === 0 ? 0 : r;
}

function tickLabel(v: number, step: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) return v.toExponential(Math.max(0, Math.min(3, -Math.floor(Math.log10(step / a)) - 1)));
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

/** About `count` ticks at round values in [lo, hi]; whole numbers only when `integer`. */
export function linearTicks(lo: number, hi: number, count: number, integer = false): Tick[] {
  if (!(hi > lo)) return [{ at: lo, label: tickLabel(lo, 1) }];
  let step = niceStep(hi - lo, count);
  if (integer) step = Math.max(1, Math.round(step));
  const out: Tick[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  for (let k = first; k <= last; k++) {
    const at = clean(k * step);
    out.push({ at, label: tickLabel(at, step) });
  }
  return out;
}

/**
 * A value on a log axis as text: plain from 0.01 to 9999 (`0.05`, `200`), an exponent further
 * out (`2e-4`, `1e6`).
 */
export function logLabel(v: number): string {
  if (!(v > 0)) return String(v);
  const k = Math.floor(Math.log10(v) + 1e-9);
  if (k >= -2 && k <= 3) return String(clean(v));
  const m = clean(v / 10 ** k);
  return `${m}e${k}`;
}

/** `0.01`, `0.1`, `1`, `10`, `100`, `1000`, and `1e-3` / `1e4` style further out. */
export function decadeLabel(k: number): string {
  return logLabel(10 ** k);
}

// Mantissas per decade, sparsest first: a log axis spanning a few decades ticks at each decade,
// a narrow one (a log int in [3, 20]) at 2 and 5 times a decade too, or at every digit.
const MANTISSAS = [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]];

/**
 * Ticks of a log axis from lo to hi (log10 units): decades (every n-th when there are too many),
 * or 1-2-5 / every digit when few decades show, or round linear values when even those give
 * fewer than two ticks (a range like [3, 4]). Whole numbers only when `integer`.
 */
export function logTicks(lo: number, hi: number, count: number, integer = false): Tick[] {
  if (!(hi > lo)) return [{ at: lo, label: logLabel(10 ** lo) }];
  const n = Math.max(2, count);
  const decades = hi - lo;
  if (decades >= n) {
    const stride = Math.ceil(decades / n);
    const out: Tick[] = [];
    for (let k = Math.ceil(lo - 1e-9); k <= hi + 1e-9; k += stride) out.push({ at: k, label: decadeLabel(k) });
    return out;
  }
  let best: Tick[] = [];
  for (const set of MANTISSAS) {
    const ticks: Tick[] = [];
    for (let k = Math.floor(lo) - 1; k <= Math.ceil(hi); k++) {
      for (const m of set) {
        const v = clean(m * 10 ** k);
        const at = Math.log10(v);
        if (at < lo - 1e-9 || at > hi + 1e-9 || (integer && !Number.isInteger(v))) continue;
        ticks.push({ at, label: logLabel(v) });
      }
    }
    if (ticks.length > n) break;
    best = ticks;
    if (ticks.length >= Math.min(n, 4)) break; // enough: the sparser set reads better
  }
  if (best.length >= 2) return best;
  // Less than a decade with no two round mantissas in it: round values in value space.
  return linearTicks(10 ** lo, 10 ** hi, Math.min(n, 5), integer)
    .filter((t) => t.at > 0)
    .map((t) => ({ at: Math.log10(t.at), label: logLabel(t.at) }));
}

/** Every choice, or every n-th when their labels would overlap. */
export function categoryTicks(choices: string[], count: number): Tick[] {
  const stride = Math.max(1, Math.ceil(choices.length / Math.max(1, count)));
  const out: Tick[] = [];
  for (let i = 0; i < choices.length; i += stride) out.push({ at: i, label: choices[i] });
  return out;
}
