"""What the record sends the panel's views: ``delta`` (what changed since the previous one),
``full`` (everything, for a view that opens later) and ``skip`` (count the changes as sent while
no view reads the deltas), each numbered by ``seq``.

Both messages are a JSON-able header and the RECORD_BUFFERS of :mod:`.wire`, little-endian, the
shape ``anywidget``'s ``send(content, buffers)`` takes.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from optuna_magic.outputs.panel.columns import ABSENT, Columns, ParamColumn, jsonable_event

__all__ = ["RecordMessages"]


class RecordMessages:
    """The sending half of :class:`~optuna_magic.outputs.panel.record.TrialRecord`.

    Its state is the record's own, set in the record's ``__init__`` and declared here for the
    type checker; each public method takes the record's lock.
    """

    _lock: threading.Lock
    _cols: Columns
    n_values: int
    param_columns: list[ParamColumn]
    events: list[dict[str, Any]]
    _int_trial: list[int]
    _int_step: list[int]
    _int_value: list[float]
    _dirty: set[int]
    _params_changed: bool
    _int_sent: int
    _events_sent: int
    seq: int

    def _apply_queued(self) -> None:
        raise NotImplementedError

    def delta(self) -> tuple[dict[str, Any], list[bytes]] | None:
        """What changed since the previous delta, or None when nothing did."""
        with self._lock:
            self._apply_queued()
            if not self._changed():
                return None
            # Sorted by numpy, not sorted(): per changed trial, fewer Python comparisons.
            rows = np.sort(np.fromiter(self._dirty, np.int64, len(self._dirty)))
            message = self._message("delta", rows, self._int_sent, self._events_sent)
            self._mark_sent()
            message[0]["seq"] = self.seq
            return message

    def full(self) -> tuple[dict[str, Any], list[bytes]]:
        """The whole record as of the latest delta (its ``seq``), for a view that opens later.

        Changes made after the latest delta are left out here: they go out in the next delta,
        which a view that applied this one then applies on top.
        """
        with self._lock:
            self._apply_queued()
            sent_rows = np.flatnonzero(self._cols.state != ABSENT)
            if self._dirty:
                unsent = np.fromiter(self._dirty, np.int64, len(self._dirty))
                sent_rows = np.setdiff1d(sent_rows, unsent)
            content, buffers = self._message(
                "full", sent_rows, 0, 0, self._int_sent, self._events_sent
            )
            content["seq"] = self.seq
            return content, buffers

    def skip(self) -> None:
        """Count what changed as sent without encoding it (no view reads the deltas yet): the
        next :meth:`full` holds it, and a later delta carries only what changes after it."""
        with self._lock:
            self._apply_queued()
            if self._changed():
                self._mark_sent()

    def _changed(self) -> bool:
        """Whether anything changed since the last delta (the caller holds the lock)."""
        return bool(
            self._dirty
            or len(self._int_trial) > self._int_sent
            or len(self.events) > self._events_sent
            or self._params_changed
        )

    def _mark_sent(self) -> None:
        """Count everything up to now as sent, under the next sequence number."""
        self._dirty.clear()
        self._int_sent = len(self._int_trial)
        self._events_sent = len(self.events)
        self._params_changed = False
        self.seq += 1

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
            cols.constraint[rows].astype("<f4").tobytes(),
        ]
        content: dict[str, Any] = {
            "type": kind,
            "n_trials": len(rows),
            "n_values": self.n_values,
            "n_params": n_params,
            "n_intermediate": int_to - int_from,
            "events": [jsonable_event(e) for e in self.events[events_from:events_to]],
        }
        if kind == "full" or self._params_changed:
            # The headers, only where they changed (a new parameter, a new choice): ~150 B a
            # parameter, in every delta they were a fifth of a 4-parameter TPE run's traffic. A
            # view that misses a delta sees the gap in `seq` and asks for the whole record,
            # which has them.
            content["params"] = [p.to_json() for p in self.param_columns]
        return content, buffers
