import { describe, expect, it } from "vitest";
import { encode, PARAMS } from "../testing";
import { ABSENT, fromBase64, RecordSync, TrialRecord, typed, type RecordMessage } from "./record";

/** A message in the form the kernel sends to a host that drops binary buffers. */
function asBase64([msg, buffers]: [RecordMessage, ArrayBuffer[]]): [RecordMessage, ArrayBuffer[]] {
  const text = (b: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(b)));
  return [{ ...msg, base64: buffers.map(text) }, []];
}

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
    ["a delta without headers (unchanged) keeps the ones it had", () => {
      const r = new TrialRecord();
      r.apply(...encode("delta", 1, [{ number: 0, state: 1, params: [1, 0] }], { params: PARAMS }));
      const [msg, buffers] = encode("delta", 2, [{ number: 1, state: 1, params: [2, 1] }], { params: PARAMS });
      delete msg.params;
      r.apply(msg, buffers);
      return r;
    }, (r) => {
      expect(r.params.map((p) => p.name)).toEqual(["x", "act"]);
      expect(r.paramValues[0][1]).toBe(2);
      expect(r.paramValues[1][1]).toBe(1);
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

describe("TrialRecord growth", () => {
  /** Trials 0..n-1 in messages of `batch`, every third number skipped (ABSENT), each with a
   * parameter column that starts at trial 70 (so it is added after a growth). */
  function grown(n: number, batch: number): TrialRecord {
    const r = new TrialRecord();
    let seq = 0;
    for (let lo = 0; lo < n; lo += batch) {
      const rows = [];
      for (let i = lo; i < Math.min(n, lo + batch); i++) {
        if (i % 3 !== 2) rows.push({ number: i, state: 1, values: [i], ...(i >= 70 ? { params: [i / 2] } : {}) });
      }
      const params = lo + batch > 70 ? { params: [PARAMS[0]] } : {};
      r.apply(...encode("delta", ++seq, rows, params));
    }
    return r;
  }

  /** Every row read back: skipped numbers ABSENT with NaN cells, others their values. */
  function checkRows(r: TrialRecord, n: number): void {
    for (let i = 0; i < n; i++) {
      const skipped = i % 3 === 2;
      expect(r.state[i]).toBe(skipped ? ABSENT : 1);
      expect(r.values[0][i]).toBe(skipped ? NaN : i);
      expect(r.paramValues[0]?.[i] ?? NaN).toBe(skipped || i < 70 ? NaN : i / 2);
      expect(r.prunedStep[i]).toBe(-1);
      expect(r.constraint[i]).toBeNaN();
    }
  }

  it("keeps every row across growths, rows no message named absent with empty cells", () => {
    checkRows(grown(5000, 7), 5000);
    // One message far past the capacity: the rows between are absent, the earlier ones kept.
    const r = grown(30, 30);
    r.apply(...encode("delta", 2, [{ number: 100_000, state: 1, values: [2] }]));
    checkRows(r, 30);
    expect([r.state[50_000], r.values[0][50_000], r.values[0][100_000]]).toEqual([ABSENT, NaN, 2]);
    expect(r.size).toBe(100_001);
  });
});

describe("TrialRecord.reserve", () => {
  it("makes room up front: rows up to it are written into the same columns, read back as written", () => {
    const r = new TrialRecord();
    r.apply(...encode("delta", 1, [{ number: 0, state: 1, values: [1] }], { params: PARAMS }));
    r.reserve(50_000);
    expect(r.capacity).toBe(50_000);
    expect(r.size).toBe(1);
    const [state, values, param] = [r.state, r.values[0], r.paramValues[0]];
    r.apply(...encode("delta", 2, [{ number: 49_999, state: 1, values: [2], params: [0.5, 1] }], { params: PARAMS }));
    expect([r.state, r.values[0], r.paramValues[0]]).toEqual([state, values, param]); // not copied
    expect(r.state[0]).toBe(1);
    expect([r.state[20_000], r.values[0][20_000], r.paramValues[0][20_000]]).toEqual([ABSENT, NaN, NaN]);
    expect([r.values[0][0], r.values[0][49_999], r.paramValues[0][49_999]]).toEqual([1, 2, 0.5]);
  });

  it("never shrinks, and stops at a bound: a longer run grows by doubling past it", () => {
    const r = new TrialRecord();
    r.reserve(1000);
    r.reserve(10);
    expect(r.capacity).toBe(1000);
    r.reserve(1e9);
    expect(r.capacity).toBe(1 << 21);
  });
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

describe("RecordSync on a host that drops binary buffers", () => {
  it("reads the base64 form as the binary one", () => {
    const msgs = [
      encode("delta", 1, [{ number: 0, state: 1, values: [0.5], params: [1.5, 1] }, { number: 2, state: 2, prunedStep: 3 }],
        { params: PARAMS, intermediate: [[2, 3, 0.25]], events: [{ kind: "pruned", trial: 2, time: 1 }] }),
      encode("delta", 2, [{ number: 1, state: 3 }], { params: PARAMS }),
    ];
    const binary = new RecordSync(() => {});
    const text = new RecordSync(() => {});
    for (const m of msgs) {
      expect(binary.receive(...m)).toBe(true);
      expect(text.receive(...asBase64(m))).toBe(true);
    }
    const b = binary.record, t = text.record;
    expect(t.rows()).toEqual([0, 1, 2]);
    expect(t.rows()).toEqual(b.rows());
    expect(Array.from(t.state.slice(0, 3))).toEqual(Array.from(b.state.slice(0, 3)));
    expect(t.paramValues.map((c) => Array.from(c.slice(0, 3)))).toEqual(b.paramValues.map((c) => Array.from(c.slice(0, 3))));
    expect(t.values[0][0]).toBe(0.5);
    expect(t.prunedStep[2]).toBe(3);
    expect(Array.from(t.intValue.slice(0, t.intCount))).toEqual([0.25]);
    expect(t.events).toEqual(b.events);
    expect(t.seq).toBe(2);
  });

  it("takes a message whose buffers were dropped as lost: nothing applied, the whole record asked for", () => {
    let asked = 0;
    const s = new RecordSync(() => asked++);
    const [msg] = encode("delta", 1, [{ number: 0, state: 1, values: [0.5] }]);
    for (const dropped of [[], undefined, null]) expect(s.receive(msg, dropped)).toBe(false);
    expect(asked).toBe(1);
    expect(s.record.rows()).toEqual([]);
    expect(s.record.size).toBe(0); // not NaN: the dropped message's rows were never read
    // The answer, in the base64 form, brings the lost trial; later deltas apply on top.
    expect(s.receive(...asBase64(encode("full", 1, [{ number: 0, state: 1, values: [0.5] }])))).toBe(true);
    expect(s.receive(...asBase64(encode("delta", 2, [{ number: 1, state: 1, values: [0.25] }])))).toBe(true);
    expect(s.record.rows()).toEqual([0, 1]);
    expect(s.record.values[0][1]).toBe(0.25);
    expect(asked).toBe(1);
  });

  it("asks once more when its own whole record comes without buffers, then stops asking", () => {
    let asked = 0;
    const s = new RecordSync(() => asked++);
    s.sync();
    const [full] = encode("full", 3, [{ number: 0, state: 1 }]);
    expect(s.receive(full, [])).toBe(false);
    expect(asked).toBe(2);
    expect(s.receive(full, [])).toBe(false);
    expect(asked).toBe(2); // a kernel that was not told would only repeat the whole record
    expect(s.receive(...asBase64(encode("full", 3, [{ number: 0, state: 1 }])))).toBe(true);
    expect(s.record.rows()).toEqual([0]);
  });

  it("decodes base64 to the same bytes", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = btoa(String.fromCharCode(...bytes));
    expect(Array.from(new Uint8Array(fromBase64(text)))).toEqual(Array.from(bytes));
    expect(fromBase64("").byteLength).toBe(0);
  });
});

describe("typed", () => {
  it("copies a misaligned DataView", () => {
    const raw = new Uint8Array(17);
    new DataView(raw.buffer).setFloat64(1, 2.5, true);
    expect(Array.from(typed(new DataView(raw.buffer, 1, 8), Float64Array))).toEqual([2.5]);
  });
});
