// The markers of a large scatter trace, drawn as one image instead of one SVG path each.
//
// plotly draws every marker of a "scatter" trace as its own SVG path and styles each one: in
// headless Chromium a slice view of 1,500 markers spent ~170 of its ~210 ms there (making the
// points and styling them), the history view ~150 ms of 170. Its WebGL trace is no way out
// where the GPU is emulated (headless, VMs, remote desktops: a software-WebGL slice view took
// ~1 s a redraw). So the panel keeps plotly for what it does well (axes, ticks, legend, colour
// bar, zoom, every other trace) and gives it a stand-in for each large marker trace: the same
// trace with two invisible points at the corners of its data, so the axes, the legend entry and
// the colour bar come out as before. The markers themselves are painted on a canvas, put into
// the stand-in's own SVG group in a foreignObject (so the traces drawn after it still draw over
// it), and the hover label and the click that opens a trial are found from the painted
// positions and drawn with plotly's own Fx.loneHover, so they look as plotly's do.
//
// The canvas itself goes into the SVG, not an <image> of it: encoding the picture as a PNG data
// URL (toDataURL) took 12-48 ms a draw in headless Chromium, the intermediate view's 15,000-point
// lines the most. An image of it is made only where a picture of the plot is saved
// (plotPng in plotExport.ts), which needs the pixels inside the SVG it serializes.

import { SEQUENTIAL_SCALE, sequentialRgb } from "./colours";
import { finiteExtent } from "./figureAxes";
import type { Trace } from "./figureTypes";

/** Markers in a trace from which it is painted: below, plotly's SVG costs little. */
export const CANVAS_MIN_POINTS = 300;
/** How far from a marker's centre (px, past its radius) the pointer still hovers it. */
const HIT_SLACK = 4;
/** Room around the plot area the image spans (a marker on an edge shows whole). */
const PAD = 8;

interface Marker {
  color?: unknown;
  colorscale?: unknown;
  cmin?: number;
  cmax?: number;
  reversescale?: boolean;
  size?: unknown;
  opacity?: unknown;
  symbol?: unknown;
  line?: { color?: unknown; width?: unknown };
}

/** A trace painted on canvas: what its markers (or lines, or bars) look like and what a hover
 * or click shows. */
export interface PaintedTrace {
  kind: "markers" | "lines" | "bars"; // lines: through the points, a null ends a stretch
  clip: boolean; // cut at the plot area's edge (plotly's cliponaxis; lines and bars always are)
  x: ArrayLike<number | null>; // a bar's start (its base)
  y: ArrayLike<number | null>;
  ends: ArrayLike<number> | null; // a bar's end (base + length), null for markers and lines
  color: string | ArrayLike<number>;
  cmin: number;
  cmax: number;
  reversescale: boolean;
  size: number;
  opacity: number;
  lineColor: string | null;
  lineWidth: number;
  text: ArrayLike<string> | null;
  template: string | null; // the trace's hovertemplate (%{text}, %{x}, %{y}), null: text alone
  hover: boolean;
  customdata: ArrayLike<unknown> | null;
}

