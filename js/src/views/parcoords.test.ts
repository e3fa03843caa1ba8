import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ParamHeader } from "../model/record";
import { TrialRecord } from "../model/record";
import { encode, PARAMS } from "../testing";
import { contrast, sequentialRgb } from "./colours";
import {
  axisTicks,
  brushMask,
  colourBucket,
  decadeLabel,
  hoverLines,
  keepBrushes,
  lineColour,
  linearTicks,
  logTicks,
  nearestLine,
  niceDomain,
  parcoordsData,
  position,
  unitAt,
  type Brushes,
} from "./parcoords";
import { createParcoordsView } from "./parcoordsView";

const EVIL = "<img src=x onerror=alert(1)>";
const meta = { directions: ["minimize"] };
const ALL: ParamHeader[] = [
  ...PARAMS,
  { name: "lr", kind: "float", log: true, choices: null },
  { name: "n", kind: "int", log: false, choices: null },
];

/** Trials 0..k-1 (one running, one pruned), value 10 - i; lr from 1e-3 up; n = i. */
function rec(k = 12, params: ParamHeader[] = ALL): TrialRecord {
  const r = new TrialRecord();
  const rows = Array.from({ length: k }, (_, i) => ({
    number: i, state: i === k - 1 ? 0 : i === 3 ? 2 : 1, values: [10 - i],
    params: [i / 2, i % 2, 1e-3 * 1.8 ** i, i].slice(0, params.length),
  }));
  r.apply(...encode("delta", 1, rows, { params }));
  return r;
}

const labels = (ticks: Array<{ label: string }>) => ticks.map((t) => t.label);

describe("parcoords ticks and scales", () => {
  it("nice domains end on round values; a single value gets room", () => {
    expect(niceDomain(-9.98, 9.97, false)).toEqual([-10, 10]);
    expect(niceDomain(1, 100, true)).toEqual([0, 100]);
    expect(niceDomain(0.013, 0.0871, false)).toEqual([0.01, 0.09]);
    expect(niceDomain(5, 5, true)).toEqual([4, 6]);
    expect(niceDomain(0, 0, false)).toEqual([-1, 1]);
  });

  it("linear ticks are round and labelled with the step's decimals", () => {
    expect(labels(linearTicks(0, 1, 5))).toEqual(["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    expect(labels(linearTicks(-10, 10, 4))).toEqual(["-10", "-5", "0", "5", "10"]);
    expect(labels(linearTicks(0, 1e7, 2))).toEqual(["0", "5e+6", "1e+7"]);
  });

  it("int axes never get fractional ticks", () => {
    expect(labels(linearTicks(0, 3, 10, true))).toEqual(["0", "1", "2", "3"]);
  });

  it("log axes tick at decades, 1e-3 style far from 1", () => {
    expect(labels(logTicks(-4, 1, 10))).toEqual(["1e-4", "1e-3", "0.01", "0.1", "1", "10"]);
    expect(decadeLabel(3)).toBe("1000");
    expect(decadeLabel(4)).toBe("1e4");
    expect(decadeLabel(-2)).toBe("0.01");
    // Too many decades for the height: every n-th.
    expect(logTicks(-12, 0, 3).length).toBeLessThanOrEqual(4);
  });

  it("axes of each kind: categorical choices, log, int, then the objective", () => {
    const d = parcoordsData(rec(), meta, 0);
    expect(d.axes.map((a) => [a.title, a.kind])).toEqual([["x", "linear"], ["act", "categorical"], ["lr", "log"], ["n", "int"], ["value", "linear"]]);
    const act = d.axes[1];
    expect(labels(axisTicks(act, 300))).toEqual(["relu", EVIL]);
    const lr = d.axes[2];
    // The data's extent (1e-3 .. 1e-3 * 1.8^10 = 0.357), not whole decades; 1-2-5 ticks in it.
    expect(lr.lo).toBe(-3);
    expect(lr.hi).toBeCloseTo(Math.log10(1e-3 * 1.8 ** 10));
    expect(labels(axisTicks(lr, 300))).toEqual(["1e-3", "2e-3", "5e-3", "0.01", "0.02", "0.05", "0.1", "0.2"]);
    expect(labels(axisTicks(d.axes[3], 300)).every((l) => /^\d+$/.test(l))).toBe(true);
  });

  it("position and unitAt are inverses; a flat axis sits in the middle", () => {
    const d = parcoordsData(rec(), meta, 0);
    const x = d.axes[0];
    expect(position(x, x.lo)).toBe(0);
    expect(position(x, x.hi)).toBe(1);
    expect(unitAt(x, position(x, 2.5))).toBeCloseTo(2.5);
    expect(position({ ...x, lo: 1, hi: 1 }, 1)).toBe(0.5);
  });
});

describe("parcoords data", () => {
  it("draws completed trials with every used parameter, best last", () => {
    const d = parcoordsData(rec(), meta, 0);
    // Trial 3 is pruned and trial 11 still running.
    expect([...d.rows]).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9, 10]);
    // Minimize: the lowest value (trial 10) is the bright end and drawn last.
    const order = [...d.drawn].map((i) => d.rows[i]);
    expect(order[order.length - 1]).toBe(10);
    expect(order[0]).toBe(0);
    expect(d.colour[d.drawn[d.drawn.length - 1]]).toBe(1);
    expect(d.reverse).toBe(true);
    expect(parcoordsData(rec(), { directions: ["maximize"] }, 0).reverse).toBe(false);
  });

  it("draws trials lacking a parameter through its 'not set' band, and samples past the limit", () => {
    const r = rec();
    r.paramValues[0][5] = NaN;
    const d = parcoordsData(r, meta, 0, 4);
    expect([...d.rows]).toContain(5);
    const x = d.axes[0];
    expect(x.missing).toBe(true);
    expect(Number.isNaN(x.values[d.rows.indexOf(5)])).toBe(true);
    expect(position(x, NaN)).toBe(0);
    expect(position(x, x.lo)).toBeCloseTo(0.1);
    expect(labels(axisTicks(x, 300)).slice(-1)).toEqual(["not set"]);
    expect(d.axes[1].missing).toBe(false);
    expect(d.note).toBe("4 of 10 trials drawn: the best tenth and an even sample");
    expect(d.drawn.length).toBe(4);
  });

  it("says why when there is nothing to draw", () => {
    expect(parcoordsData(new TrialRecord(), meta, 0).empty).toBe("No completed trials yet.");
  });

  it("hover text names the trial, the objective and the params, choice labels raw", () => {
    const r = rec();
    const d = parcoordsData(r, meta, 0);
    const row = d.rows.indexOf(1);
    expect(hoverLines(r, d, row)).toEqual(["trial 1", "value: 9", "x: 0.5", `act: ${EVIL}`, "lr: 0.0018", "n: 1"]);
  });
});

