// The trials table: sortable by any column, filtered by state and by text, columns to choose,
// a CSV of the rows as filtered; virtualised (only the rows in view exist in the DOM) so 50,000
// trials scroll as smoothly as 50. A click on a row opens that trial (see detail.ts).

import {
  ALL_TRIALS,
  FEASIBLE,
  formatDuration,
  INFEASIBLE,
  formatNumber,
  objectiveName,
  paramText,
  tableRows,
  type Meta,
  type SortKey,
} from "../model/derive";
import { FAIL, PRUNED, STATE_NAMES, type TrialRecord } from "../model/record";
import { h, setText } from "./dom";
import { trialNotes, type TrialNotes } from "./notes";

export const ROW_HEIGHT = 24;
const OVERSCAN = 8;

interface Column {
  key: string;
  label: string;
  /** What the cell shows (one number format: formatNumber). */
  text(rec: TrialRecord, n: number): string;
  /** The whole value, for the cell's tooltip and the CSV (numbers at full precision). */
  full(rec: TrialRecord, n: number): string;
}

export interface TrialsTable {
  el: HTMLElement;
  /** `best`: the best trial's number, marked in the table (null: none). */
  update(rec: TrialRecord, meta: Meta, best?: number | null): void;
  /** Draws the rows in view (after a scroll or a resize). */
  drawWindow(): void;
  /** The rows as filtered and sorted, visible columns, as CSV (what Download saves). */
  csv(): string;
}

/** A number at full precision (the shortest text that reads back as the same double). */
function fullNumber(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return "";
  return Number.isFinite(v) ? String(v) : v > 0 ? "inf" : "-inf";
}

export function columnsFor(rec: TrialRecord, meta: Meta, notes: TrialNotes | null = null): Column[] {
  const cols: Column[] = [
    { key: "number", label: "#", text: (_r, n) => String(n), full: (_r, n) => String(n) },
    {
      key: "state",
      label: "state",
      text: (r, n) => STATE_NAMES[r.state[n]] ?? "",
      full: (r, n) => STATE_NAMES[r.state[n]] ?? "",
    },
  ];
  for (let i = 0; i < rec.nValues; i++) {
    // A pruned trial has no value: the first objective's cell shows its last reported value
    // and step instead; a failed trial's shows its one-line reason.
    const note = (r: TrialRecord, n: number): string | null => {
      if (i !== 0 || !notes) return null;
      if (r.state[n] === PRUNED) return notes.pruned(n);
      if (r.state[n] === FAIL) return notes.failed(n);
      return null;
    };
    cols.push({
      key: `v${i}`,
      label: objectiveName(meta, i),
      text: (r, n) => note(r, n) ?? formatNumber(r.values[i]?.[n]),
      full: (r, n) => note(r, n) ?? fullNumber(r.values[i]?.[n]),
    });
  }
  rec.params.forEach((p, j) =>
    cols.push({
      key: `p${j}`,
      label: p.name,
      text: (r, n) => paramText(r, j, n),
      full: (r, n) => (p.choices ? paramText(r, j, n) : fullNumber(r.paramValues[j]?.[n])),
    }),
  );
  cols.push({
    key: "start",
    label: "started",
    text: (r, n) => (Number.isFinite(r.start[n]) ? new Date(r.start[n] * 1000).toLocaleTimeString() : ""),
    full: (r, n) => (Number.isFinite(r.start[n]) ? new Date(r.start[n] * 1000).toISOString() : ""),
  });
  cols.push({
    key: "duration",
    label: "duration",
    text: (r, n) => formatDuration(r.duration[n]),
    full: (r, n) => fullNumber(r.duration[n]),
  });
  if (hasConstraints(rec)) {
    // Sorted by the largest constraint value; the cell says it where the trial breaks one.
    cols.splice(2 + rec.nValues, 0, {
      key: "constraint",
      label: "feasible",
      text: (r, n) => feasibleText(r.constraint[n]),
      full: (r, n) => fullNumber(r.constraint[n]),
    });
  }
  return cols;
}

/** Whether any trial of the record has a constraint set. */
export function hasConstraints(rec: TrialRecord): boolean {
  for (let n = 0; n < rec.size; n++) if (!Number.isNaN(rec.constraint[n])) return true;
  return false;
}