function isNumbers(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

/** The trace as painted on canvas, or null where plotly draws it (small, or a look the canvas
 * does not copy: a symbol other than a circle, per-marker sizes, a colour scale of its own, a
 * line that is not straight from point to point). */
export function paintable(trace: Trace): PaintedTrace | null {
  if (trace.type === "bar" && trace.visible !== false) return paintableBars(trace);
  if (trace.type !== "scatter" || trace.visible === false) return null;
  const { x, y } = trace;
  if (!isNumbers(x) || !isNumbers(y) || x.length < CANVAS_MIN_POINTS || x.length !== y.length) return null;
  if (trace.mode === "lines") return paintableLines(trace, x, y);
  if (trace.mode !== "markers") return null;
  const m = (trace.marker ?? {}) as Marker;
  if (m.symbol !== undefined && m.symbol !== "circle") return null;
  if (typeof m.size !== "number" || (m.opacity !== undefined && typeof m.opacity !== "number")) return null;
  const numeric = isNumbers(m.color);
  if (numeric ? m.colorscale !== SEQUENTIAL_SCALE || (m.color as ArrayLike<number>).length !== x.length : typeof m.color !== "string") return null;
  const line = m.line ?? {};
  if (line.color !== undefined && typeof line.color !== "string") return null;
  let [cmin, cmax] = [m.cmin, m.cmax];
  if (numeric && (cmin === undefined || cmax === undefined)) {
    [cmin, cmax] = finiteExtent(m.color as ArrayLike<number>) ?? [Infinity, -Infinity];
  }
  return {
    kind: "markers", clip: trace.cliponaxis !== false, x, y, ends: null,
    color: numeric ? (m.color as ArrayLike<number>) : (m.color as string),
    cmin: cmin ?? 0, cmax: cmax ?? 1, reversescale: m.reversescale === true,
    size: m.size, opacity: typeof m.opacity === "number" ? m.opacity : 1,
    lineColor: typeof line.color === "string" ? line.color : null,
    lineWidth: typeof line.width === "number" ? line.width : 0,
    ...hoverOf(trace),
  };
}

function paintableLines(trace: Trace, x: ArrayLike<number>, y: ArrayLike<number>): PaintedTrace | null {
  const line = (trace.line ?? {}) as { color?: unknown; width?: unknown; shape?: unknown; dash?: unknown };
  if (typeof line.color !== "string" || (line.shape !== undefined && line.shape !== "linear") || line.dash !== undefined) return null;
  if (trace.connectgaps === true || (trace.opacity !== undefined && typeof trace.opacity !== "number")) return null;
  return {
    kind: "lines", clip: true, x, y, ends: null, color: line.color, cmin: 0, cmax: 1, reversescale: false,
    size: 6, // the hover's reach around a point of the line
    opacity: 1, // the trace's own opacity is its SVG group's, which holds the picture too
    lineColor: line.color, lineWidth: typeof line.width === "number" ? line.width : 2,
    ...hoverOf(trace),
  };
}

/** Horizontal bars of one colour, each from its base (a number: ms on a date axis) for its
 * length, `width` thick in lanes (the timeline's). */
function paintableBars(trace: Trace): PaintedTrace | null {
  const { base, x, y } = trace;
  const m = (trace.marker ?? {}) as Marker;
  if (trace.orientation !== "h" || typeof trace.width !== "number" || typeof m.color !== "string") return null;
  if (!isNumbers(base) || !isNumbers(x) || !isNumbers(y) || x.length < CANVAS_MIN_POINTS || x.length !== y.length || base.length !== x.length) return null;
  const line = m.line ?? {};
  if (typeof line.width === "number" && line.width > 0) return null; // outlined bars: plotly's
  const ends = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) ends[i] = base[i] + x[i];
  return {
    kind: "bars", clip: true, x: base, y, ends, color: m.color, cmin: 0, cmax: 1, reversescale: false,
    size: trace.width, opacity: typeof m.opacity === "number" ? m.opacity : 1, lineColor: null, lineWidth: 0,
    ...hoverOf(trace),
  };
}

/** What a painted trace's hover and click show: its texts, template and trial numbers. */
function hoverOf(trace: Trace): Pick<PaintedTrace, "text" | "template" | "hover" | "customdata"> {
  const text = trace.text ?? trace.hovertext;
  return {
    text: Array.isArray(text) ? (text as string[]) : null,
    template: typeof trace.hovertemplate === "string" ? trace.hovertemplate : null,
    hover: trace.hoverinfo !== "skip" && trace.hoverinfo !== "none",
    customdata: isNumbers(trace.customdata) ? (trace.customdata as ArrayLike<unknown>) : null,
  };
}

