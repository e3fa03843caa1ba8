// One trial, opened from a row, a point or a line: its parameters at full precision, values,
// state, duration, user attributes, intermediate values as a small curve, the traceback of a
// failed trial, and its parameters as a Python dict to copy. What the record has is shown at
// once; user attributes and the traceback come from the kernel (a "trial" request).
// Where the kernel side can enqueue (meta.steer), the parameters are editable fields, checked
// against each parameter's distribution, and "Enqueue" puts them in the study's queue: they run
// first in the next run (the kernel checks them again).

import { formatNumber, objectiveName, type Meta } from "../model/derive";
import { FAIL, STATE_NAMES, type TrialRecord } from "../model/record";
import type { ParamHeader } from "../protocol";
import { h } from "./dom";
import type { Steering } from "./steer";

export interface TrialDetail {
  el: HTMLElement;
  /** The trial shown now (null: closed). */
  readonly number: number | null;
  open(rec: TrialRecord, meta: Meta, n: number): void;
  /** The kernel's answer to the "trial" request. */
  receive(n: number, traceback: string, userAttrs: Record<string, unknown>): void;
  close(): void;
}

/** A value as Python writes it, so "copy as dict" pastes into a cell as it is. */
export function pythonLiteral(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "float('nan')";
    if (!Number.isFinite(v)) return v > 0 ? "float('inf')" : "float('-inf')";
    return String(v);
  }
  const s = String(v);
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n")}'`;
}

/** The trial's parameters as {name: value}: numbers at full precision, choices as labels. */
export function trialParams(rec: TrialRecord, n: number): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  rec.params.forEach((p, j) => {
    const v = rec.paramValues[j]?.[n];
    if (v === undefined || Number.isNaN(v)) return; // not set in this trial
    out[p.name] = p.choices ? (p.choices[v] ?? String(v)) : p.kind === "int" ? Math.round(v) : v;
  });
  return out;
}

/** `{'lr': 0.001, 'act': 'relu'}` */
export function paramsDict(params: Record<string, number | string>): string {
  return `{${Object.entries(params).map(([k, v]) => `${pythonLiteral(k)}: ${pythonLiteral(v)}`).join(", ")}}`;
}

/** The trial's intermediate values, in step order. */
export function trialCurve(rec: TrialRecord, n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < rec.intCount; i++) if (rec.intTrial[i] === n) out.push([rec.intStep[i], rec.intValue[i]]);
  return out.sort((a, b) => a[0] - b[0]);
}

/** An edited parameter as the kernel takes it (a choice by its label), or what is wrong with it. */
export function checkParam(p: ParamHeader, text: string): { value: number | string } | { error: string } {
  if (p.choices) {
    return p.choices.includes(text) ? { value: text } : { error: `${p.name} must be one of ${p.choices.join(", ")}` };
  }
  const trimmed = text.trim();
  const v = Number(trimmed);
  if (!trimmed || !Number.isFinite(v)) return { error: `${p.name} must be a number, not ${JSON.stringify(text)}` };
  if (p.kind === "int" && !Number.isInteger(v)) return { error: `${p.name} must be a whole number, not ${trimmed}` };
  if (p.low !== undefined && p.high !== undefined) {
    if (v < p.low || v > p.high) return { error: `${p.name} must be from ${p.low} to ${p.high}, not ${trimmed}` };
    const step = p.step ?? null;
    if (step !== null && !(p.kind === "int" && step === 1)) {
      const k = (v - p.low) / step;
      if (Math.abs(k - Math.round(k)) > 1e-8) return { error: `${p.name} must be ${p.low} plus a multiple of ${step}, not ${trimmed}` };
    }
  }
  return { value: v };
}

