import { describe, expect, it } from "vitest";
import { encode, PARAMS } from "../testing";
import { ABSENT, RecordSync, TrialRecord, typed } from "./record";

describe("TrialRecord.apply", () => {
  const cases: Array<[string, () => TrialRecord, (r: TrialRecord) => void]> = [
    ["a running trial then its completion is one row", () => {
      const r = new TrialRecord();
      r.apply(...encode("delta", 1, [{ number: 0, state: 0 }], { params: PARAMS }));
      r.apply(...encode("delta", 2, [{ number: 0, state: 1, values: [0.5], params: [1.5, 1] }], { params: PARAMS }));
      return r;
    }, (r) => {
      expect(r.rows()).toEqual([0]);
      expect(r.state[0]).toBe(1);
      expect(r.values[0][0]).toBe(0.5);
      expect(r.paramValues[1][0]).toBe(1);
      expect(r.duration[0]).toBe(1.5);
    }],
    ["numbers out of order leave absent rows", () => {
      const r = new TrialRecord();
      r.apply(...encode("delta", 1, [{ number: 3, state: 1, values: [1] }, { number: 1, state: 2 }]));
      return r;
    }, (r) => {
      expect(r.size).toBe(4);
      expect(r.state[0]).toBe(ABSENT);
      expect(r.rows()).toEqual([1, 3]);
    }],
    ["intermediate values and events append", () => {
      const r = new TrialRecord();
      r.apply(...encode("delta", 1, [], { intermediate: [[0, 1, 0.9]], events: [{ kind: "run started", time: 1 }] }));
      r.apply(...encode("delta", 2, [{ number: 0, state: 2, prunedStep: 2 }], { intermediate: [[0, 2, 0.8]], events: [{ kind: "pruned", trial: 0, step: 2, value: 0.8, time: 2 }] }));
      return r;
    }, (r) => {
      expect(r.intCount).toBe(2);
      expect(Array.from(r.intStep.subarray(0, 2))).toEqual([1, 2]);
      expect(r.events.map((e) => e.kind)).toEqual(["run started", "pruned"]);
      expect(r.prunedStep[0]).toBe(2);
    }],
    ["a parameter that appears later gets a column", () => {
      const r = new TrialRecord();
      r.apply(...encode("delta", 1, [{ number: 0, state: 1, params: [1] }], { params: PARAMS.slice(0, 1) }));
      r.apply(...encode("delta", 2, [{ number: 1, state: 1, params: [2, 0] }], { params: PARAMS }));
      return r;
    }, (r) => {
      expect(r.params.map((p) => p.name)).toEqual(["x", "act"]);
      expect(Number.isNaN(r.paramValues[1][0])).toBe(true);
      expect(r.paramValues[1][1]).toBe(0);
    }],
    ["growth keeps earlier rows", () => {
      const r = new TrialRecord();
      r.apply(...encode("delta", 1, [{ number: 0, state: 1, values: [7] }]));
      r.apply(...encode("delta", 2, [{ number: 5000, state: 1, values: [8] }]));
      return r;
    }, (r) => {
      expect(r.values[0][0]).toBe(7);
      expect(r.values[0][5000]).toBe(8);
      expect(r.capacity).toBeGreaterThanOrEqual(5001);
    }],
  ];
  it.each(cases)("%s", (_name, build, check) => check(build()));
});

describe("RecordSync", () => {
  it("applies deltas in order and ignores repeats", () => {
    const s = new RecordSync(() => {});
    expect(s.receive(...encode("delta", 1, [{ number: 0, state: 1 }]))).toBe(true);
    expect(s.receive(...encode("delta", 1, [{ number: 0, state: 1 }]))).toBe(false);
    expect(s.record.seq).toBe(1);
  });

  it("on a gap applies what it has, asks once for the whole record, then replays on top of it", () => {
    let asked = 0;
    const s = new RecordSync(() => asked++);
    s.receive(...encode("delta", 3, [{ number: 5, state: 1 }], { intermediate: [[5, 0, 1]] }));
    s.receive(...encode("delta", 4, [{ number: 6, state: 1 }]));
    expect(asked).toBe(1);
    expect(s.record.rows()).toEqual([5, 6]); // partial but live
    const full = encode("full", 3, [0, 1, 2, 3, 4, 5].map((n) => ({ number: n, state: 1 })), { intermediate: [[5, 0, 1]] });
    expect(s.receive(...full)).toBe(true);
    expect(s.record.rows()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(s.record.intCount).toBe(1); // delta 3 is inside the full one: not applied twice
    expect(s.record.seq).toBe(4);
  });

  it("a view already in step ignores a full record sent for another view", () => {
    const s = new RecordSync(() => {});
    s.receive(...encode("delta", 1, [{ number: 0, state: 1 }]));
    expect(s.receive(...encode("full", 1, [{ number: 0, state: 1 }]))).toBe(false);
  });

  it("a new view asks for the whole record once", () => {
    let asked = 0;
    const s = new RecordSync(() => asked++);
    s.sync();
    s.sync();
    expect(asked).toBe(1);
  });
});

describe("typed", () => {
  it("copies a misaligned DataView", () => {
    const raw = new Uint8Array(17);
    new DataView(raw.buffer).setFloat64(1, 2.5, true);
    expect(Array.from(typed(new DataView(raw.buffer, 1, 8), Float64Array))).toEqual([2.5]);
  });
});