/**
 * The figure's data with a stand-in for each trace painted on canvas, and those traces by
 * index. A stand-in keeps everything of its trace (name, legend, colour bar) but its points:
 * two, at the corners of the data's extent (the axes range as before, padded by the markers'
 * size as before), drawn unselected and transparent, with no hover of their own.
 */
export function splitForCanvas(
  data: Trace[],
  layout: Record<string, unknown>,
): { data: Trace[]; painted: Map<number, PaintedTrace> } {
  const painted = new Map<number, PaintedTrace>();
  const out = data.map((trace, i) => {
    const p = paintable(trace);
    if (!p) return trace;
    const log = (key: "x" | "y") => (layout[axisName(key, trace[`${key}axis`] as string | undefined)] as { type?: unknown } | undefined)?.type === "log";
    // Missing points are null: not finite, so left out as NaN is.
    const ex = p.ends ? barsExtent(p.x as ArrayLike<number>, p.ends) : finiteExtent(p.x as ArrayLike<number>, log("x"));
    const ey = finiteExtent(p.y as ArrayLike<number>, log("y"));
    if (!ex || !ey) return trace;
    painted.set(i, p);
    const bare = { ...trace, text: undefined, hovertext: undefined, customdata: undefined, hovertemplate: undefined, hoverinfo: "skip" };
    if (p.kind === "lines") return { ...bare, x: [ex[0], null, ex[1]], y: [ey[0], null, ey[1]] };
    if (p.kind === "bars") {
      // Two bars of no length at the corners: the axes span the bars as before.
      return { ...bare, base: ex, x: [0, 0], y: ey, selectedpoints: [], unselected: { marker: { opacity: 0 } } };
    }
    const marker = { ...(trace.marker as Marker) };
    if (isNumbers(marker.color)) marker.color = [p.cmin, p.cmax];
    return { ...bare, x: ex, y: ey, marker, selectedpoints: [], unselected: { marker: { opacity: 0 } } };
  });
  return { data: out, painted };
}

/** From the earliest start to the latest end of the bars with both. */
function barsExtent(starts: ArrayLike<number>, ends: ArrayLike<number>): [number, number] | null {
  const a = finiteExtent(starts);
  const b = finiteExtent(ends);
  return a && b ? [Math.min(a[0], b[0]), Math.max(a[1], b[1])] : null;
}

// ------------------------------------------------------------------------------- painting

interface Axis {
  _offset: number;
  _length: number;
  type: string;
  l2p(v: number): number;
}

interface Graph extends HTMLElement {
  _fullLayout?: Record<string, unknown> & { _hoverlayer?: unknown; _paper?: { node(): Element } };
  _fullData?: Array<{ index: number; visible: unknown; xaxis?: string; yaxis?: string }>;
}

/** Where each painted marker is on the page's plot (px from the plot's top left). */
interface Hits {
  trace: PaintedTrace;
  px: Float32Array;
  py: Float32Array;
  px1: Float32Array | null; // a bar's end (px is its start)
  half: number; // a bar's half thickness
  radius: number;
  fill: (i: number) => string;
}

const state = new WeakMap<HTMLElement, { painted: Map<number, PaintedTrace>; hits: Hits[] }>();

/** What `el` should paint at its next plotly draw (set before each Plotly.react). */
export function setPainted(el: HTMLElement, painted: Map<number, PaintedTrace>): void {
  const s = state.get(el);
  if (s) s.painted = painted;
  else state.set(el, { painted, hits: [] });
}

/** What `el` paints (empty where it paints nothing). */
export function paintedOf(el: HTMLElement): Map<number, PaintedTrace> {
  return state.get(el)?.painted ?? new Map();
}

/** Data to the subplot's pixels along an axis (NaN for a missing or, on a log axis, a
 * non-positive value). */
function pixels(ax: Axis): (v: number | null) => number {
  if (ax.type === "log") return (v) => (v !== null && v > 0 ? ax.l2p(Math.log10(v)) : NaN);
  return (v) => (v !== null && Number.isFinite(v) ? ax.l2p(v) : NaN);
}