describe("parcoords brushing", () => {
  it("keeps rows inside every range and counts them", () => {
    const d = parcoordsData(rec(), meta, 0);
    const brushes: Brushes = new Map([["p:n", [2, 6]]]);
    expect(brushMask(d, brushes).count).toBe(4); // n = 2, 4, 5, 6 (3 was pruned)
    brushes.set("o:0", [5, 7]); // values 10 - n: n in 3..5
    const { mask, count } = brushMask(d, brushes);
    expect(count).toBe(2);
    expect([...d.rows].filter((_, i) => mask[i])).toEqual([4, 5]);
    expect(brushMask(d, new Map()).count).toBe(d.rows.length);
  });

  it("forgets ranges on axes that are gone (another objective)", () => {
    const d = parcoordsData(rec(), meta, 0);
    const brushes: Brushes = new Map([["p:n", [2, 6]], ["o:1", [0, 1]], ["p:gone", [0, 1]]]);
    keepBrushes(brushes, d.axes);
    expect([...brushes.keys()]).toEqual(["p:n"]);
  });
});

describe("parcoords colour and hit test", () => {
  it("lines run from blue (worst) to orange (best), every colour readable on white and dark", () => {
    expect(lineColour(0)).toBe("rgb(55,115,215)");
    expect(lineColour(1)).toBe("rgb(228,112,18)");
    expect(lineColour(NaN)).toBe(lineColour(0));
    // Viridis' best end (yellow) had a contrast of 1.2 on white, its worst end 2.0 on #111.
    for (let i = 0; i <= 20; i++) {
      expect(contrast(sequentialRgb(i / 20), [255, 255, 255])).toBeGreaterThanOrEqual(3);
      expect(contrast(sequentialRgb(i / 20), [17, 17, 17])).toBeGreaterThanOrEqual(3);
    }
    expect(colourBucket(1, 48)).toBe(47);
    expect(colourBucket(0, 48)).toBe(0);
  });

  it("finds the nearest line under the pointer, skipping masked ones", () => {
    const xs = [0, 100, 200];
    // Line 0 flat at y=10; line 1 from 50 to 150 to 150; line 2 flat at 12.
    const ys = [Float32Array.from([10, 50, 12]), Float32Array.from([10, 150, 12]), Float32Array.from([10, 150, 12])];
    expect(nearestLine(xs, ys, null, 50, 100, 5)).toBe(1);
    expect(nearestLine(xs, ys, null, 150, 11, 5)).toBe(2); // tie-free: 12 is 1 px away, 10 is 1 px: later wins
    expect(nearestLine(xs, ys, Uint8Array.from([1, 1, 0]), 150, 11, 5)).toBe(0);
    expect(nearestLine(xs, ys, null, 150, 80, 5)).toBe(-1);
    expect(nearestLine(xs, ys, null, 400, 10, 5)).toBe(-1);
  });
});

