"""A static snapshot of a finished run: HTML without scripts, and a one-line text summary.

The snapshot is what a reader sees where the live panel cannot render: a notebook reopened without
its kernel, ``jupyter nbconvert --to html``, GitHub's renderer. It therefore has to survive the
strictest of those renderers, JupyterLab's sanitizer for untrusted outputs, which

- drops ``<script>`` and ``<style>`` (so every style here is an inline ``style`` attribute, limited
  to colours, borders, spacing and fonts, and nothing can leak into the page),
- drops inline ``<svg>`` elements (they are not on its allow-list), but keeps ``<img>`` and does not
  check the scheme of ``src``: the history chart is an SVG document in a ``data:`` URI. An SVG
  loaded as an image never runs scripts or fetches anything, whatever it contains.

The HTML around the chart inherits the page's colours.

Data first, picture second (as ``optuna.visualization`` does): :func:`.info.snapshot_info` reduces
a study to a small :class:`.info.SnapshotInfo`; this module draws it as HTML, :mod:`.svg` draws its
chart, and :mod:`.summary` writes its text line. Every string that comes from the study (study
name, parameter names and values, objective names, errors) is escaped.
"""

from __future__ import annotations

import html
import re
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any

from optuna_magic.outputs.snapshot.info import SnapshotInfo, snapshot_info
from optuna_magic.outputs.snapshot.summary import (
    counts_text,
    cut,
    duration_text,
    number_text,
    param_text,
    summary_text,
)
from optuna_magic.outputs.snapshot.svg import HEIGHT, WIDTH, chart_svg

if TYPE_CHECKING:
    import optuna

    from optuna_magic.outputs.panel.record import TrialRecord
    from optuna_magic.run.runner import RunInfo, RunResult

__all__ = [
    "WIDGET_VIEW_MIMETYPE",
    "panel_bundle",
    "render_snapshot",
    "snapshot_bundle",
    "snapshot_placeholder",
]

WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"

# White text on these reads on light and dark pages alike.
_BADGE = {
    "finished": "#2f8a3e",
    "stopped": "#a86400",
    "interrupted": "#a86400",
    "failed": "#c0392b",
    "running": "#2a6fb0",
}
_FONT = "system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


# ------------------------------------------------------------------------- HTML
def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def render_snapshot(
    study: optuna.Study,
    info: RunInfo | None,
    result: RunResult | None,
    *,
    top: int = 10,
    run_id: str | None = None,
) -> str:
    """The run as static HTML: no scripts, no ``<style>``, no external resources.

    Args:
        study: the study.
        info: the run's description (sampler, pruner, storage, objective names, declared space).
        result: how the run ended.
        top: how many trials the table lists (the best ones; the Pareto front for several
            objectives).
        run_id: ties the snapshot to the panel output of the same cell (see
            :func:`snapshot_bundle`); adds ``data-run`` and the CSS scoped to it. ``None``: no
            ``<style>`` at all.

    Returns:
        An HTML fragment whose root is ``<div class="optuna-magic-snapshot">``; its parts carry
        classes ``om-snapshot-<part>`` (``header``, ``state``, ``counts``, ``error``, ``best``,
        ``chart``, ``top-trials``): classes, because sanitizers keep ``class`` but drop ``data-*``.
    """
    return _render(snapshot_info(study, info, result, top=top), run_id)