function axisName(key: "x" | "y", ref: string | undefined): string {
  return ref && ref.length > 1 ? `${key}axis${ref.slice(1)}` : `${key}axis`;
}

/** The colour of marker i: the trace's, or its value on the sequential scale. */
function filler(t: PaintedTrace): (i: number) => string {
  if (typeof t.color === "string") {
    const c = t.color;
    return () => c;
  }
  const values = t.color;
  const span = t.cmax - t.cmin || 1;
  const cache = new Map<number, string>();
  return (i) => {
    let f = (values[i] - t.cmin) / span;
    if (t.reversescale) f = 1 - f;
    const k = Math.round(Math.min(1, Math.max(0, Number.isFinite(f) ? f : 0)) * 255);
    let c = cache.get(k);
    if (c === undefined) {
      const [r, g, b] = sequentialRgb(k / 255);
      cache.set(k, (c = `rgb(${r},${g},${b})`));
    }
    return c;
  };
}

/** Paint the markers of every painted trace of `el` into its stand-in's group (at each
 * plotly draw: a redraw, a zoom, a resize, a legend click). `asImages`: as <image> elements
 * whose pixels are in the SVG itself (a picture of the plot being saved), not as canvases. */
export function paintMarkers(el: HTMLElement, asImages = false): void {
  const s = state.get(el);
  const gd = el as Graph;
  el.querySelectorAll(".om-markers").forEach((n) => n.remove());
  if (!s) return;
  s.hits = [];
  const layout = gd._fullLayout;
  const full = gd._fullData;
  if (!layout || !full || s.painted.size === 0) return;
  const groups = new Map<number, Element>();
  el.querySelectorAll(".scatterlayer .trace, .barlayer .trace").forEach((g) => {
    const cd = (g as Element & { __data__?: Array<{ trace?: { index?: number } }> }).__data__;
    const index = cd?.[0]?.trace?.index;
    if (typeof index === "number") groups.set(index, g);
  });
  const dpr = window.devicePixelRatio || 1;
  for (const [index, t] of s.painted) {
    const ft = full[index];
    const group = groups.get(index);
    if (!ft || ft.visible !== true || !group) continue; // hidden from the legend
    const xa = layout[axisName("x", ft.xaxis)] as Axis | undefined;
    const ya = layout[axisName("y", ft.yaxis)] as Axis | undefined;
    if (!xa || !ya) continue;
    const [w, h] = [xa._length, ya._length];
    const toX = pixels(xa);
    const toY = pixels(ya);
    const n = t.x.length;
    const px = new Float32Array(n);
    const py = new Float32Array(n);
    const canvas = document.createElement("canvas");
    canvas.width = Math.ceil((w + 2 * PAD) * dpr);
    canvas.height = Math.ceil((h + 2 * PAD) * dpr);
    const g = canvas.getContext("2d");
    if (!g) continue;
    g.scale(dpr, dpr);
    g.translate(PAD, PAD);
    g.globalAlpha = t.opacity;
    if (t.clip) {
      g.beginPath();
      g.rect(0, 0, w, h);
      g.clip();
    }
    const r = t.size / 2;
    const fill = filler(t);
    const stroke = t.kind === "markers" && t.lineColor !== null && t.lineWidth > 0;
    if (stroke || t.kind === "lines") {
      g.lineWidth = t.lineWidth;
      g.strokeStyle = t.lineColor as string;
    }
    let px1: Float32Array | null = null;
    let half = 0;
    if (t.kind === "bars" && t.ends) {
      // A bar is `size` lanes thick: its height in px from the lane axis's own scale.
      half = Math.abs(ya.l2p(t.size) - ya.l2p(0)) / 2;
      px1 = new Float32Array(n);
      g.fillStyle = fill(0);
      for (let i = 0; i < n; i++) {
        const [x, x1, y] = [toX(t.x[i]), toX(t.ends[i]), toY(t.y[i])];
        [px[i], px1[i], py[i]] = [x, x1, y];
        if (Number.isNaN(x) || Number.isNaN(x1) || Number.isNaN(y)) continue;
        // At least a pixel wide: a trial of a few ms is still seen, as plotly draws it.
        g.fillRect(Math.min(x, x1), y - half, Math.max(1, Math.abs(x1 - x)), 2 * half);
      }
    } else if (t.kind === "lines") {
      // One path: a stretch per trial, broken where a point is missing (plotly's null gap).
      g.beginPath();
      let open = false;
      for (let i = 0; i < n; i++) {
        const [x, y] = [toX(t.x[i]), toY(t.y[i])];
        px[i] = x;
        py[i] = y;
        if (Number.isNaN(x) || Number.isNaN(y)) open = false;
        else if (open) g.lineTo(x, y);
        else {
          g.moveTo(x, y);
          open = true;
        }
      }
      g.lineJoin = "round";
      g.stroke();
    } else {
      let colour = "";
      for (let i = 0; i < n; i++) {
        const [x, y] = [toX(t.x[i]), toY(t.y[i])];
        px[i] = x;
        py[i] = y;
        if (!(x > -PAD && x < w + PAD && y > -PAD && y < h + PAD)) continue; // off the plot (zoomed, NaN)
        const c = fill(i);
        if (c !== colour) g.fillStyle = colour = c;
        g.beginPath();
        g.arc(x, y, r, 0, 2 * Math.PI);
        g.fill();
        if (stroke) g.stroke();
      }
    }
    const holder = document.createElementNS("http://www.w3.org/2000/svg", asImages ? "image" : "foreignObject");
    holder.setAttribute("class", "om-markers");
    for (const [k, v] of [["x", -PAD], ["y", -PAD], ["width", w + 2 * PAD], ["height", h + 2 * PAD]] as const) holder.setAttribute(k, String(v));
    holder.setAttribute("pointer-events", "none");
    if (asImages) holder.setAttribute("href", canvas.toDataURL());
    else {
      canvas.style.cssText = `display:block;width:${w + 2 * PAD}px;height:${h + 2 * PAD}px`;
      holder.appendChild(canvas);
    }
    group.appendChild(holder);
    // Hits in the plot div's own pixels (the subplot's offset added).
    for (let i = 0; i < n; i++) {
      px[i] += xa._offset;
      py[i] += ya._offset;
      if (px1) px1[i] += xa._offset;
    }
    if (t.hover || t.customdata) s.hits.push({ trace: t, px, py, px1, half, radius: r + HIT_SLACK, fill });
  }
}