describe("parcoords view (jsdom: no canvas)", () => {
  beforeEach(() => {
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    document.body.replaceChildren();
  });

  it("draws axes, titles and the colour bar as text, and says how to brush", () => {
    const el = document.createElement("div");
    document.body.append(el);
    const view = createParcoordsView(el);
    const out = view.update(rec(), meta, 0);
    expect(out.empty).toBe(false);
    expect(Array.from(el.querySelectorAll(".om-pc-title")).map((t) => t.textContent)).toEqual(["x", "act", "lr", "n", "value"]);
    expect(el.querySelector(".om-pc-bar-title")?.textContent).toBe("value");
    expect(el.textContent).toContain(EVIL.slice(0, 10));
    expect(el.querySelector("img")).toBeNull();
    expect(el.querySelector(".om-pc-selection")?.textContent).toBe("Drag along an axis to select a range.");
    expect(view.update(new TrialRecord(), meta, 0)).toEqual({ note: "No completed trials yet.", empty: true });
    view.dispose();
    expect(el.childElementCount).toBe(0);
  });
});

/** The PyTorch example's shape: n_layers in 1..3, then n_units_l{i} / dropout_l{i} per layer. */
function conditional(k = 16): TrialRecord {
  const params: ParamHeader[] = [
    { name: "n_layers", kind: "int", log: false, choices: null },
    ...[0, 1, 2].flatMap((i): ParamHeader[] => [
      { name: `n_units_l${i}`, kind: "int", log: true, choices: null },
      { name: `dropout_l${i}`, kind: "float", log: false, choices: null },
    ]),
    { name: "lr", kind: "float", log: true, choices: null },
  ];
  const r = new TrialRecord();
  const rows = Array.from({ length: k }, (_, t) => {
    const layers = 1 + (t % 3);
    const values = [layers];
    for (let i = 0; i < 3; i++) values.push(i < layers ? 16 + ((t * 7 + i * 13) % 113) : NaN, i < layers ? 0.2 + 0.01 * t : NaN);
    values.push(1e-4 * 1.5 ** t);
    return { number: t, state: 1, values: [1 / (1 + t)], params: values };
  });
  r.apply(...encode("delta", 1, rows, { params }));
  return r;
}

/** A 2D context that counts the lines stroked (one moveTo each). */
function countingContext(): { ctx: CanvasRenderingContext2D; lines: () => number } {
  let moves = 0;
  const noop = () => undefined;
  const ctx = {
    setTransform: noop, clearRect: noop, beginPath: noop, stroke: noop, lineTo: noop,
    moveTo: () => void moves++,
  } as unknown as CanvasRenderingContext2D;
  return { ctx, lines: () => moves };
}