function feasibleText(c: number | undefined): string {
  if (c === undefined || Number.isNaN(c)) return "";
  return c > 0 ? `no (${formatNumber(c)})` : "yes";
}

/** One CSV field (RFC 4180 quoting). */
function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function createTrialsTable(onOpen: (n: number) => void = () => {}): TrialsTable {
  const filter = h("select", { class: "om-filter", "aria-label": "Filter by state" });
  filter.append(h("option", { value: "-1" }, "all states"));
  STATE_NAMES.forEach((s, i) => filter.append(h("option", { value: String(i) }, s.toLowerCase())));
  const search = h("input", {
    type: "search", class: "om-search", "data-role": "table-filter", placeholder: "Filter rows", "aria-label": "Filter rows by text",
  }) as HTMLInputElement;
  const chooserList = h("div", { class: "om-columns-list" });
  const chooser = h("details", { class: "om-columns", "data-role": "columns" }, h("summary", {}, "Columns"), chooserList);
  const download = h("button", { type: "button", "data-role": "download", title: "Save the rows as filtered, as CSV" }, "Download CSV");
  const shown = h("span", { class: "om-muted" });
  const head = h("div", { class: "om-thead", role: "row" });
  const spacer = h("div", { class: "om-spacer-rows" });
  const windowEl = h("div", { class: "om-window" });
  const scroller = h("div", { class: "om-scroll", role: "rowgroup" }, spacer, windowEl);
  const el = h(
    "div",
    { class: "om-table", "data-role": "trials-table", role: "grid" },
    h("div", { class: "om-toolbar" }, filter, search, chooser, download, shown),
    head,
    scroller,
  );

  let rec: TrialRecord | null = null;
  let notes: TrialNotes | null = null;
  let all: Column[] = [];
  let columns: Column[] = [];
  const hiddenColumns = new Set<string>();
  let rows: Int32Array<ArrayBufferLike> = new Int32Array(0);
  let sort: SortKey = { column: "number", descending: false };
  let stateFilter = ALL_TRIALS;
  let feasibilityOptions = false;
  let text = "";
  let best: number | null = null;
  let builtFor = "";
  let pending = 0;
  let typing: ReturnType<typeof setTimeout> | undefined;

  const again = () => {
    builtFor = "";
    if (rec) refresh(rec);
  };
  filter.addEventListener("change", () => {
    stateFilter = Number(filter.value);
    again();
  });
  search.addEventListener("input", () => {
    // Filtering 50,000 rows by text takes a few tens of ms: once the typing pauses.
    if (typing !== undefined) clearTimeout(typing);
    typing = setTimeout(() => {
      typing = undefined;
      text = search.value.trim().toLowerCase();
      again();
    }, 120);
  });
  scroller.addEventListener("scroll", () => {
    if (pending) return;
    pending = requestAnimationFrame(() => {
      pending = 0;
      drawWindow();
    });
  });
  scroller.addEventListener("click", (e) => {
    // The row under the pointer, from where the pointer is, not from which element got the
    // click: the virtual window may be redrawn between a scroll and the click. Without a
    // layout (no height) the clicked row element says it.
    const rect = scroller.getBoundingClientRect();
    let n: number | undefined;
    if (rect.height > 0) n = rows[Math.floor((e.clientY - rect.top + scroller.scrollTop) / ROW_HEIGHT)];
    else {
      const row = (e.target as HTMLElement).closest<HTMLElement>(".om-tr");
      if (row?.dataset.number) n = Number(row.dataset.number);
    }
    if (n !== undefined) onOpen(n);
  });
  download.addEventListener("click", () => {
    const blob = new Blob([csv()], { type: "text/csv" });
    const a = h("a", { href: URL.createObjectURL(blob), download: "trials.csv" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  });

  function drawChooser(): void {
    chooserList.replaceChildren(
      ...all
        .filter((c) => c.key !== "number")
        .map((c) => {
          const box = h("input", { type: "checkbox", "data-choose": c.key }) as HTMLInputElement;
          box.checked = !hiddenColumns.has(c.key);
          box.addEventListener("change", () => {
            if (box.checked) hiddenColumns.delete(c.key);
            else hiddenColumns.add(c.key);
            columns = all.filter((x) => !hiddenColumns.has(x.key));
            drawHead();
            again();
          });
          return h("label", { class: "om-column-choice" }, box, " ", c.label);
        }),
    );
  }

  function drawHead(): void {
    const gridColumns = columns.map((c) => (c.key === "number" ? "64px" : "minmax(90px, 1fr)")).join(" ");
    el.style.setProperty("--om-columns", gridColumns);
    head.replaceChildren(
      ...columns.map((c) => {
        const arrow = sort.column === c.key ? (sort.descending ? " ▼" : " ▲") : "";
        const cell = h("div", { class: "om-th", role: "columnheader", "data-column": c.key, title: `Sort by ${c.label}` }, c.label + arrow);
        cell.addEventListener("click", () => {
          sort = { column: c.key, descending: sort.column === c.key ? !sort.descending : false };
          drawHead();
          again();
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
    while (windowEl.children.length < need) windowEl.append(h("div", { class: "om-tr", role: "row", title: "Open this trial" }));
    while (windowEl.children.length > need) windowEl.lastChild?.remove();
    for (let i = 0; i < need; i++) {
      const n = rows[first + i];
      const tr = windowEl.children[i] as HTMLElement;
      while (tr.children.length < columns.length) tr.append(h("div", { class: "om-td", role: "gridcell" }));
      while (tr.children.length > columns.length) tr.lastChild?.remove();
      tr.dataset.state = STATE_NAMES[rec.state[n]] ?? "";
      tr.dataset.number = String(n);
      if (rec.infeasible(n)) tr.dataset.infeasible = "true";
      else delete tr.dataset.infeasible;
      if (n === best) tr.dataset.best = "true";
      else delete tr.dataset.best;
      columns.forEach((c, j) => {
        const cell = tr.children[j] as HTMLElement;
        const shortText = c.key === "number" && n === best ? `${n} ★` : c.text(rec as TrialRecord, n);
        setText(cell, shortText);
        const whole = c.full(rec as TrialRecord, n);
        if (cell.title !== whole) cell.title = whole;
      });
    }
  }

  function matches(r: TrialRecord, n: number, words: string[]): boolean {
    let line = "";
    for (const c of columns) line += `${c.text(r, n)}\u0000${c.full(r, n)}\u0000`;
    line = line.toLowerCase();
    return words.every((w) => line.includes(w));
  }

  function refresh(r: TrialRecord): void {
    rows = tableRows(r, stateFilter, sort);
    if (text) {
      const words = text.split(/\s+/);
      rows = rows.filter((n) => matches(r, n, words));
    }
    spacer.style.height = `${rows.length * ROW_HEIGHT}px`;
    setText(shown, text || stateFilter !== ALL_TRIALS ? `${rows.length} of ${r.rows().length} trials` : `${rows.length} trials`);
    drawWindow();
  }

  function csv(): string {
    if (!rec) return "";
    const r = rec;
    const lines = [columns.map((c) => csvField(c.key === "number" ? "number" : c.label)).join(",")];
    for (const n of rows) lines.push(columns.map((c) => csvField(c.full(r, n))).join(","));
    return lines.join("\r\n") + "\r\n";
  }

  function update(r: TrialRecord, meta: Meta, bestNumber: number | null = null): void {
    const shape = `${r.nValues}|${r.params.map((p) => p.name).join("\u0000")}|${(meta.objective_names ?? []).join()}`;
    if (shape !== builtFor.split("#")[0] || rec !== r) {
      if (rec !== r) notes = trialNotes();
      rec = r;
      all = columnsFor(r, meta, notes);
      columns = all.filter((c) => !hiddenColumns.has(c.key));
      drawChooser();
      drawHead();
    }
    notes?.update(r);
    const key = `${shape}#${r.version}#${bestNumber}`;
    if (key !== builtFor && !all.some((c) => c.key === "constraint") && hasConstraints(r)) {
      // The first constrained trial: its column and the feasibility filters appear.
      all = columnsFor(r, meta, notes);
      columns = all.filter((c) => !hiddenColumns.has(c.key));
      drawChooser();
      drawHead();
    }
    if (!feasibilityOptions && all.some((c) => c.key === "constraint")) {
      feasibilityOptions = true;
      filter.append(h("option", { value: String(FEASIBLE) }, "complete, feasible"), h("option", { value: String(INFEASIBLE) }, "complete, infeasible"));
    }
    if (key === builtFor) return;
    builtFor = key;
    best = bestNumber;
    refresh(r);
  }

  return { el, update, drawWindow, csv };
}
