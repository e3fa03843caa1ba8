// The kernel's examples of every message (src/fixtures/wire.json, written by tests/test_wire.py
// from the real panel) read as protocol.ts declares them and decode through the real record code.

import { describe, expect, it } from "vitest";
import wire from "./fixtures/wire.json";
import { RecordSync } from "./model/record";
import { storeFor } from "./panel";
import {
  bundleRequest, enqueueRequest, importanceRequest, noBuffersRequest, RECORD_BUFFERS, runMoreRequest, stopRequest, syncRequest, trialRequest,
  type RecordMessage,
} from "./protocol";
import { conformance, SCHEMAS } from "./protocolSchema";
import { encode, FakeModel } from "./testing";

interface Encoded {
  content: Record<string, unknown>;
  buffers: string[];
}

function decode(b64: string): ArrayBuffer {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return bytes.buffer;
}

function message(e: Encoded): [RecordMessage, ArrayBuffer[]] {
  return [e.content as unknown as RecordMessage, e.buffers.map(decode)];
}

type Bundle = { content: Record<string, unknown>; n_buffers: number };
const { traits, kernel, requests } = wire as unknown as {
  traits: Record<"meta" | "status" | "importance", Record<string, unknown>>;
  kernel: {
    delta: Encoded; full: Encoded; trial: { content: Record<string, unknown> }; bundle: Bundle; bundle_plotly: Bundle;
    // What a host that drops binary buffers gets after the loader said `no_buffers`.
    full_base64: Encoded; delta_base64: Encoded; bundle_text: Bundle;
    steer: { content: Record<string, unknown> };
  };
  requests: Record<"sync" | "stop" | "trial" | "bundle" | "bundle_plotly" | "no_buffers" | "importance" | "run_more" | "enqueue", Record<string, unknown>>;
};

