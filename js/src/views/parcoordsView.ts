// Parallel coordinates, drawn by hand: lines on a 2D canvas, axes, ticks, titles, brushes and
// the colour bar in SVG on top, a tooltip in HTML. Every string goes in as text.
//
// Why not plotly's parcoords trace (the project prefers libraries where they do well enough):
// it is WebGL-only and reads pixels back, and in Chromium without a GPU (emulated WebGL) each
// redraw took 0.8-1.9 s at any study size, against a target of 200 ms at 50,000 trials. A 2D
// canvas draws the same lines in tens of milliseconds.

import type { Meta } from "../model/derive";
import type { TrialRecord } from "../model/record";
import {
  axisTicks,
  brushMask,
  colourBucket,
  hoverLines,
  keepBrushes,
  lineColour,
  nearestLine,
  parcoordsData,
  position,
  unitAt,
  type Axis,
  type Brushes,
  type ParcoordsData,
} from "./parcoords";
import { INFEASIBLE_COLOR } from "./colours";
import { createAxisChooser } from "./parcoordsChooser";
import { axisGroup, CHAR, colourBar, staggered, svg } from "./parcoordsSvg";
import { themeColors } from "./plot";

export interface ParcoordsView {
  /** Rebuilds from the record and draws; what to show in the view's note, and whether empty. */
  update(rec: TrialRecord, meta: Meta, objective: number, importance?: Record<string, number>): { note?: string; empty: boolean };
  dispose(): void;
}

const TOP = 46;
const BOTTOM = 30;
const BAR_AREA = 100; // the colour bar, its labels and its title, right of the last axis
const GRAB = 10; // how near an axis (px) a drag brushes it
const HOVER = 5; // how near a line (px) the pointer picks it
const INFEASIBLE_BAND = -2; // not -1: that is "no band yet" in paintLines
const BUCKETS = 48; // colour bands: one canvas path each, so 50,000 lines are ~50 strokes
const CHUNK = 400; // lines per stroke within a band, so dense bands still show their density


interface Layout {
  w: number;
  h: number;
  top: number;
  bottom: number;
  xs: number[];
  /** ys[axis][k]: the pixel y of drawn line k on the axis. */
  ys: Float32Array[];
}

