"""Finished (or polled) trials written into the record's columns, a batch at a time.

The record queues what trial threads tell it and applies the queue at its next read, under its
lock (see :mod:`optuna_magic.outputs.panel.record`); this is that writing, column by column in
numpy: queued rows of plain values together, other trials one by one, then their rare extras
(intermediate values never seen reported, user attributes, the pruned or failed event).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np

from optuna_magic.outputs.constraints import largest_constraint
from optuna_magic.outputs.panel.columns import (
    ABSENT,
    MESSAGE_CHARS,
    ROW_LEN,
    STATES,
    TRACEBACK_CHARS,
    Columns,
    ParamColumn,
    Queued,
    TrialLike,
    column_for,
    duration,
    fail_reason,
    finite_or_none,
    timestamp,
    to_constraint_cells,
)

__all__ = ["BatchWrites"]

# The completed rows kept for the next read of the best trial; past this many (a record whose
# best nobody reads, e.g. a watch's first poll of a large study) the next read scans instead.
_COMPLETED_KEPT = 1 << 16


class BatchWrites:
    """The writing half of :class:`~optuna_magic.outputs.panel.record.TrialRecord`.

    Its state is the record's own, set in the record's ``__init__`` and declared here for the
    type checker; every method runs with the record's lock held.
    """

    _cols: Columns
    n_values: int
    param_columns: list[ParamColumn]
    _param_index: dict[str, int]
    _int_trial: list[int]
    _int_step: list[int]
    _int_value: list[float]
    _last_step: dict[int, int]
    _tracebacks: dict[int, str]
    _user_attrs: dict[int, dict[str, Any]]
    _dirty: set[int]
    _params_changed: bool
    _state_counts: np.ndarray
    _completed: list[np.ndarray] | None
    _completed_size: int

    def _set_states(self, rows: np.ndarray, states: np.ndarray | int) -> None:
        """Write the state of ``rows`` (distinct numbers), keeping the count of each state and
        the rows that completed, so the status a flush sends does not scan the whole record: at
        1,000,000 trials the scans took ~30 ms a flush, four flushes a second, in the trial's
        thread."""
        cols = self._cols
        old = cols.state[rows]
        seen = old[old != ABSENT]
        if seen.size:
            self._state_counts -= np.bincount(seen, minlength=len(STATES))[: len(STATES)]
        cols.state[rows] = states
        new = cols.state[rows]
        self._state_counts += np.bincount(new, minlength=len(STATES))[: len(STATES)]
        if self._completed is not None:
            done = rows[new == 1]
            self._completed_size += int(done.size)
            if self._completed_size > _COMPLETED_KEPT:  # nobody asked for the best: rescan
                self._completed = None
            elif done.size:
                self._completed.append(done)

    def _add_param(self, column: ParamColumn) -> int:
        raise NotImplementedError

    def _event(self, kind: str, number: int | None, **fields: Any) -> None:
        raise NotImplementedError

    def _put_batch(self, items: Sequence[Queued]) -> None:
        """Write finished (or polled) trials in order, in runs without a repeated number."""
        if not items:
            return
        # The usual batch of a fast run: rows only, of distinct numbers, checked in C (these
        # are per-trial costs: a comprehension over the batch cost ~200 instructions a trial).
        count = len(items)
        if list(map(len, items)).count(ROW_LEN) == count and len(set(map(_first, items))) == count:
            self._put_rows(list(items))
            return
        numbers = [item[0] if len(item) == ROW_LEN else item[0].number for item in items]
        if len(set(numbers)) == len(numbers):  # the usual case: one run
            self._put_run(list(items))
            return
        run: list[Queued] = []
        seen: set[int] = set()
        for item, number in zip(items, numbers, strict=True):
            if number in seen:  # the same trial again (polled twice): its earlier write first
                self._put_run(run)
                run, seen = [], set()
            run.append(item)
            seen.add(number)
        if run:
            self._put_run(run)

    def _put_run(self, items: list[Queued]) -> None:
        """Write trials of distinct numbers: queued rows together, then trials one by one."""
        rows = [item for item in items if len(item) == ROW_LEN]
        if rows:
            self._put_rows(rows)
        if len(rows) < len(items):
            self._put_trials([item for item in items if len(item) != ROW_LEN])

    def _put_rows(self, items: list[Queued]) -> None:
        """Complete trials queued as rows of plain values (see trial_finished), in numpy."""
        numbers, values, starts, ends, names, params, largest = zip(*items, strict=True)
        cols = self._cols
        # np.fromiter where the runner's values are plain ints and floats: cheaper per trial
        # than np.asarray's discovery of a tuple's type and shape.
        count = len(items)
        rows = np.fromiter(numbers, np.int64, count)
        cols.ensure(int(rows.max()))
        self._set_states(rows, 1)  # COMPLETE
        nv = self.n_values
        flat = np.fromiter(itertools.chain.from_iterable(values), np.float64)
        if flat.size == len(items) * nv:
            cols.values[rows] = flat.reshape(len(items), nv)
        else:  # a trial with more (or fewer) values than objectives: one at a time
            for row, vals in zip(rows.tolist(), values, strict=True):
                cols.values[row, : min(nv, len(vals))] = vals[:nv]
        start_ts = np.fromiter(starts, np.float64, count)
        cols.start[rows] = start_ts
        cols.duration[rows] = np.fromiter(ends, np.float64, count) - start_ts
        if largest.count(NO_CONSTRAINT) == count:  # none set: each row holds this one NaN
            cols.constraint[rows] = NO_CONSTRAINT  # no conversion of a tuple per trial
        else:
            cols.constraint[rows] = to_constraint_cells(largest)
        first = names[0]
        groups: list[tuple[tuple[str, ...], np.ndarray, Sequence[Any]]]
        if names.count(first) == count:  # in C; equal names read the same columns
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

    def _put_trials(self, items: list[Queued]) -> None:
        """Write trials (FrozenTrial or alike, with their errors) of distinct numbers."""
        trials = [t for t, _ in items]
        numbers = [t.number for t in trials]
        cols = self._cols
        cols.ensure(max(numbers))
        rows = np.asarray(numbers, np.int64)
        self._set_states(rows, np.fromiter((t.state.value for t in trials), np.uint8, len(trials)))
        nv = self.n_values
        # A trial without values (running, pruned, failed) keeps what its row holds.
        full = [i for i, t in enumerate(trials) if t.values is not None and len(t.values) >= nv]
        if full:
            cols.values[rows[full]] = [trials[i].values[:nv] for i in full]
        for i, t in enumerate(trials):
            if t.values is not None and len(t.values) < nv:  # fewer values than objectives
                cols.values[rows[i], : len(t.values)] = t.values
        starts = np.fromiter((timestamp(t.datetime_start) for t in trials), np.float64)
        unknown = np.isnan(starts)  # keep the start a trial_started() gave, if any
        starts[unknown] = cols.start[rows[unknown]]
        cols.start[rows] = starts
        cols.duration[rows] = [duration(t, s) for t, s in zip(trials, starts.tolist(), strict=True)]
        cols.constraint[rows] = to_constraint_cells([_largest(t) for t in trials])
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
                        self._add_param(column_for(name, t.distributions.get(name)))
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
            self._event("pruned", n, step=at, value=finite_or_none(value))
        elif state == 3:  # FAIL
            message, traceback = error or (fail_reason(t), "")
            self._tracebacks[n] = traceback[-TRACEBACK_CHARS:]
            self._event("failed", n, message=message[:MESSAGE_CHARS])


_first = itemgetter(0)
# What the record queues for a trial without constraints (record.py): this very object, so a
# batch counts them by identity (NaN equals nothing, itself included).
NO_CONSTRAINT = math.nan


def _largest(t: TrialLike) -> float:
    # A trial-like object may have no system_attrs at all (as fail_reason reads them).
    attrs = getattr(t, "system_attrs", None)
    return largest_constraint(attrs) if attrs else math.nan
