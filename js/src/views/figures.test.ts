import { describe, expect, it } from "vitest";
import { TrialRecord } from "../model/record";
import { encode, PARAMS } from "../testing";
import { escapePlotly } from "./dom";
import {
  contourFigure, historyFigure, importanceFigure, intermediateFigure, paretoFigure,
  sliceFigure, timelineFigure,
} from "./figures";

const meta = { directions: ["minimize"] };

function rec(nValues = 1): TrialRecord {
  const r = new TrialRecord();
  const rows = Array.from({ length: 12 }, (_, i) => ({
    number: i, state: i === 11 ? 0 : i % 4 === 3 ? 2 : 1,
    values: Array.from({ length: nValues }, (_, k) => (k === 0 ? 10 - i : i * i)),
    params: [i / 2, i % 2], prunedStep: i % 4 === 3 ? 1 : -1,
  }));
  const inter: Array<[number, number, number]> = [];
  for (const row of rows) for (let s = 0; s < 3; s++) if (row.state !== 2 || s <= 1) inter.push([row.number, s, 1 / (s + 1 + row.number)]);
  r.apply(...encode("delta", 1, rows, { params: PARAMS, nValues, intermediate: inter }));
  return r;
}

const json = (x: unknown) => JSON.stringify(x);

describe("figures", () => {
  it("escapes what plotly would read as HTML", () => {
    expect(escapePlotly("<img src=x onerror=alert(1)> & co")).toBe("&lt;img src=x onerror=alert(1)&gt; &amp; co");
  });

  it.each([
    ["history", () => historyFigure(rec(), meta, { objective: 0, log: false })],
    ["slice", () => sliceFigure(rec(), meta, 1, 0)],
    ["contour", () => contourFigure(rec(), meta, 0, 1, 0)],
  ])("%s never carries a raw choice label", (_n, build) => {
    const text = json(build().data) + json(build().layout);
    expect(text).not.toContain("<img");
    expect(text).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("history has values and best-so-far, with a log toggle", () => {
    const f = historyFigure(rec(), meta, { objective: 0, log: true });
    expect(f.data).toHaveLength(2);
    expect(f.data[1].y).toEqual([10, 9, 8, 6, 5, 4, 2, 1, 0]);
    expect((f.layout.yaxis as { type: string }).type).toBe("log");
  });

  it("history hover names the trial, its value and its parameters, the same text each redraw", () => {
    const r = rec();
    const f = historyFigure(r, meta, { objective: 0, log: false });
    const text = f.data[0].text as string[];
    expect(text[0]).toBe("trial 0<br>value: 10<br>x: 0<br>act: relu");
    expect(text[1]).toBe("trial 1<br>value: 9<br>x: 0.5<br>act: &lt;img src=x onerror=alert(1)&gt;");
    expect(f.data[0].type).toBe("scatter");
    // A redraw reuses what it built (a trial's value and parameters do not change) ...
    const again = historyFigure(r, meta, { objective: 0, log: false }).data[0].text as string[];
    expect(again).toEqual(text);
    // ... and a new objective name is a new text.
    const named = historyFigure(r, { ...meta, objective_names: ["loss"] }, { objective: 0, log: false });
    expect((named.data[0].text as string[])[0]).toBe("trial 0<br>loss: 10<br>x: 0<br>act: relu");
  });

  it("history thins a large study to a few markers in SVG, keeping every step of the best", () => {
    const r = new TrialRecord();
    const n = 50_000;
    const rows = Array.from({ length: n }, (_, i) => ({
      number: i, state: 1, values: [i % 1000 === 0 ? -i : (i * 7919) % 997], params: [i, i % 2], prunedStep: -1,
    }));
    r.apply(...encode("delta", 1, rows, { params: PARAMS, nValues: 1 }));
    const f = historyFigure(r, meta, { objective: 0, log: false });
    const [markers, line] = f.data as Array<{ type: string; x: number[]; y: number[]; text: string[] }>;
    expect(markers.type).toBe("scatter");
    expect(line.type).toBe("scatter");
    expect(markers.x.length).toBeLessThanOrEqual(1500 + 50);
    expect(markers.text).toHaveLength(markers.x.length);
    expect(markers.text[markers.x.indexOf(49_000)]).toBe("trial 49000<br>value: -49000<br>x: 49000<br>act: relu");
    // The step line: its corners only (each new best, from the first trial to the last).
    expect(line.x[0]).toBe(0);
    expect(line.x.slice(1, -1)).toEqual(Array.from({ length: 49 }, (_, k) => (k + 1) * 1000));
    expect(line.y.slice(1, -1)).toEqual(Array.from({ length: 49 }, (_, k) => -(k + 1) * 1000));
    expect(line.x[line.x.length - 1]).toBe(markers.x[markers.x.length - 1]);
    expect(f.note).toMatch(/^1,\d{3} of 50,000 trials drawn/);
  });

  it("intermediate values mark pruned trials where they were pruned and include running ones", () => {
    const f = intermediateFigure(rec());
    const names = f.data.map((d) => d.name);
    expect(names).toContain("running");
    const marks = f.data.find((d) => d.name === "pruned here") as { x: number[]; text: string[] };
    expect(marks.x).toEqual([1, 1]);
    expect(marks.text[0]).toBe("trial 3 pruned at step 1: 0.2");
  });

  it("intermediate values draw the latest trials only, whatever the order they came in", () => {
    const r = new TrialRecord();
    const n = 2600;
    const rows = Array.from({ length: n }, (_, i) => ({
      number: i, state: 1, values: [i], params: [0, 0], prunedStep: -1,
    }));
    // Values arrive out of trial order (as from several workers), two steps each.
    const inter: Array<[number, number, number]> = [];
    for (let i = n - 1; i >= 0; i--) inter.push([i, 0, i], [i, 1, i + 0.5]);
    r.apply(...encode("delta", 1, rows, { params: PARAMS, nValues: 1, intermediate: inter }));
    const f = intermediateFigure(r);
    const lines = f.data[0] as { x: (number | null)[]; y: (number | null)[] };
    const drawn = lines.y.filter((v): v is number => v !== null);
    expect(drawn).toHaveLength(2 * 2000);
    expect(Math.min(...drawn)).toBe(600);
    expect(drawn.slice(0, 2)).toEqual([600, 600.5]); // in trial order, steps in order
    expect(f.note).toBe("latest 2000 of 2600 trials");
  });

  it("importance is a bar per parameter, escaped, or a note", () => {
    const f = importanceFigure({ values: { "<b>x</b>": 0.7, y: 0.3 }, note: "PED-ANOVA", n_trials: 9 });
    expect(f.data[0].y).toEqual(["y", "&lt;b&gt;x&lt;/b&gt;"]);
    expect(f.note).toBe("PED-ANOVA on 9 completed trials");
    expect(importanceFigure({ values: {}, note: "importance needs at least 2 completed trials" }).data).toEqual([]);
  });

  it("pareto front needs two objectives and finds the front", () => {
    expect(paretoFigure(rec(), meta, 0, 1).note).toContain("two or more");
    const f = paretoFigure(rec(2), { directions: ["minimize", "minimize"] }, 0, 1);
    expect(f.data.map((d) => d.name)).toEqual(["dominated", "Pareto front"]);
    expect((f.data[1].x as number[]).length).toBeGreaterThan(0);
  });

  it("contour needs two different parameters", () => {
    expect(contourFigure(rec(), meta, 0, 0, 0).note).toContain("two different");
    expect(contourFigure(rec(), meta, 0, 1, 0).data.map((d) => d.type)).toEqual(["contour", "scatter"]);
  });

  it("timeline has a bar per trial, running ones up to now", () => {
    const f = timelineFigure(rec(), 1.7e9 + 20);
    const bars = f.data.flatMap((d) => d.y as number[]);
    expect(bars.sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    const running = f.data.find((d) => d.name === "running") as { x: number[] };
    expect(running.x).toEqual([9000]);
  });
});