/** The painted marker under the pointer at (x, y) px of the plot div, nearest first. */
export function markerAt(el: HTMLElement, x: number, y: number): { hits: Hits; i: number } | null {
  const s = state.get(el);
  if (!s) return null;
  let best: { hits: Hits; i: number } | null = null;
  let bestD = Infinity;
  for (const h of s.hits) {
    const r2 = h.radius * h.radius;
    const { px, py, px1 } = h;
    if (px1) {
      // A bar: the pointer on it (or within a pixel or two of a thin one); a later one on top.
      for (let i = 0; i < px.length; i++) {
        const [a, b] = px[i] <= px1[i] ? [px[i], px1[i]] : [px1[i], px[i]];
        if (Math.abs(py[i] - y) <= h.half && x >= a - 2 && x <= Math.max(b, a + 1) + 2) [best, bestD] = [{ hits: h, i }, 0];
      }
      continue;
    }
    for (let i = 0; i < px.length; i++) {
      const dx = px[i] - x;
      const dy = py[i] - y;
      const d = dx * dx + dy * dy;
      if (d <= r2 && d <= bestD) [best, bestD] = [{ hits: h, i }, d]; // the later drawn (on top) wins a tie
    }
  }
  return best;
}

const formatAxis = (v: number | null): string =>
  v === null ? "" : Number.isInteger(v) ? String(v) : Number(v.toPrecision(6)).toString();

