// What a figure is (plotly data and layout, and a note), and the state colours: their own
// module so the figure builders in several files share them without importing each other.

import { COMPLETE, FAIL, PRUNED, RUNNING } from "../model/record";

export type Trace = Record<string, unknown>;
export interface Figure {
  data: Trace[];
  layout: Record<string, unknown>;
  /** Shown above the plot instead of (or besides) it, e.g. why there is nothing to draw. */
  note?: string;
}

export const STATE_COLORS: Record<number, string> = {
  [COMPLETE]: "#1f77b4",
  [PRUNED]: "#ff7f0e",
  [FAIL]: "#d62728",
  [RUNNING]: "#2ca02c",
  4: "#7f7f7f",
};
