// Constrained studies (Optuna's set_constraint: feasible when every value is <= 0): the best is the
// best feasible trial, the Pareto front is of feasible trials, and every view shows infeasible
// trials apart.
import { describe, expect, it } from "vitest";
import { bestSoFar, bestTrial, completed, countInfeasible, FEASIBLE, INFEASIBLE, paretoFront, tableRows, thinForPlot } from "../model/derive";
import { TrialRecord } from "../model/record";
import { encode, PARAMS, type Row } from "../testing";
import { INFEASIBLE_COLOR } from "./colours";
import { createTrialDetail } from "./detail";
import { contourFigure, historyFigure, paretoFigure, sliceFigure, timelineFigure } from "./figures";
import { parcoordsData } from "./parcoords";
import { createTrialsTable } from "./table";

const meta = { directions: ["minimize"] };

/** Values 5, 1, 4, 0, 3, 2: trials 1 and 3 (the two lowest) break a constraint. */
function constrained(): TrialRecord {
  const values = [5, 1, 4, 0, 3, 2];
  const constraint = [-1, 2, undefined, 0.5, 0, -3];
  const rows: Row[] = values.map((v, n) => ({ number: n, state: 1, values: [v], params: [n / 2, n % 2], constraint: constraint[n] }));
  const r = new TrialRecord();
  r.apply(...encode("delta", 1, rows, { params: PARAMS }));
  return r;
}

describe("the record's feasibility", () => {
  it("follows Optuna: infeasible only when the largest constraint is above 0", () => {
    const r = constrained();
    expect([0, 1, 2, 3, 4, 5].map((n) => r.infeasible(n))).toEqual([false, true, false, true, false, false]);
    expect(countInfeasible(r)).toBe(2);
  });

  it("takes the best feasible trial, and the running best of feasible trials", () => {
    const r = constrained();
    expect(bestTrial(r, "minimize")).toBe(5); // 2: trials 1 (1) and 3 (0) are infeasible
    expect(bestTrial(r, "maximize")).toBe(0);
    const all = completed(r);
    expect(bestSoFar(all.values, "minimize", all.infeasible)).toEqual([5, 5, 4, 4, 3, 2]);
    expect(bestSoFar(all.values, "minimize")).toEqual([5, 1, 1, 0, 0, 0]);
    expect(bestSoFar([1, 2], "minimize", [true, false])[0]).toBeNaN();
    // Thinning keeps every feasible step, never an infeasible one as a step.
    const values = [5, 1, 4, 0, 3, 2, 6, 7, 8, 9];
    const bad = values.map((_, i) => i === 1 || i === 3);
    expect(thinForPlot(values, "minimize", 8, bad)).toEqual(expect.arrayContaining([0, 2, 4, 5]));
    expect(thinForPlot(values, "minimize", 8)).not.toContain(4);
  });

  it("has no best trial when every trial breaks a constraint", () => {
    const r = new TrialRecord();
    r.apply(...encode("delta", 1, [{ number: 0, state: 1, values: [1], constraint: 1 }]));
    expect(bestTrial(r, "minimize")).toBe(-1);
  });

  it("puts only feasible trials on the Pareto front", () => {
    const points = [[1, 1], [2, 2], [0, 3], [3, 0]];
    expect(paretoFront(points, ["minimize", "minimize"])).toEqual([0, 2, 3]);
    // Point 0 dominates point 1, but is infeasible: point 1 is on the front now.
    expect(paretoFront(points, ["minimize", "minimize"], [true, false, false, false])).toEqual([1, 2, 3]);
  });

  it("filters the table's rows by feasibility", () => {
    const r = constrained();
    const key = { column: "number", descending: false };
    expect(Array.from(tableRows(r, INFEASIBLE, key))).toEqual([1, 3]);
    expect(Array.from(tableRows(r, FEASIBLE, key))).toEqual([0, 2, 4, 5]);
    expect(Array.from(tableRows(r, -1, { column: "constraint", descending: true }))).toEqual([1, 3, 4, 0, 5, 2]);
  });
});

