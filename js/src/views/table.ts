// The trials table: sortable by any column, filtered by state, virtualised (only the rows in
// view exist in the DOM) so 50,000 trials scroll as smoothly as 50.

import {
  formatDuration,
  formatNumber,
  objectiveName,
  paramText,
  tableRows,
  type Meta,
  type SortKey,
} from "../model/derive";
import { STATE_NAMES, type TrialRecord } from "../model/record";
import { h, setText } from "./dom";

export const ROW_HEIGHT = 24;
const OVERSCAN = 8;

interface Column {
  key: string;
  label: string;
  text(rec: TrialRecord, n: number): string;
}

export interface TrialsTable {
  el: HTMLElement;
  update(rec: TrialRecord, meta: Meta): void;
  /** Draws the rows in view (after a scroll or a resize). */
  drawWindow(): void;
}

export function columnsFor(rec: TrialRecord, meta: Meta): Column[] {
  const cols: Column[] = [
    { key: "number", label: "#", text: (_r, n) => String(n) },
    { key: "state", label: "state", text: (r, n) => STATE_NAMES[r.state[n]] ?? "" },
  ];
  for (let i = 0; i < rec.nValues; i++)
    cols.push({ key: `v${i}`, label: objectiveName(meta, i), text: (r, n) => formatNumber(r.values[i]?.[n]) });
  rec.params.forEach((p, j) => cols.push({ key: `p${j}`, label: p.name, text: (r, n) => paramText(r, j, n) }));
  cols.push({
    key: "start",
    label: "started",
    text: (r, n) => (Number.isFinite(r.start[n]) ? new Date(r.start[n] * 1000).toLocaleTimeString() : ""),
  });
  cols.push({ key: "duration", label: "duration", text: (r, n) => formatDuration(r.duration[n]) });
  return cols;
}

export function createTrialsTable(): TrialsTable {
  const filter = h("select", { class: "om-filter", "aria-label": "Filter by state" });
  filter.append(h("option", { value: "-1" }, "all states"));
  STATE_NAMES.forEach((s, i) => filter.append(h("option", { value: String(i) }, s.toLowerCase())));
  const shown = h("span", { class: "om-muted" });
  const head = h("div", { class: "om-thead", role: "row" });
  const spacer = h("div", { class: "om-spacer-rows" });
  const windowEl = h("div", { class: "om-window" });
  const scroller = h("div", { class: "om-scroll", role: "rowgroup" }, spacer, windowEl);
  const el = h(
    "div",
    { class: "om-table", "data-role": "trials-table", role: "grid" },
    h("div", { class: "om-toolbar" }, filter, shown),
    head,
    scroller,
  );

  let rec: TrialRecord | null = null;
  let columns: Column[] = [];
  let rows: Int32Array<ArrayBufferLike> = new Int32Array(0);
  let sort: SortKey = { column: "number", descending: false };
  let stateFilter = -1;
  let builtFor = "";
  let pending = 0;

  filter.addEventListener("change", () => {
    stateFilter = Number(filter.value);
    builtFor = "";
    if (rec) refresh(rec);
  });
  scroller.addEventListener("scroll", () => {
    if (pending) return;
    pending = requestAnimationFrame(() => {
      pending = 0;
      drawWindow();
    });
  });

  function drawHead(): void {
    const gridColumns = columns.map((c) => (c.key === "number" ? "56px" : "minmax(90px, 1fr)")).join(" ");
    el.style.setProperty("--om-columns", gridColumns);
    head.replaceChildren(
      ...columns.map((c) => {
        const arrow = sort.column === c.key ? (sort.descending ? " ▼" : " ▲") : "";
        const cell = h("div", { class: "om-th", role: "columnheader", "data-column": c.key, title: "Sort" }, c.label + arrow);
        cell.addEventListener("click", () => {
          sort = { column: c.key, descending: sort.column === c.key ? !sort.descending : false };
          builtFor = "";
          drawHead();
          if (rec) refresh(rec);
        });
        return cell;
      }),
    );
  }

  function drawWindow(): void {
    if (!rec) return;
    const height = scroller.clientHeight || 360;
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((scroller.scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
    windowEl.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    const need = last - first;
    while (windowEl.children.length < need) windowEl.append(h("div", { class: "om-tr", role: "row" }));
    while (windowEl.children.length > need) windowEl.lastChild?.remove();
    for (let i = 0; i < need; i++) {
      const n = rows[first + i];
      const tr = windowEl.children[i] as HTMLElement;
      while (tr.children.length < columns.length) tr.append(h("div", { class: "om-td", role: "gridcell" }));
      while (tr.children.length > columns.length) tr.lastChild?.remove();
      tr.dataset.state = STATE_NAMES[rec.state[n]] ?? "";
      tr.dataset.number = String(n);
      columns.forEach((c, j) => setText(tr.children[j] as HTMLElement, c.text(rec as TrialRecord, n)));
    }
  }

  function refresh(r: TrialRecord): void {
    rows = tableRows(r, stateFilter, sort);
    spacer.style.height = `${rows.length * ROW_HEIGHT}px`;
    setText(shown, `${rows.length} trials`);
    drawWindow();
  }

  function update(r: TrialRecord, meta: Meta): void {
    const shape = `${r.nValues}|${r.params.map((p) => p.name).join("\u0000")}|${(meta.objective_names ?? []).join()}`;
    if (shape !== builtFor.split("#")[0] || rec !== r) {
      rec = r;
      columns = columnsFor(r, meta);
      drawHead();
    }
    const key = `${shape}#${r.version}`;
    if (key === builtFor) return;
    builtFor = key;
    refresh(r);
  }

  return { el, update, drawWindow };
}
