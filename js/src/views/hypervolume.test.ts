import { describe, expect, it } from "vitest";
import { TrialRecord } from "../model/record";
import { encode, type Row } from "../testing";
import { bestOf } from "../timing";
import { hypervolume, hypervolumeFigure, hypervolumeHistory, referencePoint, Staircase } from "./hypervolume";

const X = [{ name: "x", kind: "float", log: false, choices: null }] as const;

function study(rows: Row[], nValues: number): TrialRecord {
  const r = new TrialRecord();
  r.apply(...encode("delta", 1, rows, { params: [...X], nValues }));
  return r;
}

// 40 points in [0, 1]^3 (numpy default_rng(0).random((40, 3)).round(3)).
const CLOUD = [[0.637, 0.27, 0.041], [0.017, 0.813, 0.913], [0.607, 0.729, 0.544], [0.935, 0.816, 0.003], [0.857, 0.034, 0.73], [0.176, 0.863, 0.541], [0.3, 0.423, 0.028], [0.124, 0.671, 0.647], [0.615, 0.384, 0.997], [0.981, 0.686, 0.65], [0.688, 0.389, 0.135], [0.721, 0.525, 0.31], [0.486, 0.889, 0.934], [0.358, 0.572, 0.322], [0.594, 0.338, 0.392], [0.89, 0.227, 0.623], [0.084, 0.833, 0.787], [0.239, 0.876, 0.059], [0.336, 0.15, 0.45], [0.796, 0.231, 0.052], [0.405, 0.199, 0.091], [0.58, 0.299, 0.672], [0.2, 0.942, 0.365], [0.105, 0.629, 0.927], [0.44, 0.955, 0.5], [0.425, 0.62, 0.995], [0.949, 0.46, 0.758], [0.497, 0.529, 0.786], [0.415, 0.734, 0.711], [0.932, 0.115, 0.729], [0.927, 0.968, 0.015], [0.864, 0.981, 0.957], [0.149, 0.973, 0.89], [0.822, 0.48, 0.232], [0.802, 0.924, 0.266], [0.539, 0.443, 0.931], [0.041, 0.732, 0.614], [0.028, 0.719, 0.016], [0.758, 0.513, 0.929], [0.066, 0.841, 0.067]];

