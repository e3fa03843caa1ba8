import { describe, expect, it } from "vitest";
import { CANVAS_MIN_POINTS, hoverText, markerAt, paintable, setPainted, splitForCanvas } from "./canvasMarkers";
import { SEQUENTIAL_SCALE } from "./colours";
import { historyFigure, sliceFigure, timelineFigure } from "./figures";
import type { Trace } from "./figureTypes";
import { TrialRecord } from "../model/record";
import { encode, PARAMS, type Row } from "../testing";

function recordWith(n: number): TrialRecord {
  const rows: Row[] = range(n).map((k) => ({ number: k, state: 1, values: [((k * 37) % 101) / 10], params: [k / n, k % 2] }));
  const r = new TrialRecord();
  r.apply(...encode("delta", 1, rows, { params: PARAMS }));
  return r;
}

const N = CANVAS_MIN_POINTS;
const range = <T = number>(n: number, f: (i: number) => T = (i) => i as T): T[] => Array.from({ length: n }, (_, i) => f(i));
const markers = (n: number, marker: Record<string, unknown> = {}, more: Trace = {}): Trace => ({
  type: "scatter", mode: "markers", name: "value", x: range(n), y: range(n, (i) => (i * 7) % 11),
  marker: { color: "#1f77b4", size: 6, opacity: 0.7, ...marker },
  text: range(n, (i) => `trial ${i}`), hovertemplate: "%{text}<extra></extra>", customdata: range(n), ...more,
});

describe("paintable", () => {
  it("takes a large trace of plain circles, in one colour or on the sequential scale", () => {
    expect(paintable(markers(N))).not.toBeNull();
    const scaled = paintable(markers(N, { color: range(N), colorscale: SEQUENTIAL_SCALE, cmin: 0, cmax: N - 1 }));
    expect(scaled).toMatchObject({ cmin: 0, cmax: N - 1, size: 6, opacity: 0.7 });
  });

  it("leaves to plotly what is small, or what the canvas does not draw the same", () => {
    expect(paintable(markers(N - 1))).toBeNull();
    expect(paintable(markers(N, { symbol: "circle-open" }))).toBeNull();
    expect(paintable(markers(N, { symbol: range(N, () => "x") }))).toBeNull();
    expect(paintable(markers(N, { size: range(N) }))).toBeNull();
    expect(paintable(markers(N, { color: range(N), colorscale: "Viridis" }))).toBeNull();
    expect(paintable({ ...markers(N), mode: "lines+markers" })).toBeNull();
    expect(paintable({ ...markers(N), type: "scattergl" })).toBeNull();
  });
});

describe("splitForCanvas", () => {
  it("gives plotly a stand-in of two transparent points at the corners of the data", () => {
    const line: Trace = { type: "scatter", mode: "lines", x: [0, 5], y: [1, 2] };
    const { data, painted } = splitForCanvas([markers(N), line], {});
    expect([...painted.keys()]).toEqual([0]);
    expect(data[1]).toBe(line);
    const stand = data[0];
    expect(stand).toMatchObject({ x: [0, N - 1], y: [0, 10], name: "value", hoverinfo: "skip", selectedpoints: [] });
    expect(stand.unselected).toEqual({ marker: { opacity: 0 } });
    expect(stand.text).toBeUndefined();
    expect(stand.customdata).toBeUndefined();
    // The legend entry keeps the trace's look.
    expect(stand.marker).toMatchObject({ color: "#1f77b4", size: 6, opacity: 0.7 });
  });

  it("keeps the colour bar's span, and on a log axis the positive values' extent", () => {
    const t = markers(N, { color: range(N), colorscale: SEQUENTIAL_SCALE, showscale: true }, { y: range(N, (i) => i - 5) });
    const { data } = splitForCanvas([t], { yaxis: { type: "log" } });
    expect((data[0].marker as { color: number[] }).color).toEqual([0, N - 1]);
    expect(data[0].y).toEqual([1, N - 6]);
  });

  it("paints the marker views' large traces: history's trials, slice's", () => {
    const rec = recordWith(2000);
    const history = historyFigure(rec, { directions: ["minimize"] } as never, { objective: 0, log: false });
    expect(splitForCanvas(history.data, history.layout).painted.has(0)).toBe(true);
    const slice = sliceFigure(rec, { directions: ["minimize"] } as never, 0, 0);
    expect(splitForCanvas(slice.data, slice.layout).painted.has(0)).toBe(true);
  });
});

