"""A static snapshot of a finished run: HTML without scripts, and a one-line text summary.

The snapshot is what a reader sees where the live panel cannot render: a notebook reopened without
its kernel, ``jupyter nbconvert --to html``, GitHub's renderer. It therefore has to survive the
strictest of those renderers, JupyterLab's sanitizer for untrusted outputs, which

- drops ``<script>`` and ``<style>`` (so every style here is an inline ``style`` attribute, limited
  to colours, borders, spacing and fonts, and nothing can leak into the page),
- drops inline ``<svg>`` elements (they are not on its allow-list), but keeps ``<img>`` and does not
  check the scheme of ``src``: the history chart is an SVG document in a ``data:`` URI. An SVG
  loaded as an image never runs scripts or fetches anything, whatever it contains.

As an image, the chart cannot inherit the page's text colour, so it uses mid-tone colours that read
on light and dark backgrounds alike; the HTML around it inherits the page's colours.

Data first, picture second (as ``optuna.visualization`` does): :func:`snapshot_info` reduces a
study to a small :class:`SnapshotInfo`; :func:`render_snapshot` only draws it. Every string that
comes from the study (study name, parameter names and values, objective names, errors) is escaped.
"""

from __future__ import annotations

import html
import math
import re
import urllib.parse
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from optuna_magic.outputs.panel.record import TrialRecord
    from optuna_magic.run.runner import RunInfo, RunResult

__all__ = [
    "ChartInfo",
    "SnapshotInfo",
    "TrialRow",
    "panel_bundle",
    "render_snapshot",
    "snapshot_bundle",
    "snapshot_info",
    "snapshot_placeholder",
    "summary_line",
]

WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"

#: At most this many points are drawn per series, whatever the study's size (bounds the HTML).
MAX_CHART_POINTS = 800
#: Parameter columns shown in the top-trials table; the rest are counted, not shown.
MAX_PARAM_COLUMNS = 12
#: Longest parameter value or name shown before it is cut with an ellipsis.
MAX_TEXT = 60

_STATE_ORDER = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")
_STATE_LABEL = {
    "COMPLETE": "complete",
    "PRUNED": "pruned",
    "FAIL": "failed",
    "RUNNING": "running",
    "WAITING": "waiting",
}
# White text on these reads on light and dark pages alike.
_BADGE = {
    "finished": "#2f8a3e",
    "stopped": "#a86400",
    "interrupted": "#a86400",
    "failed": "#c0392b",
    "running": "#2a6fb0",
}
# Mid-tones: legible on white and on JupyterLab Dark's near-black.
_AXIS = "#8c8c8c"
_POINT = "#4a90d9"
_BEST = "#f08c2e"
_FONT = "system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


class TrialRow(NamedTuple):
    """One trial as the snapshot shows it."""

    number: int
    values: tuple[float, ...]
    params: dict[str, Any]


class ChartInfo(NamedTuple):
    """The points of the chart, already downsampled.

    ``kind`` is ``"history"`` (x: trial number, y: value; ``line`` is the best-so-far steps) or
    ``"pareto"`` (x, y: the first two objectives; ``highlight`` are Pareto-optimal trials).
    """

    kind: str
    points: list[tuple[float, float]]
    highlight: list[tuple[float, float]]
    line: list[tuple[float, float]]
    x_label: str
    y_label: str
    n_points: int  # before downsampling
    log_x: bool
    log_y: bool


class SnapshotInfo(NamedTuple):
    """Everything the snapshot shows, reduced from the study: small whatever the study's size."""

    study_name: str
    state: str
    directions: list[str]
    objective_names: list[str]
    sampler: str
    pruner: str
    storage: str
    n_trials_run: int
    n_trials_total: int
    elapsed: float
    counts: dict[str, int]
    error: str | None
    best: list[TrialRow]  # the best trial, or the Pareto front (several objectives)
    n_best: int  # Pareto front size before truncation (1 or 0 for one objective)
    top: list[TrialRow]
    param_names: list[str]
    n_hidden_params: int
    chart: ChartInfo | None


