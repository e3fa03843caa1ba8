// The panel: header, tabs and views over one model's record. Only the visible view is redrawn,
// at most ~10 times a second, and only when its data changed.

import { type Importance, type Meta, type Status, objectiveName } from "./model/derive";
import { RecordSync, type Buffer } from "./model/record";
import { importanceRequest, stopRequest, syncRequest, trialRequest, type KernelMessage, type SteerMessage } from "./protocol";
import { h } from "./views/dom";
import {
  contourFigure,
  historyFigure,
  importanceFigure,
  intermediateFigure,
  paretoFigure,
  sliceFigure,
  timelineFigure,
  type Figure,
} from "./views/figures";
import { createTrialDetail } from "./views/detail";
import { createHeader, trialsSinceBest } from "./views/header";
import { createSteering } from "./views/steer";
import { createEventLog, createSpaceTable } from "./views/lists";
import { createParcoordsView, type ParcoordsView } from "./views/parcoordsView";
import type { Plotter } from "./views/plot";
import { CSS } from "./views/style";
import { createTrialsTable } from "./views/table";
import { createExtraViews, type PlotViewParts } from "./views/moreViews";

/** The part of anywidget's model the panel uses. */
export interface Model {
  get(key: string): unknown;
  on(event: string, cb: (...args: never[]) => void): void;
  off(event?: string | null, cb?: ((...args: never[]) => void) | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
}

type Listener = () => void;
type DetailListener = (n: number, traceback: string, attrs: Record<string, unknown>) => void;
type SteerListener = (msg: SteerMessage) => void;

/** What all views of one model share: the record and who wants to hear of changes. */
export interface Store {
  sync: RecordSync;
  /** The status that came with the latest delta (newer than the trait between its updates). */
  status: Status | null;
  listeners: Set<Listener>;
  details: Set<DetailListener>;
  /** Who hears the kernel's answers to "Run N more" and "Enqueue". */
  steers: Set<SteerListener>;
  dispose(): void;
}

const stores = new WeakMap<object, Store>();

/** The model's store, listening to its custom messages from the first call on. */
export function storeFor(model: Model): Store {
  let store = stores.get(model);
  if (store) return store;
  const sync = new RecordSync(() => model.send(syncRequest()));
  const listeners = new Set<Listener>();
  const details = new Set<DetailListener>();
  const steers = new Set<SteerListener>();
  const onMessage = (content: KernelMessage | undefined, buffers: Buffer[] = []) => {
    if (content?.type === "delta" || content?.type === "full") {
      if (content.status && store) store.status = content.status;
      const changed = sync.receive(content, buffers);
      const status = content.status;
      // The run's remaining trials: the record's room for them now, not a doubling (a copy of
      // every column) halfway through a long run.
      if (status?.n_trials) sync.record.reserve(sync.record.size + Math.max(0, status.n_trials - status.n_done));
      if (changed || status) {
        listeners.forEach((l) => l());
      }
    } else if (content?.type === "steer") {
      steers.forEach((s) => s(content));
    } else if (content?.type === "trial") {
      const n = Number(content.number);
      details.forEach((d) => d(n, String(content.traceback ?? ""), content.user_attrs ?? {}));
    }
  };
  model.on("msg:custom", onMessage as (...args: never[]) => void);
  store = {
    sync, listeners, details, steers, status: null,
    dispose: () => {
      model.off("msg:custom", onMessage as (...args: never[]) => void);
      stores.delete(model);
    },
  };
  stores.set(model, store);
  return store;
}

interface ViewSpec {
  id: string;
  label: string;
  el: HTMLElement;
  /** Whether the view has anything to show for this study (hidden until it does). */
  applies?: () => boolean;
  /** Redraw if the inputs changed; `interactive`: the user asked (no cool-down applies). */
  draw(interactive: boolean): void;
}

const MIN_FRAME_MS = 100;

export function renderPanel(model: Model, el: HTMLElement, plotter: Plotter | null): () => void {
  const store = storeFor(model);
  const meta = () => (model.get("meta") ?? {}) as Meta;
  const status = (): Status => {
    const trait = (model.get("status") ?? {}) as Status;
    const fresh = store.status;
    return fresh && (fresh.at ?? 0) > (trait.at ?? 0) ? fresh : trait;
  };
  const importance = () => (model.get("importance") ?? {}) as Importance;
  let statusAt = performance.now();
  let shownStatus: Status | null = null;

  const root = h("div", { class: "optuna-magic" });
  root.append(h("style", {}, CSS));
  const steering = createSteering((content) => model.send(content));
  store.steers.add(steering.receive);
  const header = createHeader(() => model.send(stopRequest()), steering);
  root.append(header.el);

  const trialDetail = createTrialDetail((n) => model.send(trialRequest(n)), steering);
  const openTrial = (n: number) => trialDetail.open(rec(), meta(), n);
  const table = createTrialsTable(openTrial);
  const events = createEventLog((n) => model.send(trialRequest(n)));
  const space = createSpaceTable();
  const detail: DetailListener = (n, tb, attrs) => {
    events.showDetail(n, tb, attrs);
    trialDetail.receive(n, tb, attrs);
  };
  store.details.add(detail);

  /** The plotly plots (resized and purged with the panel). */
  const plots: HTMLElement[] = [];
  let parcoords: ParcoordsView | null = null;
  const select = (label: string, onChange: () => void) => {
    const s = h("select", { "aria-label": label });
    s.addEventListener("change", onChange);
    return s;
  };
  const fill = (s: HTMLSelectElement, options: string[]) => {
    const key = options.join("\u0000");
    if (s.dataset.key === key) return;
    const keep = s.value;
    s.dataset.key = key;
    s.replaceChildren(...options.map((o, i) => h("option", { value: String(i) }, o)));
    if (keep && Number(keep) < options.length) s.value = keep;
  };

  /** What a plot view's paint step tells the view: its note, and whether there is a plot. */
  interface Painted {
    note?: string;
    empty: boolean;
  }

  /**
   * A view with controls, a note and a plot element, repainted only when its inputs changed.
   * `paint` draws into the plot element: plotly for most views, our own code for some. It
   * shows its note (`showNote`) before it draws where it can: plotly sizes its figure from the
   * element at the draw, and a note that appears after it takes its line off the element's
   * bottom (a view whose figure had a note lost its x axis title under the panel's edge).
   */
  function paintedView(id: string, label: string, controls: HTMLElement[], paint: (plot: HTMLElement, showNote: (text?: string) => void) => Painted, inputs: () => string): ViewSpec {
    const note = h("div", { class: "om-note" });
    const plot = h("div", { class: "om-plot", "data-role": `plot-${id}` });
    const el = h("div", { class: "om-view-body" }, h("div", { class: "om-controls" }, ...controls), note, plot);
    let drawn = "";
    // A redraw that new data asks for waits 4x the last redraw's cost, so a slow plot does not
    // keep the page busy (Stop button included) by redrawing at the data's pace. What the user
    // asks for is drawn at once.
    let readyAt = 0;
    let later: ReturnType<typeof setTimeout> | undefined;
    // While the pointer is pressed on the plot (a zoom box, a pan, a brush) or rests on a
    // point, new data waits: a redraw then would end the drag or move the tooltip to another
    // trial under a still cursor. The redraw comes once the pointer lets go or moves away.
    let held = false;
    const release = () => {
      if (!held) return;
      held = false;
      schedule();
    };
    plot.addEventListener("pointerdown", () => (held = true));
    plot.addEventListener("pointerup", release);
    plot.addEventListener("pointerleave", release);
    plot.addEventListener("om-hover", (e) => {
      if ((e as CustomEvent<boolean>).detail) held = true;
      else release();
    });
    return {
      id, label, el,
      draw(interactive: boolean) {
        const key = `${inputs()}|${theme}`;
        if (key === drawn) return;
        const now = performance.now();
        if (!interactive && held) return; // drawn on release
        if (!interactive && now < readyAt) {
          later ??= setTimeout(() => {
            later = undefined;
            schedule();
          }, readyAt - now);
          return;
        }
        drawn = key;
        const showNote = (text?: string) => {
          if (note.textContent !== (text ?? "")) note.textContent = text ?? "";
        };
        const timed = plot as HTMLElement & { omPlotlyMs?: number };
        timed.omPlotlyMs = undefined;
        const out = paint(plot, showNote);
        showNote(out.note);
        plot.hidden = out.empty;
        const ms = performance.now() - now;
        readyAt = performance.now() + 4 * ms;
        // For automation and the benchmark: a redraw really happened, what it cost, and how much
        // of it was plotly's (none for a view we draw ourselves).
        const plotlyMs = timed.omPlotlyMs ?? 0;
        plot.dispatchEvent(new CustomEvent("om-drawn", { bubbles: true, detail: { view: id, ms, plotlyMs } }));
      },
    };
  }

  /** A view drawn by plotly from a Figure. */
  function plotView(id: string, label: string, controls: HTMLElement[], build: () => Figure, inputs: () => string): ViewSpec {
    return paintedView(id, label, controls, (plot, showNote) => {
      if (!plots.includes(plot)) plots.push(plot);
      const fig = build();
      showNote(fig.note);
      // A zoom or pan the user made survives live updates (plotly keeps the view's UI state
      // while uirevision stays the same); choosing another parameter or objective resets it.
      fig.layout.uirevision = `${id}|${controlState(controls)}`;
      const empty = fig.data.length === 0;
      // Shown before drawing: plotly sizes the plot from its element.
      plot.hidden = empty;
      if (!empty && plotter) plotter.draw(plot, fig);
      return { note: fig.note, empty };
    }, inputs);
  }

  const themeSignature = () => {
    const c = getComputedStyle(root);
    return `${c.getPropertyValue("--om-bg")}/${c.getPropertyValue("--om-fg")}/${c.color}`;
  };
  let theme = "";
  const rec = () => store.sync.record;
  const objectives = () => (meta().directions ?? ["minimize"]).map((_, i) => objectiveName(meta(), i));
  const params = () => rec().params.map((p) => p.name);
  const redrawNow = () => schedule(true);

  const histObjective = select("Objective", redrawNow);
  const logToggle = h("input", { type: "checkbox", "aria-label": "Log scale" });
  logToggle.addEventListener("change", redrawNow);
  const pcObjective = select("Objective", redrawNow);
  const sliceParam = select("Parameter", redrawNow);
  const sliceObjective = select("Objective", redrawNow);
  const cx = select("x parameter", redrawNow);
  const cy = select("y parameter", redrawNow);
  const cObjective = select("Objective", redrawNow);
  const px = select("x objective", redrawNow);
  const py = select("y objective", redrawNow);
  const num = (s: HTMLSelectElement) => Number(s.value || 0);
  const v = () => String(rec().version);
  const extra = createExtraViews(rec, meta, select, fill, redrawNow);
  const extraView = (x: PlotViewParts): ViewSpec => ({ ...plotView(x.id, x.label, x.controls, x.build, x.inputs), applies: x.applies });

  const views: ViewSpec[] = [
    { id: "trials", label: "Trials", el: table.el, draw: () => table.update(rec(), meta(), status().best?.number ?? null) },
    plotView("history", "History", [histObjective, h("label", {}, logToggle, " log scale")],
      () => historyFigure(rec(), meta(), { objective: num(histObjective), log: logToggle.checked }),
      () => `${v()}|${histObjective.value}|${logToggle.checked}`),
    { ...plotView("intermediate", "Intermediate values", [], () => intermediateFigure(rec()), v), applies: () => rec().intCount > 0 },
    paintedView("parcoords", "Parallel coordinates", [pcObjective], (plot) => {
      parcoords ??= createParcoordsView(plot);
      // Shown before drawing: the view sizes its canvas from its element.
      plot.hidden = false;
      return parcoords.update(rec(), meta(), num(pcObjective), importance().values);
    }, () => `${v()}|${pcObjective.value}|${JSON.stringify(importance().values ?? {})}`),
    plotView("importance", "Importance", [], () => importanceFigure(importance(), params()),
      () => `${JSON.stringify(importance())}|${params().join("\u0000")}`),
    plotView("slice", "Slice", [sliceParam, sliceObjective], () => sliceFigure(rec(), meta(), num(sliceParam), num(sliceObjective)),
      () => `${v()}|${sliceParam.value}|${sliceObjective.value}`),
    {
      ...plotView("contour", "Contour", [cx, cy, cObjective], () => contourFigure(rec(), meta(), num(cx), num(cy), num(cObjective)),
        () => `${v()}|${cx.value}|${cy.value}|${cObjective.value}`),
      applies: () => params().length >= 2,
    },
    extraView(extra.rank),
    extraView(extra.edf),
    {
      ...plotView("pareto", "Pareto front", [px, py], () => paretoFigure(rec(), meta(), num(px), num(py)), () => `${v()}|${px.value}|${py.value}`),
      applies: () => objectives().length >= 2,
    },
    extraView(extra.hypervolume),
    plotView("timeline", "Timeline", [], () => timelineFigure(rec(), Date.now() / 1000),
      () => `${v()}|${status().state === "running" ? Math.floor(Date.now() / 1000) : ""}`),
    { id: "events", label: "Event log", el: events.el, draw: () => events.update(rec()) },
    { id: "space", label: "Search space", el: space.el, draw: () => space.update(meta(), rec().params) },
  ];

  // Before the first trial ends the search space is what there is to see.
  let active = rec().size > 0 ? "trials" : "space";
  const tabs = h("div", { class: "om-tabs", role: "tablist" });
  const tabStrip = h("div", { class: "om-tab-strip" });
  // Tabs that do not fit the row go into this menu (a narrow notebook: one row, never two).
  const more = h("select", { class: "om-more", "data-role": "more-views", "aria-label": "More views" }) as HTMLSelectElement;
  more.addEventListener("change", () => {
    if (!more.value) return;
    choose(more.value);
  });
  const body = h("div", { class: "om-view" });
  // The view, and the trial detail over its right side (opened from a row, a point, a line).
  const viewArea = h("div", { class: "om-view-area" }, body, trialDetail.el);
  viewArea.addEventListener("om-trial", (e) => {
    const n = (e as CustomEvent<unknown>).detail;
    if (typeof n === "number" && Number.isInteger(n) && n >= 0 && n < rec().size) openTrial(n);
  });
  const tabButtons = views.map((view) => {
    const b = h("button", { class: "om-tab", role: "tab", type: "button", "data-view": view.id }, view.label);
    b.addEventListener("click", () => choose(view.id));
    return b;
  });
  tabStrip.append(...tabButtons);
  tabs.append(tabStrip, more);
  root.append(tabs, viewArea);
  el.append(root);

  function choose(id: string): void {
    active = id;
    // The user chose: the first finished trial must not switch them to the table (under load
    // that switch could come after a click on the search space and undo it).
    autoSwitched = true;
    showActive();
  }

  let applicable = "";
  /** Hide the views that do not apply, and fold the tabs that do not fit into the menu. */
  function layoutTabs(): void {
    const shown = views.filter((view) => view.applies?.() ?? true);
    if (!shown.some((view) => view.id === active)) active = shown[0]?.id ?? "trials";
    applicable = shown.map((view) => view.id).join(",");
    tabButtons.forEach((b, i) => {
      b.hidden = !shown.includes(views[i]);
    });
    // Fold from the end, never the active tab, until the row fits.
    const folded: ViewSpec[] = [];
    more.hidden = true;
    // The strip shrinks beside the menu, its tabs overflowing it: it fits when they do not.
    const fits = () => tabStrip.scrollWidth <= tabStrip.clientWidth + 1;
    for (let i = shown.length - 1; i >= 0 && !fits(); i--) {
      if (shown[i].id === active) continue;
      more.hidden = false;
      tabButtons[views.indexOf(shown[i])].hidden = true;
      folded.unshift(shown[i]);
    }
    more.replaceChildren(
      h("option", { value: "" }, folded.length ? `More (${folded.length})` : "More"),
      ...folded.map((view) => h("option", { value: view.id }, view.label)),
    );
    more.value = "";
    more.hidden = folded.length === 0;
  }

  // The kernel ranks the parameters only while a view that shows the importance is open: the
  // Importance view, and parallel coordinates (their axes are ordered by it).
  const viewId = Math.random().toString(36).slice(2);
  let ranking = false;
  function wantImportance(on: boolean): void {
    if (on === ranking) return;
    ranking = on;
    model.send(importanceRequest(viewId, on));
  }

  function showActive(): void {
    layoutTabs();
    wantImportance(active === "importance" || active === "parcoords");
    const view = views.find((x) => x.id === active) ?? views[0];
    tabButtons.forEach((b) => b.setAttribute("aria-selected", String(b.dataset.view === view.id)));
    if (body.firstChild !== view.el) body.replaceChildren(view.el);
    schedule(true);
  }

  let lastFrame = 0;
  let interactive = false;
  let disposed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let autoSwitched = false;

  function draw(): void {
    timer = undefined;
    lastFrame = performance.now();
    const m = meta();
    const s = status();
    if (s !== shownStatus) {
      // The clock ticks locally from the moment this status arrived (trait or delta).
      shownStatus = s;
      statusAt = performance.now();
    }
    const elapsed = (s.elapsed ?? 0) + (s.state === "running" || s.state === "stopping" ? (performance.now() - statusAt) / 1000 : 0);
    header.update(m, s, elapsed, s.best ? trialsSinceBest(rec(), s.best.number) : null);
    if (!autoSwitched && active === "space" && rec().size > 0 && (s.counts?.COMPLETE ?? 0) > 0) {
      // The first finished trial: the table becomes the more useful view.
      autoSwitched = true;
      active = "trials";
      showActive();
      return;
    }
    fill(histObjective, objectives());
    fill(pcObjective, objectives());
    fill(sliceObjective, objectives());
    fill(cObjective, objectives());
    fill(px, objectives());
    fill(py, objectives());
    if (py.dataset.init !== "1" && objectives().length > 1) {
      py.value = "1";
      py.dataset.init = "1";
    }
    fill(sliceParam, params());
    fill(cx, params());
    fill(cy, params());
    extra.update();
    if (cy.dataset.init !== "1" && params().length > 1) {
      cy.value = "1";
      cy.dataset.init = "1";
    }
    histObjective.hidden = pcObjective.hidden = sliceObjective.hidden = cObjective.hidden = objectives().length < 2;
    const nowApplicable = views.filter((view) => view.applies?.() ?? true).map((view) => view.id).join(",");
    if (nowApplicable !== applicable) {
      showActive(); // a view came to apply (the first report, a second parameter)
      return;
    }
    views.find((x) => x.id === active)?.draw(interactive);
    interactive = false;
  }

  function schedule(soon = false): void {
    if (disposed) return;
    if (soon) {
      interactive = true;
      // What the user asked for (a tab, a control) is drawn now, not at the data's next frame.
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    }
    if (timer !== undefined) return;
    const wait = soon ? 0 : Math.max(0, MIN_FRAME_MS - (performance.now() - lastFrame));
    timer = setTimeout(draw, wait);
  }

  const onData = () => schedule();
  const onStatus = () => schedule();
  store.listeners.add(onData);
  model.on("change:status", onStatus);
  model.on("change:meta", onData);
  model.on("change:importance", onData);
  // While running, the clock and ETA tick even when no message comes.
  const ticker = setInterval(() => {
    const s = status().state;
    if (s === "running" || s === "stopping") schedule();
  }, 1000);
  const resize = typeof ResizeObserver !== "undefined" && plotter
    ? new ResizeObserver(() => {
        layoutTabs();
        table.drawWindow();
        for (const p of plots) if (p.isConnected && !p.hidden && p.childElementCount) plotter.resize(p);
      })
    : null;
  resize?.observe(root);
  // Plot colours are resolved when a plot is drawn; when the JupyterLab / VS Code theme changes
  // (attributes on <body>), the visible plot is redrawn. Only a real change of the resolved
  // colours counts: JupyterLab also toggles body classes during drags and the like.
  const themeWatch = typeof MutationObserver !== "undefined"
    ? new MutationObserver(() => {
        const now = themeSignature();
        if (now === theme) return;
        theme = now;
        schedule(true);
      })
    : null;
  themeWatch?.observe(document.body, {
    attributes: true,
    attributeFilter: ["class", "data-jp-theme-light", "data-jp-theme-name"],
  });

  store.sync.sync();
  showActive();
  draw();

  return () => {
    wantImportance(false);
    disposed = true;
    clearInterval(ticker);
    if (timer !== undefined) clearTimeout(timer);
    resize?.disconnect();
    themeWatch?.disconnect();
    store.listeners.delete(onData);
    store.details.delete(detail);
    store.steers.delete(steering.receive);
    model.off("change:status", onStatus);
    model.off("change:meta", onData);
    model.off("change:importance", onData);
    if (plotter) for (const p of plots) plotter.purge(p);
    parcoords?.dispose();
    root.remove();
  };
}

/** The state of a view's controls (selects and checkboxes), as one string. */
function controlState(controls: HTMLElement[]): string {
  const parts: string[] = [];
  for (const c of controls) {
    const inputs = c instanceof HTMLSelectElement || c instanceof HTMLInputElement ? [c] : Array.from(c.querySelectorAll("select, input"));
    for (const i of inputs) parts.push(i instanceof HTMLInputElement && i.type === "checkbox" ? String(i.checked) : (i as HTMLSelectElement).value);
  }
  return parts.join("|");
}