/** The editable field of one parameter: a select of its choices, or a text field (full precision). */
function paramField(p: ParamHeader, value: number | string | undefined): HTMLInputElement | HTMLSelectElement {
  if (p.choices) {
    // A trial that did not set it: nothing chosen, so the sampler picks it.
    const unset = value === undefined ? [h("option", { value: "" }, "not set")] : [];
    const select = h("select", { "data-param": p.name, "aria-label": p.name }, ...unset, ...p.choices.map((c) => h("option", { value: c }, c)));
    select.value = value === undefined ? "" : String(value);
    return select;
  }
  return h("input", {
    type: "text", inputmode: p.kind === "int" ? "numeric" : "decimal", class: "om-param-field",
    "data-param": p.name, "aria-label": p.name, title: p.distribution || p.kind, value: value === undefined ? "" : String(value),
  });
}

/** The enqueue section: the fields' values checked, sent, and the kernel's answer shown. */
function enqueueSection(fields: Array<[ParamHeader, HTMLInputElement | HTMLSelectElement]>, steering: Steering): HTMLElement {
  const message = h("span", { class: "om-muted", "data-role": "enqueue-message" });
  const button = h("button", { type: "button", "data-role": "enqueue", title: "Run these parameters first in the next run" }, "Enqueue");
  button.addEventListener("click", () => {
    const params: Record<string, string | number> = {};
    for (const [p, field] of fields) {
      if (!field.value.trim()) continue; // left empty: the sampler picks it
      const checked = checkParam(p, field.value);
      field.classList.toggle("om-invalid", "error" in checked);
      if ("error" in checked) return void (message.textContent = checked.error);
      params[p.name] = checked.value;
    }
    if (Object.keys(params).length === 0) return void (message.textContent = "no parameters to enqueue");
    button.disabled = true;
    message.textContent = "asking the kernel…";
    void steering.enqueue(params).then((answer) => {
      button.disabled = false;
      message.textContent = answer.message;
      message.dataset.state = answer.state;
    });
  });
  return h("div", { class: "om-controls" }, button, message);
}

const SVG = "http://www.w3.org/2000/svg";

function curveSvg(points: Array<[number, number]>): SVGSVGElement {
  const w = 260;
  const hgt = 70;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("class", "om-curve");
  svg.setAttribute("data-role", "trial-curve");
  const finite = points.filter(([, v]) => Number.isFinite(v));
  if (finite.length === 0) return svg;
  const xs = finite.map((p) => p[0]);
  const ys = finite.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => 4 + ((x - x0) / (x1 - x0 || 1)) * (w - 8);
  const sy = (y: number) => hgt - 4 - ((y - y0) / (y1 - y0 || 1)) * (hgt - 8);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", finite.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" "));
  line.setAttribute("class", "om-curve-line");
  svg.append(line);
  return svg;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (an insecure origin, an old webview): the selection and copy command.
    const area = h("textarea", {}) as HTMLTextAreaElement;
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand?.("copy") ?? false;
    area.remove();
    return ok;
  }
}

