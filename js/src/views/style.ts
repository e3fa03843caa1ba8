// The panel's stylesheet, scoped under .optuna-magic. Colours come from JupyterLab (--jp-*) or
// VS Code (--vscode-*) theme variables, with light fallbacks for other front ends.

export const CSS = `
.optuna-magic {
  --om-bg: var(--jp-layout-color0, var(--vscode-editor-background, #fff));
  --om-bg2: var(--jp-layout-color2, var(--vscode-editorWidget-background, #f3f3f3));
  --om-fg: var(--jp-ui-font-color1, var(--vscode-editor-foreground, #1f1f1f));
  --om-muted: var(--jp-ui-font-color2, var(--vscode-descriptionForeground, #6b6b6b));
  --om-border: var(--jp-border-color2, var(--vscode-panel-border, #dcdcdc));
  --om-accent: var(--jp-brand-color1, var(--vscode-focusBorder, #1f77b4));
  --om-error: var(--jp-error-color1, var(--vscode-errorForeground, #d62728));
  --om-warn: var(--jp-warn-color1, var(--vscode-editorWarning-foreground, #b45309));
  font-family: var(--jp-ui-font-family, var(--vscode-font-family, system-ui, sans-serif));
  font-size: var(--jp-ui-font-size1, 13px);
  color: var(--om-fg);
  background: var(--om-bg);
  border: 1px solid var(--om-border);
  border-radius: 4px;
  padding: 8px 10px;
  box-sizing: border-box;
  max-width: 100%;
  /* One height from the first paint to the end of the run, whatever the tab or the trials:
     the notebook below never jumps. The view area takes what the header leaves. */
  height: var(--om-height, 640px);
  display: flex;
  flex-direction: column;
}
.optuna-magic > .om-header, .optuna-magic > .om-tabs { flex: none; }
.optuna-magic * { box-sizing: border-box; }
.optuna-magic .om-row { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin: 2px 0; }
.optuna-magic .om-spacer { flex: 1; }
.optuna-magic .om-title { font-weight: 600; font-size: 1.1em; overflow-wrap: anywhere; }
.optuna-magic .om-chips { display: flex; flex-wrap: wrap; gap: 2px 4px; }
.optuna-magic .om-chip { border: 1px solid var(--om-border); border-radius: 10px; padding: 0 8px; color: var(--om-muted); white-space: nowrap; max-width: 100%; overflow: hidden; text-overflow: ellipsis; }
.optuna-magic .om-state { border-radius: 3px; padding: 0 6px; font-weight: 600; background: var(--om-bg2); }
.optuna-magic .om-state[data-state=running] { color: #2ca02c; }
.optuna-magic .om-state[data-state=stopping] { color: #ff7f0e; }
.optuna-magic .om-state[data-state=failed], .optuna-magic .om-state[data-state=interrupted] { color: var(--om-error); }
.optuna-magic .om-progress { font-variant-numeric: tabular-nums; font-weight: 600; }
.optuna-magic .om-rate, .optuna-magic .om-counts, .optuna-magic .om-muted { color: var(--om-muted); }
.optuna-magic .om-bar { height: 4px; background: var(--om-bg2); border-radius: 2px; margin: 4px 0; overflow: hidden; }
.optuna-magic .om-bar-fill { height: 100%; background: var(--om-accent); width: 0; transition: width 0.2s; }
.optuna-magic .om-best { margin: 2px 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.optuna-magic .om-improving { margin: 2px 0; color: var(--om-muted); min-height: 1.3em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.optuna-magic .om-improving[data-state=stalled] { color: var(--om-warn); }
.optuna-magic .om-error:empty, .optuna-magic .om-note:empty { display: none; }
.optuna-magic .om-note { color: var(--om-muted); }
.optuna-magic .om-error { color: var(--om-error); white-space: pre-wrap; }
.optuna-magic button, .optuna-magic select {
  font: inherit; color: var(--om-fg); background: var(--om-bg2); border: 1px solid var(--om-border);
  border-radius: 3px; padding: 1px 8px; cursor: pointer;
}
.optuna-magic button:disabled { opacity: 0.5; cursor: default; }
.optuna-magic .om-tabs { display: flex; flex-wrap: nowrap; align-items: flex-end; gap: 6px; border-bottom: 1px solid var(--om-border); margin-top: 6px; overflow: hidden; }
.optuna-magic .om-tab-strip { display: flex; flex-wrap: nowrap; gap: 2px; min-width: 0; }
.optuna-magic .om-tab { border: none; border-bottom: 2px solid transparent; border-radius: 0; background: none; color: var(--om-muted); white-space: nowrap; flex: none; }
.optuna-magic .om-tab[hidden], .optuna-magic .om-more[hidden] { display: none; }
.optuna-magic .om-more { flex: none; margin-bottom: 2px; max-width: 9em; }
.optuna-magic .om-tab[aria-selected=true] { color: var(--om-fg); border-bottom-color: var(--om-accent); }
.optuna-magic .om-view-area { position: relative; flex: 1 1 0; min-height: 0; display: flex; flex-direction: column; }
.optuna-magic .om-view { padding-top: 6px; flex: 1 1 0; min-height: 0; overflow: auto; }
.optuna-magic .om-detail {
  position: absolute; top: 4px; right: 0; bottom: 0; width: min(420px, 70%); z-index: 2; overflow: auto;
  background: var(--om-bg); border: 1px solid var(--om-border); border-radius: 4px; padding: 6px 10px;
  box-shadow: 0 2px 8px rgba(0, 0, 0, 0.25);
}
.optuna-magic .om-detail[hidden] { display: none; }
.optuna-magic .om-detail-head { display: flex; align-items: center; gap: 8px; font-weight: 600; margin-bottom: 4px; }
.optuna-magic .om-detail-close { padding: 0 6px; }
.optuna-magic .om-detail-section { font-weight: 600; margin: 8px 0 2px; }
.optuna-magic table.om-detail-table { border-collapse: collapse; width: 100%; }
.optuna-magic table.om-detail-table th { text-align: left; font-weight: normal; color: var(--om-muted); padding: 1px 10px 1px 0; white-space: nowrap; vertical-align: top; }
.optuna-magic table.om-detail-table td { padding: 1px 0; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
.optuna-magic .om-dict { font-family: var(--jp-code-font-family, monospace); font-size: 12px; overflow-wrap: anywhere; }
.optuna-magic .om-curve { width: 100%; height: 70px; background: var(--om-bg2); border-radius: 3px; }
.optuna-magic .om-curve-line { fill: none; stroke: var(--om-accent); stroke-width: 1.5; }
.optuna-magic .om-search { font: inherit; color: var(--om-fg); background: var(--om-bg); border: 1px solid var(--om-border); border-radius: 3px; padding: 1px 6px; width: 12em; }
.optuna-magic details.om-columns { position: relative; }
.optuna-magic details.om-columns > summary { cursor: pointer; color: var(--om-muted); }
.optuna-magic .om-columns-list {
  position: absolute; z-index: 3; background: var(--om-bg); border: 1px solid var(--om-border); border-radius: 3px;
  padding: 4px 8px; max-height: 240px; overflow: auto; display: flex; flex-direction: column; white-space: nowrap;
}
.optuna-magic .om-tr { cursor: pointer; }
.optuna-magic .om-tr[data-best=true] { font-weight: 600; }
.optuna-magic .om-tr[data-best=true] .om-td:first-child { color: var(--om-accent); }
.optuna-magic .om-controls { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-bottom: 4px; }
.optuna-magic .om-note:empty { display: none; }
.optuna-magic .om-note { color: var(--om-muted); margin: 2px 0; }
.optuna-magic .om-view-body { display: flex; flex-direction: column; height: 100%; }
.optuna-magic .om-plot { width: 100%; flex: 1 1 auto; min-height: 260px; }
.optuna-magic .om-pc { position: relative; overflow: hidden; user-select: none; -webkit-user-select: none; }
.optuna-magic .om-pc-lines, .optuna-magic .om-pc-axes { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }
.optuna-magic .om-pc-axes { pointer-events: none; overflow: visible; font-family: inherit; }
.optuna-magic .om-pc-axes text { pointer-events: auto; }
.optuna-magic .om-pc-line { stroke: var(--om-pc-fg); stroke-opacity: 0.6; }
.optuna-magic .om-pc-tick { fill: var(--om-pc-fg); font-size: 11px; paint-order: stroke; stroke: var(--om-pc-bg); stroke-width: 3px; stroke-linejoin: round; }
.optuna-magic .om-pc-title { fill: var(--om-pc-fg); font-size: 12px; font-weight: 600; }
.optuna-magic .om-pc-bar-title { fill: var(--om-pc-fg); font-size: 12px; }
.optuna-magic .om-pc-bar { stroke: var(--om-pc-fg); stroke-opacity: 0.3; }
.optuna-magic .om-pc-brush { fill: var(--om-pc-accent); fill-opacity: 0.25; stroke: var(--om-pc-accent); stroke-width: 1.5; }
.optuna-magic .om-pc-highlight { fill: none; stroke: var(--om-pc-fg); stroke-width: 2.5; stroke-linejoin: round; }
.optuna-magic .om-pc-selection { position: absolute; left: 4px; bottom: 4px; color: var(--om-muted); font-size: 12px; pointer-events: none; }
.optuna-magic .om-pc-tip {
  position: absolute; left: 0; top: 0; z-index: 1; pointer-events: none; max-width: 360px; overflow: hidden;
  background: var(--om-bg); color: var(--om-fg); border: 1px solid var(--om-border); border-radius: 3px;
  padding: 4px 8px; font-size: 12px; white-space: nowrap; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.25);
}
.optuna-magic .om-pc-tip[hidden] { display: none; }
.optuna-magic .om-pc-tip > div { overflow: hidden; text-overflow: ellipsis; }
.optuna-magic .om-pc-tip-head { font-weight: 600; }
.optuna-magic .om-toolbar { display: flex; gap: 8px; align-items: center; margin-bottom: 4px; flex-wrap: wrap; }
.optuna-magic .om-thead, .optuna-magic .om-tr { display: grid; grid-template-columns: var(--om-columns); height: 24px; align-items: center; }
.optuna-magic .om-thead { font-weight: 600; border-bottom: 1px solid var(--om-border); }
.optuna-magic .om-th { cursor: pointer; user-select: none; padding: 0 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.optuna-magic .om-td { padding: 0 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-variant-numeric: tabular-nums; }
.optuna-magic .om-table { display: flex; flex-direction: column; height: 100%; }
.optuna-magic .om-scroll { position: relative; flex: 1 1 auto; min-height: 200px; overflow: auto; contain: strict; }
.optuna-magic .om-window { position: absolute; top: 0; left: 0; right: 0; will-change: transform; }
.optuna-magic .om-tr:nth-child(even) { background: var(--om-bg2); }
.optuna-magic .om-tr[data-state=PRUNED] .om-td:nth-child(2) { color: #ff7f0e; }
.optuna-magic .om-tr[data-state=FAIL] .om-td:nth-child(2) { color: var(--om-error); }
.optuna-magic .om-tr[data-state=RUNNING] .om-td:nth-child(2) { color: #2ca02c; }
.optuna-magic .om-tr[data-infeasible=true] { color: var(--om-muted, #8c8c8c); box-shadow: inset 3px 0 0 #8c8c8c; }
.optuna-magic .om-events { overflow: auto; margin: 0; padding-left: 0; list-style: none; }
.optuna-magic .om-event { padding: 2px 0; border-bottom: 1px solid var(--om-border); overflow-wrap: anywhere; }
.optuna-magic .om-event-failed { color: var(--om-error); }
.optuna-magic .om-clickable { cursor: pointer; }
.optuna-magic .om-traceback { white-space: pre-wrap; font-family: var(--jp-code-font-family, monospace); font-size: 12px; color: var(--om-fg); background: var(--om-bg2); padding: 6px; margin: 4px 0; max-height: 300px; overflow: auto; }
.optuna-magic table.om-space { border-collapse: collapse; }
.optuna-magic table.om-space th, .optuna-magic table.om-space td { text-align: left; padding: 2px 12px 2px 0; border-bottom: 1px solid var(--om-border); overflow-wrap: anywhere; }
.optuna-magic .om-steer { gap: 8px; align-items: center; margin-top: 4px; }
.optuna-magic .om-steer[hidden], .optuna-magic .om-steer-controls[hidden] { display: none; }
.optuna-magic .om-steer-controls { display: inline-flex; gap: 6px; align-items: center; }
.optuna-magic .om-more-n { width: 6em; }
.optuna-magic .om-param-field { width: 14em; font-family: var(--jp-code-font-family, monospace); }
.optuna-magic .om-invalid { outline: 1px solid var(--om-bad, #c62828); }
.optuna-magic [data-state=refused], .optuna-magic [data-state="no kernel"] { color: var(--om-bad, #c62828); }
`;
