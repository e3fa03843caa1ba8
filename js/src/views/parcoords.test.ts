import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ParamHeader } from "../model/record";
import { TrialRecord } from "../model/record";
import { encode, PARAMS } from "../testing";
import {
  axisTicks,
  brushMask,
  colourBucket,
  decadeLabel,
  hoverLines,
  keepBrushes,
  linearTicks,
  logTicks,
  nearestLine,
  niceDomain,
  parcoordsData,
  position,
  unitAt,
  viridis,
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
    expect(decadeLabel(3)).toBe("1e3");
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
    expect([lr.lo, lr.hi]).toEqual([-3, 0]); // 1e-3 .. 1e-3 * 1.8^9 = 0.198, in whole decades
    expect(labels(axisTicks(lr, 300))).toEqual(["1e-3", "0.01", "0.1", "1"]);
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

  it("leaves out trials lacking a parameter, with a note, and samples past the limit", () => {
    const r = rec();
    r.paramValues[0][5] = NaN;
    const d = parcoordsData(r, meta, 0, 4);
    expect(d.rows).not.toContain(5);
    expect(d.note).toBe("1 trials without every parameter left out; 4 of 9 trials drawn: the best tenth and an even sample");
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
  it("viridis runs from dark purple to yellow", () => {
    expect(viridis(0)).toBe("rgb(68,1,84)");
    expect(viridis(1)).toBe("rgb(253,231,37)");
    expect(viridis(NaN)).toBe(viridis(0));
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
