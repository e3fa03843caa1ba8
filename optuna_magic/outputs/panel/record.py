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
for a view that opens later. Both return a JSON-able header and a list of little-endian binary
buffers, the shape ``anywidget``'s ``send(content, buffers)`` takes.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np

__all__ = ["STATES", "ParamColumn", "TrialLike", "TrialRecord", "choice_label"]

# A FrozenTrial, or the runner's lighter TrialEvent that reads like one (number, state, values,
# params, distributions, intermediate_values, user_attrs, datetime_start, datetime_complete).
TrialLike = Any

# Same codes as ``optuna.trial.TrialState`` so a FrozenTrial's state maps without a table.
STATES = ("RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING")
_ABSENT = 255  # a row no event has named yet (numbers seen out of order under --n-jobs)
_MESSAGE_CHARS = 500  # an event carries the head of an error; the rest is asked for on click
_TRACEBACK_CHARS = 20_000


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
        return {"name": self.name, "kind": self.kind, "log": self.log, "choices": self.choices}


class _Columns:
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

    def ensure(self, number: int) -> None:
        if number < self.capacity:
            return
        new = max(64, self.capacity * 2, number + 1)
        grow = new - self.capacity
        self.state = np.concatenate([self.state, np.full(grow, _ABSENT, np.uint8)])
        self.values = np.vstack([self.values, np.full((grow, self.n_values), np.nan)])
        self.params = np.vstack([self.params, np.full((grow, self.params.shape[1]), np.nan)])
        self.start = np.concatenate([self.start, np.full(grow, np.nan)])
        self.duration = np.concatenate([self.duration, np.full(grow, np.nan)])
        self.pruned_step = np.concatenate([self.pruned_step, np.full(grow, -1, np.int32)])
        self.capacity = new

    def add_param(self) -> None:
        self.params = np.hstack([self.params, np.full((self.capacity, 1), np.nan)])


