"""The record's columns: parameter headers, growable numpy columns, and the small conversions
from a trial's fields to column cells and JSON (see :mod:`optuna_magic.outputs.panel.record`).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from optuna_magic.cell.space import ParamSpec

__all__ = [
    "ABSENT",
    "MESSAGE_CHARS",
    "ROW_LEN",
    "STATES",
    "TRACEBACK_CHARS",
    "Columns",
    "ParamColumn",
    "Queued",
    "TrialLike",
    "choice_label",
    "column_for",
    "drain",
    "duration",
    "fail_reason",
    "finite_or_none",
    "jsonable",
    "jsonable_event",
    "no_params",
    "number",
    "reader",
    "space_columns",
    "timestamp",
    "to_constraint_cells",
]

# A FrozenTrial, or the runner's lighter TrialEvent that reads like one (number, state, values,
# params, distributions, intermediate_values, user_attrs, datetime_start, datetime_complete).
TrialLike = Any

# Same codes as ``optuna.trial.TrialState`` so a FrozenTrial's state maps without a table.
STATES = ("RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING")
ABSENT = 255  # a row no event has named yet (numbers seen out of order under --n-jobs)
MESSAGE_CHARS = 500  # an event carries the head of an error; the rest is asked for on click
TRACEBACK_CHARS = 20_000


def choice_label(value: Any) -> str:
    """How a categorical choice is shown: strings as they are, anything else as Python writes it."""
    return value if isinstance(value, str) else repr(value)


@dataclass
class ParamColumn:
    """A parameter's column header: its name, kind, and for a categorical its choice labels."""

    name: str
    kind: str  # "int" | "float" | "categorical"
    log: bool = False
    choices: list[str] | None = None
    # The distribution in words, as the search space view shows it (cell.space.describe).
    distribution: str = ""
    # A numeric parameter's bounds and step where known (the trial detail checks an edited
    # value against them before it enqueues it).
    low: float | None = None
    high: float | None = None
    step: float | None = None

    def encode(self, value: Any) -> float:
        """The float stored for ``value``: itself, or its index in the choices."""
        if self.choices is None:
            try:
                return float(value)
            except (TypeError, ValueError):
                return math.nan
        label = choice_label(value)
        try:
            return float(self.choices.index(label))
        except ValueError:
            # A choice no declaration named (a dynamic distribution): the table grows.
            self.choices.append(label)
            return float(len(self.choices) - 1)

    def encode_all(self, values: list[Any]) -> np.ndarray:
        """``encode`` over a batch of values, as one float column."""
        if self.choices is None:
            try:
                return np.asarray(values, np.float64)
            except (TypeError, ValueError):
                pass
        return np.fromiter((self.encode(v) for v in values), np.float64, len(values))

    def to_json(self) -> dict[str, Any]:
        """The header as sent to the panel."""
        header: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "log": self.log,
            "choices": self.choices,
            "distribution": self.distribution,
        }
        if self.low is not None and self.high is not None:
            header.update(low=self.low, high=self.high, step=self.step)
        return header


class Columns:
    """Growable numpy columns indexed by trial number."""

    def __init__(self, n_values: int) -> None:
        self.capacity = 0
        self.n_values = n_values
        self.state = np.zeros(0, np.uint8)
        self.values = np.zeros((0, n_values), np.float64)
        self.params = np.zeros((0, 0), np.float64)
        self.start = np.zeros(0, np.float64)
        self.duration = np.zeros(0, np.float64)
        self.pruned_step = np.zeros(0, np.int32)
        # The trial's largest constraint value (NaN: none set), as outputs/constraints.py reads it.
        self.constraint = np.zeros(0, np.float32)

    def ensure(self, number: int) -> None:
        if number < self.capacity:
            return
        new = max(64, self.capacity * 2, number + 1)
        grow = new - self.capacity
        self.state = np.concatenate([self.state, np.full(grow, ABSENT, np.uint8)])
        self.values = np.vstack([self.values, np.full((grow, self.n_values), np.nan)])
        self.params = np.vstack([self.params, np.full((grow, self.params.shape[1]), np.nan)])
        self.start = np.concatenate([self.start, np.full(grow, np.nan)])
        self.duration = np.concatenate([self.duration, np.full(grow, np.nan)])
        self.pruned_step = np.concatenate([self.pruned_step, np.full(grow, -1, np.int32)])
        self.constraint = np.concatenate([self.constraint, np.full(grow, np.nan, np.float32)])
        self.capacity = new

    def add_param(self) -> None:
        self.params = np.hstack([self.params, np.full((self.capacity, 1), np.nan)])