export function createTrialDetail(request: (n: number) => void, steering: Steering | null = null): TrialDetail {
  const title = h("span", { class: "om-detail-title" });
  const close = h("button", { type: "button", class: "om-detail-close", "aria-label": "Close", title: "Close" }, "×");
  const body = h("div", { class: "om-detail-body" });
  const el = h("div", { class: "om-detail", "data-role": "trial-detail", hidden: true },
    h("div", { class: "om-detail-head" }, title, h("span", { class: "om-spacer" }), close), body);
  let shown: number | null = null;
  let attrsBox: HTMLElement | null = null;
  let tracebackBox: HTMLElement | null = null;
  close.addEventListener("click", () => api.close());

  const row = (label: string, value: string | Node, role?: string) =>
    h("tr", {}, h("th", {}, label), h("td", role ? { "data-role": role } : {}, value));

  const api: TrialDetail = {
    el,
    get number() {
      return shown;
    },
    open(rec, meta, n) {
      shown = n;
      el.hidden = false;
      el.dataset.number = String(n);
      const state = STATE_NAMES[rec.state[n]] ?? "";
      title.textContent = `Trial ${n}`;
      const values = h("table", { class: "om-detail-table" });
      for (let i = 0; i < rec.nValues; i++) {
        const v = rec.values[i]?.[n];
        values.append(row(objectiveName(meta, i), v === undefined || Number.isNaN(v) ? "—" : String(v)));
      }
      values.append(row("state", state, "trial-state"));
      const largest = rec.constraint[n]; // NaN: no constraint set (then feasible, as in Optuna)
      if (!Number.isNaN(largest)) values.append(row("constraints", `${largest > 0 ? "infeasible" : "feasible"}: largest ${formatNumber(largest)}`, "trial-constraints"));
      const start = rec.start[n];
      if (Number.isFinite(start)) values.append(row("started", new Date(start * 1000).toLocaleString()));
      const duration = rec.duration[n];
      if (Number.isFinite(duration)) values.append(row("duration", `${duration} s`));
      const params = trialParams(rec, n);
      const paramTable = h("table", { class: "om-detail-table", "data-role": "trial-params" });
      const editable = steering !== null && (meta.steer ?? []).includes("enqueue");
      const fields: Array<[ParamHeader, HTMLInputElement | HTMLSelectElement]> = [];
      for (const p of rec.params) {
        const v = params[p.name];
        if (editable) {
          const field = paramField(p, v);
          fields.push([p, field]);
          paramTable.append(row(p.name, h("span", {}, field, " ", h("span", { class: "om-muted" }, p.distribution ?? ""))));
        } else paramTable.append(row(p.name, v === undefined ? "not set" : String(v)));
      }
      const dict = paramsDict(params);
      const copied = h("span", { class: "om-muted" });
      const copy = h("button", { type: "button", "data-role": "copy-params", title: "Copy the parameters as a Python dict" }, "Copy as dict");
      copy.addEventListener("click", () => {
        void copyText(dict).then((ok) => (copied.textContent = ok ? "copied" : "select the text to copy"));
      });
      const curve = trialCurve(rec, n);
      attrsBox = h("div", { class: "om-muted", "data-role": "trial-attrs" }, "loading…");
      tracebackBox = rec.state[n] === FAIL ? h("pre", { class: "om-traceback", "data-role": "trial-traceback" }, "loading…") : null;
      const parts: Array<Node | string | null> = [
        values,
        h("div", { class: "om-detail-section" }, "Parameters"),
        paramTable,
        editable && steering ? enqueueSection(fields, steering) : null,
        h("div", { class: "om-controls" }, h("code", { class: "om-dict", "data-role": "params-dict" }, dict), copy, copied),
        h("div", { class: "om-detail-section" }, `Intermediate values${curve.length ? ` (${curve.length})` : ""}`),
        curve.length ? curveSvg(curve) : h("div", { class: "om-muted" }, "none reported"),
        h("div", { class: "om-detail-section" }, "User attributes"),
        attrsBox,
        tracebackBox ? h("div", { class: "om-detail-section" }, "Traceback") : null,
        tracebackBox,
      ];
      body.replaceChildren(...parts.filter((p): p is Node | string => p !== null));
      request(n);
    },
    receive(n, traceback, userAttrs) {
      if (n !== shown) return;
      const entries = Object.entries(userAttrs);
      if (attrsBox) {
        attrsBox.className = entries.length ? "" : "om-muted";
        attrsBox.replaceChildren(
          ...(entries.length
            ? [h("table", { class: "om-detail-table" }, ...entries.map(([k, v]) => row(k, typeof v === "string" ? v : JSON.stringify(v))))]
            : ["none"]),
        );
      }
      if (tracebackBox) tracebackBox.textContent = traceback || "(no traceback)";
    },
    close() {
      shown = null;
      el.hidden = true;
      delete el.dataset.number;
    },
  };
  return api;
}
