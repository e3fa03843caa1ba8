import { describe, expect, it } from "vitest";
import type { Figure } from "./figures";
import { labelsAllowed, plotMargins } from "./plot";

const fig = (layout: Figure["layout"] = {}): Figure => ({ data: [{ type: "scatter", x: [1], y: [2] }], layout });

describe("plotMargins", () => {
  it("gives the panel's margins, and a figure's own over them", () => {
    expect(plotMargins(fig())).toEqual({ l: 60, r: 20, t: 20, b: 50 });
    expect(plotMargins(fig({ margin: { l: 80 } }))).toEqual({ l: 80, r: 20, t: 20, b: 50 });
    expect(plotMargins(fig({ margin: { b: 64, r: 30 } }))).toEqual({ l: 60, r: 30, t: 20, b: 64 });
  });
});

describe("labelsAllowed", () => {
  it("draws tick labels past the edge on every axis and colour bar, unless a figure says otherwise", () => {
    const data: Figure["data"] = [
      { type: "contour", z: [[1]], colorbar: { title: { text: "value" } } },
      { type: "scatter", x: [1], y: [2], marker: { color: [1], colorbar: { tickmode: "array" } } },
      { type: "scatter", x: [1], y: [2] },
    ];
    const layout = { xaxis: { title: "x" }, yaxis: {}, xaxis2: { ticklabeloverflow: "hide past domain" }, legend: {} };
    const out = labelsAllowed(layout, data);
    expect(out.layout.xaxis).toEqual({ title: "x", ticklabeloverflow: "allow" });
    expect(out.layout.yaxis).toEqual({ ticklabeloverflow: "allow" });
    expect(out.layout.xaxis2).toEqual({ ticklabeloverflow: "hide past domain" });
    expect(out.layout.legend).toEqual({});
    expect((out.data[0] as { colorbar: object }).colorbar).toEqual({ title: { text: "value" }, ticklabeloverflow: "allow" });
    expect((out.data[1] as { marker: { colorbar: object } }).marker.colorbar).toEqual({ tickmode: "array", ticklabeloverflow: "allow" });
    expect(out.data[2]).toBe(data[2]);
    // The figure the view made is left as it was (tests and the export read it).
    expect(layout.xaxis).toEqual({ title: "x" });
    expect((data[0] as { colorbar: object }).colorbar).toEqual({ title: { text: "value" } });
  });
});
