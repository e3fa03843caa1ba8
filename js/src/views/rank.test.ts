import { describe, expect, it } from "vitest";
import { TrialRecord, type ParamHeader } from "../model/record";
import { encode, PARAMS, type Row } from "../testing";
import { sampleRows } from "../model/derive";
import { bestOf } from "../timing";
import { MAX_RANK_POINTS, rankData, rankFigure, TRIAL_AXIS } from "./rank";

function study(rows: Row[], params: ParamHeader[] = PARAMS, nValues = 1): TrialRecord {
  const r = new TrialRecord();
  r.apply(...encode("delta", 1, rows, { params, nValues }));
  return r;
}

const LR: ParamHeader[] = [
  { name: "lr", kind: "float", log: true, choices: null },
  { name: "act", kind: "categorical", log: false, choices: ["relu", "<img src=x onerror=alert(1)>"] },
  { name: "depth", kind: "int", log: false, choices: null },
];

describe("rank", () => {
  // Values 5, 1, 1e6 (an outlier), 3, 1: by value the outlier would take the whole scale.
  const rows: Row[] = [5, 1, 1e6, 3, 1, 7].map((v, i) => ({ number: i, state: i === 5 ? 2 : 1, values: [v], params: [10 ** -(i + 1), i % 2, i] }));

  it("ranks complete trials by value, best 0, ties shared, best drawn last", () => {
    const d = rankData(study(rows, LR), { directions: ["minimize"] }, 0, 1, 0);
    expect(d.total).toBe(5); // trial 5 was pruned
    expect(d.numbers).toEqual([2, 0, 3, 1, 4]); // worst first; a tie in trial order
    expect(d.ranks).toEqual([4, 3, 2, 0, 0]);
    expect(d.colours).toEqual([0, 0.25, 0.5, 1, 1]);
    expect(d.sorted).toEqual([1, 1, 3, 5, 1e6]);
    // Maximized: the other way round.
    const up = rankData(study(rows, LR), { directions: ["maximize"] }, 0, 1, 0);
    expect(up.numbers[up.numbers.length - 1]).toBe(2);
    expect(up.colours[up.colours.length - 1]).toBe(1);
  });

  it("draws two parameters on their own axes (log, categorical), colour bar by rank with values", () => {
    const f = rankFigure(study(rows, LR), { directions: ["minimize"], objective_names: ["loss"] }, 0, 1, 0);
    const [t] = f.data as Array<Record<string, unknown>>;
    expect(t.customdata).toEqual([2, 0, 3, 1, 4]);
    expect(t.x).toEqual([2, 0, 3, 1, 4].map((i) => 10 ** -(i + 1)));
    const marker = t.marker as { cmin: number; cmax: number; colorbar: { tickvals: number[]; ticktext: string[]; title: { text: string } } };
    expect([marker.cmin, marker.cmax]).toEqual([0, 1]);
    expect(marker.colorbar.title.text).toBe("loss by rank");
    expect(marker.colorbar.tickvals).toEqual([1, 0.75, 0.5, 0.25, 0]);
    expect(marker.colorbar.ticktext).toEqual(["best: 1", "top 25%: 1", "median: 3", "top 75%: 5", "worst: 1000000"]);
    expect((f.layout.xaxis as { type: string }).type).toBe("log");
    expect((f.layout.yaxis as { ticktext: string[] }).ticktext).toEqual(["relu", "&lt;img src=x onerror=alert(1)&gt;"]);
    // A numeric parameter through plotly's %{x}, a categorical by its label (escaped).
    expect((t.text as string[])[4]).toBe("trial 4<br>loss: 1<br>rank 1 of 5<br>act: relu");
    expect((t.text as string[])[0]).toBe("trial 2<br>loss: 1000000<br>rank 5 of 5<br>act: relu");
    expect((t.text as string[])[3]).toBe("trial 1<br>loss: 1<br>rank 1 of 5<br>act: &lt;img src=x onerror=alert(1)&gt;");
    expect(t.hovertemplate).toBe("%{text}<br>lr: %{x}<extra></extra>");
    expect(JSON.stringify(f)).not.toContain("<img");
  });

  it("one parameter against the trial number; trials without the parameter are left out and said so", () => {
    const some = rows.map((r, i) => ({ ...r, params: i === 3 ? [NaN, 0, 3] : r.params }));
    const f = rankFigure(study(some, LR), { directions: ["minimize"] }, 2, TRIAL_AXIS, 0);
    expect(f.data[0].y).toEqual([2, 0, 3, 1, 4]); // the trial numbers
    expect(f.data[0].x).toEqual([2, 0, 3, 1, 4]); // depth = the trial's number here
    expect(f.data[0].hovertemplate).toBe("%{text}<br>depth: %{x}<extra></extra>");
    expect((f.layout.yaxis as { title: { text: string } }).title.text).toBe("trial");
    const g = rankFigure(study(some, LR), { directions: ["minimize"] }, 0, TRIAL_AXIS, 0);
    expect(g.note).toBe("5 complete trials ranked by value; colour by rank, not value (the best is orange); 1 without this parameter not drawn.");
    expect(rankFigure(study(rows, LR), {}, 1, 1, 0).note).toBe("Choose two different parameters, or the trial number.");
    expect(rankFigure(study([{ number: 0, state: 0 }], LR), {}, 0, 1, 0).note).toBe("No completed trials with both parameters yet.");
  });

  it("ranks the objective chosen of several", () => {
    const two = [[1, 9], [2, 8], [3, 7]].map((v, i) => ({ number: i, state: 1, values: v, params: [i, 0] }));
    const d = rankData(study(two, PARAMS, 2), { directions: ["minimize", "minimize"] }, 0, TRIAL_AXIS, 1);
    expect(d.numbers).toEqual([0, 1, 2]); // trial 2 best on objective 1: drawn last
    expect(d.ranks).toEqual([2, 1, 0]);
  });

  it.each([
    [3000, 100],
    [50_000, 200],
  ])("%i trials: first draw and a live redraw within %i ms", (n, limit) => {
    const make = () => study(Array.from({ length: n }, (_, i) => ({ number: i, state: 1, values: [Math.sin(i) * 100], params: [10 ** -((i % 50) / 10 + 1), i % 2, i % 17] })), LR);
    const draw = (r: TrialRecord) => rankFigure(r, { directions: ["minimize"] }, 0, 1, 0);
    const first = bestOf(3, make, draw);
    const redraw = bestOf(3, () => {
      const r = make();
      draw(r);
      r.apply(...encode("delta", 2, [{ number: n, state: 1, values: [-1], params: [0.01, 1, 3] }], { params: LR }));
      return r;
    }, (r) => expect((draw(r).data[0].x as number[]).length).toBeLessThanOrEqual(MAX_RANK_POINTS));
    console.log(`rank ${n} trials: first ${first.toFixed(1)} ms, redraw ${redraw.toFixed(1)} ms`);
    const f = draw(make());
    expect(f.data[0].type).toBe("scatter"); // SVG: at most MAX_RANK_POINTS markers
    // Past MAX_RANK_POINTS: the best tenth of them all drawn, the rest an even sample by rank.
    const drawn = f.data[0].customdata as number[];
    expect(drawn.length).toBeGreaterThan(0.9 * MAX_RANK_POINTS);
    expect(drawn.length).toBeLessThanOrEqual(MAX_RANK_POINTS);
    const ranks = rankData(make(), { directions: ["minimize"] }, 0, 1, 0);
    const best = ranks.numbers.slice(-MAX_RANK_POINTS / 10);
    expect(best.every((t) => drawn.includes(t))).toBe(true);
    expect(f.note).toContain(`; ${drawn.length.toLocaleString()} of ${n.toLocaleString()} drawn: the best and an even sample of the rest`);
    expect(first).toBeLessThan(limit);
    expect(redraw).toBeLessThan(limit);
  });
});