# --------------------------------------------------------------------------- data
class _Table(NamedTuple):
    """The study reduced to arrays: what every part of the snapshot is computed from."""

    numbers: np.ndarray  # the COMPLETE trials whose values are all numbers (no NaN), in order
    values: np.ndarray  # their values, one row each
    counts: dict[str, int]
    trials: list[FrozenTrial]  # all of them, in number order (read only for the rows shown)

    def trial(self, number: int) -> FrozenTrial:
        """The trial numbered ``number`` (numbers are dense: normally its index)."""
        if number < len(self.trials) and self.trials[number].number == number:
            return self.trials[number]
        return next(t for t in self.trials if t.number == number)


def _table(trials: list[FrozenTrial], n_obj: int, record: TrialRecord | None) -> _Table:
    from optuna.trial import TrialState

    if record is not None:
        # The panel's record already holds these as columns: no pass over the trials at all.
        counts = record.counts()
        numbers, values = record.complete_values()
    else:
        states = [t.state for t in trials]
        counts = {name: states.count(TrialState[name]) for name in _STATE_ORDER}
        done = TrialState.COMPLETE
        complete = [t for t, st in zip(trials, states, strict=True) if st is done]
        blank = [math.nan] * n_obj
        numbers = np.fromiter((t.number for t in complete), np.int64, len(complete))
        values = np.array(
            [
                v if v is not None and len(v) == n_obj else blank
                for v in (t.values for t in complete)
            ],
            np.float64,
        ).reshape(len(complete), n_obj)
    keep = np.logical_not(np.isnan(values).any(axis=1))
    if not keep.all():
        numbers, values = numbers[keep], values[keep]
    counts = {name: int(counts.get(name, 0)) for name in _STATE_ORDER}
    return _Table(numbers, values, counts, trials)


def snapshot_info(
    study: optuna.Study,
    info: RunInfo | None,
    result: RunResult | None,
    *,
    top: int = 10,
    chart: bool = True,
    record: TrialRecord | None = None,
) -> SnapshotInfo:
    """Reduce a study and its run to what the snapshot shows.

    Args:
        study: the study (any size; only a bounded summary is kept).
        info: the run's description; ``None`` for a study shown without a run.
        result: how the run ended; ``None`` reads as a study shown as it is now.
        top: how many trials the top-trials table lists.
        chart: whether to compute the chart's points (the text summary needs none).
        record: the live panel's record of every trial of the study, when it has seen them all
            (an in-memory study): states and values are read from its columns.
    """
    # This runs between the last trial and the end of the cell, so it is written for speed:
    # numpy over the values, and only the trials shown are read. At 10,000 trials, outside a
    # kernel: 10-13 ms from the trials (one pass over their attributes), ~2.5 ms from a record.
    trials = study.get_trials(deepcopy=False)
    directions = [d.name.lower() for d in study.directions]
    n_obj = len(directions)
    objective_names = list(info.objective_names) if info and info.objective_names else []
    if len(objective_names) != n_obj:
        objective_names = ["value"] if n_obj == 1 else [f"objective {i + 1}" for i in range(n_obj)]
    table = _table(trials, n_obj, record)
    values = table.values
    signs = [1.0 if d == "minimize" else -1.0 for d in directions]

    if n_obj == 1:
        top_trials = _ranked_head(table, signs[0] * values[:, 0], max(top, 1))
        best_trials = top_trials[:1] if top_trials and not _infeasible(top_trials[0]) else []
        n_best = len(best_trials)
        top_trials = top_trials[: max(top, 0)]
        chart_info = (
            _history_chart(table.numbers, values[:, 0], signs[0], objective_names[0])
            if len(table.numbers) and chart
            else None
        )
    else:
        try:
            pareto = list(study.best_trials)
        except Exception:  # a storage that cannot answer still gets a snapshot
            pareto = []
        pareto.sort(key=lambda t: (signs[0] * t.values[0], t.number))
        n_best = len(pareto)
        best_trials = pareto[: max(top, 0)]
        top_trials = best_trials
        chart_info = (
            _pareto_chart(table, pareto, objective_names) if len(table.numbers) and chart else None
        )

    param_names = _param_columns(info, top_trials)
    return SnapshotInfo(
        study_name=study.study_name,
        state=result.state if result is not None else "running",
        directions=directions,
        objective_names=objective_names,
        sampler=info.sampler if info else type(study.sampler).__name__,
        pruner=info.pruner if info else type(study.pruner).__name__,
        storage=info.storage if info else "",
        n_trials_run=result.n_trials_run if result is not None else len(trials),
        n_trials_total=len(trials),
        elapsed=result.elapsed if result is not None else 0.0,
        counts=table.counts,
        error=result.error if result is not None else None,
        best=[_row(t) for t in best_trials],
        n_best=n_best,
        top=[_row(t) for t in top_trials],
        param_names=param_names[:MAX_PARAM_COLUMNS],
        n_hidden_params=max(0, len(param_names) - MAX_PARAM_COLUMNS),
        chart=chart_info,
    )


