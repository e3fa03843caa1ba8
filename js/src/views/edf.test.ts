import { describe, expect, it } from "vitest";
import { TrialRecord } from "../model/record";
import { encode, PARAMS, type Row } from "../testing";
import { bestOf } from "../timing";
import { EDF_POINTS, edfData, edfFigure, edfPoints } from "./edf";

function study(rows: Row[], nValues = 1): TrialRecord {
  const r = new TrialRecord();
  r.apply(...encode("delta", 1, rows, { params: PARAMS, nValues }));
  return r;
}

describe("EDF", () => {
  it("is every complete trial's value, sorted, with i / n, each a trial to open", () => {
    // Trial 1 pruned, trial 3 running, trial 4 without a finite value: left out.
    const rows = [[0, 1, 3], [1, 2, 9], [2, 1, 1], [3, 0, 0], [4, 1, Infinity], [5, 1, 2], [6, 1, 1]].map(([n, s, v]) => ({ number: n, state: s, values: [v, -v], params: [0, 0] }));
    const e = edfData(study(rows, 2), 0);
    expect(e.values).toEqual([1, 1, 2, 3]);
    expect(e.fractions).toEqual([0.25, 0.5, 0.75, 1]);
    expect(e.numbers).toEqual([2, 6, 5, 0]);
    expect(edfData(study(rows, 2), 1).values).toEqual([-3, -2, -1, -1]);
    const f = edfFigure(study(rows, 2), { directions: ["minimize", "maximize"], objective_names: ["loss", "acc"] }, 1);
    expect(f.data[0].customdata).toEqual([0, 5, 2, 6]);
    expect((f.data[0].line as { shape: string }).shape).toBe("hv");
    expect(f.note).toBe("The share of the 4 complete trials with acc at or below x (maximize: further right is better).");
  });

  it("past EDF_POINTS values, is drawn through numpy's quantiles, as the compare panel's", () => {
    // Expected: numpy.quantile(np.sort(v), np.linspace(0, 1, 512)) at k = 0, 1, 100, 255, 510,
    // 511, and fractions numpy.maximum(q, 1 / 1000), for v[i] = ((i * 7919) % 1000) ** 2 / 1000.
    const v = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) ** 2 / 1000);
    const e = edfPoints(v);
    expect(e.values).toHaveLength(EDF_POINTS);
    expect(e.numbers).toBeNull();
    const at = [0, 1, 100, 255, 510, 511];
    const expected = [0, 0.0038649706457925636, 38.22011741682974, 248.52493737769075, 994.0987945205478, 998.001];
    at.forEach((k, i) => expect(e.values[k]).toBeCloseTo(expected[i], 9));
    expect(e.fractions[0]).toBe(0.001);
    expect(e.fractions[EDF_POINTS - 1]).toBe(1);
  });

  it("says so when there is nothing to draw", () => {
    expect(edfFigure(study([{ number: 0, state: 0 }]), {}, 0)).toEqual({ data: [], layout: {}, note: "No completed trials yet." });
  });

  it.each([
    [3000, 100],
    [50_000, 200],
  ])("%i trials: first draw and a live redraw within %i ms", (n, limit) => {
    const make = () => study(Array.from({ length: n }, (_, i) => ({ number: i, state: 1, values: [Math.sin(i) * 100], params: [0, 0] })));
    const draw = (r: TrialRecord) => edfFigure(r, { directions: ["minimize"] }, 0);
    const first = bestOf(3, make, (r) => expect((draw(r).data[0].x as number[]).length).toBe(Math.min(n, EDF_POINTS)));
    const redraw = bestOf(3, () => {
      const r = make();
      draw(r);
      r.apply(...encode("delta", 2, [{ number: n, state: 1, values: [-1], params: [0, 0] }], { params: PARAMS }));
      return r;
    }, draw);
    console.log(`edf ${n} trials: first ${first.toFixed(1)} ms, redraw ${redraw.toFixed(1)} ms`);
    expect(first).toBeLessThan(limit);
    expect(redraw).toBeLessThan(limit);
  });
});
