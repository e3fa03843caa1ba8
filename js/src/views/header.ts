// The panel's header: what the run is, where it stands, the best trial, the Stop button, and
// "Run N more" once a run has ended (where the kernel side can continue it).

import { formatDuration, formatNumber, objectiveName, progressText, type Meta, type Status } from "../model/derive";
import type { TrialRecord } from "../model/record";
import { h, setText } from "./dom";
import type { Steering } from "./steer";

export interface Header {
  el: HTMLElement;
  /** `since`: finished trials after the best one (see trialsSinceBest); null: not known. */
  update(meta: Meta, status: Status, elapsed: number, since?: number | null): void;
}

const ORDER = ["COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING"];

/** The most trials one "Run N more" asks for (the kernel refuses more, in words). */
export const MAX_MORE = 100_000;

/** What is wrong with `text` as the number of trials to run more, or null. */
export function moreProblem(text: string): string | null {
  const n = Number(text.trim());
  if (!text.trim() || !Number.isInteger(n) || n < 1 || n > MAX_MORE) return `the number of trials must be a whole number from 1 to ${MAX_MORE.toLocaleString("en-US")}`;
  return null;
}

const ENDED = new Set(["finished", "stopped", "interrupted", "failed"]);

/** The "Run N more" control: a number, a button, and the kernel's answer in words. */
function createRunMore(steering: Steering | null): { el: HTMLElement; update(meta: Meta, state: string): void } {
  const count = h("input", {
    type: "number", min: "1", max: String(MAX_MORE), step: "1", class: "om-more-n",
    "data-role": "run-more-n", "aria-label": "Trials to run more",
  }) as HTMLInputElement;
  const button = h("button", { type: "button", "data-role": "run-more", title: "Continue the study with the same objective" }, "Run more");
  const message = h("span", { class: "om-muted", "data-role": "run-more-message" });
  const controls = h("span", { class: "om-steer-controls" }, count, button);
  const el = h("div", { class: "om-row om-steer" }, controls, message);
  let edited = false;
  let asking = false;
  let last = "";
  count.addEventListener("input", () => (edited = true));
  button.addEventListener("click", () => {
    const problem = moreProblem(count.value);
    if (problem) return void (message.textContent = problem);
    if (!steering) return;
    asking = true;
    button.disabled = true;
    message.textContent = "asking the kernel…";
    void steering.runMore(Number(count.value)).then((answer) => {
      asking = false;
      button.disabled = false;
      message.textContent = answer.message;
      message.dataset.state = answer.state;
    });
  });
  return {
    el,
    update(meta, state) {
      const offered = steering !== null && (meta.steer ?? []).includes("run_more") && ENDED.has(state);
      controls.hidden = !offered;
      el.hidden = !offered && !message.textContent;
      // The default: the last run's number of trials, until the user types another.
      if (!edited) count.value = String(meta.n_trials ?? 10);
      // A continued run has ended: what was said when it started is old news.
      if (state !== last && ENDED.has(state) && message.dataset.state === "started" && !asking) {
        message.textContent = "";
        delete message.dataset.state;
        el.hidden = !offered;
      }
      last = state;
    },
  };
}

export function createHeader(onStop: () => void, steering: Steering | null = null): Header {
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
  const runMore = createRunMore(steering);
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
    runMore.el,
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
    runMore.update(meta, s);
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
