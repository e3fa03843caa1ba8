// The panel's header: what the run is, where it stands, the best trial, and the Stop button.

import { formatDuration, formatNumber, objectiveName, progressText, type Meta, type Status } from "../model/derive";
import type { TrialRecord } from "../model/record";
import { h, setText } from "./dom";

export interface Header {
  el: HTMLElement;
  /** `since`: finished trials after the best one (see trialsSinceBest); null: not known. */
  update(meta: Meta, status: Status, elapsed: number, since?: number | null): void;
}

const ORDER = ["COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING"];

export function createHeader(onStop: () => void): Header {
  const title = h("span", { class: "om-title" });
  const chips = h("span", { class: "om-chips" });
  const state = h("span", { class: "om-state", "data-role": "state" });
  const progress = h("span", { class: "om-progress", "data-role": "progress" });
  const rate = h("span", { class: "om-rate", "data-role": "rate" });
  const counts = h("span", { class: "om-counts", "data-role": "counts" });
  const best = h("div", { class: "om-best", "data-role": "best" });
  const improving = h("div", { class: "om-improving", "data-role": "improving" });
  const error = h("div", { class: "om-error", "data-role": "error" });
  const note = h("div", { class: "om-note", "data-role": "note" });
  const bar = h("div", { class: "om-bar" });
  const barFill = h("div", { class: "om-bar-fill" });
  bar.append(barFill);
  const stop = h("button", { class: "om-stop", "data-role": "stop", type: "button", title: "Stop the run after the running trials" }, "Stop");
  stop.addEventListener("click", () => {
    stop.disabled = true;
    onStop();
  });
  const el = h(
    "div",
    { class: "om-header" },
    h("div", { class: "om-row" }, title, state, h("span", { class: "om-spacer" }), stop),
    h("div", { class: "om-row om-sub" }, chips),
    h("div", { class: "om-row" }, progress, rate, counts),
    bar,
    best,
    improving,
    note,
    error,
  );
  let chipKey = "";

  function update(meta: Meta, status: Status, elapsed: number, since: number | null = null): void {
    setText(title, meta.study_name ?? "");
    const chipTexts = [
      (meta.directions ?? []).join(", "),
      meta.sampler ? `sampler ${meta.sampler}` : "",
      meta.pruner ? `pruner ${meta.pruner}` : "",
      meta.storage ? `storage ${meta.storage}` : "",
    ].filter(Boolean);
    if (chipTexts.join("\n") !== chipKey) {
      chipKey = chipTexts.join("\n");
      chips.replaceChildren(...chipTexts.map((t) => h("span", { class: "om-chip" }, t)));
    }
    const s = status.state ?? "idle";
    setText(state, s);
    state.dataset.state = s;
    setText(progress, progressText(status, elapsed));
    const running = s === "running" || s === "stopping";
    const parts: string[] = [];
    if (status.rate) parts.push(`${formatNumber(Number(status.rate.toPrecision(3)))} trials/s`);
    if (running && status.eta !== null && status.eta !== undefined) parts.push(`ETA ${formatDuration(status.eta)}`);
    if (!running && status.elapsed) parts.push(`in ${formatDuration(status.elapsed)}`);
    setText(rate, parts.join(" · "));
    const c = status.counts ?? {};
    setText(
      counts,
      ORDER.filter((k) => c[k]).map((k) => `${k.toLowerCase()} ${c[k]}`).join(" · "),
    );
    let fraction = 0;
    if (status.n_trials) fraction = (status.n_done ?? 0) / status.n_trials;
    else if (status.timeout) fraction = elapsed / status.timeout;
    // Only a run that finished is complete: a stopped, failed or interrupted one shows how
    // far it got.
    if (s === "finished") fraction = 1;
    bar.dataset.state = s;
    barFill.style.width = `${Math.min(100, Math.max(0, fraction * 100)).toFixed(1)}%`;
    setText(best, bestText(meta, status));
    best.title = best.textContent ?? ""; // the whole line where it is cut short
    const signal = improvingSignal(status, since);
    improving.title = signal?.text ?? "";
    setText(improving, signal?.text ?? "");
    if (signal) improving.dataset.state = signal.state;
    else delete improving.dataset.state;
    setText(error, status.error ?? "");
    setText(note, status.note ?? "");
    // A watch reads a study others optimize: there is no run of ours to stop.
    stop.hidden = meta.watch === true;
    stop.disabled = s !== "running";
  }

  return { el, update };
}

/**
 * Finished trials (complete, pruned, failed) numbered after `best`: how long the best value has
 * stood. Trials are numbered in the order they start, so with parallel trials this is what has
 * been tried since the best one began.
 */
export function trialsSinceBest(rec: TrialRecord, best: number): number {
  let since = 0;
  for (let n = best + 1; n < rec.size; n++) {
    const s = rec.state[n];
    if (s === 1 || s === 2 || s === 3) since++;
  }
  return since;
}

/**
 * Whether the study is still improving, said plainly: where the best value last got better and
 * how many trials have finished since. It reads "stalled" once those trials are at least 20 and
 * at least as many as came before the best (half of the trials bought nothing); it is a fact
 * about the trials so far, not a forecast.
 */
export function improvingSignal(status: Status, since: number | null): { state: "improving" | "stalled"; text: string } | null {
  const b = status.best;
  if (!b || since === null) return null;
  const before = b.number + 1;
  const stalled = since >= 20 && since >= before;
  const ago = since === 0 ? "the latest trial" : `${since} trial${since === 1 ? "" : "s"} ago`;
  return stalled
    ? { state: "stalled", text: `no better value in the last ${since} trials (best: trial ${b.number})` }
    : { state: "improving", text: `last improved at trial ${b.number}, ${ago}` };
}

export function bestText(meta: Meta, status: Status): string {
  const b = status.best;
  if (!b) return (meta.directions?.length ?? 1) > 1 ? "Pareto front: see the Pareto view" : "best: none yet";
  const value = b.values.map((v, i) => `${objectiveName(meta, i)} ${formatNumber(v)}`).join(", ");
  const params = Object.entries(b.params)
    .map(([k, v]) => `${k}=${typeof v === "number" ? formatNumber(v) : v}`)
    .join(", ");
  return `best ${value} (trial ${b.number})${params ? `: ${params}` : ""}`;
}