describe("parcoords: conditional parameters, log ints, titles, axis chooser (issue 15.3, 15.4)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    document.body.replaceChildren();
  });

  it("draws every trial of a conditional space, unset ones through the 'not set' band", () => {
    const r = conditional(16);
    const d = parcoordsData(r, meta, 0);
    expect(d.rows.length).toBe(16);
    expect(d.drawn.length).toBe(16);
    const l2 = d.axes.find((a) => a.key === "p:n_units_l2");
    expect(l2?.missing).toBe(true);
    expect(l2?.kind).toBe("log"); // unset values no longer turn a log axis linear
    // The view strokes one line per trial, 16 of 16 (the old code dropped 14 of them here).
    const counting = countingContext();
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(counting.ctx);
    const el = document.createElement("div");
    document.body.append(el);
    createParcoordsView(el).update(r, meta, 0);
    expect(counting.lines()).toBe(16);
    expect(el.querySelectorAll("[data-notset]").length).toBe(4); // n_units_l1, dropout_l1, n_units_l2, dropout_l2
  });

  it("a brush reaching into the band selects the unset trials; one above it does not", () => {
    const d = parcoordsData(conditional(16), meta, 0);
    const axis = d.axes.find((a) => a.key === "p:dropout_l2");
    if (!axis) throw new Error("no axis");
    const unset = [...axis.values].filter(Number.isNaN).length;
    expect(unitAt(axis, 0)).toBe(-Infinity);
    expect(brushMask(d, new Map([[axis.key, [unitAt(axis, 0), axis.hi]]])).count).toBe(16);
    expect(brushMask(d, new Map([[axis.key, [axis.lo, axis.hi]]])).count).toBe(16 - unset);
  });

  it("a log int in [3, 20] spans 3..20 with whole-number ticks, not 1..100", () => {
    const params: ParamHeader[] = [{ name: "max_depth", kind: "int", log: true, choices: null }];
    const r = new TrialRecord();
    const rows = Array.from({ length: 18 }, (_, i) => ({ number: i, state: 1, values: [i], params: [3 + i] }));
    r.apply(...encode("delta", 1, rows, { params }));
    const axis = parcoordsData(r, meta, 0).axes[0];
    expect([axis.lo, axis.hi]).toEqual([Math.log10(3), Math.log10(20)].map((v) => Number(v.toPrecision(12))));
    const ticks = axisTicks(axis, 300);
    expect(labels(ticks).every((l) => /^\d+$/.test(l))).toBe(true);
    expect(ticks.every((t) => t.at >= axis.lo - 1e-9 && t.at <= axis.hi + 1e-9)).toBe(true);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
  });

  it("long titles are shortened with the full name as a tooltip and stay inside the plot", () => {
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
    const long = "classifier__estimator__min_samples_split_fraction";
    const params: ParamHeader[] = [long, "b", "c", "d", "e", "f"].map((name) => ({ name, kind: "float", log: false, choices: null }));
    const r = new TrialRecord();
    r.apply(...encode("delta", 1, Array.from({ length: 5 }, (_, i) => ({ number: i, state: 1, values: [i], params: params.map(() => i) })), { params }));
    const el = document.createElement("div");
    document.body.append(el);
    createParcoordsView(el).update(r, meta, 0);
    const title = el.querySelector(".om-pc-title") as SVGTextElement;
    expect(title.firstChild?.textContent?.endsWith("…")).toBe(true);
    // Seven axes ~77 px apart: the titles alternate over two rows, so this one has ~2 spacings.
    expect(title.firstChild?.textContent?.length).toBeGreaterThan(15);
    expect(title.querySelector("title")?.textContent).toBe(long);
    const x = Number(title.getAttribute("x"));
    const half = ((title.firstChild?.textContent ?? "").length * 12 * 0.62) / 2;
    expect(x - half).toBeGreaterThanOrEqual(0);
    expect(x + half).toBeLessThanOrEqual(600);
  });

  it("past 8 parameters: the first 8 (or the most important) by default, the chooser adds others", () => {
    vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
    const params: ParamHeader[] = Array.from({ length: 12 }, (_, j) => ({ name: `p${j}`, kind: "float", log: false, choices: null }));
    const r = new TrialRecord();
    r.apply(...encode("delta", 1, Array.from({ length: 6 }, (_, i) => ({ number: i, state: 1, values: [i], params: params.map((_, j) => i + j) })), { params }));
    expect(parcoordsData(r, meta, 0).shown).toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"]);
    const importance = Object.fromEntries(params.map((p, j) => [p.name, j / 66]));
    expect(parcoordsData(r, meta, 0, undefined, { importance }).shown).toEqual(["p4", "p5", "p6", "p7", "p8", "p9", "p10", "p11"]);
    const el = document.createElement("div");
    document.body.append(el);
    const view = createParcoordsView(el);
    const out = view.update(r, meta, 0);
    expect(out.note).toBeUndefined();
    const titles = () => Array.from(el.querySelectorAll(".om-pc-title")).map((t) => t.querySelector("title")?.textContent ?? t.textContent);
    expect(titles()).toHaveLength(9); // 8 parameters and the objective
    const button = el.querySelector("[data-role=pc-axes]") as HTMLButtonElement;
    expect(button.textContent).toBe("Axes: 8 of 12 ▾");
    const boxes = el.querySelectorAll<HTMLInputElement>("[data-role=pc-axes-list] input[type=checkbox]");
    expect(boxes).toHaveLength(12);
    boxes[10].checked = true;
    boxes[10].dispatchEvent(new Event("change"));
    expect(titles()).toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p10", "value"]);
    expect((el.querySelector("[data-role=pc-axes]") as HTMLElement).textContent).toBe("Axes: 9 of 12 ▾");
    // The choice survives the next update (new trials).
    view.update(r, meta, 0);
    expect(titles()).toHaveLength(10);
  });
});
