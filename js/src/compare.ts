// The compare panel: several studies over one another (best value so far against the trial,
// the empirical distribution function of their values) and their best trials side by side.
// Its data is two small traits, `direction` and `studies` (optuna_magic/outputs/panel/compare.py).

import { formatNumber } from "./model/derive";
import type { Model } from "./panel";
import { h, escapePlotly as esc } from "./views/dom";
import { edfLayout, edfTrace } from "./views/edf";
import type { Figure, Trace } from "./views/figureTypes";
import type { Plotter } from "./views/plot";
import { CSS } from "./views/style";

/** One study of the panel, as the kernel sends it (CompareStudy in compare.py). */
export interface CompareStudy {
  name: string;
  n_trials: number;
  n_complete: number;
  counts: Record<string, number>;
  history: Array<[number, number]>;
  edf_values: number[];
  edf_fractions: number[];
  best: { number: number; value: number; params: Record<string, unknown> } | null;
}

// Qualitative colours that read on white and on dark themes (one per study, in order).
const COLOURS = ["#1f77b4", "#e8590c", "#2f9e44", "#c2255c", "#7048e8", "#0c8599", "#a08700", "#495057"];
const colour = (i: number) => COLOURS[i % COLOURS.length];

export function historyCompareFigure(studies: CompareStudy[], direction: string): Figure {
  const data: Trace[] = studies
    .filter((s) => s.history.length > 0)
    .map((s) => ({
      type: "scatter", mode: "lines", name: esc(s.name), line: { shape: "hv", width: 2, color: colour(studies.indexOf(s)) },
      x: s.history.map((p) => p[0]), y: s.history.map((p) => p[1]),
      hovertemplate: `${esc(s.name)}: best %{y} after trial %{x}<extra></extra>`,
    }));
  return {
    data,
    layout: { xaxis: { title: { text: "trial" } }, yaxis: { title: { text: `best value so far (${direction})` } } },
    note: data.length ? undefined : "No completed trial in any study.",
  };
}

export function edfFigure(studies: CompareStudy[]): Figure {
  const data: Trace[] = studies
    .filter((s) => s.edf_values.length > 0)
    .map((s) => edfTrace(s.name, { values: s.edf_values, fractions: s.edf_fractions }, colour(studies.indexOf(s))));
  return {
    data,
    layout: edfLayout("objective value"),
    note: data.length ? "The empirical distribution function: the share of a study's trials with a value at or below x." : "No completed trial in any study.",
  };
}

function bestTable(studies: CompareStudy[], direction: string): HTMLElement {
  const params = [...new Set(studies.flatMap((s) => Object.keys(s.best?.params ?? {})))];
  const bestValue = studies
    .map((s) => s.best?.value)
    .filter((v): v is number => v !== undefined)
    .reduce((a, b) => (direction === "maximize" ? Math.max(a, b) : Math.min(a, b)), direction === "maximize" ? -Infinity : Infinity);
  const rows: Array<[string, (s: CompareStudy) => string]> = [
    ["best value", (s) => (s.best ? String(s.best.value) : "none")],
    ["best trial", (s) => (s.best ? `#${s.best.number}` : "")],
    ["complete", (s) => `${s.n_complete} of ${s.n_trials}`],
    ["pruned / failed", (s) => `${s.counts.PRUNED ?? 0} / ${s.counts.FAIL ?? 0}`],
    ...params.map((p): [string, (s: CompareStudy) => string] => [p, (s) => {
      const v = s.best?.params[p];
      return v === undefined ? "not set" : typeof v === "number" ? formatNumber(v) : String(v);
    }]),
  ];
  return h(
    "table",
    { class: "om-compare-best", "data-role": "compare-best" },
    h("thead", {}, h("tr", {}, h("th", {}, ""), ...studies.map((s, i) => h("th", { style: `color: ${colour(i)}` }, s.name)))),
    h("tbody", {}, ...rows.map(([label, cell]) =>
      h("tr", {}, h("th", {}, label), ...studies.map((s) => {
        const td = h("td", {}, cell(s));
        if (label === "best value" && s.best?.value === bestValue) td.dataset.winner = "true";
        return td;
      })))),
  );
}

export function renderCompare(model: Model, el: HTMLElement, plotter: Plotter | null): () => void {
  const studies = () => (model.get("studies") ?? []) as CompareStudy[];
  const direction = () => String(model.get("direction") ?? "minimize");
  const root = h("div", { class: "optuna-magic om-compare", "data-studies": String(studies().length) });
  root.append(h("style", {}, CSS));
  const title = h("div", { class: "om-title" });
  const tabs = h("div", { class: "om-tabs", role: "tablist" });
  const body = h("div", { class: "om-view" });
  const plot = h("div", { class: "om-plot", "data-role": "compare-plot" });
  const note = h("div", { class: "om-note" });
  root.append(h("div", { class: "om-header" }, title), tabs, h("div", { class: "om-view-area" }, body));
  el.append(root);
  const views = [
    { id: "history", label: "Best so far" },
    { id: "edf", label: "EDF" },
    { id: "best", label: "Best trials" },
  ];
  let active = "history";
  const buttons = views.map((v) => {
    const b = h("button", { class: "om-tab", role: "tab", type: "button", "data-view": v.id }, v.label);
    b.addEventListener("click", () => {
      active = v.id;
      draw();
    });
    return b;
  });
  tabs.append(h("div", { class: "om-tab-strip" }, ...buttons));

  function draw(): void {
    const s = studies();
    root.dataset.studies = String(s.length);
    title.textContent = `Compare ${s.map((x) => x.name).join(" · ")} (${direction()})`;
    buttons.forEach((b) => b.setAttribute("aria-selected", String(b.dataset.view === active)));
    if (active === "best") {
      body.replaceChildren(bestTable(s, direction()));
      return;
    }
    const fig = active === "history" ? historyCompareFigure(s, direction()) : edfFigure(s);
    note.textContent = fig.note ?? "";
    body.replaceChildren(h("div", { class: "om-view-body" }, note, plot));
    fig.layout.uirevision = active;
    if (plotter && fig.data.length) plotter.draw(plot, fig);
  }
  const onChange = () => draw();
  model.on("change:studies", onChange);
  draw();
  return () => {
    model.off("change:studies", onChange);
    plotter?.purge(plot);
    root.remove();
  };
}
