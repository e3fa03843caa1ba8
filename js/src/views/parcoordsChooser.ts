// The axis chooser of parallel coordinates: past MAX_DEFAULT_AXES parameters the view draws the
// most important (or the first) ones, and this button and list pick others. Styles are inline
// (theme variables of the panel's root), so the view needs no rule in the panel's style sheet.

import { formatNumber } from "../model/derive";
import { MAX_AXES, MAX_DEFAULT_AXES } from "./parcoords";

export interface AxisChooser {
  el: HTMLElement;
  /** Shows the button when there are more parameters than the default draws. */
  update(available: string[], shown: string[], importance?: Record<string, number>): void;
}

function style(el: HTMLElement, css: Partial<CSSStyleDeclaration>): void {
  Object.assign(el.style, css);
}

/** `onChange(names)`: the user's choice, in the given order; null: back to the default. */
export function createAxisChooser(onChange: (names: string[] | null) => void): AxisChooser {
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.role = "pc-axes";
  button.setAttribute("aria-haspopup", "true");
  style(button, { font: "inherit", fontSize: "12px", padding: "1px 8px", cursor: "pointer" });
  const list = document.createElement("div");
  list.dataset.role = "pc-axes-list";
  list.hidden = true;
  style(list, {
    position: "absolute", right: "0", bottom: "24px", maxHeight: "260px", overflowY: "auto", minWidth: "180px",
    maxWidth: "320px", padding: "4px 6px", fontSize: "12px", background: "var(--om-bg, #fff)",
    color: "var(--om-fg, #1f1f1f)", border: "1px solid var(--om-border, #dcdcdc)", borderRadius: "4px",
    boxShadow: "0 2px 6px rgba(0,0,0,0.25)", textAlign: "left",
  });
  const el = document.createElement("div");
  el.className = "om-pc-chooser";
  style(el, { position: "absolute", right: "4px", bottom: "3px", zIndex: "2" });
  el.append(list, button);
  el.hidden = true;

  let available: string[] = [];
  let shown = new Set<string>();
  button.addEventListener("click", () => (list.hidden = !list.hidden));
  el.addEventListener("keydown", (e) => {
    if (e.key === "Escape") list.hidden = true;
  });

  const action = (text: string, names: () => string[] | null) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    style(b, { font: "inherit", fontSize: "11px", padding: "0 6px", marginRight: "4px" });
    b.addEventListener("click", () => onChange(names()));
    return b;
  };

  function update(all: string[], drawn: string[], importance: Record<string, number> = {}): void {
    el.hidden = all.length <= MAX_DEFAULT_AXES;
    const key = `${all.join("\u0000")}|${drawn.join("\u0000")}|${JSON.stringify(importance)}`;
    if (el.dataset.key === key) return;
    el.dataset.key = key;
    available = all;
    shown = new Set(drawn);
    button.textContent = `Axes: ${drawn.length} of ${all.length} ▾`;
    button.title = "Choose which parameters get an axis";
    const rated = Object.keys(importance).length > 0;
    const head = document.createElement("div");
    style(head, { marginBottom: "4px", whiteSpace: "nowrap" });
    head.append(
      action(rated ? "Most important" : `First ${MAX_DEFAULT_AXES}`, () => null),
      action("All", () => available.slice(0, MAX_AXES)),
    );
    const items = available.map((name) => {
      const row = document.createElement("label");
      style(row, { display: "flex", gap: "6px", alignItems: "center", whiteSpace: "nowrap" });
      row.title = name;
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = shown.has(name);
      box.addEventListener("change", () => {
        const next = new Set(shown);
        if (box.checked) next.add(name);
        else next.delete(name);
        onChange(available.filter((n) => next.has(n)).slice(0, MAX_AXES));
      });
      const text = document.createElement("span");
      style(text, { overflow: "hidden", textOverflow: "ellipsis", flex: "1" });
      text.textContent = name;
      row.append(box, text);
      if (Object.prototype.hasOwnProperty.call(importance, name)) {
        const v = document.createElement("span");
        style(v, { color: "var(--om-muted, #6b6b6b)" });
        v.textContent = formatNumber(Number(importance[name].toFixed(3)));
        row.append(v);
      }
      return row;
    });
    list.replaceChildren(head, ...items);
  }

  return { el, update };
}
