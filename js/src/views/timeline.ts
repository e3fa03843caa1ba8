// The timeline: when each trial ran, one row per lane of trials that ran at the same time. A row
// per trial (as before) left bars a pixel or two tall past ~150 trials, a diagonal smear, with
// labels plotly shrank to 5 px; lanes keep the rows as few as the trials that ran at once
// (one for a sequential study, K for --n-jobs K), so bars stay tall at any trial count.

import { formatDuration, formatNumber } from "../model/derive";
import { ABSENT, COMPLETE, STATE_NAMES, type TrialRecord } from "../model/record";
import { INFEASIBLE_COLOR } from "./colours";
import { integerTicks } from "./figureAxes";
import { STATE_COLORS, type Figure, type Trace } from "./figureTypes";

/** The group of complete trials that break a constraint (beside the states' codes). */
const INFEASIBLE_GROUP = 100;

/** Bars drawn at most: the latest trials (plotly's SVG bars cost ~0.1 ms each a redraw; from
 * CANVAS_MIN_POINTS on they are painted on canvas, canvasMarkers.ts). */
export const MAX_BARS = 1000;

/**
 * A lane for each of `rows` (sorted by start): the first lane free when the trial starts, so
 * trials that overlap in time never share one. `ends[n]` is when trial n ended (or now).
 */
export function assignLanes(rows: number[], start: ArrayLike<number>, ends: (n: number) => number): Int32Array {
  const lanes = new Int32Array(rows.length);
  const free: number[] = []; // when each lane is free again
  rows.forEach((n, i) => {
    const s = start[n];
    // Parallel trials are few (the number of workers), so a scan over the lanes is cheap.
    let lane = free.findIndex((t) => t <= s);
    if (lane < 0) lane = free.push(0) - 1;
    free[lane] = Math.max(s, ends(n));
    lanes[i] = lane;
  });
  return lanes;
}

export function timelineFigure(rec: TrialRecord, now: number): Figure {
  // The latest MAX_BARS trials by a scan from the end, and a count of all: a list of every trial
  // cost ~40-80 ms a redraw at 1,000,000 trials.
  const shown = (n: number) => rec.state[n] !== ABSENT && Number.isFinite(rec.start[n]);
  let total = 0;
  for (let n = 0; n < rec.size; n++) if (shown(n)) total++;
  if (total === 0) return { data: [], layout: {}, note: "No trials yet." };
  const latest: number[] = [];
  for (let n = rec.size - 1; n >= 0 && latest.length < MAX_BARS; n--) if (shown(n)) latest.push(n);
  const rows = latest.reverse().sort((a, b) => rec.start[a] - rec.start[b] || a - b);
  const seconds = (n: number) => (Number.isFinite(rec.duration[n]) ? rec.duration[n] : Math.max(0, now - rec.start[n]));
  const lanes = assignLanes(rows, rec.start, (n) => rec.start[n] + seconds(n));
  const nLanes = lanes.reduce((m, l) => Math.max(m, l + 1), 0);
  // Complete trials that break a constraint are their own group, grey (INFEASIBLE_GROUP).
  const group = (n: number) => (rec.state[n] === COMPLETE && rec.infeasible(n) ? INFEASIBLE_GROUP : rec.state[n]);
  const byState = new Map<number, number[]>();
  rows.forEach((n, i) => {
    const list = byState.get(group(n)) ?? [];
    list.push(i);
    byState.set(group(n), list);
  });
  const label = (state: number) => (state === INFEASIBLE_GROUP ? "infeasible" : STATE_NAMES[state]?.toLowerCase() ?? "");
  const data: Trace[] = [...byState.entries()].map(([state, idx]) => ({
    type: "bar", orientation: "h", name: label(state),
    // base: ms since the epoch, which a date axis reads as its own unit (and the canvas that
    // paints many bars, canvasMarkers.ts, places without parsing a date string a bar).
    y: idx.map((i) => lanes[i] + 1), base: idx.map((i) => rec.start[rows[i]] * 1000),
    x: idx.map((i) => 1000 * seconds(rows[i])), width: 0.8, customdata: idx.map((i) => rows[i]),
    marker: { color: state === INFEASIBLE_GROUP ? INFEASIBLE_COLOR : STATE_COLORS[state] ?? "#7f7f7f", line: { width: rows.length > 200 ? 0 : 0.5, color: "rgba(0,0,0,0.35)" } },
    // No text in the bars: plotly shrinks it to fit a narrow bar (5 px at a few hundred trials).
    textposition: "none",
    hovertext: idx.map((i) => `trial ${rows[i]} (${state === INFEASIBLE_GROUP ? `complete, infeasible: largest constraint ${formatNumber(rec.constraint[rows[i]])}` : label(state)})<br>${formatDuration(seconds(rows[i]))}`),
    hovertemplate: "%{hovertext}<extra></extra>",
  }));
  // Ticks at the lanes there are (every n-th past 8), none below the last one.
  const stride = Number(integerTicks(1, nLanes, 8).dtick);
  const laneNumbers = Array.from({ length: nLanes }, (_, i) => i + 1).filter((k) => k === 1 || k % stride === 0);
  const laneTicks = { tickmode: "array", tickvals: laneNumbers, ticktext: laneNumbers.map((k) => (nLanes === 1 ? "trials" : `lane ${k}`)) };
  const note = [
    total > rows.length ? `latest ${rows.length} of ${total} trials` : "",
    nLanes > 1 ? `${nLanes} lanes: trials that ran at the same time` : "",
  ].filter(Boolean).join("; ");
  return {
    data,
    layout: {
      barmode: "overlay", bargap: 0.2,
      // Room for two-line date ticks, the axis title and the last tick's overhang: a margin
      // plotly widens draws the figure twice.
      margin: { b: 64, r: 40 },
      xaxis: { type: "date", title: { text: "time" } },
      // Lane 1 on top; room for at least four lanes, so one lane is a strip, not a wall.
      yaxis: { title: { text: nLanes > 1 ? "lane" : "" }, range: [Math.max(nLanes, 4) + 0.5, 0.5], ...laneTicks, zeroline: false, showgrid: false },
    },
    note: note || undefined,
  };
}