class TrialRecord:
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
        self._n_rows = 0
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
                self._n_rows += int(fresh.size)
                self._cols.state[fresh] = 0
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
        params = trial.params
        names, read = self._row_reader
        if len(params) != len(names) or trial.intermediate_values or trial.user_attrs:
            return False
        try:
            row = read(params)
        except KeyError:  # another parameter of the same count
            return False
        self._finished.append((trial.number, values, started, ended, names, row))
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
            numbers = np.asarray(numbers_in, np.int64)
            self._cols.ensure(int(numbers.max()))
            self._n_rows += int(np.count_nonzero(self._cols.state[numbers] == _ABSENT))
            self._cols.state[numbers] = 0
            self._cols.start[numbers] = np.asarray(times, np.float64)
            self._dirty.update(numbers_in)
        if finished:
            self._put_batch(finished)

    def _put_batch(self, items: Sequence[_Queued]) -> None:
        """Write finished (or polled) trials in order, in runs without a repeated number."""
        numbers = [item[0] if len(item) == _ROW_LEN else item[0].number for item in items]
        if len(set(numbers)) == len(numbers):  # the usual case: one run
            self._put_run(list(items))
            return
        run: list[_Queued] = []
        seen: set[int] = set()
        for item, number in zip(items, numbers, strict=True):
            if number in seen:  # the same trial again (polled twice): its earlier write first
                self._put_run(run)
                run, seen = [], set()
            run.append(item)
            seen.add(number)
        if run:
            self._put_run(run)

    def _put_run(self, items: list[_Queued]) -> None:
        """Write trials of distinct numbers: queued rows together, then trials one by one."""
        rows = [item for item in items if len(item) == _ROW_LEN]
        if rows:
            self._put_rows(rows)
        if len(rows) < len(items):
            self._put_trials([item for item in items if len(item) != _ROW_LEN])

    def _put_rows(self, items: list[_Queued]) -> None:
        """Complete trials queued as rows of plain values (see trial_finished), in numpy."""
        numbers, values, starts, ends, names, params = zip(*items, strict=True)
        cols = self._cols
        rows = np.asarray(numbers, np.int64)
        cols.ensure(int(rows.max()))
        self._n_rows += int(np.count_nonzero(cols.state[rows] == _ABSENT))
        cols.state[rows] = 1  # COMPLETE
        nv = self.n_values
        flat = np.fromiter(itertools.chain.from_iterable(values), np.float64)
        if flat.size == len(items) * nv:
            cols.values[rows] = flat.reshape(len(items), nv)
        else:  # a trial with more (or fewer) values than objectives: one at a time
            for row, vals in zip(rows.tolist(), values, strict=True):
                cols.values[row, : min(nv, len(vals))] = vals[:nv]
        start_ts = np.asarray(starts, np.float64)
        cols.start[rows] = start_ts
        cols.duration[rows] = np.asarray(ends, np.float64) - start_ts
        first = names[0]
        groups: list[tuple[tuple[str, ...], np.ndarray, Sequence[Any]]]
        if all(n is first for n in names):
            groups = [(first, rows, params)]
        else:  # a parameter was added meanwhile: rows read with different names
            by: dict[tuple[str, ...], list[int]] = {}
            for k, n in enumerate(names):
                by.setdefault(n, []).append(k)
            groups = [(n, rows[ks], [params[k] for k in ks]) for n, ks in by.items()]
        for group_names, group_rows, group_params in groups:
            if not group_names:
                continue
            # One name: the reader gave the bare value; several: a tuple of them.
            columns = [group_params] if len(group_names) == 1 else zip(*group_params, strict=True)
            for name, column_values in zip(group_names, columns, strict=False):
                i = self._param_index[name]
                column = self.param_columns[i]
                n_choices = len(column.choices or ())
                cols.params[group_rows, i] = column.encode_all(list(column_values))
                if column.choices is not None and len(column.choices) != n_choices:
                    self._params_changed = True
        self._dirty.update(numbers)

    def _put_trials(self, items: list[_Queued]) -> None:
        """Write trials (FrozenTrial or alike, with their errors) of distinct numbers."""
        trials = [t for t, _ in items]
        numbers = [t.number for t in trials]
        cols = self._cols
        cols.ensure(max(numbers))
        rows = np.asarray(numbers, np.int64)
        self._n_rows += int(np.count_nonzero(cols.state[rows] == _ABSENT))
        cols.state[rows] = np.fromiter((t.state.value for t in trials), np.uint8, len(trials))
        nv = self.n_values
        # A trial without values (running, pruned, failed) keeps what its row holds.
        full = [i for i, t in enumerate(trials) if t.values is not None and len(t.values) >= nv]
        if full:
            cols.values[rows[full]] = [trials[i].values[:nv] for i in full]
        for i, t in enumerate(trials):
            if t.values is not None and len(t.values) < nv:  # fewer values than objectives
                cols.values[rows[i], : len(t.values)] = t.values
        starts = np.fromiter((_timestamp(t.datetime_start) for t in trials), np.float64)
        unknown = np.isnan(starts)  # keep the start a trial_started() gave, if any
        starts[unknown] = cols.start[rows[unknown]]
        cols.start[rows] = starts
        cols.duration[rows] = [
            _duration(t, s) for t, s in zip(trials, starts.tolist(), strict=True)
        ]
        self._put_params(rows, trials)
        for t, error in items:
            # Rare per trial: values the record never saw reported, attributes, pruned / failed.
            if t.intermediate_values or t.user_attrs or t.state.value in (2, 3):
                self._put_extras(t, error)
        self._dirty.update(numbers)

    def _put_params(self, rows: np.ndarray, trials: list[TrialLike]) -> None:
        index = self._param_index
        for t in trials:
            if not index.keys() >= t.params.keys():
                for name in t.params:  # new parameters get columns in the order they came
                    if name not in index:
                        self._add_param(_column_for(name, t.distributions.get(name)))
        for i, column in enumerate(self.param_columns):
            name = column.name
            present = [k for k, t in enumerate(trials) if name in t.params]
            if not present:
                continue
            n_choices = len(column.choices or ())
            encoded = column.encode_all([trials[k].params[name] for k in present])
            self._cols.params[rows[present], i] = encoded
            if column.choices is not None and len(column.choices) != n_choices:
                self._params_changed = True

    def _put_extras(self, t: TrialLike, error: tuple[str, str] | None) -> None:
        """Intermediate values not seen reported, user attributes, the pruned / failed event."""
        n = t.number
        state = int(t.state.value)
        last = self._last_step.get(n)
        for step, value in sorted(t.intermediate_values.items()):
            # Values the record never saw reported (a resumed study, a trial from another process).
            if last is None or step > last:
                self._int_trial.append(n)
                self._int_step.append(step)
                self._int_value.append(value)
                self._last_step[n] = step
        if t.user_attrs:
            self._user_attrs[n] = dict(t.user_attrs)
        if state == 2:  # PRUNED
            # The runner's TrialEvent has no last_step: the last reported step is where it stopped.
            at = getattr(t, "last_step", None)
            if at is None:
                at = self._last_step.get(n)
            self._cols.pruned_step[n] = -1 if at is None else at
            value = t.intermediate_values.get(at) if at is not None else None
            self._event("pruned", n, step=at, value=_finite_or_none(value))
        elif state == 3:  # FAIL
            message, traceback = error or (_fail_reason(t), "")
            self._tracebacks[n] = traceback[-_TRACEBACK_CHARS:]
            self._event("failed", n, message=message[:_MESSAGE_CHARS])

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
            return self._n_rows

    def counts(self) -> dict[str, int]:
        """Trials by state name."""
        with self._lock:
            self._apply_queued()
            present = self._cols.state[self._cols.state != _ABSENT]
            found = np.bincount(present, minlength=len(STATES))
        return {name: int(found[i]) for i, name in enumerate(STATES)}

    def complete_values(self) -> tuple[np.ndarray, np.ndarray]:
        """The numbers of the COMPLETE trials, in order, and their values (one row each)."""
        with self._lock:
            self._apply_queued()
            numbers = np.flatnonzero(self._cols.state == 1)
            return numbers, self._cols.values[numbers]

    def best(self, directions: Sequence[str]) -> dict[str, Any] | None:
        """The best complete trial of a single-objective study: number, values and params."""
        if len(directions) != 1:
            return None
        with self._lock:
            self._apply_queued()
            complete = np.flatnonzero(self._cols.state == 1)
            if complete.size == 0:
                return None
            column = self._cols.values[complete, 0]
            finite = np.isfinite(column)
            if not finite.any():
                return None
            complete, column = complete[finite], column[finite]
            pick = np.argmax(column) if directions[0] == "maximize" else np.argmin(column)
            n = int(complete[pick])
            params = {}
            for i, p in enumerate(self.param_columns):
                v = self._cols.params[n, i]
                if math.isnan(v):
                    continue
                params[p.name] = p.choices[int(v)] if p.choices is not None else _number(v, p)
            return {"number": n, "values": [float(column[pick])], "params": params}

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

    def delta(self) -> tuple[dict[str, Any], list[bytes]] | None:
        """What changed since the previous delta, or None when nothing did."""
        with self._lock:
            self._apply_queued()
            new_int = len(self._int_trial) - self._int_sent
            new_events = len(self.events) - self._events_sent
            if not (self._dirty or new_int or new_events or self._params_changed):
                return None
            rows = np.fromiter(sorted(self._dirty), np.int64, len(self._dirty))
            message = self._message("delta", rows, self._int_sent, self._events_sent)
            self._dirty.clear()
            self._int_sent += new_int
            self._events_sent += new_events
            self._params_changed = False
            self.seq += 1
            message[0]["seq"] = self.seq
            return message

    def full(self) -> tuple[dict[str, Any], list[bytes]]:
        """The whole record as of the latest delta (its ``seq``), for a view that opens later.

        Changes made after the latest delta are left out here: they go out in the next delta,
        which a view that applied this one then applies on top.
        """
        with self._lock:
            self._apply_queued()
            sent_rows = np.flatnonzero(self._cols.state != _ABSENT)
            if self._dirty:
                unsent = np.fromiter(self._dirty, np.int64, len(self._dirty))
                sent_rows = np.setdiff1d(sent_rows, unsent)
            content, buffers = self._message(
                "full", sent_rows, 0, 0, self._int_sent, self._events_sent
            )
            content["seq"] = self.seq
            return content, buffers

    def _message(
        self,
        kind: str,
        rows: np.ndarray,
        int_from: int,
        events_from: int,
        int_to: int | None = None,
        events_to: int | None = None,
    ) -> tuple[dict[str, Any], list[bytes]]:
        cols = self._cols
        int_to = len(self._int_trial) if int_to is None else int_to
        events_to = len(self.events) if events_to is None else events_to
        n_params = len(self.param_columns)
        # Column-major blocks so each objective / parameter is one contiguous Float64Array slice.
        buffers = [
            rows.astype("<i4").tobytes(),
            cols.state[rows].astype("u1").tobytes(),
            np.ascontiguousarray(cols.values[rows].T).astype("<f8").tobytes(),
            np.ascontiguousarray(cols.params[rows, :n_params].T).astype("<f8").tobytes(),
            cols.start[rows].astype("<f8").tobytes(),
            cols.duration[rows].astype("<f8").tobytes(),
            cols.pruned_step[rows].astype("<i4").tobytes(),
            np.asarray(self._int_trial[int_from:int_to], "<i4").tobytes(),
            np.asarray(self._int_step[int_from:int_to], "<i4").tobytes(),
            np.asarray(self._int_value[int_from:int_to], "<f8").tobytes(),
        ]
        content: dict[str, Any] = {
            "type": kind,
            "n_trials": len(rows),
            "n_values": self.n_values,
            "n_params": n_params,
            "n_intermediate": int_to - int_from,
            "events": [_jsonable_event(e) for e in self.events[events_from:events_to]],
            # Headers go with every message (a few hundred bytes, not per trial) so a view that
            # missed a delta (it rendered late, the kernel was busy with the sync) can still read
            # the next one.
            "params": [p.to_json() for p in self.param_columns],
        }
        return content, buffers