describe("rank past MAX_RANK_POINTS", () => {
  // rankFigure finds its sample by selection (rankSample); it must draw what sampleRows picked
  // from the whole of rankData: the same trials, ranks and colours, in the same order.
  it.each([
    ["minimize", 0],
    ["maximize", 0],
    ["minimize", 1],
  ])("%s, every %i-th trial without the second parameter: the trials rankData's sample has", (direction, gap) => {
    let seed = 3;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const rows: Row[] = Array.from({ length: 7000 }, (_, i) => ({
      number: i, state: i % 13 === 4 ? 2 : 1, values: [Math.round(rnd() * 500) / 10], params: [10 ** -(1 + rnd() * 3), gap && i % 9 === 0 ? NaN : i % 2, i % 17],
    }));
    const rec = study(rows, LR);
    const meta = { directions: [direction] };
    const all = rankData(rec, meta, 0, 1, 0);
    const keep = sampleRows(all.values, direction, MAX_RANK_POINTS);
    const f = rankFigure(rec, meta, 0, 1, 0);
    const t = f.data[0] as { customdata: number[]; x: number[]; marker: { color: number[]; colorbar: { ticktext: string[] } }; text: string[] };
    expect(t.customdata).toEqual(keep.map((i) => all.numbers[i]));
    expect(t.x).toEqual(keep.map((i) => all.x[i]));
    expect(t.marker.color).toEqual(keep.map((i) => all.colours[i]));
    expect(t.text.map((s) => s.split("<br>")[2])).toEqual(keep.map((i) => `rank ${all.ranks[i] + 1} of ${all.total}`));
    const best = direction === "maximize" ? Math.max(...all.values) : Math.min(...all.values);
    expect(t.marker.colorbar.ticktext[0]).toBe(`best: ${best}`);
    expect(t.marker.colorbar.ticktext[2]).toBe(`median: ${all.sorted[Math.round(0.5 * (all.total - 1))]}`);
  });
});
