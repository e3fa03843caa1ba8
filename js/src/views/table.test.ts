import { describe, expect, it, vi } from "vitest";
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

describe("trials table, for reading", () => {
  function study(): TrialRecord {
    const r = new TrialRecord();
    r.apply(...encode("delta", 1, [
      { number: 0, state: 1, values: [0.123456789012], params: [0.1, 0] },
      { number: 1, state: 2, params: [0.2, 1], prunedStep: 3 },
      { number: 2, state: 3, params: [0.3, 0] },
      { number: 3, state: 1, values: [0.05], params: [0.4, 1] },
    ], {
      params: PARAMS,
      events: [
        { kind: "pruned", time: 1, trial: 1, step: 3, value: 0.75 },
        { kind: "failed", time: 2, trial: 2, message: "ValueError: bad batch\nsecond line" },
      ],
    }));
    return r;
  }
  const cells = (t: ReturnType<typeof createTrialsTable>, n: number) =>
    Array.from(t.el.querySelectorAll(`.om-tr[data-number="${n}"] .om-td`)) as HTMLElement[];

  it("shows full values on hover, marks the best, and says why a trial has no value", () => {
    const t = createTrialsTable();
    t.update(study(), { directions: ["minimize"] }, 3);
    expect(cells(t, 0)[2].textContent).toBe("0.123457");
    expect(cells(t, 0)[2].title).toBe("0.123456789012");
    expect(cells(t, 3)[0].textContent).toBe("3 ★");
    expect((t.el.querySelector('.om-tr[data-number="3"]') as HTMLElement).dataset.best).toBe("true");
    expect(cells(t, 1)[2].textContent).toBe("0.75 at step 3 (pruned)");
    expect(cells(t, 2)[2].textContent).toBe("failed: ValueError: bad batch");
  });

  it("filters by text, hides chosen columns, and downloads the rows as filtered", () => {
    vi.useFakeTimers();
    try {
      const t = createTrialsTable();
      t.update(study(), { directions: ["minimize"] }, 3);
      const search = t.el.querySelector("[data-role=table-filter]") as HTMLInputElement;
      search.value = "relu";
      search.dispatchEvent(new Event("input"));
      vi.advanceTimersByTime(200);
      const shown = () => Array.from(t.el.querySelectorAll(".om-tr")).map((r) => (r as HTMLElement).dataset.number);
      expect(shown()).toEqual(["0", "2"]);
      const box = t.el.querySelector("[data-role=columns] [data-choose=start]") as HTMLInputElement;
      box.checked = false;
      box.dispatchEvent(new Event("change"));
      expect(Array.from(t.el.querySelectorAll(".om-th")).map((c) => c.textContent)).not.toContain("started");
      const csv = t.csv().trim().split("\r\n");
      expect(csv[0]).toBe("number,state,value,x,act,duration");
      expect(csv[1]).toBe("0,COMPLETE,0.123456789012,0.1,relu,1.5");
      expect(csv[2]).toBe("2,FAIL,failed: ValueError: bad batch,0.3,relu,1.5");
      expect(csv).toHaveLength(3);
      expect(t.el.querySelector("[data-role=download]")).not.toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it("a click on a row opens that trial", () => {
    const opened: number[] = [];
    const t = createTrialsTable((n) => opened.push(n));
    t.update(study(), { directions: ["minimize"] });
    (t.el.querySelector('.om-tr[data-number="2"] .om-td') as HTMLElement).click();
    expect(opened).toEqual([2]);
  });
});
