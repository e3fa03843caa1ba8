"""The text sink: one progress line updated in place, then a summary of the run.

Used where no widget renders (IPython in a terminal). Redraws are throttled so a fast study pays
for a clock read per trial, not for output per trial.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from optuna_magic.outputs.constraints import is_infeasible
from optuna_magic.run.contract import (
    RunControl,
    RunInfo,
    RunResult,
    TrialError,
    TrialEvent,
)
from optuna_magic.run.sink import BaseSink

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = ["TextProgress", "format_summary", "format_value"]

_STATES = ("COMPLETE", "PRUNED", "FAIL")


def format_value(v: float | None) -> str:
    """A compact number for one line of text."""
    if v is None:
        return "-"
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return str(v)
    return f"{v:.6g}"


def _params_text(params: dict[str, Any], limit: int = 6) -> str:
    items = [
        f"{k}={format_value(v) if isinstance(v, float) else repr(v)}" for k, v in params.items()
    ]
    if len(items) > limit:
        items = [*items[:limit], f"... ({len(items) - limit} more)"]
    return ", ".join(items)


class TextProgress(BaseSink):
    """Prints ``k/N  best ...  rate`` in place while the run goes, then a summary.

    Args:
        stream: where to write (a terminal).
        interval: seconds between redraws.
        update: instead of writing to ``stream``, call this with the text (a notebook display
            handle whose output is replaced in place).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        interval: float = 0.2,
        update: Callable[[str], None] | None = None,
    ) -> None:
        self._stream = stream or sys.stdout
        self._update = update
        self._interval = interval
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._width = 0
        self.info: RunInfo | None = None
        self.counts = dict.fromkeys(_STATES, 0)
        self.best: tuple[int, float] | None = None  # the best feasible trial, as Optuna's
        self.n_infeasible = 0
        self.first_error: tuple[int, TrialError] | None = None

    # ------------------------------------------------------------- sink events
    def run_started(self, info: RunInfo, control: RunControl) -> None:
        """Remember the run and draw the first line."""
        self.info = info
        self._draw(force=True)

    # trial_started / trial_reported: BaseSink's (not called): nothing to show per trial.

    def trial_finished(self, trial: FrozenTrial | TrialEvent, error: TrialError | None) -> None:
        """Count the trial, track the best, and redraw at most every ``interval`` seconds."""
        state = trial.state.name
        with self._lock:
            if state in self.counts:
                self.counts[state] += 1
            if error is not None and self.first_error is None:
                self.first_error = (trial.number, error)
            info = self.info
            if state == "COMPLETE" and is_infeasible(trial):
                self.n_infeasible += 1
            elif state == "COMPLETE" and info is not None and len(info.directions) == 1:
                v = trial.value
                assert v is not None
                better = (
                    self.best is None
                    or (info.directions[0] == "minimize" and v < self.best[1])
                    or (info.directions[0] == "maximize" and v > self.best[1])
                )
                if better:
                    self.best = (trial.number, v)
        self._draw()

    def run_ended(self, result: RunResult) -> None:
        """Replace the progress line with the run's summary."""
        self._draw(force=True)
        text = format_summary(result, _given_names(self.info))
        if self._update is not None:
            self._update(text)
        else:
            self._stream.write("\n" + text + "\n")
            self._stream.flush()

    # ----------------------------------------------------------------- drawing
    def line(self) -> str:
        """The progress line as it would be drawn now."""
        info = self.info
        done = sum(self.counts.values())
        elapsed = time.time() - info.started_at if info else 0.0
        if info is not None and info.n_trials:
            progress = f"{done}/{info.n_trials}"
        elif info is not None and info.timeout:
            progress = f"{done} trials, {elapsed:.0f}/{info.timeout:.0f} s"
        else:
            progress = f"{done} trials"
        parts = [progress]
        if self.best is not None:
            parts.append(f"best {format_value(self.best[1])} (#{self.best[0]})")
        if self.n_infeasible:
            parts.append(f"{self.n_infeasible} infeasible")
        if self.counts["PRUNED"]:
            parts.append(f"{self.counts['PRUNED']} pruned")
        if self.counts["FAIL"]:
            parts.append(f"{self.counts['FAIL']} failed")
        if elapsed > 0 and done:
            parts.append(f"{done / elapsed:.1f} trials/s")
        return "optuna: " + " | ".join(parts)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < self._interval:
            return
        self._last_draw = now
        text = self.line()
        if self._update is not None:
            self._update(text)
            return
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self._stream.write("\r" + text + " " * pad)
        self._stream.flush()


def _given_names(info: RunInfo | None) -> list[str] | None:
    """The objectives' names when the run was given some (not ``value`` / ``values_i``)."""
    from optuna_magic.run.contract import objective_names

    if info is None or info.objective_names == objective_names(len(info.directions)):
        return None
    return list(info.objective_names)


def format_summary(result: RunResult, names: Sequence[str] | None = None) -> str:
    """A few lines: how the run ended, counts, best trial and its parameters."""
    import optuna

    study = result.study
    trials = study.get_trials(deepcopy=False)
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    count_text = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
    lines = [
        f"Study {study.study_name!r} {result.state}: {result.n_trials_run} trials in "
        f"{result.elapsed:.1f} s ({count_text or 'no trials'})"
    ]
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    n_infeasible = sum(map(is_infeasible, complete))
    if n_infeasible:
        lines[0] = lines[0][:-1] + f"; {n_infeasible} infeasible)"
    if not complete:
        lines.append("No trial completed.")
    elif n_infeasible == len(complete):
        lines.append("No feasible trial: every completed trial breaks a constraint (> 0).")
    elif len(study.directions) == 1:
        best = study.best_trial  # the best feasible one
        name = (study.metric_names or names or ["value"])[0]
        lines.append(f"Best {name} {format_value(best.value)} at trial #{best.number}")
        if best.params:
            lines.append(f"  params: {_params_text(best.params, limit=20)}")
    else:
        front = study.best_trials
        lines.append(f"Pareto front: {len(front)} trial(s)")
        names = study.metric_names or names
        for t in front[:5]:
            values = ", ".join(
                f"{names[i]}={format_value(v)}" if names else format_value(v)
                for i, v in enumerate(t.values)
            )
            lines.append(f"  #{t.number}: ({values}) {_params_text(t.params)}")
    if result.error and result.state != "failed":
        lines.append(f"Error: {result.error}")
    return "\n".join(lines)
