"""The panel's ``status``: where a run stands, in the header's terms (progress, rate, ETA, best)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from optuna_magic.outputs.panel.wire import BestTrial, StatusTrait

if TYPE_CHECKING:
    from optuna_magic.outputs.panel.record import TrialRecord
    from optuna_magic.run.contract import RunInfo

__all__ = ["run_status", "study_span", "watch_state"]


def run_status(
    info: RunInfo | None,
    record: TrialRecord,
    *,
    state: str,
    error: str | None,
    started: float,
    ended: float | None,
    n_done: int,
    changed_at: float,
    watch_quiet: float,
) -> StatusTrait:
    """The status of a run that started at ``started`` and saw ``n_done`` trials end.

    A watch (``info.watch``) says what it sees instead of "running" (see :func:`watch_state`).
    """
    end = ended if ended is not None else time.time()
    elapsed = max(0.0, end - started)
    rate = n_done / elapsed if elapsed > 0 and n_done else 0.0
    eta: float | None = None
    if state in ("running", "stopping") and info is not None:
        if info.n_trials is not None and rate > 0:
            eta = max(0.0, (info.n_trials - n_done) / rate)
        elif info.timeout is not None:
            eta = max(0.0, info.timeout - elapsed)
    best = cast("BestTrial | None", record.best(info.directions) if info is not None else None)
    note = None
    if info is not None and info.watch and state in ("running", "stopping"):
        state, note = watch_state(record, changed_at, watch_quiet)
    return {
        "at": round(time.time(), 3),  # which of two statuses is newer (trait or delta)
        "state": state,
        "note": note,
        "error": error,
        "n_done": n_done,
        "n_trials": info.n_trials if info is not None else None,
        "timeout": info.timeout if info is not None else None,
        "started_at": started,
        "elapsed": round(elapsed, 3),
        "rate": round(rate, 4),
        "eta": None if eta is None else round(eta, 1),
        "counts": record.counts(),
        "best": best,
    }


def study_span(trials: Sequence[Any]) -> tuple[int, tuple[float, float] | None]:
    """A finished study's trials and time span: how many ended, from the first start to the
    last end (None without timestamps)."""
    finished = [t for t in trials if t.state.is_finished()]
    starts = [t.datetime_start.timestamp() for t in finished if t.datetime_start]
    ends = [t.datetime_complete.timestamp() for t in finished if t.datetime_complete]
    return len(finished), ((min(starts), max(ends)) if starts and ends else None)


def watch_state(record: TrialRecord, changed_at: float, quiet: float) -> tuple[str, str | None]:
    """A watch says what it sees: trials running or just changed (within ``quiet`` seconds of
    ``changed_at``), or nobody at work."""
    running = record.counts().get("RUNNING", 0)
    if running:
        return "watching", f"{running} trial(s) running elsewhere"
    if time.time() - changed_at < quiet:
        return "watching", None
    return "idle", "nobody is optimizing this study now: no trial is running"
