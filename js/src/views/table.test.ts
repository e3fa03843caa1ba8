import { describe, expect, it } from "vitest";
import { TrialRecord } from "../model/record";
import { encode, PARAMS } from "../testing";
import { createTrialsTable } from "./table";

function big(n: number): TrialRecord {
  const r = new TrialRecord();
  const rows = Array.from({ length: n }, (_, i) => ({ number: i, state: i % 10 === 0 ? 2 : 1, values: [n - i], params: [i / 10, i % 2] }));
  r.apply(...encode("delta", 1, rows, { params: PARAMS }));
  return r;
}

describe("trials table", () => {
  it("renders only the rows in view, even for 50,000 trials", () => {
    const t = createTrialsTable();
    document.body.append(t.el);
    t.update(big(50_000), { directions: ["minimize"] });
    const rows = t.el.querySelectorAll(".om-tr");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(60);
    expect(t.el.querySelector(".om-spacer-rows")?.getAttribute("style")).toContain(`${50_000 * 24}px`);
    expect(t.el.getAttribute("data-role")).toBe("trials-table");
    t.el.remove();
  });

  it("shows columns and choice labels as text", () => {
    const t = createTrialsTable();
    t.update(big(3), { directions: ["minimize"] });
    const head = Array.from(t.el.querySelectorAll(".om-th")).map((c) => c.textContent);
    expect(head).toEqual(["# ▲", "state", "value", "x", "act", "started", "duration"]);
    const second = t.el.querySelectorAll(".om-tr")[1];
    expect(second.children[4].textContent).toBe("<img src=x onerror=alert(1)>");
    expect(t.el.querySelector("img")).toBeNull();
  });

  it("sorts by a clicked column, and filters by state", () => {
    const t = createTrialsTable();
    t.update(big(20), { directions: ["minimize"] });
    (t.el.querySelector("[data-column=v0]") as HTMLElement).click();
    const first = () => (t.el.querySelector(".om-tr") as HTMLElement).dataset.number;
    expect(first()).toBe("19");
    (t.el.querySelector("[data-column=v0]") as HTMLElement).click();
    expect(first()).toBe("0");
    const filter = t.el.querySelector("select") as HTMLSelectElement;
    filter.value = "2";
    filter.dispatchEvent(new Event("change"));
    expect(Array.from(t.el.querySelectorAll(".om-tr")).map((r) => (r as HTMLElement).dataset.number)).toEqual(["0", "10"]);
  });
});
