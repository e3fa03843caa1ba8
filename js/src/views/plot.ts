// plotly.js with only the trace types the panel draws, and colours read from the page's theme.

import Plotly from "plotly.js/lib/core";
import bar from "plotly.js/lib/bar";
import contour from "plotly.js/lib/contour";
import heatmap from "plotly.js/lib/heatmap";
import scattergl from "plotly.js/lib/scattergl";
import type { Figure } from "./figures";

Plotly.register([scattergl, bar, contour, heatmap]);

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
      void Plotly.react(el, figure.data, layout, { displaylogo: false, responsive: true }).then(() => {
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
    purge: (el) => Plotly.purge(el),
    resize: (el) => Plotly.Plots.resize(el),
  };
}
