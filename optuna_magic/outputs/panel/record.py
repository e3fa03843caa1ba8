"""The compact columnar record of a study's trials, and the deltas the panel is sent.

Trials are rows of fixed-width numeric columns indexed by trial number (numbers are dense within
a study), so a trial costs the same few dozen bytes on the wire whatever the size of the study.
Parameters are float columns; a categorical value is the index of its choice in a per-parameter
table of labels. Intermediate values are sparse ``(trial, step, value)`` columns and the event log
(pruned, failed, run events) is a list of small dicts.

Events arrive from trial threads. A started or finished trial is only queued there (a deque
append, about a microsecond): the trial's thread is the study's own, and a fast study runs a
trial in ~40-60 us, so writing numpy cells one by one there (~15 us a trial, measured) would slow
the study itself. The queue is applied in one batch, column by column, by the next read, under the
record's lock (every read and every other write takes it).

A finished trial of the common kind (the runner's ``TrialEvent`` of a COMPLETE trial with no
intermediate values or attributes, over the known parameters) is queued as a tuple of plain
values, not as the trial: objects that live until the next flush (a quarter of a second, thousands
of trials) outlive the garbage collector's young generations and make its collections more frequent
and its full collections slower. In a kernel, keeping the trials themselves queued doubled the full
collection that a 10,000-trial run triggers (120-140 ms for plain Optuna, 245-290 ms with them);
a tuple of atomic values is untracked by the collector's first pass.

``delta()`` returns what changed since the previous ``delta()``; ``full()`` returns everything,
for a view that opens later (:mod:`.messages`, the record's sending half).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from optuna_magic.outputs.constraints import largest_constraint as _largest_constraint
from optuna_magic.outputs.panel.batch import NO_CONSTRAINT, BatchWrites
from optuna_magic.outputs.panel.columns import ABSENT as _ABSENT
from optuna_magic.outputs.panel.columns import MESSAGE_CHARS as _MESSAGE_CHARS
from optuna_magic.outputs.panel.columns import STATES, ParamColumn, TrialLike, choice_label
from optuna_magic.outputs.panel.columns import Columns as _Columns
from optuna_magic.outputs.panel.columns import Queued as _Queued
from optuna_magic.outputs.panel.columns import drain as _drain
from optuna_magic.outputs.panel.columns import jsonable as _jsonable
from optuna_magic.outputs.panel.columns import no_params as _no_params
from optuna_magic.outputs.panel.columns import number as _number
from optuna_magic.outputs.panel.columns import reader as _reader
from optuna_magic.outputs.panel.messages import RecordMessages

__all__ = ["STATES", "ParamColumn", "TrialLike", "TrialRecord", "choice_label"]


class TrialRecord(BatchWrites, RecordMessages):
    """The trials of one study as columns, with deltas for the panel.

    Args:
        n_values: the number of objectives.
        params: the parameters known before any trial (the declared search space); parameters
            first seen in a trial are added as they come.
    """

    def __init__(self, n_values: int = 1, params: Iterable[ParamColumn] = ()) -> None:
        self._lock = threading.Lock()
        self._cols = _Columns(n_values)
        self.n_values = n_values
        self.param_columns: list[ParamColumn] = []
        self._param_index: dict[str, int] = {}
        self._int_trial: list[int] = []
        self._int_step: list[int] = []
        self._int_value: list[float] = []
        self._last_step: dict[int, int] = {}
        self.events: list[dict[str, Any]] = []
        self._tracebacks: dict[int, str] = {}
        self._user_attrs: dict[int, dict[str, Any]] = {}
        # Kept as rows are written (see BatchWrites._set_states): trials by state, the rows
        # completed since the best was last read (None: read it by a scan), and that best.
        self._state_counts = np.zeros(len(STATES), np.int64)
        self._completed: list[np.ndarray] | None = None
        self._completed_size = 0
        self._best_for: str | None = None
        self._best_number: int | None = None
        # Cursors of what the previous delta sent.
        self._dirty: set[int] = set()
        self._int_sent = 0
        self._events_sent = 0
        self._params_changed = True
        self.seq = 0
        # Queued by trial threads, applied by the next read: (number, started at), and a row of
        # plain values or (trial, error). deque appends and pops are atomic: no lock needed.
        self._started: deque[tuple[int, float]] = deque()
        self._finished: deque[_Queued] = deque()
        # The known parameters' names and what reads them out of a params dict, as one tuple so
        # that a trial thread reads a matching pair (see trial_finished).
        self._row_reader: tuple[tuple[str, ...], Callable[[dict[str, Any]], Any]] = ((), _no_params)
        for p in params:
            self._add_param(p)

    # ------------------------------------------------------------------ writes
    def _add_param(self, column: ParamColumn) -> int:
        self._param_index[column.name] = len(self.param_columns)
        self.param_columns.append(column)
        self._cols.add_param()
        self._params_changed = True
        names = tuple(c.name for c in self.param_columns)
        self._row_reader = (names, _reader(names))
        return len(self.param_columns) - 1

    def trial_started(self, number: int, when: float | None = None) -> None:
        """A trial began running (queued; see the module's docstring)."""
        self._started.append((number, time.time() if when is None else when))

    def mark_running(self, started: dict[int, float]) -> None:
        """Trials running now (number -> start), for a runner that is asked rather than told:
        those the record has not seen end show as RUNNING."""
        if not started:
            return
        with self._lock:
            self._apply_queued()  # an end queued before this read wins over the start
            numbers = np.fromiter(started, np.int64, len(started))
            self._cols.ensure(int(numbers.max()))
            fresh = numbers[self._cols.state[numbers] == _ABSENT]
            if fresh.size:
                self._set_states(fresh, 0)
                self._cols.start[fresh] = [started[n] for n in fresh.tolist()]
                self._dirty.update(fresh.tolist())

    def trial_reported(self, number: int, step: int, value: float) -> None:
        """A running trial reported an intermediate value."""
        with self._lock:
            self._int_trial.append(number)
            self._int_step.append(step)
            self._int_value.append(value)
            self._last_step[number] = step

    def trial_completed(
        self, trial: TrialLike, values: tuple[float, ...], started: float, ended: float
    ) -> bool:
        """Queue a completed trial as a row of plain values; False when it needs more than a row.

        ``trial`` gives the number and parameters (its own state and values are not read). A
        trial whose parameters are not exactly the known columns, or that has intermediate
        values or user attributes, is not queued: the caller gives it to :meth:`trial_finished`.
        A queued row is a tuple of plain values, which the garbage collector stops tracking at
        its first pass: objects kept per trial until the next flush slowed the collector for the
        whole kernel.
        """
        try:
            # The runner's FrozenTrial: its fields, not its properties (a property read is a
            # Python call in 3.11: ~1,600 instructions a trial less, valgrind).
            number, params, user_attrs = trial._number, trial._params, trial._user_attrs
            attrs = trial._system_attrs
        except AttributeError:  # anything else that reads like a trial
            number, params, user_attrs = trial.number, trial.params, trial.user_attrs
            attrs = trial.system_attrs
        names, read = self._row_reader
        if len(params) != len(names) or trial.intermediate_values or user_attrs:
            return False
        try:
            row = read(params)
        except KeyError:  # another parameter of the same count
            return False
        # attrs: empty unless a sampler or a constraint wrote one; NO_CONSTRAINT otherwise,
        # which the batch counts by identity
        largest = _largest_constraint(attrs) if attrs else NO_CONSTRAINT
        self._finished.append((number, values, started, ended, names, row, largest))
        return True

    def trial_finished(self, trial: TrialLike, error: tuple[str, str] | None = None) -> None:
        """A trial ended (any state). ``error`` is ``(message, traceback)`` of a failed trial.

        ``trial`` is a FrozenTrial or anything that reads like one (the runner's ``TrialEvent``),
        and must not change afterwards: it is queued and read at the next read of the record.
        """
        end = getattr(trial, "complete_ts", None)  # a TrialEvent: it knows when it ran
        start = getattr(trial, "start_ts", None)
        values = trial.values
        if (
            end is not None
            and start is not None
            and values is not None  # COMPLETE: the runner's event has values only then
            and error is None
            and self.trial_completed(trial, values, start, end)
        ):
            return
        self._finished.append((trial, error))

    def add_trials(
        self,
        trials: Sequence[TrialLike],
        errors: dict[int, tuple[str, str]] | None = None,
    ) -> None:
        """Add or update whole trials, e.g. a resumed study's existing ones."""
        with self._lock:
            self._apply_queued()
            self._put_batch([(t, (errors or {}).get(t.number)) for t in trials])

    def _apply_queued(self) -> None:
        """Apply the queued starts and ends in one batch (the caller holds the lock)."""
        # Ends are drained first and applied last: a trial's start is queued before its end, so
        # every start of a drained end is drained too (draining the other way round could apply
        # an end before its start, and the late start would turn the trial back to RUNNING).
        finished = _drain(self._finished)
        started = _drain(self._started)
        if started:
            numbers_in, times = zip(*started, strict=True)
            numbers, first = np.unique(np.asarray(numbers_in, np.int64), return_index=True)
            self._cols.ensure(int(numbers.max()))
            self._set_states(numbers, 0)
            self._cols.start[numbers] = np.asarray(times, np.float64)[first]
            self._dirty.update(numbers_in)
        if finished:
            self._put_batch(finished)

    def add_event(self, kind: str, message: str = "") -> None:
        """A run event for the log (run started, stop requested, run ended)."""
        with self._lock:
            self._apply_queued()  # the log keeps the order things happened in
            self._event(kind, None, message=message[:_MESSAGE_CHARS])

    def _event(self, kind: str, number: int | None, **fields: Any) -> None:
        self.events.append({"kind": kind, "trial": number, "time": time.time(), **fields})

    # ------------------------------------------------------------------- reads
    def __len__(self) -> int:
        with self._lock:
            self._apply_queued()
            return int(self._state_counts.sum())  # every named row has a state

    def counts(self) -> dict[str, int]:
        """Trials by state name."""
        with self._lock:
            self._apply_queued()
            found = self._state_counts.tolist()
        return dict(zip(STATES, found, strict=True))

    def complete_values(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The numbers of the COMPLETE trials, in order, their values (one row each), and
        whether each breaks a constraint."""
        with self._lock:
            self._apply_queued()
            numbers = np.flatnonzero(self._cols.state == 1)
            return numbers, self._cols.values[numbers], self._cols.constraint[numbers] > 0

    def best(self, directions: Sequence[str]) -> dict[str, Any] | None:
        """The best feasible complete trial of a single-objective study: number, values, params."""
        if len(directions) != 1:
            return None
        with self._lock:
            self._apply_queued()
            n = self._best_of(directions[0])
            if n is None:
                return None
            params = {}
            for i, p in enumerate(self.param_columns):
                v = self._cols.params[n, i]
                if math.isnan(v):
                    continue
                params[p.name] = p.choices[int(v)] if p.choices is not None else _number(v, p)
            return {"number": n, "values": [float(self._cols.values[n, 0])], "params": params}

    def _best_of(self, direction: str) -> int | None:
        """The number of the best feasible complete trial (as study.best_trial: no constraint
        value above 0; a tie goes to the lowest number). A finished trial's row does not change,
        so only the rows completed since the last read can beat the best found then; the whole
        record is scanned only at the first read or after many unread completions."""
        cols = self._cols
        if self._completed is None or self._best_for != direction:
            candidates = np.flatnonzero(cols.state == 1)  # sorted
        else:
            parts = self._completed
            if self._best_number is not None:
                parts = [*parts, np.array([self._best_number], np.int64)]
            # Neither sorted nor unique: a tie is settled below. np.unique of the rows a flush
            # found completed cost ~1 us a trial (at 20,000 rows a read), the most of any read.
            candidates = np.concatenate(parts) if parts else np.empty(0, np.int64)
        self._completed, self._completed_size, self._best_for = [], 0, direction
        column = cols.values[candidates, 0]
        usable = np.isfinite(column) & ~(cols.constraint[candidates] > 0)
        usable &= cols.state[candidates] == 1
        if not usable.any():
            self._best_number = None
            return None
        candidates, column = candidates[usable], column[usable]
        top = column.max() if direction == "maximize" else column.min()
        self._best_number = int(candidates[column == top].min())  # a tie: the lowest number
        return self._best_number

    def n_infeasible(self) -> int:
        """How many complete trials break a constraint (a value above 0)."""
        with self._lock:
            self._apply_queued()
            complete = self._cols.state == 1
            return int(np.count_nonzero(complete & (self._cols.constraint > 0)))

    def trial_detail(self, number: int) -> dict[str, Any]:
        """What the panel shows on a click: the traceback and user attributes of one trial."""
        with self._lock:
            self._apply_queued()
            attrs = self._user_attrs.get(number, {})
            return {
                "number": number,
                "traceback": self._tracebacks.get(number, ""),
                "user_attrs": {k: _jsonable(v) for k, v in attrs.items()},
            }
