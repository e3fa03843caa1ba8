import { afterEach, describe, expect, it, vi } from "vitest";
import { TrialRecord } from "../model/record";
import type { ParamHeader, SteerMessage } from "../protocol";
import { encode } from "../testing";
import { checkParam, createTrialDetail } from "./detail";
import { createHeader, moreProblem } from "./header";
import { createSteering, NO_KERNEL } from "./steer";

type Sent = Record<string, unknown>;

/** A kernel that answers each request with `answer(request)` (undefined: no answer). */
function kernel(answer: (req: Sent) => Omit<SteerMessage, "type" | "id" | "action"> | undefined) {
  const sent: Sent[] = [];
  const steering = createSteering((content) => {
    const req = content as Sent;
    sent.push(req);
    const a = answer(req);
    if (a) queueMicrotask(() => steering.receive({ type: "steer", id: String(req.id), action: req.type as "run_more", ...a }));
  }, 5000);
  return { sent, steering };
}

afterEach(() => vi.useRealTimers());

describe("steering requests", () => {
  it("runs more in two steps: asks, then confirms the same id", async () => {
    const { sent, steering } = kernel((r) => (r.confirm ? { state: "started", message: "running 3 more trial(s)" } : { state: "ready", message: "" }));
    expect(await steering.runMore(3)).toEqual({ state: "started", message: "running 3 more trial(s)" });
    expect(sent.map((r) => [r.type, r.n_trials, r.confirm])).toEqual([["run_more", 3, false], ["run_more", 3, true]]);
    expect(sent[0].id).toBe(sent[1].id);
  });

  it("does not confirm a refusal, and says so when no kernel answers", async () => {
    const refused = kernel(() => ({ state: "refused", message: "the kernel is running a cell" }));
    expect(await refused.steering.runMore(3)).toEqual({ state: "refused", message: "the kernel is running a cell" });
    expect(refused.sent).toHaveLength(1);
    vi.useFakeTimers();
    const silent = kernel(() => undefined);
    const answer = silent.steering.runMore(3);
    await vi.advanceTimersByTimeAsync(5001);
    expect(await answer).toEqual({ state: "no kernel", message: `${NO_KERNEL}; nothing was started` });
    expect(silent.sent).toHaveLength(1); // never confirmed
  });
});

describe("Run more in the header", () => {
  const meta = { study_name: "s", directions: ["minimize"], n_trials: 20, steer: ["enqueue", "run_more"] };

  it("is offered once the run has ended and the kernel can continue it", () => {
    const { steering } = kernel(() => undefined);
    const header = createHeader(() => {}, steering);
    const control = () => header.el.querySelector("[data-role=run-more]") as HTMLButtonElement;
    header.update(meta, { state: "running" }, 0);
    expect(control().closest("[hidden]")).not.toBeNull();
    header.update(meta, { state: "finished" }, 0);
    expect(control().closest("[hidden]")).toBeNull();
    expect((header.el.querySelector("[data-role=run-more-n]") as HTMLInputElement).value).toBe("20");
    header.update({ ...meta, steer: ["enqueue"] }, { state: "finished" }, 0);
    expect(control().closest("[hidden]")).not.toBeNull();
    const alone = createHeader(() => {}); // no steering (no kernel side): nothing to offer
    alone.update(meta, { state: "finished" }, 0);
    expect(alone.el.querySelector("[data-role=run-more]")?.closest("[hidden]")).not.toBeNull();
  });

  it("shows the kernel's answer next to the control", async () => {
    const { steering } = kernel(() => ({ state: "refused", message: "another run of this kernel is optimizing" }));
    const header = createHeader(() => {}, steering);
    header.update(meta, { state: "finished" }, 0);
    (header.el.querySelector("[data-role=run-more]") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(header.el.querySelector("[data-role=run-more-message]")?.textContent).toBe("another run of this kernel is optimizing"));
  });

  it.each([["0"], ["2.5"], [""], ["100001"]])("refuses %j trials before asking", (text) => {
    expect(moreProblem(text)).toMatch(/whole number from 1 to 100,000/);
  });
});

const X: ParamHeader = { name: "x", kind: "float", log: false, choices: null, distribution: "float [0, 1]", low: 0, high: 1, step: null };
const K: ParamHeader = { name: "k", kind: "int", log: false, choices: null, distribution: "int [1, 9] step 2", low: 1, high: 9, step: 2 };
const ACT: ParamHeader = { name: "act", kind: "categorical", log: false, choices: ["relu", "tanh"], distribution: "" };

describe("enqueueing a trial's edited parameters", () => {
  it.each([
    [X, "0.123456789012345", { value: 0.123456789012345 }],
    [X, "1.5", { error: "x must be from 0 to 1, not 1.5" }],
    [X, "abc", { error: 'x must be a number, not "abc"' }],
    [K, "7", { value: 7 }],
    [K, "4", { error: "k must be 1 plus a multiple of 2, not 4" }],
    [K, "3.5", { error: "k must be a whole number, not 3.5" }],
    [ACT, "tanh", { value: "tanh" }],
    [ACT, "gelu", { error: "act must be one of relu, tanh" }],
  ])("checks %s = %j", (p, text, want) => {
    expect(checkParam(p, text)).toEqual(want);
  });

  it("edits the fields, enqueues the checked values and shows the answer", async () => {
    const rec = new TrialRecord();
    rec.apply(...encode("delta", 1, [{ number: 0, state: 1, values: [1], params: [0.25, 3, 1] }], { params: [X, K, ACT] }));
    const { sent, steering } = kernel(() => ({ state: "enqueued", message: "Enqueued: runs first in the next run" }));
    const d = createTrialDetail(() => {}, steering);
    d.open(rec, { directions: ["minimize"], steer: ["enqueue"] }, 0);
    const field = (name: string) => d.el.querySelector(`[data-param=${name}]`) as HTMLInputElement;
    expect([field("x").value, field("k").value, field("act").value]).toEqual(["0.25", "3", "tanh"]);
    field("k").value = "4";
    const button = d.el.querySelector("[data-role=enqueue]") as HTMLButtonElement;
    button.click();
    const message = () => d.el.querySelector("[data-role=enqueue-message]")?.textContent;
    expect(message()).toBe("k must be 1 plus a multiple of 2, not 4");
    expect(sent).toEqual([]);
    field("k").value = "9";
    field("x").value = "0.123456789012345";
    button.click();
    await vi.waitFor(() => expect(message()).toBe("Enqueued: runs first in the next run"));
    expect(sent[0]).toMatchObject({ type: "enqueue", params: { x: 0.123456789012345, k: 9, act: "tanh" } });
  });

  it("shows the parameters as text where the kernel cannot enqueue (a watch)", () => {
    const rec = new TrialRecord();
    rec.apply(...encode("delta", 1, [{ number: 0, state: 1, values: [1], params: [0.25, 3, 1] }], { params: [X, K, ACT] }));
    const d = createTrialDetail(() => {}, kernel(() => undefined).steering);
    d.open(rec, { directions: ["minimize"], steer: [] }, 0);
    expect(d.el.querySelector("[data-role=enqueue], [data-param]")).toBeNull();
  });
});
