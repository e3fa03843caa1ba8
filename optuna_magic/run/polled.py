"""Follow a stored study that other processes optimize, and tell the sinks what changes.

:class:`~optuna_magic.run.poller.StoragePoller` reads the study's changes incrementally and turns
them into sink events. :class:`PolledRun` drives a poller in its own thread; it is a
:class:`~optuna_magic.run.handle.RunHandle` like :class:`optuna_magic.run.runner.Runner`, so the
magic treats ``%optuna watch``, ``--workers`` and ``--dask`` like a local run and the sinks hear
the same sequence: the trials run elsewhere (a :class:`TrialSource`), the poller turns the
storage's changes into sink events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from optuna_magic.run.contract import RunInfo, RunSink
from optuna_magic.run.handle import RunHandle
from optuna_magic.run.poller import StoragePoller, error_of

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

__all__ = ["PolledRun", "StoragePoller", "TrialSource", "error_of", "start_watch", "watch_info"]

_log = logging.getLogger(__name__)


class TrialSource(Protocol):
    """Whatever runs the trials of a :class:`PolledRun` elsewhere (processes, a Dask cluster)."""

    error: BaseException | None
    # Called once, from any thread, when the source has ended (the run then polls once more
    # and ends at once rather than at its next poll, up to a whole interval later).
    on_end: Callable[[], None] | None

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


class PolledRun(RunHandle):
    """A run whose trials happen elsewhere, followed by polling the storage.

    Ends when the source has ended (after a last poll), or, without a source (``%optuna
    watch``), when stopped, when ``until()`` says so, or when nothing changed for
    ``idle_timeout`` seconds.

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

    # An interrupted wait gives the source this long to kill its trials and the last poll.
    interrupt_grace = 30.0
    _thread_name = "optuna-magic-poll"

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
        super().__init__(study, info, sinks, thread_setup=thread_setup)
        self.source = source
        self.interval = interval
        self.idle_timeout = idle_timeout
        self._until = until
        self.poller = poller or StoragePoller(study, self.sinks, fail_orphans=source is not None)
        self.poller.sinks = self.sinks
        self._baseline_read = poller is not None
        self._wake = threading.Event()
        self._source_ended = threading.Event()
        if source is not None:
            source.on_end = self._on_source_end
        self.ended_because = ""
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
        from optuna_magic.run.info import run_info

        return run_info(
            study,
            n_trials=n_trials,
            timeout=timeout,
            n_jobs=n_jobs,
            space=space,
            storage=storage,
            sampler=sampler,
            pruner=pruner,
            existing=existing,
        )

    # --------------------------------------------------------------- control
    def _stop_trials(self, *, now: bool) -> None:
        """The source stops starting trials (a watch ends at once); ``now`` kills them (FAIL)."""
        if self.source is not None:
            if now:
                self.source.kill()
            else:
                self.source.request_stop()
        self._wake.set()

    # ------------------------------------------------------------------- run
    def start(self) -> None:
        """Read the baseline, tell the sinks, start the source and the polling thread."""
        if not self._baseline_read:
            self.poller.baseline()
            self._baseline_read = True
        super().start()

    def _on_source_end(self) -> None:
        self._source_ended.set()
        self._wake.set()

    def _before_thread(self) -> None:
        if self.source is not None:
            self.source.start()

    def _poll(self) -> int:
        try:
            return self.poller.poll()
        except Exception:  # a database hiccup: the next poll reads the same changes
            _log.warning("polling the storage failed", exc_info=True)
            return 0

    def _n_trials_run(self) -> int:
        return self.poller.n_finished

    def _run(self) -> tuple[str, str | None, BaseException | None]:
        error: BaseException | None = None
        try:
            self._follow()
        except BaseException as e:
            error = e
        if self.source is not None and error is None:
            error = self.source.error
        if self._interrupted.is_set():
            state = "interrupted"
        elif error is not None:
            state = "failed"
        elif self._stop_requested.is_set():
            state = "stopped"
        else:
            state = "finished"
        return state, None if error is None else str(error) or type(error).__name__, error

    def _follow(self) -> None:
        """Poll until the source ends, or a watch is stopped, done or idle."""
        last_change = time.monotonic()
        while True:
            t0 = time.monotonic()
            if self._poll():
                last_change = time.monotonic()
            if self.source is not None:
                # Its end says so at once; alive() stays true until its threads return.
                if self._source_ended.is_set() or not self.source.alive():
                    self.source.join()
                    self._poll()
                    self.ended_because = "source ended"
                    return
            elif self._stop_requested.is_set():
                self.ended_because = "stopped"
                return
            elif self._until is not None and self._until():
                self._poll()
                self.ended_because = "condition"
                return
            elif (
                self.idle_timeout is not None
                and time.monotonic() - last_change >= self.idle_timeout
            ):
                self.ended_because = "idle"
                return
            self._wake.wait(max(0.0, self.interval - (time.monotonic() - t0)))
            self._wake.clear()


def watch_info(
    study: optuna.Study, storage_url: str, existing: Sequence[FrozenTrial] = ()
) -> RunInfo:
    """The :class:`RunInfo` of ``%optuna watch``: the storage shown with credentials masked."""
    import dataclasses

    from optuna_magic.study.secrets import mask_url

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
    from optuna_magic.study.secrets import mask_url
    from optuna_magic.study.storage import open_storage

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