def _infeasible(trial: FrozenTrial) -> bool:
    # Optuna keeps a constrained sampler's constraint values here; > 0 means violated.
    constraints = trial.system_attrs.get("constraints")
    if not constraints:
        return False
    return any(c > 0 for c in constraints)


def _row(trial: FrozenTrial) -> TrialRow:
    return TrialRow(trial.number, tuple(trial.values or ()), dict(trial.params))


def _param_columns(info: RunInfo | None, trials: Sequence[FrozenTrial]) -> list[str]:
    # The cell's declaration order first (what the user wrote), then dynamic names as they came.
    names: dict[str, None] = {}
    if info is not None:
        for spec in info.space:
            if not spec.dynamic:
                names[spec.name] = None
    seen: dict[str, None] = {}
    for t in trials:
        for name in t.params:
            seen[name] = None
    ordered = [n for n in names if n in seen] + [n for n in seen if n not in names]
    return ordered


def _ranked_head(table: _Table, keys: np.ndarray, k: int) -> list[FrozenTrial]:
    """The first ``k`` trials ordered by (infeasible, key, number): feasible best first.

    Only as many trials as it takes are read, and asked whether they break a constraint.
    """
    order = np.argsort(keys, kind="stable")  # the rows come in number order: ties by number
    feasible: list[FrozenTrial] = []
    infeasible: list[FrozenTrial] = []
    for number in table.numbers[order].tolist():
        t = table.trial(number)
        (infeasible if _infeasible(t) else feasible).append(t)
        if len(feasible) >= k:
            break
    return (feasible + infeasible)[:k]


def _history_chart(numbers: np.ndarray, values: np.ndarray, sign: float, y_label: str) -> ChartInfo:
    finite = np.isfinite(values)
    xs, ys = numbers[finite].astype(np.float64), values[finite]
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    best_steps: list[tuple[float, float]] = []
    if len(ys):
        keyed = sign * ys
        so_far = np.minimum.accumulate(keyed)
        # An improvement: strictly better than every earlier value.
        improved = np.flatnonzero(np.concatenate([[True], keyed[1:] < so_far[:-1]]))
        best_steps = list(zip(xs[improved].tolist(), ys[improved].tolist(), strict=True))
        if best_steps[-1][0] != xs[-1]:
            best_steps.append((float(xs[-1]), best_steps[-1][1]))  # carry the line to the last
    log_y = _wants_log(ys)
    return ChartInfo(
        kind="history",
        points=_envelope(xs, ys, MAX_CHART_POINTS),
        highlight=[],
        line=_thin_steps(best_steps, MAX_CHART_POINTS),
        x_label="trial",
        y_label=y_label,
        n_points=len(xs),
        log_x=False,
        log_y=log_y,
    )