# A finished trial in the queue: a row of plain values (number, values, start, end, the names of
# the known parameters, what the reader gave for them, its largest constraint), or the trial
# itself with its error.
Queued = tuple[Any, ...]
ROW_LEN = 7

_TINY = np.nextafter(np.float32(0), np.float32(1))


def to_constraint_cells(largest: Sequence[float]) -> np.ndarray:
    """Largest constraint values as the record's float32 cells, feasibility kept exact.

    A float32 keeps the wire at 4 bytes a trial; a violation too small for it (1e-50) would
    round to 0 and read as feasible, so it becomes the smallest positive float32 instead.
    """
    wide = np.asarray(largest, np.float64)
    cells = wide.astype(np.float32)
    cells[(wide > 0) & ~(cells > 0)] = _TINY
    return cells


def no_params(_params: dict[str, Any]) -> None:
    return None


def reader(names: tuple[str, ...]) -> Callable[[dict[str, Any]], Any]:
    """Reads ``names`` out of a params dict (KeyError if one is missing): for one name its value,
    for several a tuple (``operator.itemgetter``, the cheapest read in the trial's thread)."""
    return itemgetter(*names) if names else no_params


def column_for(name: str, distribution: Any) -> ParamColumn:
    """A column for a parameter first seen in a trial, from its Optuna distribution."""
    from optuna_magic.cell.space import describe_distribution

    text = describe_distribution(distribution)
    choices = getattr(distribution, "choices", None)
    if choices is not None:
        labels = [choice_label(c) for c in choices]
        return ParamColumn(name, "categorical", choices=labels, distribution=text)
    kind = "int" if type(distribution).__name__ == "IntDistribution" else "float"
    low, high, step = _bounds(*(getattr(distribution, a, None) for a in ("low", "high", "step")))
    log = bool(getattr(distribution, "log", False))
    return ParamColumn(name, kind, log=log, distribution=text, low=low, high=high, step=step)


def _bounds(low: Any, high: Any, step: Any) -> tuple[float | None, float | None, float | None]:
    """A column's ``low`` / ``high`` / ``step`` where they are plain numbers, else none."""
    try:
        if low is None or high is None:
            return None, None, None
        return float(low), float(high), None if step is None else float(step)
    except (TypeError, ValueError):
        return None, None, None


def drain(queue: deque[Any]) -> list[Any]:
    """Pop what is in ``queue`` now; items appended meanwhile stay for the next drain."""
    # Only the lock holder pops: no IndexError. Popped in C (iter(popleft, sentinel) cut to
    # the length now): a comprehension cost ~110 instructions a queued trial more.
    return list(itertools.islice(iter(queue.popleft, _NOT_QUEUED), len(queue)))


# The drain's sentinel: never queued, and no queued tuple compares equal to it (a tuple's == with
# a non-tuple falls back to identity without looking inside).
_NOT_QUEUED = object()


def timestamp(when: Any) -> float:
    return math.nan if when is None else float(when.timestamp())


def duration(t: TrialLike, start: float) -> float:
    """Seconds from start to end; the runner's TrialEvent carries its end as a timestamp."""
    end = getattr(t, "complete_ts", None)
    if end is not None:
        return float(end) - start
    if t.datetime_complete is None or t.datetime_start is None:
        return math.nan
    return float((t.datetime_complete - t.datetime_start).total_seconds())


def number(v: float, column: ParamColumn) -> float | int:
    return int(v) if column.kind == "int" else float(v)


def finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def fail_reason(t: TrialLike) -> str:
    reason = (getattr(t, "system_attrs", None) or {}).get("fail_reason")
    return str(reason) if reason else "failed"


def jsonable(value: Any) -> Any:
    """User attributes as JSON: numbers and strings as they are, anything else as text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return repr(value)


def jsonable_event(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if v is not None}


def space_columns(space: Sequence[ParamSpec]) -> list[ParamColumn]:
    """The record's columns for the declared parameters whose distribution is known up front
    (a dynamic declaration's columns come with the trials that reach it)."""
    return [_column(s) for s in space if not s.dynamic and s.kind in _KINDS]


_KINDS = ("int", "float", "categorical")


def _column(spec: ParamSpec) -> ParamColumn:
    if spec.kind == "categorical":
        labels = [choice_label(c) for c in spec.choices] if spec.choices is not None else []
        return ParamColumn(spec.name, "categorical", choices=labels, distribution=spec.describe())
    step = spec.step if spec.step is not None or spec.kind != "int" else 1
    low, high, step = _bounds(spec.low, spec.high, step)
    text = spec.describe()
    return ParamColumn(
        spec.name, spec.kind, log=spec.log, distribution=text, low=low, high=high, step=step
    )