def _render(s: SnapshotInfo, run_id: str | None = None) -> str:
    muted = "opacity:0.75;"
    out: list[str] = [_scoped_css(run_id)] if run_id else []
    run_attr = f' data-run="{_e(run_id)}"' if run_id else ""
    out += [
        f'<div class="optuna-magic-snapshot"{run_attr} data-study="{_e(s.study_name)}" '
        f'style="font-family:{_FONT};font-size:13px;line-height:1.45;'
        "border:1px solid rgba(128,128,128,0.45);border-radius:6px;padding:8px 12px;"
        'margin:2px 0;max-width:980px;overflow-x:auto;text-align:left;">'
    ]
    badge = _BADGE.get(s.state, "#6b6b6b")
    dirs = ", ".join(s.directions)
    meta = " \u00b7 ".join(_e(x) for x in (dirs, s.sampler, s.pruner, s.storage) if x)
    out.append(
        '<div class="om-snapshot-header" style="margin-bottom:4px;">'
        f'<strong style="font-size:14px;">{_e(s.study_name)}</strong> '
        f'<span class="om-snapshot-state" style="background-color:{badge};color:#ffffff;'
        'border-radius:3px;padding:1px 6px;font-size:12px;font-weight:bold;">'
        f"{_e(s.state)}</span> "
        f'<span style="{muted}">{meta}</span></div>'
    )
    total = (
        f"{s.n_trials_run} trials"
        if s.n_trials_run == s.n_trials_total
        else f"{s.n_trials_run} trials this run, {s.n_trials_total} in the study"
    )
    out.append(
        f'<div class="om-snapshot-counts">{_e(total)} in {_e(duration_text(s.elapsed))}: '
        f"{_e(counts_text(s.counts, s.n_infeasible))}</div>"
    )
    if s.error:
        out.append(
            '<pre class="om-snapshot-error" style="white-space:pre-wrap;color:#d9534f;margin:4px 0;'
            'padding:4px 6px;border-left:3px solid #d9534f;background-color:transparent;">'
            f"{_e(cut(s.error, 2000))}</pre>"
        )
    out.append(_render_best(s))
    out.append(_render_chart(s))
    out.append(_render_table(s))
    out.append(
        f'<div style="{muted}font-size:11px;margin-top:4px;">Static snapshot of the run; '
        "the live panel needs the notebook's kernel.</div></div>"
    )
    return "".join(out)


def _params_inline(params: dict[str, Any]) -> str:
    return ", ".join(
        f"<code>{_e(cut(k))}</code>\u00a0=\u00a0<code>{_e(param_text(v))}</code>"
        for k, v in params.items()
    )


def _render_best(s: SnapshotInfo) -> str:
    if not s.best:
        none = "No feasible trial." if s.n_infeasible else "No completed trial."
        return f'<div class="om-snapshot-best">{none}</div>'
    if len(s.directions) == 1:
        b = s.best[0]
        params = _params_inline(b.params)
        return (
            f'<div class="om-snapshot-best">Best {"feasible " if s.n_infeasible else ""}'
            f"{_e(s.objective_names[0])} "
            f"<strong>{_e(number_text(b.values[0]))}</strong> at trial {b.number}"
            f"{': ' + params if params else ''}</div>"
        )
    return (
        f'<div class="om-snapshot-best">Pareto front: <strong>{s.n_best}</strong> '
        f"trial{'s' if s.n_best != 1 else ''} ({_e(', '.join(s.directions))})</div>"
    )