/** The hover text of marker i, as plotly would fill the trace's hovertemplate. */
export function hoverText(t: PaintedTrace, i: number): string {
  const text = t.text?.[i] ?? "";
  if (!t.template) return text;
  return t.template
    .replace(/<extra>.*?<\/extra>/g, "")
    .replace(/%\{(?:hover)?text\}/g, text)
    .replace(/%\{customdata\}/g, String(t.customdata?.[i] ?? ""))
    .replace(/%\{x\}/g, formatAxis(t.x[i]))
    .replace(/%\{y\}/g, formatAxis(t.y[i]));
}

interface Fx {
  loneHover(item: Record<string, unknown>, opts: Record<string, unknown>): unknown;
  loneUnhover(container: Element): void;
}

/** Hover labels and clicks for the painted markers of `el` (once per plot element). */
export function hookPaintedHover(el: HTMLElement, fx: Fx | undefined): void {
  if (el.dataset.paintedHover) return;
  el.dataset.paintedHover = "1";
  let shown: { hits: Hits; i: number } | null = null;
  let layer: SVGSVGElement | null = null;
  const hide = () => {
    if (!shown) return;
    shown = null;
    if (layer && fx) fx.loneUnhover(layer);
    else layer?.replaceChildren();
    el.dispatchEvent(new CustomEvent("om-hover", { detail: false }));
  };
  const at = (e: MouseEvent) => {
    const box = el.getBoundingClientRect();
    return markerAt(el, e.clientX - box.left, e.clientY - box.top);
  };
  // A trace plotly draws (the Pareto front) lies over the painted ones: where plotly shows its
  // own label, ours gives way, so one label shows, the top trace's.
  let plotlyShows = false;
  const gd = el as HTMLElement & { on?: (event: string, cb: () => void) => void };
  gd.on?.("plotly_hover", () => {
    plotlyShows = true;
    hide();
  });
  gd.on?.("plotly_unhover", () => (plotlyShows = false));
  el.addEventListener("mousemove", (e) => {
    if (e.buttons || plotlyShows) return hide(); // a drag (zoom, pan) is not a hover
    const hit = at(e);
    if (!hit || !hit.hits.trace.hover) return hide();
    if (shown && shown.hits === hit.hits && shown.i === hit.i) return;
    const container = el.querySelector(".svg-container");
    const paper = (el as Graph)._fullLayout?._paper?.node();
    if (!container || !paper) return;
    if (!layer || !layer.isConnected) {
      layer = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      layer.setAttribute("class", "om-hoverlayer");
      layer.style.cssText = "position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none;overflow:visible";
      container.appendChild(layer);
    }
    const first = shown === null;
    shown = hit;
    const { trace, px, py, px1, radius, fill } = hit.hits;
    const text = hoverText(trace, hit.i);
    const i = hit.i;
    // Beside the marker, or beside the bar's end as plotly puts a bar's label.
    const [x0, x1] = px1 ? [Math.min(px[i], px1[i]), Math.max(px[i], px1[i])] : [px[i] - radius, px[i] + radius];
    if (fx) {
      fx.loneUnhover(layer);
      fx.loneHover(
        { x: px1 ? x1 : px[i], y: py[i], x0, x1, text, color: fill(i), idealAlign: "right" },
        { container: layer, outerContainer: paper, gd: el },
      );
    }
    if (first) el.dispatchEvent(new CustomEvent("om-hover", { detail: true }));
  });
  el.addEventListener("mouseleave", hide);
  el.addEventListener("click", (e) => {
    const hit = at(e);
    const n = hit?.hits.trace.customdata?.[hit.i];
    if (typeof n === "number") el.dispatchEvent(new CustomEvent("om-trial", { detail: n, bubbles: true }));
  });
}