describe("hypervolume", () => {
  // Expected values from Optuna 5: optuna._hypervolume.compute_hypervolume(np.array(points),
  // np.array(ref)) in /work/main/.venv (the points as written here).
  it.each([
    ["2 objectives", [[1, 5], [2, 3], [3, 3.5], [4, 1], [2.5, 2.5], [0.5, 6]], [6, 7], 23.25],
    ["3 objectives", [[1, 4, 3], [2, 2, 5], [3, 1, 2], [4, 3, 1], [2.5, 2.5, 2.5], [1.5, 3.5, 4.5], [5, 5, 5]], [6, 6, 6], 82.875],
    ["3 objectives, 40 random points", CLOUD, [1.1, 1.1, 1.1], 0.9090927670000002],
  ])("matches optuna's compute_hypervolume: %s", (_name, points, ref, expected) => {
    expect(hypervolume(points, ref)).toBeCloseTo(expected, 12);
  });

  it("adds a point's exclusive area to the staircase, nothing for a dominated or outside one", () => {
    const s = new Staircase(10, 10);
    expect(s.add(5, 5)).toBe(25);
    expect(s.add(6, 6)).toBe(0); // dominated
    expect(s.add(5, 5)).toBe(0); // equal
    expect(s.add(11, 1)).toBe(0); // beyond the reference
    expect(s.add(2, 8)).toBe(6); // left of it: (5 - 2) * (10 - 8)
    expect(s.add(1, 1)).toBe(81 - 25 - 6); // dominates both
    expect(s.add(1, 0)).toBe(9);
  });

  it("the history follows optuna's _get_hypervolume_history_info, maximized objectives negated", () => {
    // Values of optuna.visualization._hypervolume_history._get_hypervolume_history_info on a
    // study (directions minimize, maximize) of these six trials, reference point (5, -1):
    // [4.0, 5.5, 16.0, 16.0, 16.6, 17.6].
    const values = [[3, 1], [2, 0.5], [1, 3], [2.5, 2], [0.5, 0.2], [4, 4]];
    const rows = values.map((v, i) => ({ number: i, state: 1, values: v, params: [i] }));
    const r = study(rows, 2);
    const h = hypervolumeHistory(r, ["minimize", "maximize"]);
    expect(h?.numbers).toEqual([0, 1, 2, 3, 4, 5]);
    // Our reference is chosen from the data; with optuna's own the numbers are its numbers.
    // Minimized: worst 4 + 0.35 (10% of 3.5), up to a step of 0.5 -> 4.5; worst -0.2 + 0.38 -> 0.5.
    expect(h?.reference).toEqual([4.5, -0.5]);
    const withRef = values.map((v) => [v[0], -v[1]]);
    const hv = (k: number) => hypervolume(withRef.slice(0, k + 1), [5, 1]);
    expect([0, 1, 2, 3, 4, 5].map(hv).map((v) => Number(v.toFixed(9)))).toEqual([4, 5.5, 16, 16, 16.6, 17.6]);
    // And the history equals the hypervolume of each prefix under our reference.
    const own = (k: number) => hypervolume(withRef.slice(0, k + 1), [4.5, 0.5]);
    h?.values.forEach((v, k) => expect(v).toBeCloseTo(own(k), 12));
  });

  it("an infeasible trial is a point of the curve that adds nothing, as in Optuna", () => {
    // Trial 1 breaks a constraint (its largest constraint value > 0): Optuna's history keeps its
    // number with the hypervolume unchanged, and it is no part of the reference either.
    const rows = [[3, 1], [0, 0], [1, 3]].map((v, i) => ({ number: i, state: 1, values: v, params: [i], constraint: i === 1 ? 0.5 : -1 }));
    const h = hypervolumeHistory(study(rows, 2), ["minimize", "minimize"]);
    expect(h?.numbers).toEqual([0, 1, 2]);
    expect(h?.values[1]).toBe(h?.values[0]);
    expect(h?.reference).toEqual(referencePoint([[3, 1], [1, 3]], 2));
    const none = study([{ number: 0, state: 1, values: [1, 1], params: [0], constraint: 1 }], 2);
    expect(hypervolumeFigure(none, { directions: ["minimize", "minimize"] }).note).toBe("No feasible trial yet: a trial that breaks a constraint adds no hypervolume.");
  });

  it("chooses the reference from the worst values, rounded up so it stays while trials come", () => {
    // 0.95 + 0.095, up to a step of 0.1 -> 1.1; 20 + 1 -> 21.
    expect(referencePoint([[0, 10], [0.95, 20]], 2)).toEqual([1.1, 21]);
    // All equal: 10% of the value's size (0.4, up to a step of 0.5); all zero: 1.
    expect(referencePoint([[4, 0], [4, 0]], 2)).toEqual([4.5, 1]);
    // A new best that widens the range a little leaves it where it was.
    expect(referencePoint([[0, 10], [0.95, 20], [-0.02, 19]], 2)).toEqual([1.1, 21]);
    // A new worst moves it.
    expect(referencePoint([[0, 10], [0.95, 20], [1.5, 19]], 2)).toEqual([1.8, 21]);
  });

  it("counts one point per complete trial, non-decreasing, with running trials between", () => {
    const rows: Row[] = Array.from({ length: 30 }, (_, i) => ({
      number: i, state: i % 7 === 3 ? 0 : i % 5 === 4 ? 2 : 1, values: [Math.sin(i) + 2, Math.cos(i * 1.3) + 2], params: [i],
    }));
    const r = study(rows, 2);
    const h = hypervolumeHistory(r, ["minimize", "minimize"]);
    const complete = rows.filter((x) => x.state === 1).map((x) => x.number);
    expect(h?.numbers).toEqual(complete);
    h?.values.forEach((v, k) => k > 0 && expect(v).toBeGreaterThanOrEqual(h.values[k - 1]));
    // A running trial that completes later is counted where its number is, not at the end.
    const ref = h?.reference ?? [];
    r.apply(...encode("delta", 2, [{ number: 3, state: 1, values: [1.05, 1.05], params: [3] }], { params: [...X], nValues: 2 }));
    const again = hypervolumeHistory(r, ["minimize", "minimize"]);
    expect(again?.reference).toEqual(ref);
    const k = again?.numbers.indexOf(3) ?? -1;
    expect(k).toBe(3); // after trials 0, 1 and 2
    const points = rows.filter((x) => x.state === 1 || x.number === 3).map((x) => (x.number === 3 ? [1.05, 1.05] : (x.values as number[])));
    const byNumber = rows.filter((x) => x.state === 1 || x.number === 3).map((x) => x.number);
    again?.values.forEach((v, j) => expect(v).toBeCloseTo(hypervolume(points.filter((_, i) => byNumber[i] <= (again?.numbers[j] ?? 0)), ref), 9));
  });

  it("draws the curve with the trial numbers to open, and says what the reference is", () => {
    const rows = [[3, 1], [2, 0.5], [1, 3]].map((v, i) => ({ number: i, state: 1, values: v, params: [i] }));
    const f = hypervolumeFigure(study(rows, 2), { directions: ["minimize", "maximize"], objective_names: ["loss", "<b>acc</b>"] });
    expect(f.data[0].customdata).toEqual([0, 1, 2]);
    expect(f.note).toMatch(/^Reference point loss 3\.2, <b>acc<\/b> 0\.2: per objective the worst value/);
    expect(hypervolumeFigure(study(rows, 1), { directions: ["minimize"] }).data).toEqual([]);
    const four = study([{ number: 0, state: 1, values: [1, 2, 3, 4], params: [0] }], 4);
    expect(hypervolumeFigure(four, { directions: ["minimize", "minimize", "minimize", "minimize"] }).note).toBe("Hypervolume is computed for 2 or 3 objectives; this study has 4.");
  });

  it.each([
    [2, 3000, 100],
    [2, 50_000, 200],
    [3, 3000, 100],
    [3, 50_000, 200],
  ])("%i objectives, %i trials: first draw and a live redraw within %i ms", (dims, n, limit) => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    // The last four still running; values spread at first, then closing in (a front forms).
    const rows: Row[] = Array.from({ length: n }, (_, i) => ({
      number: i, state: i >= n - 4 ? 0 : 1, values: Array.from({ length: dims }, () => rnd() * (1 + 100 / (i + 10))), params: [i],
    }));
    const make = () => study(rows, dims);
    const meta = { directions: Array.from({ length: dims }, () => "minimize") };
    const first = bestOf(3, make, (r) => expect(hypervolumeFigure(r, meta).data).toHaveLength(1));
    const redraw = bestOf(3, () => {
      const r = make();
      hypervolumeFigure(r, meta);
      r.apply(...encode("delta", 2, [{ number: n - 2, state: 1, values: Array.from({ length: dims }, () => rnd()), params: [0] }], { params: [...X], nValues: dims }));
      return r;
    }, (r) => expect(hypervolumeFigure(r, meta).data).toHaveLength(1));
    console.log(`hypervolume ${dims}D ${n} trials: first ${first.toFixed(1)} ms, redraw ${redraw.toFixed(1)} ms`);
    expect(first).toBeLessThan(limit);
    expect(redraw).toBeLessThan(limit);
  });
});
