// The selections that replaced full sorts: each checked against the sort it replaced.

import { describe, expect, it } from "vitest";
import { sampleRows } from "./sample";
import { countBelow, orderAt } from "./select";

let seed = 5;
const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);

/** Keys of several shapes: spread, coarse (ties), skewed (a few huge), all equal, extremes. */
const SHAPES: Record<string, (i: number) => number> = {
  spread: () => rnd() * 200 - 100,
  coarse: () => Math.round(rnd() * 10),
  skewed: (i) => (i % 97 === 0 ? 1e12 * rnd() : 1e-6 * rnd()),
  equal: () => 3,
  extremes: (i) => (i % 3 === 0 ? -1.7e308 : i % 3 === 1 ? 1.7e308 : rnd()),
};

describe("orderAt and countBelow", () => {
  it.each(Object.keys(SHAPES))("%s keys: as a sort by (key, index) says", (shape) => {
    for (const n of [10, 300, 20_000]) {
      const keys = Float64Array.from({ length: n }, (_, i) => SHAPES[shape](i));
      const sorted = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b);
      const positions = [...new Set([0, 1, n - 1, ...Array.from({ length: 200 }, () => Math.floor(rnd() * n))])].sort((a, b) => a - b);
      expect(Array.from(orderAt(keys, positions))).toEqual(positions.map((p) => sorted[p]));
      const down = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[b] - keys[a] || a - b);
      expect(Array.from(orderAt(keys, positions, true))).toEqual(positions.map((p) => down[p]));
      const queries = [...positions.map((p) => keys[sorted[p]]), -Infinity, Infinity, 0.5];
      expect(Array.from(countBelow(keys, queries))).toEqual(queries.map((q) => keys.filter((k) => k < q).length));
    }
  });
});

/** sampleRows as it was: a select over a copy of every group's keys (here a sort), then a pass. */
function reference(values: ArrayLike<number>, direction: string, limit: number, infeasible?: ArrayLike<boolean | number>): number[] {
  const n = values.length;
  if (n <= limit) return Array.from({ length: n }, (_, i) => i);
  const sign = direction === "maximize" ? -1 : 1;
  const want = Math.floor(limit / 10);
  const chosen = new Uint8Array(n);
  let taken = 0;
  for (const bad of [false, true]) {
    if (taken >= want) break;
    const of = (i: number) => !!infeasible?.[i] === bad && !Number.isNaN(values[i]);
    const group = Array.from({ length: n }, (_, i) => i).filter(of);
    const order = group.slice().sort((a, b) => sign * values[a] - sign * values[b] || a - b);
    for (const i of order.slice(0, want - taken)) chosen[i] = 1;
    taken += Math.min(want - taken, order.length);
  }
  const rest = limit - taken;
  for (let k = 0; k < rest; k++) chosen[Math.floor((k * n) / rest)] = 1;
  return Array.from({ length: n }, (_, i) => i).filter((i) => chosen[i]);
}

describe("sampleRows", () => {
  it.each(["spread", "coarse", "equal"])("%s values: the rows the full sort chose", (shape) => {
    for (const n of [1600, 5000, 60_000]) {
      for (const direction of ["minimize", "maximize"]) {
        const values = Float64Array.from({ length: n }, (_, i) => (i % 31 === 0 ? NaN : SHAPES[shape](i)));
        const infeasible = Uint8Array.from({ length: n }, () => (rnd() < 0.1 ? 1 : 0));
        const mostlyBad = Uint8Array.from({ length: n }, () => (rnd() < 0.995 ? 1 : 0));
        for (const bad of [undefined, infeasible, mostlyBad]) {
          expect(sampleRows(values, direction, 1500, bad), `${n} ${direction}`).toEqual(reference(values, direction, 1500, bad));
        }
      }
    }
  });
});