describe("the kernel's examples match protocol.ts", () => {
  it("has the traits as declared", () => {
    expect(conformance(traits.meta, SCHEMAS.meta)).toEqual([]);
    for (const row of traits.meta.space as unknown[]) expect(conformance(row, SCHEMAS.spaceRow)).toEqual([]);
    expect(conformance(traits.status, SCHEMAS.status)).toEqual([]);
    expect(conformance(traits.status.best, SCHEMAS.best)).toEqual([]);
    expect(conformance(traits.importance, SCHEMAS.importance)).toEqual([]);
    for (const v of Object.values(traits.importance.values as object)) expect(typeof v).toBe("number");
  });

  it.each(["delta", "full"] as const)("has the %s message as declared", (kind) => {
    const { content, buffers } = kernel[kind];
    expect(content.type).toBe(kind);
    expect(conformance(content, SCHEMAS.record)).toEqual([]);
    for (const e of content.events as unknown[]) expect(conformance(e, SCHEMAS.event)).toEqual([]);
    for (const p of (content.params ?? []) as unknown[]) expect(conformance(p, SCHEMAS.param)).toEqual([]);
    if (content.status !== undefined) expect(conformance(content.status, SCHEMAS.status)).toEqual([]);
    expect(buffers).toHaveLength(RECORD_BUFFERS.length);
    const k = content.n_trials as number;
    const counts: Record<string, number> = {
      number: k, state: k, values: k * (content.n_values as number), params: k * (content.n_params as number),
      start: k, duration: k, pruned_step: k,
      int_trial: content.n_intermediate as number, int_step: content.n_intermediate as number, int_value: content.n_intermediate as number,
      constraint: k,
    };
    const size = { i4: 4, u1: 1, f4: 4, f8: 8 };
    RECORD_BUFFERS.forEach(([name, type], i) => expect(decode(buffers[i]).byteLength, name).toBe(counts[name] * size[type]));
  });

  it("has the trial and bundle messages as declared", () => {
    expect(conformance(kernel.trial.content, SCHEMAS.trial)).toEqual([]);
    expect(conformance(kernel.bundle.content, SCHEMAS.bundle)).toEqual([]);
    expect(kernel.bundle.n_buffers).toBe(1);
    expect("part" in kernel.bundle.content).toBe(false); // the panel's own code
    expect(conformance(kernel.bundle_plotly.content, SCHEMAS.bundle)).toEqual([]);
    expect(kernel.bundle_plotly.content.part).toBe("plotly");
    expect(kernel.bundle_plotly.n_buffers).toBe(1);
  });

  it("sends the requests the kernel reads", () => {
    expect(syncRequest()).toEqual(requests.sync);
    expect(stopRequest()).toEqual(requests.stop);
    expect(trialRequest(requests.trial.number as number)).toEqual(requests.trial);
    expect(bundleRequest(requests.bundle.version as string)).toEqual(requests.bundle);
    expect(bundleRequest(requests.bundle.version as string, "plotly")).toEqual(requests.bundle_plotly);
    expect(noBuffersRequest()).toEqual(requests.no_buffers);
    expect(importanceRequest(requests.importance.view as string, requests.importance.open as boolean)).toEqual(requests.importance);
    expect(conformance(requests.importance, SCHEMAS.importanceRequest)).toEqual([]);
    expect(conformance(requests.no_buffers, SCHEMAS.noBuffersRequest)).toEqual([]);
    expect(conformance(requests.sync, SCHEMAS.syncRequest)).toEqual([]);
    expect(conformance(requests.stop, SCHEMAS.stopRequest)).toEqual([]);
    expect(conformance(requests.trial, SCHEMAS.trialRequest)).toEqual([]);
    expect(conformance(requests.bundle, SCHEMAS.bundleRequest)).toEqual([]);
    expect(conformance(requests.bundle_plotly, SCHEMAS.bundleRequest)).toEqual([]);
  });

  it("has the steering requests and their answer as declared", () => {
    const more = requests.run_more;
    expect(runMoreRequest(more.id as string, more.n_trials as number, more.confirm as boolean)).toEqual(more);
    expect(enqueueRequest(requests.enqueue.id as string, requests.enqueue.params as Record<string, string | number>)).toEqual(requests.enqueue);
    expect(conformance(more, SCHEMAS.runMoreRequest)).toEqual([]);
    expect(conformance(requests.enqueue, SCHEMAS.enqueueRequest)).toEqual([]);
    expect(conformance(kernel.steer.content, SCHEMAS.steer)).toEqual([]);
    expect(kernel.steer.content.state).toBe("refused");
    // The bounds an edited value is checked against: a float's, and an int's step.
    const [x, n] = kernel.full.content.params as Array<Record<string, unknown>>;
    expect([x.low, x.high, x.step]).toEqual([-5, 5, null]);
    expect([n.low, n.high, n.step]).toEqual([1, 100, 1]);
  });
});

describe("the kernel's examples for a host that drops binary buffers", () => {
  it("has the base64 record messages and the text bundle as declared, with no buffer", () => {
    for (const kind of ["full_base64", "delta_base64"] as const) {
      const { content, buffers } = kernel[kind];
      expect(conformance(content, SCHEMAS.record)).toEqual([]);
      expect(buffers).toEqual([]);
      expect(content.base64).toHaveLength(RECORD_BUFFERS.length);
      for (const s of content.base64 as unknown[]) expect(typeof s).toBe("string");
    }
    expect(conformance(kernel.bundle_text.content, SCHEMAS.bundle)).toEqual([]);
    expect(typeof kernel.bundle_text.content.code).toBe("string");
    expect(kernel.bundle_text.n_buffers).toBe(0);
    expect("code" in kernel.bundle.content).toBe(false);
  });

  it("decodes to the same record as the binary form, without any buffer", () => {
    const binary = new RecordSync(() => undefined);
    binary.receive(...message(kernel.full));
    const text = new RecordSync(() => undefined);
    expect(text.receive(kernel.full_base64.content as unknown as RecordMessage, [])).toBe(true);
    const [b, t] = [binary.record, text.record];
    expect(t.rows()).toEqual(b.rows());
    expect(Array.from(t.state.slice(0, 6))).toEqual(Array.from(b.state.slice(0, 6)));
    expect(t.values.map((c) => Array.from(c.slice(0, 6)))).toEqual(b.values.map((c) => Array.from(c.slice(0, 6))));
    expect(t.paramValues.map((c) => Array.from(c.slice(0, 6)))).toEqual(b.paramValues.map((c) => Array.from(c.slice(0, 6))));
    expect(Array.from(t.start.slice(0, 6))).toEqual(Array.from(b.start.slice(0, 6)));
    expect(Array.from(t.intValue.slice(0, t.intCount))).toEqual(Array.from(b.intValue.slice(0, b.intCount)));
    expect(t.events).toEqual(b.events);
    // The delta after it: trial 5, running in the full record, completed.
    expect(text.receive(kernel.delta_base64.content as unknown as RecordMessage, undefined)).toBe(true);
    expect(t.state[5]).toBe(1);
    expect(t.values[0][5]).toBe(0.75);
    // Constraints too: trial 3 breaks one, trial 4 keeps them, and trial 5's violation (1e-50,
    // too small for a float32) still reads as infeasible.
    expect(Array.from(t.constraint.slice(0, 5))).toEqual(Array.from(b.constraint.slice(0, 5)));
    expect([3, 4, 5].map((n) => t.infeasible(n))).toEqual([true, false, true]);
  });
});

