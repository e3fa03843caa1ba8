import { describe, expect, it } from "vitest";
import { TrialRecord, type ParamHeader } from "../model/record";
import { encode, PARAMS } from "../testing";
import { contrast, SEQUENTIAL_SCALE, sequentialRgb } from "./colours";
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

  it("history has values and best-so-far, with a log toggle that says when it cannot apply", () => {
    // Values 10 - i: trial 10's is 0, which no log axis can show.
    const f = historyFigure(rec(), meta, { objective: 0, log: true });
    expect(f.data).toHaveLength(2);
    expect(f.data[1].y).toEqual([10, 9, 8, 6, 5, 4, 2, 1, 0]);
    expect((f.layout.yaxis as { type: string }).type).toBe("linear");
    expect(f.note).toBe("Log scale needs positive values: 1 of 9 values are zero or negative, so the axis stays linear");
    const positive = studyOf([{ name: "x", kind: "float", log: false, choices: null }], (i) => [i], (i) => 1 + i);
    const g = historyFigure(positive, meta, { objective: 0, log: true });
    expect((g.layout.yaxis as { type: string }).type).toBe("log");
    expect(g.note).toBeUndefined();
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
    const trials = f.data.flatMap((d) => (d.hovertext as string[]).map((t) => Number(/trial (\d+)/.exec(t)?.[1])));
    expect(trials.sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    const running = f.data.find((d) => d.name === "running") as { x: number[] };
    expect(running.x).toEqual([9000]);
    // Trials 1.5 s long starting 1 s apart: two overlap at a time, two lanes.
    expect(new Set(f.data.flatMap((d) => d.y as number[]))).toEqual(new Set([1, 2]));
  });
});

/** A study of `n` completed trials over `params`, trial i's values `param(i)` and `value(i)`. */
function studyOf(params: ParamHeader[], param: (i: number) => number[], value: (i: number) => number, n = 20, start?: (i: number) => number): TrialRecord {
  const r = new TrialRecord();
  const rows = Array.from({ length: n }, (_, i) => ({
    number: i, state: 1, values: [value(i)], params: param(i), prunedStep: -1, start: start?.(i), duration: start ? 1 : undefined,
  }));
  r.apply(...encode("delta", 1, rows, { params, nValues: 1 }));
  return r;
}

const LOG_INT: ParamHeader = { name: "max_depth", kind: "int", log: true, choices: null };
const LOG_LR: ParamHeader = { name: "lr", kind: "float", log: true, choices: null };
const INT: ParamHeader = { name: "n_estimators", kind: "int", log: false, choices: null };
type Axis = { type?: string; range?: number[]; tickvals?: number[]; ticktext?: string[]; dtick?: number; tick0?: number; tickformat?: string; exponentformat?: string };

describe("readable axes (issue 15.3)", () => {
  // max_depth: a log int in [3, 20]; lr: 1e-4 .. 0.1; n_estimators: an int 10 .. 13.
  const r = studyOf([LOG_INT, LOG_LR, INT], (i) => [3 + Math.round((17 * i) / 19), 1e-4 * 10 ** ((3 * i) / 19), 10 + (i % 4)], (i) => (i - 7) ** 2);

  it("a log int in [3, 20] sits on a log axis over its own range, whole-number ticks", () => {
    for (const f of [sliceFigure(r, meta, 0, 0), contourFigure(r, meta, 0, 1, 0)]) {
      const x = f.layout.xaxis as Axis;
      expect(x.type).toBe("log");
      expect(x.range?.[0]).toBeGreaterThanOrEqual(Math.log10(3) - 0.05);
      expect(x.range?.[1]).toBeLessThanOrEqual(Math.log10(20) + 0.05);
      expect(x.tickvals?.length).toBeGreaterThanOrEqual(2);
      expect(x.tickvals?.every((v) => Number.isInteger(v) && v >= 3 && v <= 20)).toBe(true);
    }
  });

  it("log floats tick as plain numbers or exponents, never SI prefixes", () => {
    const f = sliceFigure(r, meta, 1, 0);
    const x = f.layout.xaxis as Axis;
    expect(x.type).toBe("log");
    expect(x.ticktext).toEqual(["1e-4", "1e-3", "0.01", "0.1"]);
    const all = [f, contourFigure(r, meta, 0, 1, 0), historyFigure(r, meta, { objective: 0, log: false }), intermediateFigure(rec())];
    for (const g of all) {
      const text = json(g.layout) + json(g.data);
      expect(text).not.toMatch(/µ/);
      for (const axis of [g.layout.xaxis, g.layout.yaxis] as Axis[]) {
        // Every numeric axis opts out of plotly's SI default, or lists its own tick labels.
        if (axis.type !== "date") expect(axis.exponentformat === "e" || axis.ticktext !== undefined || axis.tickformat === "d").toBe(true);
      }
    }
  });

  it("int parameters, trial numbers and steps get whole-number ticks", () => {
    const slice = sliceFigure(r, meta, 2, 0);
    const x = slice.layout.xaxis as Axis;
    expect(x.type).toBe("linear");
    expect([x.tick0, x.dtick, x.tickformat]).toEqual([0, 1, "d"]);
    const bar = (slice.data[0].marker as { colorbar: Axis }).colorbar;
    expect(Number.isInteger(bar.dtick)).toBe(true);
    const hist = historyFigure(r, meta, { objective: 0, log: false }).layout.xaxis as Axis;
    expect([hist.tickformat, Number.isInteger(hist.dtick)]).toEqual(["d", true]);
    const steps = intermediateFigure(rec()).layout.xaxis as Axis;
    expect([steps.tick0, steps.dtick, steps.tickformat]).toEqual([0, 1, "d"]);
  });

  it("the sequential scale shows on white and on dark themes, and slice and contour use it", () => {
    const backgrounds: Array<[number, number, number]> = [[255, 255, 255], [17, 17, 17], [30, 30, 30]];
    for (let i = 0; i <= 100; i++) {
      for (const bg of backgrounds) expect(contrast(sequentialRgb(i / 100), bg)).toBeGreaterThanOrEqual(3);
    }
    const slice = sliceFigure(r, meta, 0, 0).data[0].marker as { colorscale: unknown };
    expect(slice.colorscale).toEqual(SEQUENTIAL_SCALE);
    const [fill, dots] = contourFigure(r, meta, 0, 1, 0).data as Array<{ colorscale?: unknown; marker?: { color: string; line: { width: number } } }>;
    expect(fill.colorscale).toEqual(SEQUENTIAL_SCALE);
    // Light dots with a dark rim: the rim shows on white, the dot on the dark theme.
    expect(dots.marker?.line.width).toBeGreaterThan(0);
  });
});