def _pareto_chart(table: _Table, pareto: list[FrozenTrial], names: list[str]) -> ChartInfo:
    def xy(ts: list[FrozenTrial]) -> list[tuple[float, float]]:
        return [
            (float(t.values[0]), float(t.values[1]))
            for t in ts
            if math.isfinite(t.values[0]) and math.isfinite(t.values[1])
        ]

    front = np.fromiter((t.number for t in pareto), np.int64, len(pareto))
    rest = table.values[np.logical_not(np.isin(table.numbers, front))]
    rest = rest[np.isfinite(rest[:, 0]) & np.isfinite(rest[:, 1])]
    others = list(zip(rest[:, 0].tolist(), rest[:, 1].tolist(), strict=True))
    best = sorted(xy(pareto))
    return ChartInfo(
        kind="pareto",
        points=_stride(others, MAX_CHART_POINTS),
        highlight=_stride(best, MAX_CHART_POINTS),
        line=[],
        x_label=names[0],
        y_label=names[1],
        n_points=len(others) + len(best),
        log_x=_wants_log([p[0] for p in others + best]),
        log_y=_wants_log([p[1] for p in others + best]),
    )


def _wants_log(values: Sequence[float] | np.ndarray) -> bool:
    # A loss that falls over orders of magnitude is a flat line at zero on a linear axis.
    v = np.asarray(values, np.float64)
    return bool(v.size) and float(v.min()) > 0 and float(v.max() / v.min()) >= 1e3


def _envelope(xs: np.ndarray, ys: np.ndarray, limit: int) -> list[tuple[float, float]]:
    """The points ``(xs[i], ys[i])``, at most ``limit``: the lowest and highest point of each of
    ``limit // 2`` buckets (the visible shape). ``xs`` ascending, ``ys`` finite.

    In numpy over all buckets at once: a loop over ~400 buckets took ~3 ms of the snapshot,
    which is written between the last trial and the end of the cell.
    """
    n = len(xs)
    if n <= limit:
        return list(zip(xs.tolist(), ys.tolist(), strict=True))
    n_buckets = max(1, limit // 2)
    edges = np.arange(n_buckets + 1) * n // n_buckets
    starts = edges[:-1][edges[:-1] < edges[1:]]  # the non-empty buckets
    bucket = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))

    def first_where(extreme: np.ndarray) -> np.ndarray:
        # Per bucket, the first index holding its extreme (as argmin / argmax pick it).
        hits = np.flatnonzero(ys == extreme[bucket])
        return hits[np.unique(bucket[hits], return_index=True)[1]]

    lo = first_where(np.minimum.reduceat(ys, starts))
    hi = first_where(np.maximum.reduceat(ys, starts))
    pairs = np.stack([np.minimum(lo, hi), np.maximum(lo, hi)], axis=1)
    keep = np.ones(pairs.shape, bool)
    keep[:, 1] = pairs[:, 1] != pairs[:, 0]  # one point when the low and high are the same
    picked = pairs[keep]
    return list(zip(xs[picked].tolist(), ys[picked].tolist(), strict=True))