describe("hover and click", () => {
  it("fills the trace's hovertemplate as plotly does", () => {
    const t = paintable(markers(N, {}, { hovertemplate: "%{text}<br>%{x}, %{y}<extra></extra>" }))!;
    expect(hoverText(t, 3)).toBe("trial 3<br>3, 10");
    expect(hoverText(paintable(markers(N))!, 4)).toBe("trial 4");
  });

  it("finds no marker before any was painted", () => {
    const el = document.createElement("div");
    setPainted(el, new Map());
    expect(markerAt(el, 10, 10)).toBeNull();
  });
});

describe("lines", () => {
  const lines = (n: number, line: Record<string, unknown> = { color: "#1f77b4", width: 1 }, more: Trace = {}): Trace => ({
    type: "scatter", mode: "lines", name: "complete",
    x: range<number | null>(n, (i) => (i % 6 === 5 ? null : i % 6)), y: range<number | null>(n, (i) => (i % 6 === 5 ? null : i)),
    customdata: range<number | null>(n, (i) => (i % 6 === 5 ? null : Math.floor(i / 6))), line, opacity: 0.6,
    hovertemplate: "trial %{customdata} (complete)<br>step %{x}: %{y}<extra></extra>", ...more,
  });

  it("paints the intermediate view's straight lines with their gaps; plotly keeps the rest", () => {
    const p = paintable(lines(N))!;
    expect(p).toMatchObject({ kind: "lines", lineColor: "#1f77b4", lineWidth: 1, opacity: 1, clip: true });
    expect(hoverText(p, 7)).toBe("trial 1 (complete)<br>step 1: 7");
    expect(paintable(lines(N, { color: "#1f77b4", shape: "hv" }))).toBeNull();
    expect(paintable(lines(N, { color: "#1f77b4", dash: "dot" }))).toBeNull();
    expect(paintable(lines(N, {}, { connectgaps: true }))).toBeNull();
  });

  it("gives plotly a stand-in that draws no line: two points with a gap between", () => {
    const { data } = splitForCanvas([lines(N)], {});
    expect(data[0]).toMatchObject({ mode: "lines", x: [0, null, 4], y: [0, null, N - 2], hoverinfo: "skip" });
    expect(data[0].customdata).toBeUndefined();
  });
});

describe("bars", () => {
  const bars = (n: number, more: Trace = {}): Trace => ({
    type: "bar", orientation: "h", name: "complete", width: 0.8,
    base: range(n, (i) => 1e12 + 1000 * i), x: range(n, () => 800), y: range(n, () => 1),
    marker: { color: "#1f77b4", line: { width: 0 } }, customdata: range(n),
    hovertext: range(n, (i) => `trial ${i} (complete)`), hovertemplate: "%{hovertext}<extra></extra>", ...more,
  });

  it("paints the timeline's many bars, each from its start to its end", () => {
    const p = paintable(bars(N))!;
    expect(p).toMatchObject({ kind: "bars", color: "#1f77b4", size: 0.8, clip: true });
    expect([p.x[2], p.ends?.[2]]).toEqual([1e12 + 2000, 1e12 + 2800]);
    expect(hoverText(p, 5)).toBe("trial 5 (complete)");
    // Few bars, outlined ones, vertical ones: plotly's.
    expect(paintable(bars(N - 1))).toBeNull();
    expect(paintable(bars(N, { marker: { color: "#1f77b4", line: { width: 0.5 } } }))).toBeNull();
    expect(paintable(bars(N, { orientation: "v" }))).toBeNull();
  });

  it("gives plotly a stand-in of two bars of no length that span every bar", () => {
    const { data, painted } = splitForCanvas([bars(N)], {});
    expect(painted.has(0)).toBe(true);
    expect(data[0]).toMatchObject({ type: "bar", base: [1e12, 1e12 + 1000 * (N - 1) + 800], x: [0, 0], y: [1, 1], hoverinfo: "skip" });
    expect(data[0].hovertext).toBeUndefined();
  });

  it("paints the timeline of a study of many trials", () => {
    const rec = recordWith(0);
    const rows: Row[] = range(2 * N, (k) => ({ number: k, state: 1, values: [k], params: [0.5, 1], start: 1.7e9 + k, duration: 0.5 }));
    rec.apply(...encode("delta", 1, rows, { params: PARAMS }));
    const f = timelineFigure(rec, 1.7e9 + 2 * N);
    const split = splitForCanvas(f.data, f.layout);
    expect([...split.painted.keys()]).toEqual([0]);
    expect(split.painted.get(0)?.x.length).toBe(2 * N);
  });
});