def _render_table(s: SnapshotInfo) -> str:
    if not s.top:
        return ""
    cell = "padding:2px 8px;border-bottom:1px solid rgba(128,128,128,0.3);"
    num = cell + "text-align:right;font-variant-numeric:tabular-nums;"
    value_heads = s.objective_names
    head = [f'<th style="{num}">trial</th>']
    head += [f'<th style="{num}">{_e(cut(n))}</th>' for n in value_heads]
    head += [f'<th style="{cell}text-align:left;">{_e(cut(p))}</th>' for p in s.param_names]
    rows = []
    for r in s.top:
        # An infeasible trial (listed after the feasible ones) is greyed and says so.
        mark = (
            ' style="color:#8c8c8c;" title="infeasible: breaks a constraint"'
            if r.infeasible
            else ""
        )
        tds = [f'<td style="{num}">{r.number}{" (infeasible)" if r.infeasible else ""}</td>']
        tds += [f'<td style="{num}">{_e(number_text(v))}</td>' for v in r.values]
        tds += [
            f'<td style="{cell}text-align:left;">'
            f"{_e(param_text(r.params[p])) if p in r.params else ''}</td>"
            for p in s.param_names
        ]
        rows.append(f"<tr{mark}>" + "".join(tds) + "</tr>")
    if len(s.directions) == 1:
        title = f"Top {len(s.top)} trials"
    else:
        title = f"Pareto-optimal trials ({len(s.top)} of {s.n_best})"
    hidden = f", {s.n_hidden_params} more parameters not shown" if s.n_hidden_params else ""
    return (
        '<table class="om-snapshot-top-trials" style="border-collapse:collapse;margin-top:6px;'
        'font-size:12px;">'
        f'<caption style="text-align:left;font-weight:bold;padding:2px 0;">{_e(title)}'
        f"{_e(hidden)}</caption>"
        f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _render_chart(s: SnapshotInfo) -> str:
    c = s.chart
    if c is None or not (c.points or c.highlight):
        return ""
    svg = chart_svg(c)
    # Not base64 (a third larger); '#' stays encoded, it would start the URI's fragment.
    uri = "data:image/svg+xml," + urllib.parse.quote(svg, safe=" /=:,.-();'")
    if c.kind == "history":
        alt = f"Optimization history of {c.n_points} completed trials with the best value so far"
    else:
        alt = f"Pareto front: {c.y_label} against {c.x_label}, {c.n_points} completed trials"
    return (
        '<div class="om-snapshot-chart" style="margin-top:6px;">'
        f'<img src="{_e(uri)}" alt="{_e(alt)}" '
        f'width="{WIDTH}" height="{HEIGHT}" style="max-width:100%;height:auto;"></div>'
    )


# ----------------------------------------------------------------------- bundle
def _scoped_css(run_id: str) -> str:
    """CSS that lets the live panel and the snapshot stand in for each other, without a script.

    Every selector is scoped to this run's snapshot (``[data-run=...]``) and to the output list
    of its own cell, so nothing leaks into the page. Each host wraps every output of a cell in
    a sibling element of its own, and the rules name those wrappers: ``.jp-OutputArea-child``
    (JupyterLab, Notebook 7) and ``.output_container`` (VS Code's notebook webview, where every
    output of the page shares one document). Rendered only where outputs are trusted
    (JupyterLab and Notebook 7 drop ``<style>`` from untrusted HTML; there the widget view is
    not chosen either, so there is nothing to hide):

    - while a live panel (``.optuna-magic``) is shown in an earlier output of the cell, the
      snapshot's output is hidden: the panel already shows all of it (every host);
    - when the cell's widget view cannot render in JupyterLab or Notebook 7 (notebook
      reopened, kernel restarted: the widget manager shows "Error displaying widget: model not
      found", or "Loading widget..." forever without a kernel), that output is hidden and the
      snapshot shows instead. VS Code needs no rule for it: its widget renderer falls back to
      the output's next MIME type (the empty ``text/plain``) when the kernel has no such model.

    ``:has()`` cannot be nested, hence the last rule hides the stuck renderer node itself.
    Browsers without ``:has()`` (Firefox < 121) ignore the rules: both outputs show.
    """
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", run_id):
        raise ValueError(f"run_id must be a short token of letters, digits, - or _: {run_id!r}")
    mine = f'.optuna-magic-snapshot[data-run="{run_id}"]'
    later = f":has(~ .jp-OutputArea-child {mine})"  # an output before this snapshot's
    # An output after it: where the panel's continued runs ("Run more") printed, an output
    # widget reserved at the end of the run.
    after = f".jp-OutputArea-child:has({mine}) ~ .jp-OutputArea-child"
    under_live_panel = ",".join(
        f"{box}:has(.optuna-magic) ~ {box}:has({mine})"
        for box in (".jp-OutputArea-child", ".output_container")
    )
    return (
        "<style>"
        f"{under_live_panel}"
        "{display:none}"
        f".jp-OutputArea-child:has(> .jp-OutputArea-output.jupyter-widgets){later}"
        "{display:none}"
        f".jp-OutputArea-child{later} > .jp-OutputArea-output.lm-Panel:not(:has(*)),"
        f"{after} > .jp-OutputArea-output.lm-Panel:not(:has(*))"
        "{display:none}"
        f"{after}:has(> .jp-OutputArea-output.jupyter-widgets)"
        "{display:none}"
        "</style>"
    )


def panel_bundle(model_id: str) -> dict[str, Any]:
    """The panel's own output: the widget view, with an empty ``text/plain``.

    Display it (``display(panel_bundle(panel.model_id), raw=True)``) as the cell's first output
    when the run starts. Where no widget can render (GitHub, nbconvert, an untrusted notebook)
    the empty text shows nothing, and the snapshot below says it all; the widget's default
    ``text/plain`` (its ``repr``) would show there as noise.
    """
    return {
        WIDGET_VIEW_MIMETYPE: {"version_major": 2, "version_minor": 1, "model_id": model_id},
        "text/plain": "",
    }


def snapshot_placeholder() -> dict[str, Any]:
    """The snapshot's output before the run ends: shown at run start, updated at run end.

    Displaying it with a display id when the run starts (right after :func:`panel_bundle`)
    reserves the snapshot's place in the cell, and ``handle.update(snapshot_bundle(...),
    raw=True)`` fills it at the end: an update of a known display also reaches the notebook
    when it is sent from the run's thread, where a new ``display`` could land in another cell.
    """
    return {"text/plain": ""}


def snapshot_bundle(
    study: optuna.Study,
    info: RunInfo | None,
    result: RunResult,
    *,
    top: int = 10,
    run_id: str | None = None,
    model_id: str | None = None,
    record: TrialRecord | None = None,
) -> dict[str, Any]:
    """The run's final output, as a raw MIME bundle for the snapshot's own output.

    The cell's outputs are: first the panel (:func:`panel_bundle`), then this one. Wire it as::

        # run start
        panel_out = display(panel_bundle(panel.model_id), raw=True, display_id=True)
        snap_out = display(snapshot_placeholder(), raw=True, display_id=True)
        # run end (any thread)
        snap_out.update(snapshot_bundle(study, info, result), raw=True)

    The panel's output is left as it is: updating it would make JupyterLab rebuild the live
    view. Who shows what:

    - live JupyterLab / Notebook 7 / VS Code: the panel; the snapshot's output is hidden by
      its CSS (VS Code's widget manager renders every output of the cell, the snapshot too);
    - VS Code with a notebook reopened without the kernel (or another kernel): its widget
      renderer falls back to the panel output's empty ``text/plain``; the snapshot shows;
    - notebook reopened by the same user (trusted), or kernel restarted: the widget manager
      cannot find the panel's model ("Error displaying widget: model not found"); the CSS
      hides that output and the snapshot shows;
    - untrusted notebook (someone else's): JupyterLab only uses "safe" renderers, so the panel
      output shows its empty ``text/plain`` and the snapshot shows, sanitized (no ``<style>``,
      inline styles kept, the chart is an ``<img>``, which the sanitizer keeps);
    - ``jupyter nbconvert --to html``: nbconvert skips a widget view whose model is not in the
      notebook's saved widget state: empty text, then the snapshot;
    - GitHub (``text/html``, never widgets): the snapshot;
    - a terminal: the ``text/plain`` line.

    Args:
        study: the study.
        info: the run's description.
        result: how the run ended.
        top: rows of the top-trials table.
        run_id: a token unique to this output (default: a fresh one); scopes the CSS.
        model_id: only for the older one-output layout (the snapshot in the panel's own
            output, next to the widget view): adds the widget view. Avoid it: a trusted
            notebook reopened then shows JupyterLab's widget error instead of the snapshot,
            because JupyterLab always prefers the widget view of a trusted output.
        record: as :func:`snapshot_info`'s.
    """
    s = snapshot_info(study, info, result, top=top, record=record)
    run_id = run_id or uuid.uuid4().hex
    bundle: dict[str, Any] = {"text/plain": summary_text(s), "text/html": _render(s, run_id)}
    if model_id:
        bundle.update({WIDGET_VIEW_MIMETYPE: panel_bundle(model_id)[WIDGET_VIEW_MIMETYPE]})
    return bundle