describe("the views mark infeasible trials", () => {
  it("history: a muted trace of their own, left out of the best so far", () => {
    const f = historyFigure(constrained(), meta, { objective: 0, log: false });
    expect(f.data[0].x).toEqual([0, 2, 4, 5]);
    expect(f.data[1].y).toEqual([5, 4, 3, 2]);
    const apart = f.data[2] as { name: string; x: number[]; marker: { color: string }; text: string[] };
    expect(apart.name).toBe("infeasible");
    expect(apart.x).toEqual([1, 3]);
    expect(apart.marker.color).toBe(INFEASIBLE_COLOR);
    expect(apart.text[0]).toContain("infeasible: largest constraint 2");
    expect(f.note).toContain("2 infeasible");
  });

  it("history of an unconstrained study is as before: two traces", () => {
    const r = new TrialRecord();
    r.apply(...encode("delta", 1, [{ number: 0, state: 1, values: [1] }, { number: 1, state: 1, values: [0] }]));
    expect(historyFigure(r, meta, { objective: 0, log: false }).data).toHaveLength(2);
  });

  it("slice and contour: infeasible points in grey", () => {
    const r = constrained();
    const slice = sliceFigure(r, meta, 0, 0);
    expect(slice.data[0].customdata).toEqual([0, 2, 4, 5]);
    expect((slice.data[1] as { customdata: number[] }).customdata).toEqual([1, 3]);
    const dots = contourFigure(r, meta, 0, 1, 0).data[1] as { marker: { color: string[]; symbol: string[] } };
    expect(dots.marker.color[1]).toBe(INFEASIBLE_COLOR);
    expect(dots.marker.symbol.filter((s) => s === "x")).toHaveLength(2);
  });

  it("pareto: the front of feasible trials, infeasible ones greyed", () => {
    const r = new TrialRecord();
    const rows: Row[] = [
      { number: 0, state: 1, values: [1, 1], constraint: 1 },
      { number: 1, state: 1, values: [2, 2] },
      { number: 2, state: 1, values: [0, 3], constraint: -1 },
      { number: 3, state: 1, values: [3, 3] },
    ];
    r.apply(...encode("delta", 1, rows, { nValues: 2 }));
    const f = paretoFigure(r, { directions: ["minimize", "minimize"] }, 0, 1);
    expect(f.data[1].customdata).toEqual([2, 1]);
    expect(f.data[2].customdata).toEqual([0]);
    expect((f.data[2].marker as { color: string }).color).toBe(INFEASIBLE_COLOR);
    expect(f.note).toContain("1 infeasible");
  });

  it("parallel coordinates: infeasible lines flagged and drawn first", () => {
    const d = parcoordsData(constrained(), meta, 0);
    expect(Array.from(d.infeasible ?? [])).toEqual([0, 1, 0, 1, 0, 0]);
    expect(Array.from(d.drawn.slice(0, 2)).sort()).toEqual([1, 3]);
    expect(d.note).toContain("2 infeasible");
  });

  it("timeline: infeasible trials are a group of their own", () => {
    const f = timelineFigure(constrained(), 2e9);
    const group = f.data.find((t) => t.name === "infeasible") as { customdata: number[]; marker: { color: string } };
    expect(group.customdata.sort()).toEqual([1, 3]);
    expect(group.marker.color).toBe(INFEASIBLE_COLOR);
  });

  it("table: a feasible column with the violation, a marked row, feasibility filters", () => {
    const t = createTrialsTable();
    t.update(constrained(), meta);
    const head = Array.from(t.el.querySelectorAll(".om-th")).map((c) => c.textContent);
    expect(head).toContain("feasible");
    const rows = Array.from(t.el.querySelectorAll<HTMLElement>(".om-tr"));
    expect(rows.filter((tr) => tr.dataset.infeasible === "true").map((tr) => tr.dataset.number)).toEqual(["1", "3"]);
    const at = head.indexOf("feasible");
    expect(rows.map((tr) => tr.children[at].textContent)).toEqual(["yes", "no (2)", "", "no (0.5)", "yes", "yes"]);
    const filter = t.el.querySelector("select.om-filter") as HTMLSelectElement;
    filter.value = String(INFEASIBLE);
    filter.dispatchEvent(new Event("change"));
    expect(Array.from(t.el.querySelectorAll<HTMLElement>(".om-tr")).map((tr) => tr.dataset.number)).toEqual(["1", "3"]);
  });

  it("table of an unconstrained study has no feasible column", () => {
    const r = new TrialRecord();
    r.apply(...encode("delta", 1, [{ number: 0, state: 1, values: [1] }]));
    const t = createTrialsTable();
    t.update(r, meta);
    expect(Array.from(t.el.querySelectorAll(".om-th")).map((c) => c.textContent)).not.toContain("feasible");
    expect(t.el.querySelectorAll("select.om-filter option")).toHaveLength(6);
  });

  it("trial detail: a constraints row", () => {
    const d = createTrialDetail(() => undefined);
    d.open(constrained(), meta, 3);
    expect(d.el.querySelector("[data-role=trial-constraints]")?.textContent).toContain("infeasible: largest 0.5");
    d.open(constrained(), meta, 2);
    expect(d.el.querySelector("[data-role=trial-constraints]")).toBeNull();
  });
});