export function createParcoordsView(el: HTMLElement): ParcoordsView {
  el.classList.add("om-pc");
  const canvas = document.createElement("canvas");
  canvas.className = "om-pc-lines";
  const overlay = svg("svg", { class: "om-pc-axes" });
  const selection = document.createElement("div");
  selection.className = "om-pc-selection";
  const tip = document.createElement("div");
  tip.className = "om-pc-tip";
  tip.hidden = true;
  // The user's choice of parameter axes (null: the default), kept across redraws.
  let chosen: string[] | null = null;
  const chooser = createAxisChooser((names) => {
    chosen = names;
    rebuild();
  });
  el.replaceChildren(canvas, overlay, selection, tip, chooser.el);

  let context: CanvasRenderingContext2D | null | undefined;
  let rec: TrialRecord | null = null;
  let last: { meta: Meta; objective: number; importance?: Record<string, number> } | null = null;
  let data: ParcoordsData | null = null;
  let layout: Layout | null = null;
  let mask: Uint8Array | null = null; // per drawn line: inside every brush
  let brushGroup: SVGGElement | null = null;
  let highlight: SVGPathElement | null = null;
  const brushes: Brushes = new Map();
  let frame = 0;
  let pending = { layout: false, lines: false };

  const ctx2d = () => {
    // Asked once: jsdom has no canvas (getContext returns null there).
    if (context === undefined) context = canvas.getContext("2d");
    return context;
  };

  function measure(d: ParcoordsData): Layout {
    const w = el.clientWidth || 600;
    const h = el.clientHeight || 380;
    const top = TOP;
    const bottom = h - BOTTOM;
    const first = d.axes[0];
    const firstLabels = axisTicks(first, bottom - top).map((t) => Math.min(16, t.label.length));
    const left = Math.max(40, Math.max(0, ...firstLabels) * CHAR + 16);
    const right = w - BAR_AREA;
    const n = d.axes.length;
    const xs = d.axes.map((_, i) => (n === 1 ? (left + right) / 2 : left + ((right - left) * i) / (n - 1)));
    const ys = d.axes.map((axis) => {
      const col = new Float32Array(d.drawn.length);
      const span = bottom - top;
      d.drawn.forEach((row, k) => (col[k] = bottom - position(axis, axis.values[row]) * span));
      return col;
    });
    return { w, h, top, bottom, xs, ys };
  }

  function paintLines(): void {
    const ctx = ctx2d();
    if (!ctx || !data || !layout) return;
    const { w, h, xs, ys } = layout;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const lines = data.drawn.length;
    // Many lines are one device pixel wide: software rasterizers (Chromium without a GPU) stroke
    // hairlines on a fast path; 1 CSS px at a device pixel ratio of 2 took ~1.1 s for 5,000
    // lines, against ~70 ms as hairlines.
    ctx.lineWidth = lines > 500 ? 1 / dpr : 1;
    ctx.lineJoin = "round";
    const trace = (k: number) => {
      ctx.moveTo(xs[0], ys[0][k]);
      for (let a = 1; a < xs.length; a++) ctx.lineTo(xs[a], ys[a][k]);
    };
    // Lines outside the brushes first, faint, so the selected ones stand out on top.
    if (mask) {
      ctx.globalAlpha = 0.35;
      ctx.strokeStyle = themeColors(el).grid;
      ctx.beginPath();
      for (let k = 0; k < lines; k++) if (!mask[k]) trace(k);
      ctx.stroke();
    }
    ctx.globalAlpha = lines > 2000 ? 0.45 : lines > 300 ? 0.65 : 0.85;
    // Lines come worst first; one stroke per colour band (and per CHUNK lines in a band).
    let band = -1;
    let inPath = 0;
    for (let k = 0; k < lines; k++) {
      if (mask && !mask[k]) continue;
      // Infeasible trials (drawn first) are one grey band of their own.
      const b = data.infeasible?.[data.drawn[k]] ? INFEASIBLE_BAND : colourBucket(data.colour[data.drawn[k]], BUCKETS);
      if (b !== band || inPath >= CHUNK) {
        if (inPath) ctx.stroke();
        band = b;
        inPath = 0;
        ctx.strokeStyle = b === INFEASIBLE_BAND ? INFEASIBLE_COLOR : lineColour((b + 0.5) / BUCKETS);
        ctx.beginPath();
      }
      trace(k);
      inPath++;
    }
    if (inPath) ctx.stroke();
    ctx.globalAlpha = 1;
  }

  function drawnMask(): { drawn: Uint8Array | null; count: number } {
    if (!data || brushes.size === 0) return { drawn: null, count: data?.rows.length ?? 0 };
    const all = brushMask(data, brushes);
    const drawn = new Uint8Array(data.drawn.length);
    data.drawn.forEach((row, k) => (drawn[k] = all.mask[row]));
    return { drawn, count: all.count };
  }

  function updateSelection(): void {
    const m = drawnMask();
    mask = m.drawn;
    const total = data?.rows.length ?? 0;
    selection.textContent = brushes.size
      ? `${m.count.toLocaleString()} of ${total.toLocaleString()} trials selected (click an axis to clear its range)`
      : "Drag along an axis to select a range.";
  }

  function paintAxes(): void {
    if (!data || !layout) return;
    const c = themeColors(el);
    const accent = getComputedStyle(el).getPropertyValue("--om-accent").trim() || "#1f77b4";
    const { w, h, top, bottom, xs } = layout;
    overlay.setAttribute("width", String(w));
    overlay.setAttribute("height", String(h));
    overlay.setAttribute("viewBox", `0 0 ${w} ${h}`);
    overlay.style.setProperty("--om-pc-fg", c.fg);
    overlay.style.setProperty("--om-pc-bg", c.bg);
    overlay.style.setProperty("--om-pc-accent", accent);
    const spacing = xs.length > 1 ? xs[1] - xs[0] : w - BAR_AREA;
    const parts: SVGElement[] = [];
    const stagger = staggered(data, spacing);
    data.axes.forEach((axis, i) => parts.push(axisGroup(axis, xs[i], top, bottom, spacing, w, stagger ? i % 2 : -1)));
    parts.push(colourBar(data, w - BAR_AREA + 24, top, bottom));
    brushGroup = svg("g", { class: "om-pc-brushes" });
    highlight = svg("path", { class: "om-pc-highlight", d: "" });
    overlay.replaceChildren(...parts, highlight, brushGroup);
    paintBrushes();
  }

  function paintBrushes(): void {
    if (!data || !layout || !brushGroup) return;
    const { top, bottom, xs } = layout;
    const rects = data.axes.flatMap((axis, i) => {
      const range = brushes.get(axis.key);
      if (!range) return [];
      const y1 = bottom - Math.min(1, Math.max(0, position(axis, range[1]))) * (bottom - top);
      const y0 = bottom - Math.min(1, Math.max(0, position(axis, range[0]))) * (bottom - top);
      return [svg("rect", { x: xs[i] - 6, width: 12, y: y1, height: Math.max(1, y0 - y1), rx: 2, class: "om-pc-brush", "data-axis": axis.key })];
    });
    brushGroup.replaceChildren(...rects);
  }

  /** Coalesces redraws into one per animation frame (brush drags, resizes). */
  function request(what: { layout?: boolean; lines?: boolean }): void {
    pending = { layout: pending.layout || !!what.layout, lines: pending.lines || !!what.lines };
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      const p = pending;
      pending = { layout: false, lines: false };
      if (!data) return;
      if (p.layout) {
        layout = measure(data);
        paintAxes();
      }
      paintBrushes();
      paintLines();
    });
  }

  function drawAll(): void {
    if (!data) return;
    layout = measure(data);
    updateSelection();
    paintAxes();
    paintLines();
  }

  // ------------------------------------------------------------------ pointer: brush, hover

  let drag: { axis: number; y0: number; moved: boolean } | null = null;
  /** Where the pointer is over the plot, so a redraw (new trials) keeps the hover in place. */
  let pointer: { x: number; y: number } | null = null;

  const local = (e: PointerEvent) => {
    const r = el.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const axisNear = (x: number, y: number) => {
    if (!layout || y < layout.top - 8 || y > layout.bottom + 8) return -1;
    const i = layout.xs.findIndex((ax) => Math.abs(ax - x) <= GRAB);
    return i;
  };
  const unitAtY = (axis: Axis, y: number) => {
    if (!layout) return 0;
    const p = (layout.bottom - y) / (layout.bottom - layout.top);
    return unitAt(axis, Math.min(1, Math.max(0, p)));
  };

  function setBrush(i: number, ya: number, yb: number): void {
    if (!data) return;
    const axis = data.axes[i];
    const [a, b] = [unitAtY(axis, ya), unitAtY(axis, yb)];
    brushes.set(axis.key, [Math.min(a, b), Math.max(a, b)]);
  }

  const onChooser = (e: Event) => chooser.el.contains(e.target as Node);
  el.addEventListener("pointerdown", (e) => {
    if (e.button !== 0 || onChooser(e)) return;
    const { x, y } = local(e);
    const i = axisNear(x, y);
    if (i < 0) return;
    e.preventDefault();
    el.setPointerCapture?.(e.pointerId);
    drag = { axis: i, y0: y, moved: false };
    hideHover();
  });
  el.addEventListener("pointermove", (e) => {
    const { x, y } = local(e);
    if (!drag && onChooser(e)) {
      pointer = null;
      return hideHover();
    }
    if (drag) {
      if (Math.abs(y - drag.y0) < 3 && !drag.moved) return;
      drag.moved = true;
      setBrush(drag.axis, drag.y0, y);
      updateSelection();
      request({ lines: true });
      return;
    }
    el.style.cursor = axisNear(x, y) >= 0 ? "ns-resize" : "";
    pointer = { x, y };
    hover(x, y);
  });
  const endDrag = () => {
    if (!drag || !data) return;
    // A click without a drag clears the axis' range.
    if (!drag.moved) brushes.delete(data.axes[drag.axis].key);
    drag = null;
    updateSelection();
    request({ lines: true });
  };
  el.addEventListener("pointerup", endDrag);
  el.addEventListener("pointercancel", endDrag);
  el.addEventListener("pointerleave", () => {
    pointer = null;
    if (!drag) hideHover();
  });
  // A click on a line (not on an axis, where a click clears its range) opens that trial.
  el.addEventListener("click", (e) => {
    if (!data || !layout || onChooser(e)) return;
    const { x, y } = local(e);
    if (axisNear(x, y) >= 0) return;
    const k = nearestLine(layout.xs, layout.ys, mask, x, y, HOVER);
    if (k >= 0) el.dispatchEvent(new CustomEvent("om-trial", { detail: data.drawn[k], bubbles: true }));
  });

  function hideHover(): void {
    tip.hidden = true;
    highlight?.setAttribute("d", "");
  }

  function hover(x: number, y: number): void {
    if (!data || !layout || !rec) return;
    const k = nearestLine(layout.xs, layout.ys, mask, x, y, HOVER);
    if (k < 0) return hideHover();
    const { xs, ys } = layout;
    highlight?.setAttribute("d", xs.map((ax, a) => `${a ? "L" : "M"}${ax},${ys[a][k]}`).join(""));
    tip.replaceChildren(...hoverLines(rec, data, data.drawn[k]).map((line, i) => {
      const div = document.createElement("div");
      if (i === 0) div.className = "om-pc-tip-head";
      div.textContent = line;
      return div;
    }));
    tip.hidden = false;
    const left = x + 14 + tip.offsetWidth > layout.w ? x - 14 - tip.offsetWidth : x + 14;
    const top = Math.min(Math.max(0, layout.h - tip.offsetHeight), y + 12);
    tip.style.transform = `translate(${Math.max(0, left)}px, ${top}px)`;
  }

  const resize = typeof ResizeObserver !== "undefined"
    ? new ResizeObserver(() => {
        if (layout && (el.clientWidth !== layout.w || el.clientHeight !== layout.h) && el.clientWidth > 0) request({ layout: true });
      })
    : null;
  resize?.observe(el);

  /** Builds the data from the latest record and draws it: new trials, or another axis choice. */
  function rebuild(): { note?: string; empty: boolean } {
    if (!rec || !last) return { empty: true };
    data = parcoordsData(rec, last.meta, last.objective, undefined, { names: chosen, importance: last.importance });
    chooser.update(data.available, data.shown, last.importance);
    if (data.empty) {
      layout = null;
      hideHover();
      return { note: data.empty, empty: true };
    }
    keepBrushes(brushes, data.axes);
    drawAll();
    if (pointer && !drag) hover(pointer.x, pointer.y);
    else hideHover();
    return { note: data.note, empty: false };
  }

  return {
    update(r, meta, objective, importance) {
      rec = r;
      last = { meta, objective, importance };
      return rebuild();
    },
    dispose() {
      resize?.disconnect();
      if (frame) cancelAnimationFrame(frame);
      data = null;
      el.replaceChildren();
    },
  };
}
