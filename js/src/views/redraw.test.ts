// The builders keep work between redraws (model/columns.ts, paretoKept.ts, the hypervolume
// curve): a redraw after live deltas must draw what a fresh build on the same record draws.

import { describe, expect, it } from "vitest";
import type { ParamHeader } from "../model/record";
import { TrialRecord } from "../model/record";
import { completeColumns, log10Column } from "../model/columns";
import { completed, paretoFront } from "../model/derive";
import { encode, type Row } from "../testing";
import { edfFigure } from "./edf";
import { contourFigure, historyFigure, paretoFigure, sliceFigure, timelineFigure } from "./figures";
import { hypervolumeFigure, hypervolumeHistory, referencePoint } from "./hypervolume";
import { paretoTrials } from "./paretoKept";
import { rankFigure, TRIAL_AXIS } from "./rank";

const P: ParamHeader[] = [
  { name: "x", kind: "float", log: false, choices: null },
  { name: "lr", kind: "float", log: true, choices: null },
  { name: "c", kind: "categorical", log: false, choices: ["a", "b"] },
];

let seed = 11;
const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);

/** Trial i in `state`; values coarse (ties), later trials better on average (a front that moves). */
function row(i: number, state: number): Row {
  const x = Math.round(rnd() * 400) / 40;
  const scale = 1 + 3000 / (i + 100);
  return {
    number: i, state, values: state === 1 ? [Math.round((x - 3) ** 2 * scale * 4) / 4, Math.round(rnd() * 3000 / scale)] : [NaN, NaN],
    params: state === 0 ? [x, NaN, NaN] : [x, 10 ** -(1 + rnd() * 3), i % 2], constraint: state === 1 && i % 13 === 0 ? 1 : -1,
  };
}

const meta = { directions: ["minimize", "maximize"] };
const BUILDERS: Array<[string, (r: TrialRecord) => unknown]> = [
  ["history", (r) => historyFigure(r, meta, { objective: 0, log: false })],
  ["history 1", (r) => historyFigure(r, meta, { objective: 1, log: true })],
  ["slice", (r) => sliceFigure(r, meta, 0, 0)],
  ["contour", (r) => contourFigure(r, meta, 0, 1, 1)],
  ["rank", (r) => rankFigure(r, meta, 0, 1, 0)],
  ["rank by trial", (r) => rankFigure(r, meta, 1, TRIAL_AXIS, 1)],
  ["edf", (r) => edfFigure(r, meta, 1)],
  ["timeline", (r) => timelineFigure(r, 2e9)],
  ["pareto", (r) => paretoFigure(r, meta, 0, 1)],
  ["hypervolume", (r) => hypervolumeFigure(r, meta)],
];

describe("a redraw after live deltas draws what a fresh build does", () => {
  it.each([300, 3000])("%i trials", (n) => {
    const messages = liveMessages(n);
    const live = new TrialRecord();
    for (const [k, [msg, buffers]] of messages.entries()) {
      live.apply(msg, buffers.map((b) => b.slice(0)));
      const fresh = new TrialRecord();
      for (const [m, b] of messages.slice(0, k + 1)) fresh.apply(m, b.map((x) => x.slice(0)));
      for (const [name, build] of BUILDERS) {
        // Drawn twice on the live record (the second from what the first kept), once fresh.
        build(live);
        expect(build(live), `${name} after message ${k}`).toEqual(build(fresh));
      }
    }
  }, 60_000);

  // A fresh build reads a record with a running trial in the middle too: what is kept must also
  // be what the plain computations (without anything kept) give.
  it("what is kept equals what is computed from every trial", () => {
    const live = new TrialRecord();
    for (const [k, [msg, buffers]] of liveMessages(3000).entries()) {
      live.apply(msg, buffers);
      for (const i of [0, 1]) {
        const kept = completeColumns(live, i);
        const plain = completed(live, i);
        expect([Array.from(kept.numbers), Array.from(kept.values), Array.from(kept.infeasible, Boolean)]).toEqual([plain.numbers, plain.values, plain.infeasible]);
      }
      const logs = log10Column(live, 1);
      for (let t = 0; t < live.size; t++) expect(Object.is(logs[t], Math.log10(live.paramValues[1][t])), `log10 of trial ${t}`).toBe(true);
      const rows = live.rows().filter((t) => live.state[t] === 1 && Number.isFinite(live.values[0][t]) && Number.isFinite(live.values[1][t]));
      const good = rows.filter((t) => !live.infeasible(t));
      const front = paretoFront(good.map((t) => [live.values[0][t], live.values[1][t]]), meta.directions).map((i) => good[i]);
      const kept = paretoTrials(live, meta.directions);
      expect([kept.front, Array.from(kept.feasible), Array.from(kept.infeasible)], `Pareto after message ${k}`).toEqual([front, good, rows.filter((t) => live.infeasible(t))]);
      const points = good.map((t) => [live.values[0][t], -live.values[1][t]]);
      expect(hypervolumeHistory(live, meta.directions)?.reference).toEqual(referencePoint(points, 2).map((r, j) => (j === 1 ? -r : r)));
    }
  });
});

/** A record's messages: n trials (one running in the middle, some near the end), then four live
 * deltas of new trials (some running) and running trials finishing. */
function liveMessages(n: number): Array<ReturnType<typeof encode>> {
  const messages: Array<ReturnType<typeof encode>> = [];
  const mid = Math.floor(n / 2);
  const running = (i: number) => i === mid || (i > n - 40 && i % 3 === 0);
  const states = (i: number) => (running(i) ? 0 : i % 11 === 5 ? 2 : i % 17 === 9 ? 3 : 1);
  messages.push(encode("delta", 1, Array.from({ length: n }, (_, i) => row(i, states(i))), { params: P, nValues: 2 }));
  for (let d = 0; d < 4; d++) {
    const start = n + d * 50;
    const rows = Array.from({ length: 50 }, (_, k) => row(start + k, k % 9 === 0 ? 0 : 1));
    for (let i = n - 39 + d; i < n; i += 6) if (running(i)) rows.push(row(i, 1));
    if (d === 2) rows.push(row(mid, 1));
    if (d > 0) rows.push(row(n + (d - 1) * 50, 1)); // the last delta's first (running) trial ends
    messages.push(encode("delta", 2 + d, rows, { params: P, nValues: 2 }));
  }
  return messages;
}
