// The one sequential colour scale of the panel (trial order in Slice, the objective in parallel
// coordinates and contour). Figures are pure and do not know the theme, so the scale has to be
// readable on both: Viridis and plotly's Blues both end near white or near black, and those ends
// vanish on one background (late trials in Slice were light grey on white, Viridis' dark purple
// is lost on the dark theme). Every colour here keeps a luminance between ~0.17 and ~0.28, which
// is a contrast of at least 3:1 against white and against JupyterLab's and VS Code's dark
// backgrounds; the scale is carried by hue (blue, violet, magenta, red, orange) and a gentle
// rise in lightness, so "more" still reads as "brighter".

const STOPS: Array<[number, number, number]> = [
  [55, 115, 215],
  [120, 95, 210],
  [175, 80, 175],
  [215, 85, 100],
  [228, 112, 18],
];

/** The scale at t in [0, 1] (0 blue, 1 orange) as [r, g, b]. */
export function sequentialRgb(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as [number, number, number];
}

/** The scale at t in [0, 1] as `rgb(r,g,b)`. */
export function sequential(t: number): string {
  const [r, g, b] = sequentialRgb(t);
  return `rgb(${r},${g},${b})`;
}

/** The scale as a plotly colorscale. */
export const SEQUENTIAL_SCALE: Array<[number, string]> = STOPS.map((_, i) => [i / (STOPS.length - 1), sequential(i / (STOPS.length - 1))]);

/** WCAG relative luminance of an sRGB colour. */
export function luminance([r, g, b]: [number, number, number]): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of two colours (1 to 21). */
export function contrast(a: [number, number, number], b: [number, number, number]): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/**
 * Markers drawn over a filled plot (contour's samples): white with a dark rim, visible on any
 * fill and on either theme (plain black dots were lost on the dark theme).
 */
export const SAMPLE_MARKER = { color: "rgba(255,255,255,0.85)", size: 5, line: { color: "rgba(0,0,0,0.7)", width: 1 } };

/**
 * Trials that break a constraint (Optuna's: a value above 0), in every view: a mid grey, muted
 * on either theme (contrast ~3.3:1 on white, ~5:1 on the dark backgrounds) but never lost, and
 * no colour of the sequential scale or of a state.
 */
export const INFEASIBLE_COLOR = "#8c8c8c";

/** Infeasible trials' markers in the scatter views: open grey circles. */
export const INFEASIBLE_MARKER = { color: INFEASIBLE_COLOR, symbol: "circle-open", size: 7, opacity: 0.9 };
