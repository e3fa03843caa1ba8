// plotly.js with only the trace types the panel draws, and colours read from the page's theme.

// A type-only import: plotly itself comes from loadPlotly().
import type PlotlyCore from "plotly.js/lib/core";
import { hookPaintedHover, paintMarkers, setPainted, splitForCanvas } from "./canvasMarkers";
import type { Figure } from "./figures";
import { downloadButton, type ExportApi } from "./plotExport";

export type PlotlyApi = typeof PlotlyCore;

let plotly: PlotlyApi | null = null;
let loading: Promise<PlotlyApi> | null = null;
let source: (() => Promise<PlotlyApi>) | null = null;
let asked: (() => Promise<PlotlyApi>) | null = null; // the latest source loading was asked of

/**
 * Where plotly comes from (the bundle's entry point says: the kernel, through the loader, or
 * text served with the bundle). It is loaded once a panel is on screen rather than with the
 * panel's code: that was most of the panel's load time (headless Chromium: the bundle imported
 * in a median 144 ms with plotly inside it as text, 45 ms without it), and a panel first shows
 * its header, its table or its search space, none drawn with plotly. The page asks for it when
 * idle after a panel's first paint (widget.ts), so a plot need not wait.
 */
export function providePlotly(load: () => Promise<PlotlyApi>): void {
  source = load;
}

/** plotly, loading it once; null where no source was given (tests draw without it).
 * A source given while an earlier one is still loading is asked too, and the first to answer
 * serves (the earlier one's kernel may be blocked or gone). */
export function loadPlotly(): Promise<PlotlyApi> | null {
  if (!source) return null;
  if (plotly || source === asked) return loading;
  asked = source;
  const next = source().then((p) => (plotly ??= p));
  const current: Promise<PlotlyApi> = loading ? Promise.race([loading, next]) : next;
  loading = current;
  current.catch(() => {
    // A failed load is forgotten: the next call asks again.
    if (loading === current) loading = asked = null;
  });
  return current;
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

/**
 * The margins a figure is drawn with: the panel's, and the figure's own over them. A view
 * whose labels need more room says so (edf, timeline, hypervolume): where labels do not fit,
 * plotly widens the margin and draws the whole figure a second time (Plots.doAutoMargin).
 */
export function plotMargins(figure: Figure): { l: number; r: number; t: number; b: number } {
  return { l: 60, r: 20, t: 20, b: 50, ...(figure.layout.margin as object | undefined) };
}

/**
 * Tick labels that run past the plot's edge drawn, not hidden, on every axis and colour bar.
 * plotly's default ("hide past div") measures each label's box (a forced layout) once per label
 * drawn, for every label: at 1,000,000 trials that was 72 ms of the rank view's 330 ms first
 * draw (CPU profile in the million benchmark's page). The axes' automargin gives the labels room.
 */
export function labelsAllowed(layout: Record<string, unknown>, data: Figure["data"]): { layout: Record<string, unknown>; data: Figure["data"] } {
  const out: Record<string, unknown> = { ...layout };
  for (const key of Object.keys(out)) {
    if (/^[xy]axis\d*$/.test(key)) out[key] = { ticklabeloverflow: "allow", ...(out[key] as object) };
  }
  const bar = (colorbar: unknown) => ({ ticklabeloverflow: "allow", ...(colorbar as object) });
  const traces = data.map((trace) => {
    const t = trace as Record<string, unknown> & { marker?: Record<string, unknown> };
    if (t.colorbar) return { ...t, colorbar: bar(t.colorbar) };
    if (t.marker?.colorbar) return { ...t, marker: { ...t.marker, colorbar: bar(t.marker.colorbar) } };
    return trace;
  });
  return { layout: out, data: traces };
}

export function createPlotter(): Plotter {
  let config: Record<string, unknown> | undefined;
  // What was asked to be drawn before plotly was there: the latest figure of each plot.
  const waiting = new Map<HTMLElement, Figure>();
  const plotter: Plotter = {
    draw(el, figure) {
      if (!plotly) {
        const first = waiting.size === 0;
        waiting.set(el, figure);
        if (first) {
          void loadPlotly()?.then(() => {
            const drawn = [...waiting];
            waiting.clear();
            for (const [plot, fig] of drawn) if (plot.isConnected) plotter.draw(plot, fig);
          });
        }
        return;
      }
      const Plotly = plotly;
      // Read at each draw: the user may switch the JupyterLab / VS Code theme mid-run.
      const c = themeColors(el);
      const axis = { gridcolor: c.grid, zerolinecolor: c.grid, linecolor: c.grid, automargin: true };
      const layout = {
        autosize: true,
        paper_bgcolor: c.bg,
        plot_bgcolor: c.bg,
        font: { color: c.fg, family: c.font, size: 12 },
        legend: { orientation: "h", y: 1.08 },
        hoverlabel: { namelength: -1 },
        ...figure.layout,
        margin: plotMargins(figure),
        xaxis: { ...axis, ...(figure.layout.xaxis as object | undefined) },
        yaxis: { ...axis, ...(figure.layout.yaxis as object | undefined) },
      };
      // Large marker traces are painted on canvas (see canvasMarkers.ts), at every plotly draw.
      const allowed = labelsAllowed(layout, figure.data);
      const split = splitForCanvas(allowed.data, allowed.layout);
      setPainted(el, split.painted);
      // The traces as the view made them (el.data has the stand-ins): what tests read.
      (el as HTMLElement & { omData?: unknown }).omData = figure.data;
      // The modebar's PNG download paints the markers too (see plotExport.ts). One config
      // object for every draw: Plotly.react draws anew from nothing when its config changes.
      config ??= { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["toImage"], modeBarButtonsToAdd: [downloadButton(Plotly as unknown as ExportApi)] };
      const t0 = performance.now();
      const drawn = Plotly.react(el, split.data, allowed.layout, config);
      // plotly's own share of the view's draw (its synchronous part: the whole plot, unless a
      // font or MathJax makes it wait), read by the panel's om-drawn event for the benchmark.
      (el as HTMLElement & { omPlotlyMs?: number }).omPlotlyMs = performance.now() - t0;
      void drawn.then(() => {
        // Tell the panel while the pointer rests on a point: a redraw then would move the
        // tooltip to another trial (see paintedView in panel.ts).
        const gd = el as HTMLElement & { on?: (event: string, cb: () => void) => void };
        if (el.dataset.hoverHooked || !gd.on) return;
        el.dataset.hoverHooked = "1";
        paintMarkers(el); // this first draw's; each later one paints at its plotly_afterplot
        gd.on("plotly_afterplot", () => paintMarkers(el));
        hookPaintedHover(el, (Plotly as unknown as { Fx?: Parameters<typeof hookPaintedHover>[1] }).Fx);
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
    purge(el) {
      waiting.delete(el);
      plotly?.purge(el); // nothing to purge before plotly ever drew
      delete el.dataset.hoverHooked; // purge dropped plotly's listeners: a new draw hooks again
    },
    resize: (el) => plotly?.Plots.resize(el),
  };
  return plotter;
}
