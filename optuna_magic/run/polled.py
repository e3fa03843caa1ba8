"""Follow a stored study that other processes optimize, and tell the sinks what changes.

:class:`StoragePoller` reads a study incrementally: each poll reads the trials created since the
previous poll and the trials that were not finished then, never the whole study again. How depends
on the storage:

- RDB (SQLite, PostgreSQL, MySQL): one query by ``trial_id`` (``trial_id > last seen`` or
  ``trial_id IN (unfinished)``) through Optuna's ``RDBStorage._get_trials``, the same query its
  cached storage uses.
- Journal: the journal's replay already reads only the new log lines; the poller then looks at
  the study's new trial ids and its unfinished ones.
- Anything else (in memory, gRPC, Dask): all trials, diffed by number (a fallback).

:class:`PolledRun` drives a poller in its own thread with the same surface as
:class:`optuna_magic.run.runner.Runner` (``start``, ``wait``, ``wait_async``, ``request_stop``,
``interrupt``, ``running``, ``result``), so the magic treats ``%optuna watch``, ``--workers``
and ``--dask`` like a local run: the trials run elsewhere (a :class:`TrialSource`), the poller
turns the storage's changes into sink events.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from optuna_magic.run.runner import (
    RunDone,
    RunInfo,
    RunResult,
    RunSink,
    TrialError,
    objective_names,
)

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

__all__ = ["PolledRun", "StoragePoller", "TrialSource", "error_of", "start_watch", "watch_info"]

_log = logging.getLogger(__name__)
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


class TrialSource(Protocol):
    """Whatever runs the trials of a :class:`PolledRun` elsewhere (processes, a Dask cluster)."""

    error: BaseException | None

    def start(self) -> None:
        """Start running trials."""

    def alive(self) -> bool:
        """Whether trials may still start or run."""

    def request_stop(self) -> None:
        """No new trial starts; running ones finish."""

    def kill(self) -> None:
        """End now; running trials are failed."""

    def join(self, timeout: float | None = None) -> None:
        """Wait until everything has ended."""


class PolledRun:
    """A run whose trials happen elsewhere, followed by polling the storage.

    Same surface as :class:`optuna_magic.run.runner.Runner`. Ends when the source has ended (after
    a last poll), or, without a source (``%optuna watch``), when stopped, when ``until()`` says
    so, or when nothing changed for ``idle_timeout`` seconds.

    Args:
        study: the study, on the storage the trials are written to.
        info: the run's description for the sinks (see :meth:`describe`).
        sinks: receivers of the run's events.
        source: what runs the trials; None to only watch.
        interval: seconds between polls (at most one poll per interval).
        idle_timeout: end a watch after this many seconds without a change.
        until: end a watch when this returns True (e.g. all external workers ended).
        poller: a poller whose :meth:`StoragePoller.baseline` was already read (else one is
            made here and its baseline read at :meth:`start`).
        thread_setup: called first thing in the polling thread (the kernel's output parent).
    """

    def __init__(
        self,
        study: optuna.Study,
        info: RunInfo,
        sinks: Sequence[RunSink],
        *,
        source: TrialSource | None = None,
        interval: float = 1.0,
        idle_timeout: float | None = None,
        until: Callable[[], bool] | None = None,
        poller: StoragePoller | None = None,
        thread_setup: Callable[[], None] | None = None,
    ) -> None:
        self.study = study
        self.info = info
        self.sinks = list(sinks)
        self.source = source
        self.interval = interval
        self.idle_timeout = idle_timeout
        self._until = until
        self._thread_setup = thread_setup
        self.poller = poller or StoragePoller(study, self.sinks, fail_orphans=source is not None)
        self.poller.sinks = self.sinks
        self._baseline_read = poller is not None
        self._stop_requested = threading.Event()
        self._interrupted = threading.Event()
        self._wake = threading.Event()
        self._done = RunDone()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self.ended_because = ""
        self.result: RunResult | None = None
        self._objective: Any = None  # what Runner has; --keep-best does not apply here

    @staticmethod
    def describe(
        study: optuna.Study,
        *,
        storage: str,
        existing: Sequence[FrozenTrial] = (),
        n_trials: int | None = None,
        timeout: float | None = None,
        space: Sequence[Any] = (),
        n_jobs: int = 1,
        sampler: str | None = None,
        pruner: str | None = None,
    ) -> RunInfo:
        """A :class:`RunInfo` for a stored study (``storage`` already masked)."""
        n = len(study.directions)
        return RunInfo(
            study_name=study.study_name,
            directions=[d.name.lower() for d in study.directions],
            sampler=sampler or type(study.sampler).__name__,
            pruner=pruner or type(study.pruner).__name__,
            storage=storage,
            n_trials=n_trials,
            timeout=timeout,
            space=list(space),
            objective_names=list(study.metric_names or objective_names(n)),
            started_at=time.time(),
            existing_trials=list(existing),
            n_jobs=n_jobs,
        )

    # --------------------------------------------------------------- control
    def request_stop(self) -> None:
        """Stop gracefully: no new trial starts, running ones finish (a watch ends at once)."""
        self._stop_requested.set()
        if self.source is not None:
            self.source.request_stop()
        self._wake.set()

    @property
    def stop_requested(self) -> bool:
        """Whether a graceful stop has been asked for."""
        return self._stop_requested.is_set()

    def interrupt(self) -> None:
        """Stop now: the source kills its trials (they are recorded FAIL)."""
        self._interrupted.set()
        self._stop_requested.set()
        if self.source is not None:
            self.source.kill()
        self._wake.set()

    @property
    def running(self) -> bool:
        """Whether the run is still going."""
        return self._thread is not None and not self._done.is_set()

    # ------------------------------------------------------------------- run
    def start(self) -> None:
        """Read the baseline, tell the sinks, start the source and the polling thread."""
        if not self._baseline_read:
            self.poller.baseline()
            self._baseline_read = True
        self._started = time.time()
        for sink in self.sinks:
            sink.run_started(self.info, self)
        try:
            if self.source is not None:
                self.source.start()
        except BaseException:
            self._done.set()
            raise
        self._thread = threading.Thread(target=self._main, name="optuna-magic-poll", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """Block until the run ends. ``KeyboardInterrupt`` here interrupts the run."""
        try:
            self._done.wait(timeout)
        except KeyboardInterrupt:
            self.interrupt()
            self._done.wait(30)
        return self.result

    async def wait_async(self) -> RunResult | None:
        """Await the end of the run without blocking the event loop."""
        import asyncio

        try:
            await self._done.wait_async()
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.interrupt()
            while not self._done.wait(0.1):
                pass
        return self.result

    def _poll(self) -> int:
        try:
            return self.poller.poll()
        except Exception:  # a database hiccup: the next poll reads the same changes
            _log.warning("polling the storage failed", exc_info=True)
            return 0

    def _main(self) -> None:
        if self._thread_setup is not None:
            try:
                self._thread_setup()
            except Exception:  # pragma: no cover - cosmetic only
                _log.debug("thread setup failed", exc_info=True)
        last_change = time.monotonic()
        error: BaseException | None = None
        try:
            while True:
                t0 = time.monotonic()
                if self._poll():
                    last_change = time.monotonic()
                if self.source is not None:
                    if not self.source.alive():
                        self.source.join()
                        self._poll()
                        self.ended_because = "source ended"
                        break
                elif self._stop_requested.is_set():
                    self.ended_because = "stopped"
                    break
                elif self._until is not None and self._until():
                    self._poll()
                    self.ended_because = "condition"
                    break
                elif (
                    self.idle_timeout is not None
                    and time.monotonic() - last_change >= self.idle_timeout
                ):
                    self.ended_because = "idle"
                    break
                self._wake.wait(max(0.0, self.interval - (time.monotonic() - t0)))
                self._wake.clear()
        except BaseException as e:
            error = e
        if self.source is not None and error is None:
            error = self.source.error
        self._end(error)

    def _end(self, error: BaseException | None) -> None:
        if self._interrupted.is_set():
            state = "interrupted"
        elif error is not None:
            state = "failed"
        elif self._stop_requested.is_set():
            state = "stopped"
        else:
            state = "finished"
        self.result = RunResult(
            state=state,
            study=self.study,
            n_trials_run=self.poller.n_finished,
            elapsed=time.time() - self._started,
            error=None if error is None else str(error) or type(error).__name__,
            exception=error,
        )
        for sink in self.sinks:
            try:
                sink.run_ended(self.result)
            except Exception:
                _log.warning("a sink failed at the end of the run", exc_info=True)
        self._done.set()


def watch_info(
    study: optuna.Study, storage_url: str, existing: Sequence[FrozenTrial] = ()
) -> RunInfo:
    """The :class:`RunInfo` of ``%optuna watch``: the storage shown with credentials masked."""
    import dataclasses

    from optuna_magic.study.factories import mask_url

    info = PolledRun.describe(study, storage=mask_url(storage_url), existing=existing)
    return dataclasses.replace(info, watch=True)


def start_watch(
    storage_url: str,
    study_name: str,
    sinks: Sequence[RunSink],
    *,
    interval: float = 1.0,
    idle_timeout: float | None = None,
    until: Callable[[], bool] | None = None,
    thread_setup: Callable[[], None] | None = None,
) -> PolledRun:
    """``%optuna watch``: follow a study other processes optimize; return the started run.

    The watch only reads: it never fails another process's trial.

    Raises:
        OptunaMagicError: the storage holds no such study (the message lists those it holds).
    """
    import optuna

    from optuna_magic.cell.space import OptunaMagicError
    from optuna_magic.study.factories import mask_url
    from optuna_magic.study.liveness import open_storage

    storage = open_storage(storage_url, heartbeat_interval=None)
    names = sorted(s.study_name for s in storage.get_all_studies())
    if study_name not in names:
        raise OptunaMagicError(
            f"no study named {study_name!r} in {mask_url(storage_url)} "
            f"(studies there: {', '.join(names) or 'none'})"
        )
    study = optuna.load_study(study_name=study_name, storage=storage)
    poller = StoragePoller(study, sinks, fail_orphans=False)
    existing = poller.baseline()
    run = PolledRun(
        study,
        watch_info(study, storage_url, existing),
        sinks,
        interval=interval,
        idle_timeout=idle_timeout,
        until=until,
        poller=poller,
        thread_setup=thread_setup,
    )
    run.start()
    return run
