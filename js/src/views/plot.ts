// plotly.js with only the trace types the panel draws, and colours read from the page's theme.

// A type-only import: erased from the bundle, so loading the bundle does not run plotly.
import type PlotlyCore from "plotly.js/lib/core";
import type { Figure } from "./figures";

type PlotlyApi = typeof PlotlyCore;
// esbuild bundles a require() of a CommonJS module as a function that runs the module on its
// first call, where an import would run it when the bundle loads.
declare const require: (id: string) => unknown;

let plotly: PlotlyApi | null = null;

/**
 * plotly.js with the panel's trace types, run on first use rather than when the bundle loads:
 * running it is most of the bundle's load time (headless Chromium, under load: the bundle
 * imports in 18-30 ms without plotly and 270-530 ms with it), and a panel first shows its
 * header, its table or its search space, none of which draws with plotly. The page warms it
 * when idle after a panel's first paint (see widget.ts), so a plot's first draw need not.
 */
export function loadPlotly(): PlotlyApi {
  if (plotly === null) {
    const core = require("plotly.js/lib/core") as PlotlyApi;
    core.register([
      require("plotly.js/lib/scattergl"),
      require("plotly.js/lib/bar"),
      require("plotly.js/lib/contour"),
      require("plotly.js/lib/heatmap"),
    ]);
    plotly = core;
  }
  return plotly;
}

export interface Plotter {
  draw(el: HTMLElement, figure: Figure): void;
  purge(el: HTMLElement): void;
  resize(el: HTMLElement): void;
}

/** The theme's colours as computed on the panel (JupyterLab / VS Code variables resolved). */
export function themeColors(el: HTMLElement): { fg: string; bg: string; grid: string; font: string } {
  const panel = (el.closest(".optuna-magic") as HTMLElement | null) ?? el;
  const style = getComputedStyle(panel);
  const fg = style.getPropertyValue("--om-fg").trim() || style.color || "#1f1f1f";
  const bg = style.getPropertyValue("--om-bg").trim() || "#fff";
  const grid = style.getPropertyValue("--om-border").trim() || "#dcdcdc";
  return { fg, bg, grid, font: style.fontFamily || "sans-serif" };
}

export function createPlotter(): Plotter {
  return {
    draw(el, figure) {
      // Read at each draw: the user may switch the JupyterLab / VS Code theme mid-run.
      const c = themeColors(el);
      const axis = { gridcolor: c.grid, zerolinecolor: c.grid, linecolor: c.grid, automargin: true };
      const layout = {
        autosize: true,
        margin: { l: 60, r: 20, t: 20, b: 50 },
        paper_bgcolor: c.bg,
        plot_bgcolor: c.bg,
        font: { color: c.fg, family: c.font, size: 12 },
        legend: { orientation: "h", y: 1.08 },
        hoverlabel: { namelength: -1 },
        ...figure.layout,
        xaxis: { ...axis, ...(figure.layout.xaxis as object | undefined) },
        yaxis: { ...axis, ...(figure.layout.yaxis as object | undefined) },
      };
      void loadPlotly().react(el, figure.data, layout, { displaylogo: false, responsive: true }).then(() => {
        // Tell the panel while the pointer rests on a point: a redraw then would move the
        // tooltip to another trial (see paintedView in panel.ts).
        const gd = el as HTMLElement & { on?: (event: string, cb: () => void) => void };
        if (el.dataset.hoverHooked || !gd.on) return;
        el.dataset.hoverHooked = "1";
        gd.on("plotly_hover", () => el.dispatchEvent(new CustomEvent("om-hover", { detail: true })));
        gd.on("plotly_unhover", () => el.dispatchEvent(new CustomEvent("om-hover", { detail: false })));
        // A click on a point that is a trial (its customdata is the trial's number) opens it.
        const click = gd.on as unknown as (event: string, cb: (e: { points?: Array<{ customdata?: unknown }> }) => void) => void;
        click("plotly_click", (e) => {
          const n = e.points?.[0]?.customdata;
          if (typeof n === "number") el.dispatchEvent(new CustomEvent("om-trial", { detail: n, bubbles: true }));
        });
      });
    },
    // Nothing to purge or resize before plotly ever drew.
    purge: (el) => plotly?.purge(el),
    resize: (el) => plotly?.Plots.resize(el),
  };
}
