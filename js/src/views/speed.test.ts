// The figure builders at 3,000 / 50,000 / 1,000,000 trials (issue 17.4): each builds its figure
// at every size, and its own time (not plotly's; best of a few tries, timing.ts) is printed.
// Tests check behaviour, not timings: the draw times against the targets are make
// bench's (suite views), on a quiet machine.

import { describe, expect, it } from "vitest";
import { paretoFront } from "../model/derive";
import type { ParamHeader } from "../model/record";
import { TrialRecord } from "../model/record";
import { encode, type Row } from "../testing";
import { bestOf } from "../timing";
import { edfFigure } from "./edf";
import { contourFigure, historyFigure, intermediateFigure, MAX_INFEASIBLE, MAX_POINTS, paretoFigure, sliceFigure, timelineFigure } from "./figures";
import { hypervolumeFigure } from "./hypervolume";
import { rankFigure } from "./rank";

const P: ParamHeader[] = [
  { name: "x", kind: "float", log: false, choices: null },
  { name: "y", kind: "float", log: true, choices: null },
  { name: "n", kind: "int", log: false, choices: null },
  { name: "c", kind: "categorical", log: false, choices: ["a", "b", "c"] },
];

const messages = new Map<string, ReturnType<typeof encode>>();

function trialRow(i: number, objectives: number): Row {
  const x = Math.sin(i * 12.9898) * 10;
  const y = 10 ** -(((i * 7) % 30) / 10);
  const v = (x - 2) ** 2 + y + (i % 100) / 100;
  return { number: i, state: 1, values: objectives === 2 ? [v, (x + 2) ** 2] : [v], params: [x, y, 1 + (i % 100), i % 3], constraint: i % 20 === 0 ? 1 : -1 };
}

/** A fresh record of n complete trials (every 20th infeasible; 5 steps each up to 50,000). */
function study(n: number, objectives = 1): TrialRecord {
  const key = `${n}/${objectives}`;
  let msg = messages.get(key);
  if (!msg) {
    const rows: Row[] = new Array(n);
    const inter: Array<[number, number, number]> = [];
    for (let i = 0; i < n; i++) {
      rows[i] = trialRow(i, objectives);
      if (objectives === 1 && n <= 50_000) for (let s = 0; s < 5; s++) inter.push([i, s, rows[i].values![0] * (1 + 1 / (s + 1))]);
    }
    messages.clear(); // one size at a time: a million trials' message is ~100 MB
    messages.set(key, (msg = encode("delta", 1, rows, { params: P, nValues: objectives, intermediate: inter })));
  }
  const r = new TrialRecord();
  r.apply(msg[0], msg[1].map((b) => b.slice(0)));
  return r;
}

/** A live delta: 100 new trials after n. */
function delta(r: TrialRecord, n: number, objectives: number): void {
  const rows = Array.from({ length: 100 }, (_, k) => trialRow(n + k, objectives));
  r.apply(...encode("delta", 2, rows, { params: P, nValues: objectives }));
}

const one = { directions: ["minimize"] };
const two = { directions: ["minimize", "minimize"] };
const BUILDERS: Array<[string, number, (r: TrialRecord) => unknown]> = [
  ["history", 1, (r) => historyFigure(r, one, { objective: 0, log: false })],
  ["intermediate", 1, (r) => intermediateFigure(r)],
  ["slice", 1, (r) => sliceFigure(r, one, 0, 0)],
  ["contour", 1, (r) => contourFigure(r, one, 0, 1, 0)],
  ["rank", 1, (r) => rankFigure(r, one, 0, 1, 0)],
  ["edf", 1, (r) => edfFigure(r, one, 0)],
  ["timeline", 1, (r) => timelineFigure(r, 2e9)],
  ["pareto", 2, (r) => paretoFigure(r, two, 0, 1)],
  ["hypervolume", 2, (r) => hypervolumeFigure(r, two)],
];

// Before issue 17.4's changes slice took ~14 s at 1,000,000 trials, contour ~13 s and the Pareto
// front ~17 s here (hover texts for every point, a comparator sort, a front scan).

describe("figure builders' time", () => {
  it.each([3000, 50_000, 1_000_000])("%i trials: first draw and a redraw after a live delta", (n) => {
    const tries = n > 100_000 ? 1 : 3;
    const lines: string[] = [];
    for (const [name, objectives, build] of BUILDERS) {
      const first = bestOf(tries, () => study(n, objectives), build);
      const redraw = bestOf(tries, () => {
        const r = study(n, objectives);
        build(r);
        delta(r, n, objectives);
        return r;
      }, build);
      lines.push(`${name} ${first.toFixed(1)} / ${redraw.toFixed(1)}`);
      // Built at every size without throwing (a spread of a million arguments would).
      const figure = build(study(n, objectives)) as { data?: unknown[] };
      expect(Array.isArray(figure.data), `${name} at ${n}`).toBe(true);
    }
    console.log(`builders at ${n} trials, first / redraw ms: ${lines.join(", ")}`);
  }, 600_000);

  it("the 2-objective Pareto front (a sort of the few candidates) is the pairwise one", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (const directions of [["minimize", "minimize"], ["maximize", "minimize"]]) {
      // Coarse values: many ties and duplicates.
      const points = Array.from({ length: 600 }, () => [Math.round(rnd() * 20), Math.round(rnd() * 20)]);
      const infeasible = points.map(() => rnd() < 0.1);
      const sign = directions.map((d) => (d === "maximize" ? -1 : 1));
      const dominates = (q: number[], p: number[]) => q.every((v, k) => sign[k] * v <= sign[k] * p[k]) && q.some((v, k) => v !== p[k]);
      const feasible = points.map((_, i) => i).filter((i) => !infeasible[i]);
      // Non-dominated, and of duplicates only the first.
      const expected = feasible.filter((i) => !feasible.some((j) => dominates(points[j], points[i]) || (j < i && points[j].every((v, k) => v === points[i][k]))));
      expect(paretoFront(points, directions, infeasible)).toEqual(expected);
    }
  });

  it("past MAX_POINTS, slice draws the best and an even sample, and says so", () => {
    const f = sliceFigure(study(50_000), one, 0, 0);
    const drawn = f.data[0].customdata as number[];
    expect(drawn.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(f.data[0].type).toBe("scatter");
    expect((f.data[1].customdata as number[]).length).toBe(MAX_INFEASIBLE);
    expect(f.note).toBe(`${drawn.length.toLocaleString()} of 47,500 trials drawn: the best and an even sample of the rest; ${MAX_INFEASIBLE} of 2,500 infeasible trials drawn`);
    const text = f.data[0].text as string[];
    expect(text[0]).toMatch(/^trial \d+<br>value: [\d.e-]+<br>feasible: largest constraint -1<br>x: /);
  });
});