# A finished trial in the queue: a row of plain values (number, values, start, end, the names of
# the known parameters, what the reader gave for them), or the trial itself with its error.
_Queued = tuple[Any, ...]
_ROW_LEN = 6


def _no_params(_params: dict[str, Any]) -> None:
    return None


def _reader(names: tuple[str, ...]) -> Callable[[dict[str, Any]], Any]:
    """Reads ``names`` out of a params dict (KeyError if one is missing): for one name its value,
    for several a tuple (``operator.itemgetter``, the cheapest read in the trial's thread)."""
    return itemgetter(*names) if names else _no_params


def _column_for(name: str, distribution: Any) -> ParamColumn:
    """A column for a parameter first seen in a trial, from its Optuna distribution."""
    choices = getattr(distribution, "choices", None)
    if choices is not None:
        return ParamColumn(name, "categorical", choices=[choice_label(c) for c in choices])
    kind = "int" if type(distribution).__name__ == "IntDistribution" else "float"
    return ParamColumn(name, kind, log=bool(getattr(distribution, "log", False)))


def _drain(queue: deque[Any]) -> list[Any]:
    """Pop what is in ``queue`` now; items appended meanwhile stay for the next drain."""
    pop = queue.popleft
    return [pop() for _ in range(len(queue))]  # only the lock holder pops: no IndexError


def _timestamp(when: Any) -> float:
    return math.nan if when is None else float(when.timestamp())


def _duration(t: TrialLike, start: float) -> float:
    """Seconds from start to end; the runner's TrialEvent carries its end as a timestamp."""
    end = getattr(t, "complete_ts", None)
    if end is not None:
        return float(end) - start
    if t.datetime_complete is None or t.datetime_start is None:
        return math.nan
    return float((t.datetime_complete - t.datetime_start).total_seconds())


def _number(v: float, column: ParamColumn) -> float | int:
    return int(v) if column.kind == "int" else float(v)


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _fail_reason(t: TrialLike) -> str:
    reason = (getattr(t, "system_attrs", None) or {}).get("fail_reason")
    return str(reason) if reason else "failed"


def _jsonable(value: Any) -> Any:
    """User attributes as JSON: numbers and strings as they are, anything else as text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def _jsonable_event(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if v is not None}
