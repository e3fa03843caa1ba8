// anywidget entry point of the live panel.
// initialize() subscribes to the model's messages as early as possible (before any view), so
// the record misses as few deltas as it can; render() draws one view and returns its cleanup.

import { renderCompare } from "./compare";
import { renderPanel, storeFor, type Model } from "./panel";
import plotlySource from "virtual:plotly-source";
import { createPlotter, loadPlotly, providePlotly, type PlotlyApi } from "./views/plot";

// plotly's text, run as a module of its own when first needed (see providePlotly).
providePlotly(async () => {
  const url = URL.createObjectURL(new Blob([plotlySource], { type: "text/javascript" }));
  try {
    return ((await import(/* @vite-ignore */ url)) as { default: PlotlyApi }).default;
  } finally {
    URL.revokeObjectURL(url);
  }
});

/** Run plotly once the page is idle after a panel's first paint (at most 2 s later). */
function warmPlotly(): void {
  const idle = (globalThis as { requestIdleCallback?: (cb: () => void, o: { timeout: number }) => void }).requestIdleCallback;
  if (idle) idle(() => void loadPlotly(), { timeout: 2000 });
  else setTimeout(() => void loadPlotly(), 200);
}

export default {
  initialize({ model }: { model: Model }) {
    const store = storeFor(model);
    return () => store.dispose();
  },
  render({ model, el }: { model: Model; el: HTMLElement }) {
    el.classList.add("optuna-magic-host");
    // One bundle for both widgets: a compare panel says so in its `kind` trait.
    warmPlotly();
    if (model.get("kind") === "compare") return renderCompare(model, el, createPlotter());
    return renderPanel(model, el, createPlotter());
  },
};