describe("finished views (issue 15.4)", () => {
  it("contour fills to the edge of the data: grid ends and axis ranges are the data's extent", () => {
    const r = studyOf([LOG_INT, INT], (i) => [3 + Math.round((17 * i) / 19), 10 + (i % 4)], (i) => i);
    const f = contourFigure(r, meta, 0, 1, 0);
    const fill = f.data[0] as { x: number[]; y: number[]; z: (number | null)[][] };
    expect(fill.x[0]).toBeCloseTo(3);
    expect(fill.x[fill.x.length - 1]).toBeCloseTo(20);
    expect([fill.y[0], fill.y[fill.y.length - 1]]).toEqual([10, 13]);
    const x = f.layout.xaxis as Axis;
    const y = f.layout.yaxis as Axis;
    expect(x.range?.[0]).toBeCloseTo(Math.log10(3));
    expect(x.range?.[1]).toBeCloseTo(Math.log10(20));
    expect(y.range).toEqual([10, 13]);
    // The corners hold data (a sample sits at the lowest x and y), not a blank margin.
    expect(fill.z[0][0]).not.toBeNull();
  });

  it("importance lists zero-importance and unrated parameters, long names shortened with the full name kept", () => {
    const long = "a_very_long_parameter_name_from_a_config_dict";
    const f = importanceFigure({ values: { [long]: 0.9, b: 0, c: 0.1 }, note: "PED-ANOVA", n_trials: 9 }, [long, "b", "c", "d"]);
    const bar = f.data[0] as { y: string[]; x: number[]; text: string[]; customdata: string[] };
    expect(bar.y).toEqual(["d", "b", "c", long]);
    expect(bar.text).toEqual(["not rated", "0", "0.100", "0.900"]);
    const y = f.layout.yaxis as Axis;
    expect(y.ticktext?.[3]).toBe(`${long.slice(0, 27)}…`);
    expect(bar.customdata[3]).toBe(`${long}: 0.900`);
    expect(f.note).toBe("PED-ANOVA on 9 completed trials; 1 not rated: not set in every trial");
  });

  it("timeline: one lane for a sequential study at 3,000 trials, no shrunken bar text", () => {
    const r = studyOf([INT], (i) => [i], (i) => i, 3000, (i) => 1.7e9 + 2 * i);
    const f = timelineFigure(r, 1.7e9 + 6000);
    const lanes = new Set(f.data.flatMap((d) => d.y as number[]));
    expect([...lanes]).toEqual([1]);
    for (const d of f.data) {
      expect(d.textposition).toBe("none");
      expect(d.width).toBeGreaterThanOrEqual(0.5); // bars fill their lane, however many trials
    }
    const bars = f.data.reduce((k, d) => k + (d.x as number[]).length, 0);
    expect(bars).toBe(1000);
    expect(f.note).toBe("latest 1000 of 3000 trials");
  });

  it("timeline: parallel trials get lanes, as many as ran at once", () => {
    // Four workers: trial i starts at 10 * floor(i / 4) and runs 1 s.
    const r = studyOf([INT], (i) => [i], (i) => i, 40, (i) => 1.7e9 + 10 * Math.floor(i / 4));
    const f = timelineFigure(r, 1.7e9 + 1000);
    const lanes = f.data.flatMap((d) => d.y as number[]);
    expect(Math.max(...lanes)).toBe(4);
    expect(f.note).toBe("4 lanes: trials that ran at the same time");
    expect((f.layout.yaxis as Axis).ticktext).toEqual(["lane 1", "lane 2", "lane 3", "lane 4"]);
  });
});
