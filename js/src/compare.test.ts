import { afterEach, describe, expect, it } from "vitest";
import { edfFigure, historyCompareFigure, renderCompare, type CompareStudy } from "./compare";
import { FakeModel } from "./testing";
import type { Plotter } from "./views/plot";

const EVIL = "<img src=x onerror=alert(1)>";
const studies: CompareStudy[] = [
  {
    name: "tpe", n_trials: 5, n_complete: 5, counts: { COMPLETE: 5 },
    history: [[0, 5], [1, 3], [3, 1], [4, 1]], edf_values: [1, 2, 3, 4, 5], edf_fractions: [0.2, 0.4, 0.6, 0.8, 1],
    best: { number: 3, value: 1, params: { x: 1, kind: EVIL } },
  },
  {
    name: EVIL, n_trials: 4, n_complete: 3, counts: { COMPLETE: 3, FAIL: 1 },
    history: [[0, 2], [2, 2]], edf_values: [2, 2, 6], edf_fractions: [1 / 3, 2 / 3, 1],
    best: { number: 0, value: 2, params: { x: 2 } },
  },
];

afterEach(() => document.body.replaceChildren());

describe("compare panel", () => {
  it("overlays the best-so-far histories and the EDFs, one trace per study", () => {
    const h = historyCompareFigure(studies, "minimize");
    expect(h.data.map((t) => t.x)).toEqual([[0, 1, 3, 4], [0, 2]]);
    expect(h.data[1].name).toBe("&lt;img src=x onerror=alert(1)&gt;");
    const e = edfFigure(studies);
    expect(e.data[0].y).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    expect(e.data.map((t) => (t.line as { shape: string }).shape)).toEqual(["hv", "hv"]);
  });

  it("renders with data-studies, the best trials side by side, and text only", () => {
    const drawn: string[] = [];
    const plotter: Plotter = { draw: (p) => drawn.push(p.dataset.role ?? ""), purge: () => {}, resize: () => {} };
    const model = new FakeModel({ kind: "compare", direction: "minimize", studies });
    const el = document.createElement("div");
    document.body.append(el);
    renderCompare(model, el, plotter);
    const root = el.querySelector(".optuna-magic") as HTMLElement;
    expect(root.dataset.studies).toBe("2");
    expect(drawn).toEqual(["compare-plot"]);
    (el.querySelector("[data-view=best]") as HTMLElement).click();
    const table = el.querySelector("[data-role=compare-best]") as HTMLElement;
    expect(table.textContent).toContain("#3");
    expect(table.querySelector("[data-winner=true]")?.textContent).toBe("1");
    expect(table.textContent).toContain("not set"); // `kind` was not a parameter of the second
    expect(el.querySelector("img")).toBeNull();
  });
});
