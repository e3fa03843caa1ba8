import { describe, expect, it } from "vitest";
import { TrialRecord } from "../model/record";
import { encode, PARAMS } from "../testing";
import { createTrialDetail, paramsDict, pythonLiteral } from "./detail";

function study(): TrialRecord {
  const r = new TrialRecord();
  r.apply(...encode("delta", 1, [
    { number: 0, state: 1, values: [0.123456789012345], params: [0.000123456789, 1] },
    { number: 1, state: 3, params: [0.5] },
  ], { params: PARAMS, intermediate: [[0, 1, 0.9], [0, 0, 1.2], [0, 2, 0.5]] }));
  return r;
}

describe("trial detail", () => {
  it("shows one trial at full precision, its curve, and asks the kernel for the rest", () => {
    const asked: number[] = [];
    const d = createTrialDetail((n) => asked.push(n));
    d.open(study(), { directions: ["minimize"], objective_names: ["loss"] }, 0);
    const el = d.el;
    expect(el.hidden).toBe(false);
    expect(el.dataset.role).toBe("trial-detail");
    expect(el.textContent).toContain("Trial 0");
    expect(el.textContent).toContain("0.123456789012345");
    expect(el.querySelector("[data-role=trial-params]")?.textContent).toContain("0.000123456789");
    expect(el.querySelector("[data-role=params-dict]")?.textContent).toBe("{'x': 0.000123456789, 'act': '<img src=x onerror=alert(1)>'}");
    expect(el.querySelector("img")).toBeNull();
    const line = el.querySelector("[data-role=trial-curve] polyline");
    expect(line?.getAttribute("points")?.split(" ")).toHaveLength(3);
    expect(asked).toEqual([0]);
    d.receive(0, "", { fold: 3, note: "ok" });
    expect(el.querySelector("[data-role=trial-attrs]")?.textContent).toContain("fold3");
    d.close();
    expect(el.hidden).toBe(true);
  });

  it("a failed trial shows its traceback; a parameter it did not reach reads 'not set'", () => {
    const d = createTrialDetail(() => {});
    d.open(study(), { directions: ["minimize"] }, 1);
    expect(d.el.querySelector("[data-role=trial-params]")?.textContent).toContain("not set");
    d.receive(1, "Traceback (most recent call last):\nValueError: boom", {});
    expect(d.el.querySelector("[data-role=trial-traceback]")?.textContent).toContain("ValueError: boom");
    d.receive(0, "not this one", {});
    expect(d.el.querySelector("[data-role=trial-traceback]")?.textContent).not.toContain("not this one");
  });

  it("writes values as Python does", () => {
    expect(pythonLiteral("it's")).toBe("'it\\'s'");
    expect(pythonLiteral(Infinity)).toBe("float('inf')");
    expect(pythonLiteral(true)).toBe("True");
    expect(paramsDict({ n: 3, lr: 1e-5 })).toBe("{'n': 3, 'lr': 0.00001}");
  });
});
