import { describe, expect, it } from "vitest";
import { encode, PARAMS } from "../testing";
import { bestSoFar, formatDuration, formatNumber, paretoFront, progressText, tableRows } from "./derive";
import { TrialRecord } from "./record";

function record(): TrialRecord {
  const r = new TrialRecord();
  r.apply(...encode("delta", 1, [
    { number: 0, state: 1, values: [3], params: [0.5, 1] },
    { number: 1, state: 2, params: [2.5, 0] },
    { number: 2, state: 1, values: [1], params: [-1, 0] },
    { number: 3, state: 0 },
  ], { params: PARAMS }));
  return r;
}

describe("tableRows", () => {
  const cases: Array<[string, number, string, boolean, number[]]> = [
    ["by number", -1, "number", false, [0, 1, 2, 3]],
    ["by value, NaN last", -1, "v0", false, [2, 0, 1, 3]],
    ["by value descending, NaN still last", -1, "v0", true, [0, 2, 1, 3]],
    ["by a parameter", -1, "p0", false, [2, 0, 1, 3]],
    ["by a categorical (choice index)", -1, "p1", true, [0, 1, 2, 3]],
    ["complete only", 1, "number", false, [0, 2]],
    ["pruned only", 2, "number", false, [1]],
    ["by state", -1, "state", false, [3, 0, 2, 1]],
  ];
  it.each(cases)("%s", (_n, filter, column, descending, want) => {
    expect(Array.from(tableRows(record(), filter, { column, descending }))).toEqual(want);
  });

  it("sorts 50,000 rows quickly", () => {
    const r = new TrialRecord();
    const rows = Array.from({ length: 50_000 }, (_, n) => ({ number: n, state: 1, values: [Math.sin(n)] }));
    r.apply(...encode("delta", 1, rows));
    const t = performance.now();
    const out = tableRows(r, -1, { column: "v0", descending: false });
    expect(performance.now() - t).toBeLessThan(500);
    expect(r.values[0][out[0]]).toBeLessThanOrEqual(r.values[0][out[1]]);
  });
});

describe("formatting", () => {
  it.each([
    [3, "3"], [0.1234567, "0.123457"], [1e-7, "1.0000e-7"], [NaN, ""], [Infinity, "inf"], [1234567.5, "1.2346e+6"],
  ])("formatNumber(%s) = %s", (v, want) => expect(formatNumber(v)).toBe(want));

  it.each([
    [4.25, "4.3s"], [0.1, "0.1s"], [0.094, "94ms"], [0.0123, "12ms"], [0.0003, "0.3ms"], [0, "0.0ms"],
    [125, "2m 05s"], [3725, "1h 02m"],
  ])("formatDuration(%s) = %s", (v, want) =>
    expect(formatDuration(v)).toBe(want));

  it.each([
    [{ n_done: 3, n_trials: 50 }, 0, "3 / 50"],
    [{ n_done: 3, timeout: 600 }, 65, "1m 05s / 10m 00s"],
    [{ n_done: 7 }, 1, "7 trials"],
  ])("progressText(%j)", (status, elapsed, want) => expect(progressText(status, elapsed)).toBe(want));
});

describe("bestSoFar and paretoFront", () => {
  it("tracks the best in each direction", () => {
    expect(bestSoFar([3, 4, 1, 2], "minimize")).toEqual([3, 3, 1, 1]);
    expect(bestSoFar([3, 4, 1, 5], "maximize")).toEqual([3, 4, 4, 5]);
  });
  it.each([
    ["two minimized", [[1, 4], [2, 2], [3, 3], [4, 1], [2, 2]], ["minimize", "minimize"], [0, 1, 3]],
    ["mixed directions", [[1, 1], [2, 2], [0, 0]], ["minimize", "maximize"], [0, 1, 2]],
    ["three objectives", [[1, 1, 1], [0, 2, 2], [2, 2, 2]], ["minimize", "minimize", "minimize"], [0, 1]],
  ])("%s", (_n, points, directions, want) => expect(paretoFront(points, directions)).toEqual(want));
});

describe("thinning for plots", () => {
  it("keeps every point under the limit", async () => {
    const { thinForPlot } = await import("./derive");
    expect(thinForPlot([3, 1, 2], "minimize", 10)).toEqual([0, 1, 2]);
  });

  it("keeps each bucket's extremes and every new best past the limit", async () => {
    const { thinForPlot, bestSoFar } = await import("./derive");
    const values = Array.from({ length: 50_000 }, (_, i) => ((i * 7919) % 10_007) + (i % 3));
    const keep = thinForPlot(values, "minimize", 4000);
    expect(keep.length).toBeLessThanOrEqual(4000 + 4);
    const kept = new Set(keep);
    const best = bestSoFar(values, "minimize");
    // Every step of the best-so-far line is kept, so the thinned line is the same line.
    best.forEach((b, i) => {
      if (i === 0 || b !== best[i - 1]) expect(kept.has(i)).toBe(true);
    });
    const min = values.indexOf(Math.min(...values));
    const max = values.indexOf(Math.max(...values));
    expect(kept.has(min) && kept.has(max)).toBe(true);
  });

  it("stays bounded when nearly every trial is a new best", async () => {
    const { thinForPlot } = await import("./derive");
    const values = Array.from({ length: 50_000 }, (_, i) => 50_000 - i);
    const keep = thinForPlot(values, "minimize", 4000);
    expect(keep.length).toBeLessThanOrEqual(4000 + 4);
    expect(keep[0]).toBe(0);
    expect(keep[keep.length - 1]).toBe(49_999);
  });

  it("samples parallel-coordinate rows with the best ones in", async () => {
    const { sampleRows } = await import("./derive");
    const values = Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 20_000);
    const rows = sampleRows(values, "maximize", 5000);
    expect(rows.length).toBeLessThanOrEqual(5000);
    const top = [...values.keys()].sort((a, b) => values[b] - values[a]).slice(0, 500);
    expect(top.every((i) => rows.includes(i))).toBe(true);
  });
});
