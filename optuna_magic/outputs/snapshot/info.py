"""What the snapshot shows, reduced from a study: plain NamedTuples, small whatever its size.

Data first, picture second (as ``optuna.visualization`` does): :func:`snapshot_info` reduces a
study and its run to a :class:`SnapshotInfo`; :mod:`.html` and :mod:`.svg` only draw it, and tests
assert on the info rather than on the markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from optuna_magic.outputs.constraints import is_infeasible

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from optuna_magic.outputs.panel.record import TrialRecord
    from optuna_magic.run.runner import RunInfo, RunResult

__all__ = [
    "MAX_CHART_POINTS",
    "MAX_PARAM_COLUMNS",
    "STATE_ORDER",
    "ChartInfo",
    "SnapshotInfo",
    "TrialRow",
    "snapshot_info",
]

#: At most this many points are drawn per series, whatever the study's size (bounds the HTML).
MAX_CHART_POINTS = 800
#: Parameter columns shown in the top-trials table; the rest are counted, not shown.
MAX_PARAM_COLUMNS = 12
#: Longest parameter value or name shown before it is cut with an ellipsis.

STATE_ORDER = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


class TrialRow(NamedTuple):
    """One trial as the snapshot shows it."""

    number: int
    values: tuple[float, ...]
    params: dict[str, Any]
    infeasible: bool = False  # breaks a constraint (Optuna's: a value above 0)


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
    n_infeasible: int = 0  # complete trials that break a constraint (Optuna's, > 0)


class _Table(NamedTuple):
    """The study reduced to arrays: what every part of the snapshot is computed from."""

    numbers: np.ndarray  # the COMPLETE trials whose values are all numbers (no NaN), in order
    values: np.ndarray  # their values, one row each
    counts: dict[str, int]
    trials: list[FrozenTrial]  # all of them, in number order (read only for the rows shown)
    infeasible: np.ndarray  # per complete trial: whether it breaks a constraint

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
        numbers, values, infeasible = record.complete_values()
    else:
        states = [t.state for t in trials]
        counts = {name: states.count(TrialState[name]) for name in STATE_ORDER}
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
        infeasible = np.fromiter(map(is_infeasible, complete), bool, len(complete))
    keep = np.logical_not(np.isnan(values).any(axis=1))
    if not keep.all():
        numbers, values, infeasible = numbers[keep], values[keep], infeasible[keep]
    counts = {name: int(counts.get(name, 0)) for name in STATE_ORDER}
    return _Table(numbers, values, counts, trials, infeasible)


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
    signs = [1.0 if d == "minimize" else -1.0 for d in directions]
    if n_obj == 1:
        ranked = _one_objective(table, signs[0], objective_names[0], top, chart)
    else:
        ranked = _pareto_front(study, table, signs[0], objective_names, top, chart)
    best_trials, n_best, top_trials, chart_info = ranked

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
        n_infeasible=int(np.count_nonzero(table.infeasible)),
    )


class _Ranked(NamedTuple):
    best: list[FrozenTrial]
    n_best: int
    top: list[FrozenTrial]
    chart: ChartInfo | None


def _one_objective(table: _Table, sign: float, name: str, top: int, chart: bool) -> _Ranked:
    top_trials = _ranked_head(table, sign * table.values[:, 0], max(top, 1))
    best_trials = top_trials[:1] if top_trials and not is_infeasible(top_trials[0]) else []
    chart_info = (
        _history_chart(table.numbers, table.values[:, 0], sign, name, table.infeasible)
        if len(table.numbers) and chart
        else None
    )
    return _Ranked(best_trials, len(best_trials), top_trials[: max(top, 0)], chart_info)


def _pareto_front(
    study: optuna.Study, table: _Table, sign: float, names: list[str], top: int, chart: bool
) -> _Ranked:
    try:
        pareto = list(study.best_trials)
    except Exception:  # a storage that cannot answer still gets a snapshot
        pareto = []
    pareto.sort(key=lambda t: (sign * t.values[0], t.number))
    best_trials = pareto[: max(top, 0)]
    chart_info = _pareto_chart(table, pareto, names) if len(table.numbers) and chart else None
    return _Ranked(best_trials, len(pareto), best_trials, chart_info)


def _row(trial: FrozenTrial) -> TrialRow:
    return TrialRow(
        trial.number, tuple(trial.values or ()), dict(trial.params), is_infeasible(trial)
    )


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
        (infeasible if is_infeasible(t) else feasible).append(t)
        if len(feasible) >= k:
            break
    return (feasible + infeasible)[:k]


def _history_chart(
    numbers: np.ndarray, values: np.ndarray, sign: float, y_label: str, infeasible: np.ndarray
) -> ChartInfo:
    finite = np.isfinite(values)
    xs, ys = numbers[finite].astype(np.float64), values[finite]
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    # The best-so-far line is of feasible trials only, as study.best_trial.
    feasible = ~infeasible[finite][order]
    fx, fy = xs[feasible], ys[feasible]
    best_steps: list[tuple[float, float]] = []
    if len(fy):
        keyed = sign * fy
        so_far = np.minimum.accumulate(keyed)
        # An improvement: strictly better than every earlier value.
        improved = np.flatnonzero(np.concatenate([[True], keyed[1:] < so_far[:-1]]))
        best_steps = list(zip(fx[improved].tolist(), fy[improved].tolist(), strict=True))
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
