// The event log (pruned, failed, run events; a failed trial's traceback on click) and the
// search space table. All text from the study goes in as textContent.

import { formatNumber, type Meta } from "../model/derive";
import type { ParamHeader, TrialEvent, TrialRecord } from "../model/record";
import { h } from "./dom";

const MAX_EVENTS = 500;

export function eventText(e: TrialEvent): string {
  switch (e.kind) {
    case "pruned":
      return `trial ${e.trial} pruned at step ${e.step ?? "?"}${e.value !== undefined ? ` with value ${formatNumber(e.value)}` : ""}`;
    case "failed":
      return `trial ${e.trial} failed: ${e.message ?? ""}`;
    default:
      return e.message ? `${e.kind}: ${e.message}` : e.kind;
  }
}

export interface EventLog {
  el: HTMLElement;
  update(rec: TrialRecord): void;
  showDetail(number: number, traceback: string, userAttrs: Record<string, unknown>): void;
}

/** `requestDetail(n)` asks the kernel for trial n's traceback; the answer comes to showDetail. */
export function createEventLog(requestDetail: (n: number) => void): EventLog {
  const note = h("div", { class: "om-muted" });
  const list = h("ol", { class: "om-events", reversed: true });
  const el = h("div", { class: "om-eventlog", "data-role": "event-log" }, note, list);
  let drawn = -1;
  const details = new Map<number, HTMLElement>();

  function update(rec: TrialRecord): void {
    if (rec.version === drawn) return;
    drawn = rec.version;
    const events = rec.events;
    const from = Math.max(0, events.length - MAX_EVENTS);
    note.textContent = events.length > MAX_EVENTS ? `latest ${MAX_EVENTS} of ${events.length} events` : `${events.length} events`;
    details.clear();
    const items: HTMLElement[] = [];
    for (let i = events.length - 1; i >= from; i--) {
      const e = events[i];
      const time = new Date(e.time * 1000).toLocaleTimeString();
      const item = h("li", { class: `om-event om-event-${e.kind.replace(/[^a-z]/g, "-")}`, "data-kind": e.kind },
        h("span", { class: "om-muted" }, time), " ", eventText(e));
      if (e.kind === "failed" && e.trial !== undefined) {
        const n = e.trial;
        const pre = h("pre", { class: "om-traceback", hidden: true });
        details.set(n, pre);
        item.append(pre);
        item.classList.add("om-clickable");
        item.title = "Show the traceback";
        item.addEventListener("click", () => {
          pre.hidden = !pre.hidden;
          if (!pre.hidden && !pre.textContent) {
            pre.textContent = "loading…";
            requestDetail(n);
          }
        });
      }
      items.push(item);
    }
    list.replaceChildren(...items);
  }

  function showDetail(number: number, traceback: string, userAttrs: Record<string, unknown>): void {
    const pre = details.get(number);
    if (!pre) return;
    const attrs = Object.entries(userAttrs).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
    pre.textContent = [traceback || "(no traceback)", ...(attrs.length ? ["", "user attributes:", ...attrs] : [])].join("\n");
  }

  return { el, update, showDetail };
}

interface SpaceLine {
  name: string;
  distribution: string;
  line: number | null;
}

/**
 * The search space as Optuna stores it: one row per parameter of the record (the names the
 * trials gave, the distribution in the same words for a `def objective` cell as for `hp.*`
 * declarations), the cell line where the declaration says it, and, until a trial reaches them,
 * the declarations whose names are computed, as written.
 */
export function spaceRows(meta: Meta, params: ParamHeader[]): SpaceLine[] {
  const declared = meta.space ?? [];
  const named = new Map(declared.filter((r) => !r.dynamic).map((r) => [r.name, r]));
  const dynamic = declared.filter((r) => r.dynamic);
  const rows: SpaceLine[] = params.map((p) => ({
    name: p.name,
    distribution: p.distribution || named.get(p.name)?.distribution || p.kind,
    // A computed name's line is known when one declaration computes names.
    line: named.get(p.name)?.line ?? (dynamic.length === 1 ? dynamic[0].line : null),
  }));
  const seen = new Set(params.map((p) => p.name));
  for (const r of declared) if (!r.dynamic && !seen.has(r.name)) rows.push(r);
  if (!params.some((p) => !named.has(p.name))) {
    for (const r of dynamic) rows.push({ name: r.name, distribution: `${r.distribution} (computed when a trial reaches it)`, line: r.line });
  }
  return rows;
}

export function createSpaceTable(): { el: HTMLElement; update(meta: Meta, params?: ParamHeader[]): void } {
  const body = h("tbody");
  const el = h(
    "table",
    { class: "om-space", "data-role": "search-space" },
    h("thead", {}, h("tr", {}, h("th", {}, "name"), h("th", {}, "distribution"), h("th", {}, "cell line"))),
    body,
  );
  let key = "";
  function update(meta: Meta, params: ParamHeader[] = []): void {
    const rows = spaceRows(meta, params);
    const k = JSON.stringify(rows);
    if (k === key) return;
    key = k;
    body.replaceChildren(
      ...rows.map((r) =>
        h("tr", {}, h("td", {}, r.name), h("td", {}, r.distribution), h("td", {}, r.line === null ? "" : String(r.line))),
      ),
    );
  }
  return { el, update };
}
