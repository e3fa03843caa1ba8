"""Read a stored study's changes and tell the sinks (see :mod:`optuna_magic.run.polled`).

:class:`StoragePoller` reads a study incrementally: each poll reads the trials created since the
previous poll and the trials that were not finished then, never the whole study again. How depends
on the storage:

- RDB (SQLite, PostgreSQL, MySQL): one query by ``trial_id`` (``trial_id > last seen`` or
  ``trial_id IN (unfinished)``) through Optuna's ``RDBStorage._get_trials``, the same query its
  cached storage uses.
- Journal: the journal's replay already reads only the new log lines; the poller then looks at
  the study's new trial ids and its unfinished ones.
- Anything else (in memory, gRPC, Dask): all trials, diffed by number (a fallback).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from optuna_magic.run.contract import RunSink, TrialError

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

__all__ = ["StoragePoller", "error_of"]

_FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def error_of(trial: FrozenTrial) -> TrialError | None:
    """The error of a failed trial as stored by the process that ran it, else None."""
    from optuna_magic.study.liveness import FAIL_REASON_KEY, TRACEBACK_KEY

    if trial.state.name != "FAIL":
        return None
    reason = trial.system_attrs.get(FAIL_REASON_KEY)
    if not reason:
        return None
    return TrialError(str(reason), str(trial.system_attrs.get(TRACEBACK_KEY, "")))


class StoragePoller:
    """Reads a study's new and changed trials and emits sink events for them.

    Args:
        study: the study to follow (its storage decides how a poll reads).
        sinks: receivers of ``trial_started`` / ``trial_reported`` / ``trial_finished``.
        fail_orphans: mark FAIL the RUNNING trials whose process is gone (see
            :func:`optuna_magic.study.liveness.fail_orphaned_trials`); off for a read-only watch.
    """

    def __init__(
        self, study: optuna.Study, sinks: Sequence[RunSink] = (), *, fail_orphans: bool = False
    ) -> None:
        from optuna.storages import JournalStorage, RDBStorage
        from optuna.storages._cached_storage import _CachedStorage

        self.study = study
        self.sinks = list(sinks)
        self.fail_orphans = fail_orphans
        storage = study._storage
        if isinstance(storage, _CachedStorage):
            storage = storage._backend
        self._storage: Any = storage
        self._study_id = study._study_id
        self.kind = (
            "rdb"
            if isinstance(storage, RDBStorage)
            else "journal"
            if isinstance(storage, JournalStorage)
            else "all"
        )
        self._max_id = -1  # rdb: the largest trial_id read
        self._n_ids = 0  # journal: how many of the study's trial ids were read
        self._unfinished: dict[int, FrozenTrial] = {}  # trial_id -> last seen (RUNNING/WAITING)
        self._started: set[int] = set()  # numbers told as started
        self._last_step: dict[int, int] = {}  # number -> last step told
        self._finished: set[int] = set()  # numbers told as finished ("all" mode)
        self.n_finished = 0  # trials this poller saw finish (not the baseline's)
        self.n_started = 0
        self.polls = 0
        self.last_read = 0  # trials read by the last poll

    # ----------------------------------------------------------------- reads
    def _read(self) -> list[FrozenTrial]:
        """New trials and the previously unfinished ones, in trial_id order."""
        if self.kind == "rdb":
            try:
                trials: list[FrozenTrial] = self._storage._get_trials(
                    self._study_id, None, set(self._unfinished), self._max_id
                )
            except AttributeError:  # an Optuna without the incremental query
                self.kind = "all"
                return self._read()
            if trials:
                self._max_id = max(self._max_id, max(t._trial_id for t in trials))
            return trials
        if self.kind == "journal":
            storage = self._storage
            with storage._thread_lock:
                storage._sync_with_backend()
                replay = storage._replay_result
                ids = replay._study_id_to_trial_ids.get(self._study_id, [])
                new = ids[self._n_ids :]
                self._n_ids = len(ids)
                wanted = sorted(set(self._unfinished) | set(new))
                return [replay._trials[i] for i in wanted]
        trials = self._storage.get_all_trials(self._study_id, deepcopy=False)
        return [t for t in trials if t.number not in self._finished]

    def baseline(self) -> list[FrozenTrial]:
        """Read the study as it is now, without events; return its trials (``existing_trials``).

        Unfinished ones are followed from here on; their later changes become events.
        """
        trials = self._read()
        for t in trials:
            self._note(t, emit=False)
        return [copy.copy(t) for t in trials]

    def poll(self) -> int:
        """Read what changed since the previous poll and tell the sinks; return #events."""
        trials = self._read()
        self.polls += 1
        self.last_read = len(trials)
        if self.fail_orphans:
            running = [t for t in trials if t.state.name == "RUNNING"]
            if running:
                from optuna_magic.study.liveness import fail_orphaned_trials

                if fail_orphaned_trials(self.study, running):
                    trials = self._read_again(trials)
        return sum(self._note(t, emit=True) for t in trials)

    def _read_again(self, trials: list[FrozenTrial]) -> list[FrozenTrial]:
        # The orphans were just failed: read them (and anything newer) once more.
        if self.kind == "rdb":
            fresh = {
                t._trial_id: t
                for t in self._storage._get_trials(
                    self._study_id, None, {t._trial_id for t in trials}, self._max_id
                )
            }
        else:
            fresh = {t._trial_id: t for t in self._read()}
            fresh.update(
                {
                    t._trial_id: self._storage.get_trial(t._trial_id)
                    for t in trials
                    if t._trial_id not in fresh
                }
            )
        merged = {t._trial_id: t for t in trials}
        merged.update(fresh)
        return [merged[i] for i in sorted(merged)]

    # ---------------------------------------------------------------- events
    def _note(self, t: FrozenTrial, *, emit: bool) -> int:
        events = 0
        state = t.state.name
        number = t.number
        if state == "WAITING":  # enqueued, not started by anyone yet
            self._unfinished[t._trial_id] = t
            return 0
        if number not in self._started:
            self._started.add(number)
            if emit:
                self.n_started += 1
                for sink in self.sinks:
                    sink.trial_started(number)
                events += 1
        last = self._last_step.get(number, -1 if emit else None)
        if t.intermediate_values:
            steps = sorted(s for s in t.intermediate_values if last is None or s > last)
            if steps:
                self._last_step[number] = steps[-1]
                if emit and last is not None:
                    for step in steps:
                        value = float(t.intermediate_values[step])
                        for sink in self.sinks:
                            sink.trial_reported(number, step, value)
                    events += len(steps)
        if state in _FINISHED:
            self._unfinished.pop(t._trial_id, None)
            self._last_step.pop(number, None)
            if self.kind == "all":
                self._finished.add(number)
            if emit:
                self.n_finished += 1
                frozen = copy.copy(t)  # the journal's replay reuses its objects
                error = error_of(frozen)
                for sink in self.sinks:
                    sink.trial_finished(frozen, error)
                events += 1
        else:
            self._unfinished[t._trial_id] = t
        return events

    @property
    def running(self) -> list[int]:
        """Numbers of the trials RUNNING at the last poll."""
        return sorted(t.number for t in self._unfinished.values() if t.state.name == "RUNNING")