def _thin_steps(steps: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """Keep at most ``limit`` improvements, always the first and the last (the final best)."""
    if len(steps) <= limit:
        return steps
    idx = sorted({round(i * (len(steps) - 1) / (limit - 1)) for i in range(limit)})
    return [steps[i] for i in idx]


def _stride(pts: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    if len(pts) <= limit:
        return pts
    return [pts[i * len(pts) // limit] for i in range(limit)]


# ------------------------------------------------------------------------- text
def _num(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format(v, ".6g")
    return str(v)


def _cut(s: str, limit: int = MAX_TEXT) -> str:
    # One line, bounded: a value can be any string the user put in a choice list.
    s = " ".join(s.split()) if ("\n" in s or "\r" in s) else s
    return s if len(s) <= limit else s[: limit - 1] + "\u2026"


def _param_text(v: Any) -> str:
    return _cut(_num(v))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        m, s = divmod(round(seconds), 60)
        return f"{m} min {s:02d} s"
    h, rest = divmod(round(seconds), 3600)
    return f"{h} h {rest // 60:02d} min"


def _counts_text(counts: dict[str, int]) -> str:
    parts = [f"{n} {_STATE_LABEL.get(s, s.lower())}" for s, n in counts.items() if n]
    return ", ".join(parts) if parts else "no trials"


def summary_line(result: RunResult, info: RunInfo | None = None) -> str:
    """The run in one line of plain text (the ``text/plain`` of the final output).

    E.g. ``optuna: study 'demo' finished, 50 trials (48 complete, 2 pruned) in 12.3 s;
    best 0.0123 at trial 17: x=2.01, kind='a'``.
    """
    return _summary(snapshot_info(result.study, info, result, top=1, chart=False))


def _summary(s: SnapshotInfo) -> str:
    total = (
        f"{s.n_trials_run} trials"
        if s.n_trials_run == s.n_trials_total
        else f"{s.n_trials_run} trials ({s.n_trials_total} in study)"
    )
    line = (
        f"optuna: study {s.study_name!r} {s.state}, {total} "
        f"({_counts_text(s.counts)}) in {_duration(s.elapsed)}"
    )
    if len(s.directions) == 1:
        if s.best:
            b = s.best[0]
            params = ", ".join(f"{_cut(k)}={_summary_value(v)}" for k, v in b.params.items())
            line += f"; best {_num(b.values[0])} at trial {b.number}"
            line += f": {params}" if params else ""
        else:
            line += "; no completed trial"
    elif s.n_best:
        b = s.best[0]
        vals = ", ".join(_num(v) for v in b.values)
        line += f"; Pareto front of {s.n_best} trials (trial {b.number}: {vals})"
    else:
        line += "; no completed trial"
    if s.error:
        line += f"; error: {_cut(s.error, 200)}"
    return _cut(line, 1000)


def _summary_value(v: Any) -> str:
    return _cut(repr(v)) if isinstance(v, str) else _param_text(v)


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
        f'<div class="om-snapshot-counts">{_e(total)} in {_e(_duration(s.elapsed))}: '
        f"{_e(_counts_text(s.counts))}</div>"
    )
    if s.error:
        out.append(
            '<pre class="om-snapshot-error" style="white-space:pre-wrap;color:#d9534f;margin:4px 0;'
            'padding:4px 6px;border-left:3px solid #d9534f;background-color:transparent;">'
            f"{_e(_cut(s.error, 2000))}</pre>"
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
        f"<code>{_e(_cut(k))}</code>\u00a0=\u00a0<code>{_e(_param_text(v))}</code>"
        for k, v in params.items()
    )


def _render_best(s: SnapshotInfo) -> str:
    if not s.best:
        return '<div class="om-snapshot-best">No completed trial.</div>'
    if len(s.directions) == 1:
        b = s.best[0]
        params = _params_inline(b.params)
        return (
            f'<div class="om-snapshot-best">Best {_e(s.objective_names[0])} '
            f"<strong>{_e(_num(b.values[0]))}</strong> at trial {b.number}"
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
    head += [f'<th style="{num}">{_e(_cut(n))}</th>' for n in value_heads]
    head += [f'<th style="{cell}text-align:left;">{_e(_cut(p))}</th>' for p in s.param_names]
    rows = []
    for r in s.top:
        tds = [f'<td style="{num}">{r.number}</td>']
        tds += [f'<td style="{num}">{_e(_num(v))}</td>' for v in r.values]
        tds += [
            f'<td style="{cell}text-align:left;">'
            f"{_e(_param_text(r.params[p])) if p in r.params else ''}</td>"
            for p in s.param_names
        ]
        rows.append("<tr>" + "".join(tds) + "</tr>")
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


# ------------------------------------------------------------------------ chart
_W, _H = 640, 240
_ML, _MR, _MT, _MB = 64, 14, 24, 38  # the legend sits in the top margin


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
        f'width="{_W}" height="{_H}" style="max-width:100%;height:auto;"></div>'
    )


def chart_svg(c: ChartInfo) -> str:
    """The chart as a standalone SVG document (shown through an ``<img>``)."""
    allx = [p[0] for p in c.points + c.highlight + c.line]
    ally = [p[1] for p in c.points + c.highlight + c.line]
    fx = _Scale(min(allx), max(allx), _ML, _W - _MR, c.log_x)
    fy = _Scale(min(ally), max(ally), _H - _MB, _MT, c.log_y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" font-family="sans-serif" font-size="11">'
    ]
    # Axes and ticks.
    x0, x1, y0, y1 = _ML, _W - _MR, _H - _MB, _MT
    parts.append(f'<path d="M{x0} {y1}V{y0}H{x1}" fill="none" stroke="{_AXIS}" stroke-width="1"/>')
    for v in fx.ticks(integer=c.kind == "history"):
        px = fx(v)
        parts.append(
            f'<path d="M{px:.1f} {y0}v4" stroke="{_AXIS}"/>'
            f'<text x="{px:.1f}" y="{y0 + 15}" fill="{_AXIS}" '
            f'text-anchor="middle">{_x(_tick(v))}</text>'
        )
    for v in fy.ticks():
        py = fy(v)
        parts.append(
            f'<path d="M{x0 - 4} {py:.1f}h4" stroke="{_AXIS}"/>'
            f'<path d="M{x0} {py:.1f}H{x1}" stroke="{_AXIS}" stroke-opacity="0.2"/>'
            f'<text x="{x0 - 6}" y="{py + 4:.1f}" fill="{_AXIS}" '
            f'text-anchor="end">{_x(_tick(v))}</text>'
        )
    log = " (log)"
    parts.append(
        f'<text x="{(x0 + x1) / 2:.0f}" y="{_H - 4}" fill="{_AXIS}" text-anchor="middle">'
        f"{_x(_cut(c.x_label, 40) + (log if c.log_x else ''))}</text>"
        f'<text transform="translate(12 {(y0 + y1) / 2:.0f}) rotate(-90)" fill="{_AXIS}" '
        f'text-anchor="middle">{_x(_cut(c.y_label, 40) + (log if c.log_y else ""))}</text>'
    )
    # Points as zero-length round-capped segments: one <path> however many there are.
    if c.points:
        d = "".join(f"M{fx(x):.1f} {fy(y):.1f}h0" for x, y in c.points)
        opacity = "0.55" if c.kind == "pareto" else "0.8"
        parts.append(
            f'<path d="{d}" stroke="{_POINT}" stroke-opacity="{opacity}" stroke-width="5" '
            'stroke-linecap="round" fill="none"/>'
        )
    if c.line:
        d = f"M{fx(c.line[0][0]):.1f} {fy(c.line[0][1]):.1f}" + "".join(
            f"H{fx(x):.1f}V{fy(y):.1f}" for x, y in c.line[1:]
        )
        parts.append(f'<path d="{d}" stroke="{_BEST}" stroke-width="2" fill="none"/>')
    if c.highlight:
        d = "".join(f"M{fx(x):.1f} {fy(y):.1f}h0" for x, y in c.highlight)
        parts.append(
            f'<path d="{d}" stroke="{_BEST}" stroke-width="7" stroke-linecap="round" fill="none"/>'
        )
    # Legend.
    lx, ly = x1 - 150, 6  # ly: the legend row, above the plot area
    if c.kind == "history":
        parts.append(
            f'<path d="M{lx} {ly + 6}h0" stroke="{_POINT}" stroke-width="5" '
            'stroke-linecap="round"/>'
            f'<text x="{lx + 8}" y="{ly + 10}" fill="{_AXIS}">trial</text>'
            f'<path d="M{lx + 46} {ly + 6}h16" stroke="{_BEST}" stroke-width="2"/>'
            f'<text x="{lx + 66}" y="{ly + 10}" fill="{_AXIS}">best so far</text>'
        )
    else:
        parts.append(
            f'<path d="M{lx + 30} {ly + 6}h0" stroke="{_BEST}" stroke-width="7" '
            'stroke-linecap="round"/>'
            f'<text x="{lx + 40}" y="{ly + 10}" fill="{_AXIS}">Pareto front</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _x(s: str) -> str:
    # XML text inside the SVG document (which is then URL-encoded into the img's src).
    return html.escape(s, quote=True)


def _tick(v: float) -> str:
    return format(v, ".4g")


class _Scale:
    """Maps data to pixels, linear or log10; a degenerate range is widened around its value."""

    def __init__(self, lo: float, hi: float, p0: float, p1: float, log: bool) -> None:
        self.log = log
        if log:
            lo, hi = math.log10(lo), math.log10(hi)
        if hi == lo:
            pad = abs(lo) * 0.05 or 1.0
            lo, hi = lo - pad, hi + pad
        else:
            pad = (hi - lo) * 0.04
            lo, hi = lo - pad, hi + pad
        self.lo, self.hi, self.p0, self.p1 = lo, hi, p0, p1

    def __call__(self, v: float) -> float:
        t = math.log10(v) if self.log else v
        return self.p0 + (t - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0)

    def ticks(self, *, integer: bool = False) -> list[float]:
        if self.log:
            e_lo, e_hi = math.ceil(self.lo), math.floor(self.hi)
            e_step = max(1, math.ceil((e_hi - e_lo + 1) / 6))
            return [10.0**e for e in range(e_lo, e_hi + 1, e_step)]
        step = _nice_step((self.hi - self.lo) / 5)
        if integer:
            step = max(1.0, float(round(step)))
        first = math.ceil(self.lo / step) * step
        out: list[float] = []
        v = first
        while v <= self.hi + 1e-12 and len(out) < 12:
            out.append(0.0 if abs(v) < step * 1e-9 else v)
            v += step
        return out


def _nice_step(raw: float) -> float:
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


# ----------------------------------------------------------------------- bundle
def _scoped_css(run_id: str) -> str:
    """CSS that lets the live panel and the snapshot stand in for each other, without a script.

    Every selector is scoped to this run's snapshot (``[data-run=...]``) and to the output area
    of its own cell, so nothing leaks into the page. Rendered only where outputs are trusted
    (JupyterLab and Notebook 7 drop ``<style>`` from untrusted HTML; there the widget view is
    not chosen either, so there is nothing to hide):

    - while a live panel (``.optuna-magic``) is shown in an earlier output of the cell, the
      snapshot's output is hidden: the panel already shows all of it;
    - when the cell's widget view cannot render (notebook reopened, kernel restarted: the
      widget manager shows "Error displaying widget: model not found", or "Loading widget..."
      forever without a kernel), that output is hidden and the snapshot shows instead.

    ``:has()`` cannot be nested, hence the last rule hides the stuck renderer node itself.
    Browsers without ``:has()`` (Firefox < 121) ignore the rules: both outputs show.
    """
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", run_id):
        raise ValueError(f"run_id must be a short token of letters, digits, - or _: {run_id!r}")
    mine = f'.optuna-magic-snapshot[data-run="{run_id}"]'
    later = f":has(~ .jp-OutputArea-child {mine})"  # an output before this snapshot's
    return (
        "<style>"
        f".jp-OutputArea-child:has(.optuna-magic) ~ .jp-OutputArea-child:has({mine})"
        "{display:none}"
        f".jp-OutputArea-child:has(> .jp-OutputArea-output.jupyter-widgets){later}"
        "{display:none}"
        f".jp-OutputArea-child{later} > .jp-OutputArea-output.lm-Panel:not(:has(*))"
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

    - live JupyterLab / Notebook 7: the panel; the snapshot's output is hidden by its CSS;
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
    bundle: dict[str, Any] = {"text/plain": _summary(s), "text/html": _render(s, run_id)}
    if model_id:
        bundle.update({WIDGET_VIEW_MIMETYPE: panel_bundle(model_id)[WIDGET_VIEW_MIMETYPE]})
    return bundle
