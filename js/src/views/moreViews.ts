// The Rank, EDF and hypervolume views as the panel registers them: their controls, what each
// draws, what it redraws on, and when it applies. All three are drawn from the complete trials
// alone, so they redraw when a trial completes (or a control changes), not at every delta.

import { objectiveName, type Meta } from "../model/derive";
import type { TrialRecord } from "../model/record";
import { completeCount, completeKey } from "./completeTrials";
import { edfFigure } from "./edf";
import type { Figure } from "./figureTypes";
import { hypervolumeFigure } from "./hypervolume";
import { rankFigure, TRIAL_AXIS } from "./rank";

/** One view, for the panel's plotView. */
export interface PlotViewParts {
  id: string;
  label: string;
  controls: HTMLElement[];
  build: () => Figure;
  /** What the view is drawn from: it is redrawn only when this changes. */
  inputs: () => string;
  applies: () => boolean;
}

export interface ExtraViews {
  rank: PlotViewParts;
  edf: PlotViewParts;
  hypervolume: PlotViewParts;
  /** Fills the controls with the study's objectives and parameters (at each frame). */
  update(): void;
}

type Select = (label: string, onChange: () => void) => HTMLSelectElement;
type Fill = (s: HTMLSelectElement, options: string[]) => void;

/** The three views over the panel's record and meta, with the panel's own select helpers. */
export function createExtraViews(rec: () => TrialRecord, meta: () => Meta, select: Select, fill: Fill, redraw: () => void): ExtraViews {
  const rx = select("x parameter", redraw);
  const ry = select("y parameter or trial number", redraw);
  const rObjective = select("Objective", redraw);
  const eObjective = select("Objective", redraw);
  const num = (s: HTMLSelectElement) => Number(s.value || 0);
  const objectives = () => (meta().directions ?? ["minimize"]).map((_, i) => objectiveName(meta(), i));
  // The record's complete trials and the objectives' names: all three views are drawn from them.
  const data = () => `${completeKey(rec())}|${objectives().join("\u0000")}|${(meta().directions ?? []).join(",")}`;
  // The y axis: the trial number first, so the choice stays put when a parameter is added.
  const yParam = () => (num(ry) === 0 ? TRIAL_AXIS : num(ry) - 1);
  const anyComplete = () => completeCount(rec()) > 0;
  return {
    rank: {
      id: "rank", label: "Rank", controls: [rx, ry, rObjective],
      build: () => rankFigure(rec(), meta(), num(rx), yParam(), num(rObjective)),
      inputs: () => `${data()}|${rx.value}|${ry.value}|${rObjective.value}`,
      applies: () => rec().params.length > 0 && anyComplete(),
    },
    edf: {
      id: "edf", label: "EDF", controls: [eObjective],
      build: () => edfFigure(rec(), meta(), num(eObjective)),
      inputs: () => `${data()}|${eObjective.value}`,
      applies: anyComplete,
    },
    hypervolume: {
      id: "hypervolume", label: "Hypervolume", controls: [],
      build: () => hypervolumeFigure(rec(), meta()),
      inputs: data,
      applies: () => (meta().directions?.length ?? 1) >= 2 && anyComplete(),
    },
    update() {
      const params = rec().params.map((p) => p.name);
      fill(rx, params);
      fill(ry, ["trial number", ...params]);
      if (ry.dataset.init !== "1" && params.length > 1) {
        ry.value = "2"; // the second parameter, once there is one
        ry.dataset.init = "1";
      }
      fill(rObjective, objectives());
      fill(eObjective, objectives());
      rObjective.hidden = eObjective.hidden = objectives().length < 2;
    },
  };
}
