import { describe, expect, it, vi } from "vitest";
import type { TrialRecord } from "../model/record";
import { bestText, createHeader, improvingSignal, trialsSinceBest } from "./header";

const meta = {
  study_name: "<img src=x onerror=alert(1)>", directions: ["minimize"], sampler: "TPESampler",
  pruner: "MedianPruner", storage: "postgresql://u:***@h/db",
};

describe("header", () => {
  it("shows the run with stable hooks, as text", () => {
    const header = createHeader(() => {});
    header.update(meta, {
      state: "running", n_done: 12, n_trials: 50, rate: 2.5, eta: 15.2, elapsed: 4.8,
      counts: { COMPLETE: 10, PRUNED: 2, RUNNING: 1 },
      best: { number: 7, values: [0.25], params: { act: "<b>relu</b>", lr: 0.001 } },
    }, 4.8);
    const el = header.el;
    expect(el.querySelector("[data-role=state]")?.textContent).toBe("running");
    expect(el.querySelector("[data-role=progress]")?.textContent).toBe("12 / 50");
    expect(el.querySelector("[data-role=rate]")?.textContent).toBe("2.5 trials/s · ETA 15.2s");
    expect(el.querySelector("[data-role=counts]")?.textContent).toBe("complete 10 · pruned 2 · running 1");
    expect(el.querySelector("[data-role=best]")?.textContent).toBe("best value 0.25 (trial 7): act=<b>relu</b>, lr=0.001");
    expect(el.querySelector(".om-title")?.textContent).toBe(meta.study_name);
    expect(el.textContent).toContain("storage postgresql://u:***@h/db");
    expect(el.querySelector("img, b")).toBeNull();
  });

  it.each([
    ["running", false], ["stopping", true], ["stopped", true], ["finished", true], ["idle", true],
  ])("Stop is %s-enabled: disabled=%s", (state, disabled) => {
    const header = createHeader(() => {});
    header.update(meta, { state }, 0);
    expect((header.el.querySelector("[data-role=stop]") as HTMLButtonElement).disabled).toBe(disabled);
  });

  it.each([
    ["finished", 30, "100%"], ["stopped", 30, "60%"], ["interrupted", 30, "60%"],
    ["failed", 5, "10%"], ["running", 30, "60%"],
  ])("the bar of a %s run after %d of 50 trials is %s full", (state, n, width) => {
    const header = createHeader(() => {});
    header.update(meta, { state, n_done: n, n_trials: 50 }, 3);
    expect((header.el.querySelector(".om-bar-fill") as HTMLElement).style.width).toBe(width);
  });

  it("a watch of a study nobody optimizes says so and offers no Stop", () => {
    const header = createHeader(() => {});
    header.update({ ...meta, watch: true }, {
      state: "idle", note: "nobody is optimizing this study now: no trial is running",
    }, 0);
    expect(header.el.querySelector("[data-role=state]")?.textContent).toBe("idle");
    expect(header.el.querySelector("[data-role=note]")?.textContent).toContain("nobody");
    expect((header.el.querySelector("[data-role=stop]") as HTMLButtonElement).hidden).toBe(true);
  });

  it("Stop calls back once and disables itself", () => {
    const onStop = vi.fn();
    const header = createHeader(onStop);
    header.update(meta, { state: "running" }, 0);
    const stop = header.el.querySelector("[data-role=stop]") as HTMLButtonElement;
    stop.click();
    stop.click();
    expect(onStop).toHaveBeenCalledTimes(1);
  });

  it("multi-objective best points at the Pareto view", () => {
    expect(bestText({ directions: ["minimize", "maximize"] }, { best: null })).toContain("Pareto");
  });
});

describe("improving signal", () => {
  const running = (best: number) => ({ state: "running", best: { number: best, values: [0.1], params: {} } });

  it("says where the best last improved and how long ago", () => {
    const header = createHeader(() => {});
    header.update(meta, running(37), 1, 4);
    const el = header.el.querySelector("[data-role=improving]") as HTMLElement;
    expect(el.textContent).toBe("last improved at trial 37, 4 trials ago");
    expect(el.dataset.state).toBe("improving");
  });

  it("reads stalled once at least 20 trials and as many as before the best bought nothing", () => {
    expect(improvingSignal(running(37), 37)?.state).toBe("improving");
    expect(improvingSignal(running(37), 38)).toEqual({ state: "stalled", text: "no better value in the last 38 trials (best: trial 37)" });
    expect(improvingSignal(running(2), 19)?.state).toBe("improving"); // too few trials to say
    expect(improvingSignal(running(2), 20)?.state).toBe("stalled");
    expect(improvingSignal(running(5), 0)?.text).toBe("last improved at trial 5, the latest trial");
  });

  it("is empty without a best (no trial yet, several objectives)", () => {
    const header = createHeader(() => {});
    header.update(meta, { state: "running" }, 1, null);
    const el = header.el.querySelector("[data-role=improving]") as HTMLElement;
    expect(el.textContent).toBe("");
    expect(el.dataset.state).toBeUndefined();
  });

  it("counts the finished trials numbered after the best", () => {
    // states: 0 RUNNING, 1 COMPLETE, 2 PRUNED, 3 FAIL
    const rec = { size: 7, state: new Uint8Array([1, 1, 1, 2, 3, 0, 1]) } as unknown as TrialRecord;
    expect(trialsSinceBest(rec, 1)).toBe(4);
    expect(trialsSinceBest(rec, 6)).toBe(0);
  });
});
