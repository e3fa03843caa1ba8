import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { renderPanel } from "./panel";
import { encode, FakeModel, PARAMS } from "./testing";
import type { Plotter } from "./views/plot";

const EVIL = "<img src=x onerror=alert(1)>";
const meta = {
  study_name: EVIL, directions: ["minimize"], sampler: "TPESampler", pruner: "MedianPruner", storage: "in memory",
  n_trials: 10, timeout: null,
  space: [{ name: "x", kind: "float", distribution: "float [0, 1]", line: 2 }, { name: "act", kind: "categorical", distribution: `choice ('relu', '${EVIL}')`, line: 3 }],
};

function setup(plotter: Plotter | null = null) {
  const model = new FakeModel({ meta, status: { state: "running", n_done: 0, n_trials: 10, counts: {} }, importance: {} });
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = renderPanel(model, el, plotter);
  return { model, el, cleanup };
}

beforeEach(() => {
  vi.useFakeTimers();
  // jsdom has no canvas: say so quietly (its own getContext logs "not implemented").
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  document.body.replaceChildren();
});

describe("panel", () => {
  it("comes up with the search space before any trial and asks for the record", () => {
    const { model, el } = setup();
    expect(el.querySelector(".optuna-magic")).not.toBeNull();
    expect(model.sent).toEqual([{ type: "sync" }]);
    const rows = Array.from(el.querySelectorAll("[data-role=search-space] tbody tr")).map((tr) => tr.textContent);
    expect(rows).toEqual(["xfloat [0, 1]2", `actchoice ('relu', '${EVIL}')3`]);
    expect(el.querySelector("[data-role=progress]")?.textContent).toBe("0 / 10");
    expect(el.querySelector("img")).toBeNull();
  });

  it("takes the status a delta carries when it is newer than the trait", () => {
    const { model, el } = setup();
    model.set("status", { at: 10, state: "running", n_done: 1, n_trials: 10, counts: { COMPLETE: 1 } });
    const [msg, buffers] = encode("delta", 1, [{ number: 0, state: 1, values: [0.5] }]);
    const withStatus = { ...msg, status: { at: 11, state: "running", n_done: 3, n_trials: 10, counts: { COMPLETE: 3 } } };
    model.message(withStatus, buffers);
    vi.advanceTimersByTime(200);
    expect(el.querySelector("[data-role=progress]")?.textContent).toBe("3 / 10");
    // A later trait (the run's end) wins over the last delta's status.
    model.set("status", { at: 12, state: "finished", n_done: 10, n_trials: 10, counts: { COMPLETE: 10 } });
    vi.advanceTimersByTime(200);
    expect(el.querySelector("[data-role=progress]")?.textContent).toBe("10 / 10");
    expect(el.querySelector("[data-role=state]")?.textContent).toBe("finished");
  });

  it("follows the record and the status, switching to the table at the first finished trial", () => {
    const { model, el } = setup();
    model.message(...encode("full", 0, [], { params: PARAMS }));
    model.message(...encode("delta", 1, [{ number: 0, state: 1, values: [0.5], params: [0.1, 1] }], { params: PARAMS }));
    model.set("status", { state: "running", n_done: 1, n_trials: 10, counts: { COMPLETE: 1 } });
    vi.advanceTimersByTime(200);
    expect(el.querySelector("[data-role=progress]")?.textContent).toBe("1 / 10");
    const table = el.querySelector("[data-role=trials-table]");
    expect(table).not.toBeNull();
    expect(table?.querySelector(".om-tr")?.textContent).toContain(EVIL);
    expect(el.querySelector("img")).toBeNull();
  });

  it("a tab the user chose is never switched away from by the first finished trial", () => {
    const { model, el } = setup();
    // The user opens the table, then the search space, before the panel has drawn a trial.
    (el.querySelector("[data-view=trials]") as HTMLElement).click();
    (el.querySelector("[data-view=space]") as HTMLElement).click();
    model.message(...encode("full", 0, [], { params: PARAMS }));
    model.message(...encode("delta", 1, [{ number: 0, state: 1, values: [0.5], params: [0.1, 1] }], { params: PARAMS }));
    model.set("status", { state: "finished", n_done: 1, n_trials: 10, counts: { COMPLETE: 1 } });
    vi.advanceTimersByTime(500);
    expect(el.querySelector("[data-view=space]")?.getAttribute("aria-selected")).toBe("true");
    expect(el.querySelector("[data-role=search-space]")).not.toBeNull();
  });

  it("redraws at most ~10 times a second however many messages come", () => {
    const draws: number[] = [];
    const plotter: Plotter = { draw: () => draws.push(Date.now()), purge: () => {}, resize: () => {} };
    const { model, el } = setup(plotter);
    (el.querySelector("[data-view=history]") as HTMLElement).click();
    vi.advanceTimersByTime(10);
    for (let i = 0; i < 200; i++) {
      model.message(...encode("delta", i + 1, [{ number: i, state: 1, values: [i] }], { params: [] }));
      vi.advanceTimersByTime(5); // 200 messages in one second
    }
    vi.advanceTimersByTime(200);
    expect(draws.length).toBeGreaterThan(3);
    expect(draws.length).toBeLessThanOrEqual(12);
  });

  it("Stop sends a stop message", () => {
    const { model, el } = setup();
    (el.querySelector("[data-role=stop]") as HTMLButtonElement).click();
    expect(model.sent).toContainEqual({ type: "stop" });
  });

  it("a failed trial's traceback comes on click, as text", () => {
    const { model, el } = setup();
    model.message(...encode("delta", 1, [{ number: 0, state: 3 }], { events: [{ kind: "failed", trial: 0, time: 1, message: `ValueError: ${EVIL}` }] }));
    (el.querySelector("[data-view=events]") as HTMLElement).click();
    vi.advanceTimersByTime(10);
    const item = el.querySelector("[data-kind=failed]") as HTMLElement;
    expect(item.textContent).toContain(`trial 0 failed: ValueError: ${EVIL}`);
    item.click();
    expect(model.sent).toContainEqual({ type: "trial", number: 0 });
    model.message({ type: "trial", number: 0, traceback: `Traceback\n  ${EVIL}`, user_attrs: { note: EVIL } });
    expect(el.querySelector(".om-traceback")?.textContent).toContain(`Traceback\n  ${EVIL}`);
    expect(el.querySelector("img")).toBeNull();
  });

  it("every tab renders without throwing", () => {
    const drawn: string[] = [];
    const plotter: Plotter = { draw: (p) => drawn.push(p.dataset.role ?? ""), purge: () => {}, resize: () => {} };
    const { model, el } = setup(plotter);
    const rows = Array.from({ length: 8 }, (_, i) => ({ number: i, state: 1, values: [i % 3], params: [i, i % 2] }));
    model.message(...encode("delta", 1, rows, { params: PARAMS, intermediate: [[0, 0, 1], [0, 1, 0.5]] }));
    model.set("importance", { values: { x: 0.8, act: 0.2 }, note: "PED-ANOVA", n_trials: 8 });
    let titles: Array<string | null> = [];
    let parcoordsText = "";
    for (const tab of Array.from(el.querySelectorAll<HTMLElement>("[role=tab]"))) {
      tab.click();
      vi.advanceTimersByTime(150);
      if (tab.dataset.view !== "parcoords") continue;
      titles = Array.from(el.querySelectorAll("[data-role=plot-parcoords] .om-pc-title")).map((t) => t.textContent);
      parcoordsText = el.querySelector("[data-role=plot-parcoords]")?.textContent ?? "";
      expect(el.querySelector("img")).toBeNull();
    }
    expect(drawn).toEqual(expect.arrayContaining(["plot-history", "plot-intermediate", "plot-importance", "plot-slice", "plot-contour", "plot-rank", "plot-edf", "plot-timeline"]));
    expect(drawn).not.toContain("plot-pareto"); // one objective: a note instead
    expect(drawn).not.toContain("plot-hypervolume"); // one objective: not offered
    // Parallel coordinates are drawn by the panel itself, not by plotly; labels as text.
    expect(drawn).not.toContain("plot-parcoords");
    expect(titles).toEqual(["x", "act", "value"]);
    expect(parcoordsText).toContain(EVIL);
  });

  it("hides the views that do not apply until they do", () => {
    const { model, el } = setup();
    const hidden = () => Array.from(el.querySelectorAll<HTMLElement>("[role=tab]")).filter((b) => b.hidden).map((b) => b.dataset.view);
    // One objective, one parameter, no report yet: no Pareto front, contour or intermediate values.
    const one = [{ name: "x", kind: "float", log: false, choices: null }] as typeof PARAMS;
    model.message(...encode("full", 0, [], { params: one }));
    model.message(...encode("delta", 1, [{ number: 0, state: 1, values: [0.5], params: [0.1] }], { params: one }));
    vi.advanceTimersByTime(200);
    expect(hidden()).toEqual(["intermediate", "contour", "pareto", "hypervolume"]);
    // The first report and a second parameter bring their views.
    model.message(...encode("delta", 2, [{ number: 1, state: 1, values: [0.4], params: [0.2, 1] }], { params: PARAMS, intermediate: [[1, 0, 0.4]] }));
    vi.advanceTimersByTime(200);
    expect(hidden()).toEqual(["pareto", "hypervolume"]);
  });

  it("Rank, EDF and hypervolume come with a complete trial and redraw only when one completes", () => {
    const drawn: string[] = [];
    const plotter: Plotter = { draw: (p) => drawn.push(p.dataset.role ?? ""), purge: () => {}, resize: () => {} };
    const model = new FakeModel({ meta: { ...meta, directions: ["minimize", "maximize"] }, status: { state: "running", counts: {} }, importance: {} });
    const el = document.createElement("div");
    document.body.append(el);
    renderPanel(model, el, plotter);
    const shown = () => Array.from(el.querySelectorAll<HTMLElement>("[role=tab]")).filter((b) => !b.hidden).map((b) => b.dataset.view);
    model.message(...encode("full", 0, [{ number: 0, state: 0 }], { params: PARAMS, nValues: 2 }));
    vi.advanceTimersByTime(200);
    expect(shown()).not.toContain("hypervolume"); // nothing complete yet
    expect(shown()).not.toContain("rank");
    model.message(...encode("delta", 1, [{ number: 0, state: 1, values: [1, 2], params: [0.5, 1] }], { params: PARAMS, nValues: 2 }));
    vi.advanceTimersByTime(200);
    expect(shown()).toEqual(expect.arrayContaining(["rank", "edf", "hypervolume"]));
    let seq = 1;
    for (const [k, view] of ["rank", "edf", "hypervolume"].entries()) {
      (el.querySelector(`[data-view=${view}]`) as HTMLElement).click();
      vi.advanceTimersByTime(200);
      const count = () => drawn.filter((d) => d === `plot-${view}`).length;
      const before = count();
      expect(before).toBe(1);
      // A new running trial changes the record, not its complete trials: no redraw.
      model.message(...encode("delta", ++seq, [{ number: k + 1, state: 0, params: [0.1, 0] }], { params: PARAMS, nValues: 2 }));
      vi.advanceTimersByTime(1000);
      expect(count()).toBe(before);
      // Its completion does.
      model.message(...encode("delta", ++seq, [{ number: k + 1, state: 1, values: [0.5 - k, 3 + k], params: [0.1, 0] }], { params: PARAMS, nValues: 2 }));
      vi.advanceTimersByTime(1000);
      expect(count()).toBe(before + 1);
    }
    expect(el.querySelector("[data-role=plot-hypervolume]")?.closest(".om-view-body")?.textContent).toContain("Reference point");
  });

  it("a zoom survives live updates; another control resets it", () => {
    const figures: Array<Record<string, unknown>> = [];
    const plotter: Plotter = { draw: (_p, fig) => figures.push(fig.layout), purge: () => {}, resize: () => {} };
    const { model, el } = setup(plotter);
    (el.querySelector("[data-view=history]") as HTMLElement).click();
    model.message(...encode("delta", 1, [{ number: 0, state: 1, values: [1] }], { params: [] }));
    vi.advanceTimersByTime(200);
    model.message(...encode("delta", 2, [{ number: 1, state: 1, values: [2] }], { params: [] }));
    vi.advanceTimersByTime(200);
    const revisions = figures.map((l) => l.uirevision);
    expect(new Set(revisions).size).toBe(1);
    const log = el.querySelector("[aria-label='Log scale']") as HTMLInputElement;
    log.checked = true;
    log.dispatchEvent(new Event("change"));
    vi.advanceTimersByTime(50);
    expect(figures[figures.length - 1]?.uirevision).not.toBe(revisions[0]);
  });

  it("new data waits while the pointer is pressed or rests on a point", () => {
    const draws: number[] = [];
    const plotter: Plotter = { draw: () => draws.push(1), purge: () => {}, resize: () => {} };
    const { model, el } = setup(plotter);
    (el.querySelector("[data-view=history]") as HTMLElement).click();
    model.message(...encode("delta", 1, [{ number: 0, state: 1, values: [1] }], { params: [] }));
    vi.advanceTimersByTime(200);
    const plot = el.querySelector("[data-role=plot-history]") as HTMLElement;
    const before = draws.length;
    plot.dispatchEvent(new Event("pointerdown"));
    model.message(...encode("delta", 2, [{ number: 1, state: 1, values: [2] }], { params: [] }));
    vi.advanceTimersByTime(1000);
    expect(draws.length).toBe(before); // a drag in progress is not ended by a redraw
    plot.dispatchEvent(new Event("pointerup"));
    vi.advanceTimersByTime(200);
    expect(draws.length).toBe(before + 1);
    plot.dispatchEvent(new CustomEvent("om-hover", { detail: true }));
    model.message(...encode("delta", 3, [{ number: 2, state: 1, values: [3] }], { params: [] }));
    vi.advanceTimersByTime(1000);
    expect(draws.length).toBe(before + 1); // the tooltip stays on its trial
    plot.dispatchEvent(new CustomEvent("om-hover", { detail: false }));
    vi.advanceTimersByTime(200);
    expect(draws.length).toBe(before + 2);
  });

  it("a row click opens the trial's detail and asks the kernel for its attributes", () => {
    const { model, el } = setup();
    model.message(...encode("full", 0, [], { params: PARAMS }));
    model.message(...encode("delta", 1, [{ number: 0, state: 1, values: [0.5], params: [0.1, 1] }], { params: PARAMS }));
    model.set("status", { state: "running", n_done: 1, n_trials: 10, counts: { COMPLETE: 1 } });
    vi.advanceTimersByTime(200);
    (el.querySelector('.om-tr[data-number="0"] .om-td') as HTMLElement).click();
    const detail = el.querySelector("[data-role=trial-detail]") as HTMLElement;
    expect(detail.hidden).toBe(false);
    expect(detail.textContent).toContain("Trial 0");
    expect(model.sent).toContainEqual({ type: "trial", number: 0 });
    model.message({ type: "trial", number: 0, traceback: "", user_attrs: { fold: 2 } }, []);
    expect(detail.querySelector("[data-role=trial-attrs]")?.textContent).toContain("fold");
    // A point of a plot opens it the same way (the plotter says which trial: om-trial).
    (detail.querySelector(".om-detail-close") as HTMLElement).click();
    el.querySelector(".om-view")?.dispatchEvent(new CustomEvent("om-trial", { detail: 0, bubbles: true }));
    expect(detail.hidden).toBe(false);
  });

  it("asks the kernel to rank the parameters only while a view shows the importance", () => {
    const { model, el, cleanup } = setup();
    const asked = () => model.sent.filter((m) => (m as { type?: string }).type === "importance") as Array<{ view: string; open: boolean }>;
    expect(asked()).toEqual([]);
    (el.querySelector("[data-view=importance]") as HTMLElement).click();
    (el.querySelector("[data-view=parcoords]") as HTMLElement).click(); // also ordered by it
    (el.querySelector("[data-view=trials]") as HTMLElement).click();
    expect(asked().map((m) => m.open)).toEqual([true, false]);
    (el.querySelector("[data-view=importance]") as HTMLElement).click();
    cleanup();
    expect(asked().map((m) => m.open)).toEqual([true, false, true, false]);
    expect(new Set(asked().map((m) => m.view)).size).toBe(1);
  });

  it("cleanup removes the view and its listeners", () => {
    const { model, el, cleanup } = setup();
    cleanup();
    expect(el.querySelector(".optuna-magic")).toBeNull();
    expect(model.handlers.get("change:status")?.size ?? 0).toBe(0);
  });
});
