"""One run handle for local and polled runs: control, waiting, and the order sinks hear in.

:class:`RunHandle` is what the magic, the public API and a sink (as its
:class:`~optuna_magic.run.contract.RunControl`) hold of a run, whether its trials run in this
process (:class:`optuna_magic.run.runner.Runner`) or elsewhere and are polled from the storage
(:class:`optuna_magic.run.polled.PolledRun`). It owns the run's thread and tells the sinks
``run_started`` before that thread starts and ``run_ended`` exactly once after its last trial
event, so every kind of run sends its sinks the same sequence. A subclass writes the run itself
(:meth:`RunHandle._run`) and what a stop does to its trials (:meth:`RunHandle._stop_trials`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from optuna_magic.run.contract import RunInfo, RunResult, RunSink

if TYPE_CHECKING:
    import optuna

__all__ = ["RunDone", "RunHandle"]

_log = logging.getLogger(__name__)


class RunDone:
    """Set once when a run ends; threads wait on it, and so does an event loop, without polling.

    An awaiting cell that woke 20 times a second to check would take the GIL from the trials'
    thread each time, which costs more than it looks on a busy machine.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._wakers: list[Callable[[], None]] = []

    def set(self) -> None:
        """Mark the run ended and wake every waiter."""
        with self._lock:
            self._event.set()
            wakers, self._wakers = self._wakers, []
        for wake in wakers:
            with contextlib.suppress(RuntimeError):  # that waiter's event loop closed meanwhile
                wake()

    def is_set(self) -> bool:
        """Whether the run has ended."""
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (or ``timeout``); True when it has ended."""
        return self._event.wait(timeout)

    async def wait_async(self) -> None:
        """Await the end of the run; the event loop keeps serving other messages meanwhile."""
        import asyncio

        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        def from_run_thread() -> None:
            loop.call_soon_threadsafe(wake)

        with self._lock:
            if self._event.is_set():
                return
            self._wakers.append(from_run_thread)
        # Woken at once by the end of the run; the 1 s timeout is what lets a kernel interrupt
        # through: ipykernel's SIGINT handling of an awaiting cell was seen to take effect only
        # when the cell's task wakes (a test fails with a bare `await future`).
        while not future.done():
            await asyncio.wait({future}, timeout=1.0)


# Seconds a blocking wait sleeps at a time (see RunHandle.wait).
_WAIT_SLICE = 0.1


class RunHandle:
    """A run in a thread of its own, with the sinks it reports to.

    Args:
        study: the study the run adds trials to (or follows).
        info: the run's description for the sinks.
        sinks: receivers of the run's events, told in this order.
        thread_setup: called first thing in the run's thread (the kernel's output parent, so
            what the run prints lands under the right cell).
    """

    # How long a wait that was interrupted waits for the run to wind down (None: until it has).
    interrupt_grace: float | None = None
    _thread_name = "optuna-magic-run"
    # The runs of this process that have started and not ended (see running_here).
    _live: ClassVar[weakref.WeakSet[RunHandle]] = weakref.WeakSet()

    def __init__(
        self,
        study: optuna.Study,
        info: RunInfo,
        sinks: Sequence[RunSink],
        *,
        thread_setup: Callable[[], None] | None = None,
    ) -> None:
        self.study = study
        self.info = info
        self.sinks = list(sinks)
        self.result: RunResult | None = None
        self._thread_setup = thread_setup
        self._stop_requested = threading.Event()
        self._stopping = False  # the same, read per trial (a plain attribute reads faster)
        self._interrupted = threading.Event()
        self._done = RunDone()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._ended_told = False

    # ----------------------------------------------------------------- control
    def request_stop(self) -> None:
        """Stop gracefully: no new trial starts; running trials finish."""
        self._stop_requested.set()
        self._stopping = True
        self._stop_trials(now=False)

    @property
    def stop_requested(self) -> bool:
        """Whether a graceful stop has been asked for."""
        return self._stop_requested.is_set()

    def interrupt(self) -> None:
        """Stop now: the running trials are broken into (they end FAIL)."""
        self._interrupted.set()
        self._stop_requested.set()
        self._stopping = True
        self._stop_trials(now=True)

    @property
    def running(self) -> bool:
        """Whether the run is still going."""
        return self._thread is not None and not self._done.is_set()

    @classmethod
    def running_here(cls) -> list[RunHandle]:
        """The runs of this process that optimize now (a cell's, a background one, a
        continued one; not a watch, which only reads)."""
        return [r for r in list(cls._live) if not r.info.watch and not r._done.is_set()]

    def running_trials(self) -> dict[int, float] | None:
        """The trials running now (number -> start); None: not tracked, sinks are told instead."""
        return None

    @property
    def in_memory_study(self) -> optuna.Study | None:
        """The study when its storage is this process's memory (see ``RunControl``), else None."""
        from optuna_magic.study.storage import in_memory

        return in_memory(self.study)

    # -------------------------------------------------------------------- run
    def start(self) -> None:
        """Tell the sinks the run starts, then start its thread."""
        self._started = time.time()
        RunHandle._live.add(self)
        for sink in self.sinks:
            sink.run_started(self.info, self)
        try:
            self._before_thread()
        except BaseException as e:
            self._end("failed", _error_text(e), e)
            raise
        self._thread = threading.Thread(target=self._main, name=self._thread_name, daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """Block until the run ends. ``KeyboardInterrupt`` here interrupts the run."""
        # In short waits, not one: Python runs a signal's handler in the main thread between
        # bytecodes, and a lock wait without a timeout is not interrupted by Ctrl-C everywhere
        # (Windows), so the wait comes back to Python ten times a second to let it run.
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not self._done.wait(_WAIT_SLICE):
                if deadline is not None and time.monotonic() >= deadline:
                    break
        except KeyboardInterrupt:
            self.interrupt()
            self._wait_after_interrupt()
        return self.result

    async def wait_async(self) -> RunResult | None:
        """Await the end of the run without blocking the event loop (kernel messages flow)."""
        import asyncio

        try:
            await self._done.wait_async()
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.interrupt()
            self._wait_after_interrupt()
        return self.result

    def _wait_after_interrupt(self) -> None:
        # The interrupt lands once the trial returns to Python; a second Ctrl-C while waiting
        # here gives up waiting (the thread is a daemon and ends with its trial).
        grace = self.interrupt_grace
        deadline = None if grace is None else time.monotonic() + grace
        while not self._done.wait(0.1):
            if self._wound_down() or (deadline is not None and time.monotonic() >= deadline):
                break

    def _wound_down(self) -> bool:
        """Whether nothing of the run is left that could still end it (its thread is gone)."""
        return self._thread is not None and not self._thread.is_alive()

    def _main(self) -> None:
        if self._thread_setup is not None:
            try:
                self._thread_setup()
            except Exception:  # pragma: no cover - cosmetic only
                _log.debug("thread setup failed", exc_info=True)
        try:
            state, error, exc = self._run()
        except BaseException as e:  # pragma: no cover - _run reports its own ends
            state, error, exc = "failed", _error_text(e), e
        self._end(state, error, exc)

    def _end(self, state: str, error: str | None, exc: BaseException | None) -> None:
        """Record how the run ended and tell the sinks, once; then wake the waiters."""
        if self._ended_told:
            return
        self._ended_told = True
        RunHandle._live.discard(self)
        self.result = RunResult(
            state=state,
            study=self.study,
            n_trials_run=self._n_trials_run(),
            elapsed=time.time() - self._started,
            error=error,
            exception=exc,
        )
        for sink in self.sinks:
            try:
                sink.run_ended(self.result)
            except Exception:
                _log.warning("a sink failed at the end of the run", exc_info=True)
        self._done.set()

    # --------------------------------------------------------------- subclass
    def _before_thread(self) -> None:
        """What starts after the sinks heard ``run_started`` and before the run's thread."""

    def _run(self) -> tuple[str, str | None, BaseException | None]:
        """The run itself, in its thread, telling the sinks its trial events: how it ended
        (``finished``, ``stopped``, ``interrupted`` or ``failed``), its error and exception."""
        raise NotImplementedError

    def _n_trials_run(self) -> int:
        """How many trials this run saw to their end."""
        raise NotImplementedError

    def _stop_trials(self, *, now: bool) -> None:
        """What a stop does to the trials (``now``: an interrupt) beyond setting the flags."""


def _error_text(error: BaseException) -> str:
    return str(error) or type(error).__name__
