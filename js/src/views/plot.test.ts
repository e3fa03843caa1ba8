import { describe, expect, it } from "vitest";
import type { Figure } from "./figures";
import { plotMargins } from "./plot";

const fig = (layout: Figure["layout"] = {}): Figure => ({ data: [{ type: "scatter", x: [1], y: [2] }], layout });

describe("plotMargins", () => {
  it("gives the panel's margins, and a figure's own over them", () => {
    expect(plotMargins(fig())).toEqual({ l: 60, r: 20, t: 20, b: 50 });
    expect(plotMargins(fig({ margin: { l: 80 } }))).toEqual({ l: 80, r: 20, t: 20, b: 50 });
    expect(plotMargins(fig({ margin: { b: 64, r: 30 } }))).toEqual({ l: 60, r: 30, t: 20, b: 64 });
  });
});
