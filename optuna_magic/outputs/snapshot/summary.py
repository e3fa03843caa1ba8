"""The snapshot in one line of plain text, and the text helpers the HTML and the chart share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optuna_magic.outputs.snapshot.info import SnapshotInfo, snapshot_info

if TYPE_CHECKING:
    from optuna_magic.run.runner import RunInfo, RunResult

__all__ = [
    "MAX_TEXT",
    "counts_text",
    "cut",
    "duration_text",
    "number_text",
    "param_text",
    "summary_line",
    "summary_text",
]

#: Longest parameter value or name shown before it is cut with an ellipsis.
MAX_TEXT = 60

_STATE_LABEL = {
    "COMPLETE": "complete",
    "PRUNED": "pruned",
    "FAIL": "failed",
    "RUNNING": "running",
    "WAITING": "waiting",
}


def number_text(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format(v, ".6g")
    return str(v)


def cut(s: str, limit: int = MAX_TEXT) -> str:
    # One line, bounded: a value can be any string the user put in a choice list.
    s = " ".join(s.split()) if ("\n" in s or "\r" in s) else s
    return s if len(s) <= limit else s[: limit - 1] + "\u2026"


def param_text(v: Any) -> str:
    return cut(number_text(v))


def duration_text(seconds: float) -> str:
    """``4.2 s``, ``3 min 05 s``, ``1 h 02 min``; under a tenth of a second in milliseconds
    (``12 ms``, ``0.3 ms``), which ``0.0 s`` would hide."""
    if seconds < 0.095:
        ms = seconds * 1000
        return f"{ms:.1f} ms" if ms < 9.95 else f"{round(ms)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        m, s = divmod(round(seconds), 60)
        return f"{m} min {s:02d} s"
    h, rest = divmod(round(seconds), 3600)
    return f"{h} h {rest // 60:02d} min"


def counts_text(counts: dict[str, int], n_infeasible: int = 0) -> str:
    """``48 complete (3 infeasible), 2 pruned``: trials by state, and how many complete ones
    break a constraint."""
    parts = [f"{n} {_STATE_LABEL.get(s, s.lower())}" for s, n in counts.items() if n]
    if n_infeasible and counts.get("COMPLETE"):
        at = [s for s, n in counts.items() if n].index("COMPLETE")
        parts[at] += f" ({n_infeasible} infeasible)"
    return ", ".join(parts) if parts else "no trials"


def summary_line(result: RunResult, info: RunInfo | None = None) -> str:
    """The run in one line of plain text (the ``text/plain`` of the final output).

    E.g. ``optuna: study 'demo' finished, 50 trials (48 complete, 2 pruned) in 12.3 s;
    best 0.0123 at trial 17: x=2.01, kind='a'``.
    """
    return summary_text(snapshot_info(result.study, info, result, top=1, chart=False))


def summary_text(s: SnapshotInfo) -> str:
    total = (
        f"{s.n_trials_run} trials"
        if s.n_trials_run == s.n_trials_total
        else f"{s.n_trials_run} trials ({s.n_trials_total} in study)"
    )
    line = (
        f"optuna: study {s.study_name!r} {s.state}, {total} "
        f"({counts_text(s.counts, s.n_infeasible)}) in {duration_text(s.elapsed)}"
    )
    if len(s.directions) == 1:
        if s.best:
            b = s.best[0]
            params = ", ".join(f"{cut(k)}={_summary_value(v)}" for k, v in b.params.items())
            best = "best feasible" if s.n_infeasible else "best"
            line += f"; {best} {number_text(b.values[0])} at trial {b.number}"
            line += f": {params}" if params else ""
        else:
            line += "; no feasible trial" if s.n_infeasible else "; no completed trial"
    elif s.n_best:
        b = s.best[0]
        vals = ", ".join(number_text(v) for v in b.values)
        line += f"; Pareto front of {s.n_best} trials (trial {b.number}: {vals})"
    else:
        line += "; no completed trial"
    if s.error:
        line += f"; error: {cut(s.error, 200)}"
    return cut(line, 1000)


def _summary_value(v: Any) -> str:
    return cut(repr(v)) if isinstance(v, str) else param_text(v)
