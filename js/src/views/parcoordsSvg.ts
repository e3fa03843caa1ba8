// The SVG parts of parallel coordinates: axes with their ticks and titles, the colour bar.
// Every string goes in as text; a label cut short carries its whole text as a tooltip.

import {
  axisTicks,
  lineColour,
  linearTicks,
  NOT_SET_BAND,
  position,
  type Axis,
  type ParcoordsData,
} from "./parcoords";

const SVG = "http://www.w3.org/2000/svg";
const FONT = 11;
/** A rough glyph width of the 11 px ticks: labels are fitted by length, not measured. */
export const CHAR = FONT * 0.6;
/** Titles are 12 px and bold: wider glyphs than the ticks'. */
export const TITLE_CHAR = 12 * 0.62;

let gradients = 0;

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}
function fit(text: string, px: number, char = CHAR): string {
  const max = Math.max(3, Math.floor(px / char));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A label that may be cut short, with the whole text as its tooltip. */
export function label(text: string, px: number, attrs: Record<string, string | number>, char = CHAR): SVGTextElement {
  const shown = fit(text, px, char);
  const el = svg("text", attrs, shown);
  if (shown !== text) el.append(svg("title", {}, text));
  return el;
}

/** Titles that do not fit between their neighbours alternate over two rows. */
export function staggered(d: ParcoordsData, spacing: number): boolean {
  return d.axes.length > 2 && d.axes.some((a) => a.title.length * TITLE_CHAR > spacing - 8);
}

/**
 * One axis: its line, ticks and title. `row` is the title's row when titles alternate (0
 * lower, 1 upper), -1 when they all fit on one; a title is cut short (full name as its
 * tooltip) only past what its row leaves it, and kept inside the plot at both edges.
 */
export function axisGroup(axis: Axis, x: number, top: number, bottom: number, spacing: number, w: number, row: number): SVGGElement {
  const g = svg("g", { class: "om-pc-axis", "data-axis": axis.key });
  const span = bottom - top;
  const bandTop = axis.missing ? bottom - NOT_SET_BAND * span : bottom;
  g.append(svg("line", { x1: x, x2: x, y1: top, y2: bandTop, class: "om-pc-line" }));
  if (axis.missing) {
    // The "not set" band: a short stub apart from the axis, where unset trials pass.
    g.append(svg("line", { x1: x, x2: x, y1: bottom - 3, y2: bottom + 3, class: "om-pc-line om-pc-notset" }));
  }
  const labelRoom = Math.min(16 * CHAR, spacing - 14);
  for (const t of axisTicks(axis, span)) {
    const y = bottom - position(axis, t.at) * span;
    const unset = Number.isNaN(t.at);
    g.append(svg("line", { x1: x - 4, x2: x, y1: y, y2: y, class: "om-pc-line" }));
    const attrs: Record<string, string | number> = { x: x - 6, y, class: "om-pc-tick", "text-anchor": "end", "dominant-baseline": "middle" };
    if (unset) Object.assign(attrs, { "font-style": "italic", "data-notset": "1" });
    const tick = label(t.label, labelRoom, attrs);
    if (unset && !tick.querySelector("title")) tick.append(svg("title", {}, `Trials without ${axis.title} (a parameter they never reached) pass here`));
    g.append(tick);
  }
  const room = Math.max(3 * TITLE_CHAR, (row >= 0 ? 2 * spacing : spacing) - 10);
  const title = label(axis.title, room, { y: top - (row === 1 ? 32 : 18), class: "om-pc-title", "text-anchor": "middle" }, TITLE_CHAR);
  const width = (title.firstChild?.textContent ?? "").length * TITLE_CHAR;
  // Centred over the axis, moved in where the first or last title would leave the plot.
  title.setAttribute("x", String(Math.min(Math.max(x, width / 2 + 2), w - width / 2 - 2)));
  g.append(title);
  return g;
}

export function colourBar(d: ParcoordsData, x: number, top: number, bottom: number): SVGGElement {
  const g = svg("g", { class: "om-pc-colorbar" });
  const id = `om-pc-grad-${++gradients}`; // ids are page-wide: one per drawing
  const grad = svg("linearGradient", { id, x1: 0, x2: 0, y1: 0, y2: 1 });
  // Top of the bar is the highest value: the bright end when maximizing.
  for (let s = 0; s <= 10; s++) {
    const o = s / 10;
    grad.append(svg("stop", { offset: o, "stop-color": lineColour(d.reverse ? o : 1 - o) }));
  }
  const defs = svg("defs", {});
  defs.append(grad);
  g.append(defs);
  g.append(svg("rect", { x, y: top, width: 12, height: bottom - top, fill: `url(#${id})`, class: "om-pc-bar" }));
  const [lo, hi] = d.objectiveRange;
  for (const t of linearTicks(lo, hi, Math.max(2, Math.floor((bottom - top) / 40)))) {
    const y = hi > lo ? bottom - ((t.at - lo) / (hi - lo)) * (bottom - top) : (top + bottom) / 2;
    g.append(svg("line", { x1: x + 12, x2: x + 16, y1: y, y2: y, class: "om-pc-line" }));
    g.append(label(t.label, 40, { x: x + 18, y, class: "om-pc-tick", "dominant-baseline": "middle" }));
  }
  const mid = (top + bottom) / 2;
  g.append(label(d.objectiveName, bottom - top, {
    x: x + 68, y: mid, class: "om-pc-bar-title", "text-anchor": "middle", transform: `rotate(-90 ${x + 68} ${mid})`,
  }));
  return g;
}
