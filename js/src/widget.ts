// anywidget entry point of the live panel.
// initialize() subscribes to the model's messages as early as possible (before any view), so
// the record misses as few deltas as it can; render() draws one view and returns its cleanup.

import { renderCompare } from "./compare";
import type { LoaderProps } from "./loader";
import { renderPanel, storeFor, type Model } from "./panel";
import { createPlotter, loadPlotly, providePlotly, type PlotlyApi } from "./views/plot";

/** Where a bundle served whole (marimo's panel: no loader, no kernel request mid-run) finds
 * plotly's text: the kernel puts it before the bundle's code (outputs/panel/bundle.py). */
const INLINE_PLOTLY = "optuna-magic:plotly-source";

/** plotly from its text, run as a module of its own. */
async function fromText(text: string): Promise<PlotlyApi> {
  const url = URL.createObjectURL(new Blob([text], { type: "text/javascript" }));
  try {
    return ((await import(/* @vite-ignore */ url)) as { default: PlotlyApi }).default;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Where this view's plotly comes from: the loader (it asks this panel's kernel), or the text
 * served with the bundle. */
function plotlySource(props: Partial<LoaderProps>): (() => Promise<PlotlyApi>) | null {
  if (props.plotly) {
    const ask = props.plotly;
    return () => ask() as Promise<PlotlyApi>;
  }
  const text = (globalThis as Record<string, unknown>)[INLINE_PLOTLY];
  if (typeof text !== "string") return null;
  inline ??= () => fromText(text); // one source for every view: its text is run once
  return inline;
}
let inline: (() => Promise<PlotlyApi>) | null = null;

/** Ask for plotly once the page is idle after a panel's first paint (at most 2 s later). */
function warmPlotly(source: () => Promise<PlotlyApi>): void {
  // Every view offers its source: while plotly has not come, a later panel may reach a kernel
  // the first one's could not (the loader decides whether to ask it).
  providePlotly(source);
  const idle = (globalThis as { requestIdleCallback?: (cb: () => void, o: { timeout: number }) => void }).requestIdleCallback;
  if (idle) idle(() => void loadPlotly(), { timeout: 2000 });
  else setTimeout(() => void loadPlotly(), 200);
}

export default {
  initialize({ model }: { model: Model }) {
    const store = storeFor(model);
    return () => store.dispose();
  },
  render({ model, el, ...props }: { model: Model; el: HTMLElement } & Partial<LoaderProps>) {
    el.classList.add("optuna-magic-host");
    const source = plotlySource(props);
    if (source) warmPlotly(source);
    // One bundle for both widgets: a compare panel says so in its `kind` trait.
    if (model.get("kind") === "compare") return renderCompare(model, el, createPlotter());
    return renderPanel(model, el, createPlotter());
  },
};
