// The modebar's "Download plot as a PNG", with the markers the panel paints on canvas.
//
// plotly's own button draws the figure again in a hidden copy and saves that copy's SVG: the
// copy has only the stand-ins of the painted traces (two transparent points each), so the saved
// picture had no markers. This button does what plotly's does (a hidden copy drawn static, its
// SVG serialized with plotly's Snapshot.toSVG and turned into a PNG with Snapshot.svgToImg), and
// paints the copy's markers first, as <image> elements inside its SVG.

import { paintMarkers, paintedOf, setPainted } from "./canvasMarkers";

interface Snapshot {
  toSVG(gd: HTMLElement, format?: string, scale?: number): string;
  svgToImg(opts: { format: string; width: number; height: number; scale: number; canvas: HTMLCanvasElement; svg: string; promise: true }): Promise<string>;
}

/** The part of plotly the export uses. */
export interface ExportApi {
  newPlot(el: HTMLElement, data: unknown, layout: unknown, config: unknown): Promise<unknown>;
  purge(el: HTMLElement): void;
  Snapshot: Snapshot;
  Icons: Record<string, unknown>;
}

interface Drawn extends HTMLElement {
  data?: unknown[];
  layout?: Record<string, unknown>;
  _fullLayout?: { width: number; height: number };
}

/** The file a plot is saved as: the view's name (its element is `data-role="plot-<view>"`). */
export function exportName(el: HTMLElement): string {
  const view = (el.dataset.role ?? "").replace(/^plot-/, "");
  return `optuna-${view || "plot"}`;
}

/** A PNG (data URL) of the plot drawn in `el`, painted markers included. */
export async function plotPng(api: ExportApi, el: HTMLElement, scale = 2): Promise<string> {
  const gd = el as Drawn;
  const { width, height } = gd._fullLayout ?? { width: el.clientWidth, height: el.clientHeight };
  const copy = document.createElement("div");
  copy.style.cssText = `position:absolute;left:-10000px;top:0;width:${width}px;height:${height}px`;
  document.body.appendChild(copy);
  try {
    await api.newPlot(copy, gd.data ?? [], { ...gd.layout, width, height }, { staticPlot: true, displayModeBar: false });
    setPainted(copy, paintedOf(el));
    paintMarkers(copy, true);
    const svg = api.Snapshot.toSVG(copy);
    const canvas = document.createElement("canvas");
    return await api.Snapshot.svgToImg({ format: "png", width, height, scale, canvas, svg, promise: true });
  } finally {
    api.purge(copy);
    copy.remove();
  }
}

/** The modebar button that takes plotly's "toImage" place. */
export function downloadButton(api: ExportApi): Record<string, unknown> {
  return {
    name: "toImage",
    title: "Download plot as a PNG",
    icon: api.Icons.camera,
    click: (el: HTMLElement) => {
      void plotPng(api, el).then((url) => {
        const a = document.createElement("a");
        a.href = url;
        a.download = `${exportName(el)}.png`;
        document.body.appendChild(a);
        a.click();
        a.remove();
      });
    },
  };
}