describe("the kernel's examples decode through the front end's record", () => {
  it("applies the full record and the delta to the same trials", () => {
    for (const kind of ["full", "delta"] as const) {
      const sync = new RecordSync(() => undefined);
      const [sent, buffers] = message(kernel[kind]);
      // This delta's headers had not changed since an earlier message, which carried them.
      if (kind === "delta") expect(sent.params).toBeUndefined();
      const msg = { ...sent, params: sent.params ?? (kernel.full.content.params as RecordMessage["params"]) };
      expect(sync.receive(msg, buffers)).toBe(true);
      const rec = sync.record;
      expect(rec.rows()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(Array.from(rec.state.slice(0, 6))).toEqual([1, 2, 3, 1, 1, 0]); // COMPLETE PRUNED FAIL ... RUNNING
      expect(rec.values[0][0]).toBe(0.5);
      expect(rec.values[0][3]).toBe(0.25);
      expect(rec.params.map((p) => p.name)).toEqual(["x", "n", "act"]);
      expect(rec.params[2].choices?.[rec.paramValues[2][3]]).toBe("tanh");
      expect(rec.paramValues[1][3]).toBe(22);
      expect(rec.prunedStep[1]).toBe(0);
      expect(rec.constraint[3]).toBe(0.5);
      expect(rec.constraint[4]).toBe(-2);
      expect(Number.isNaN(rec.constraint[0])).toBe(true);
      expect([0, 3, 4].map((n) => rec.infeasible(n))).toEqual([false, true, false]);
      expect(rec.intCount).toBe(2);
      expect(rec.duration[0]).toBeCloseTo(0.5);
      expect(rec.events.map((e) => e.kind)).toEqual(kind === "full" ? ["run started", "pruned", "failed"] : ["pruned", "failed"]);
    }
  });

  it("makes the record room for the run's remaining trials when a delta says how many", () => {
    const model = new FakeModel();
    const store = storeFor(model);
    const status = { ...(kernel.delta.content.status as object), n_trials: 300_000, n_done: 100 };
    const rows = Array.from({ length: 100 }, (_, n) => ({ number: n, state: 1, values: [n] }));
    const [msg, buffers] = encode("delta", 1, rows);
    model.message({ ...msg, status }, buffers);
    expect(store.sync.record.capacity).toBe(100 + 299_900);
    const [timed, timedBuffers] = encode("delta", 2, [{ number: 100, state: 1, values: [1] }]);
    model.message({ ...timed, status: { ...status, n_trials: null, n_done: 101 } }, timedBuffers);
    expect(store.sync.record.capacity).toBe(300_000); // a run by timeout says nothing: as it was
    store.dispose();
  });

  it("shows the delta's status and the trial's detail through the store", () => {
    const model = new FakeModel();
    const store = storeFor(model);
    const details: Array<[number, string]> = [];
    store.details.add((n, tb) => details.push([n, tb]));
    const [msg, buffers] = message(kernel.delta);
    model.message(msg, buffers);
    expect(store.status?.counts).toEqual((kernel.delta.content.status as { counts: unknown }).counts);
    model.message(kernel.trial.content);
    expect(details).toEqual([[2, "Traceback...\n"]]);
    store.dispose();
  });
});
