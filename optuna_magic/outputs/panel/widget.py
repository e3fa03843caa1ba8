"""The live panel: an anywidget that is a run sink and streams record deltas to the front end.

Traits carry only small, bounded state (``meta``: what the run is; ``status``: where it stands;
``importance``: one number per parameter). The trials themselves go out as binary deltas of the
:class:`~optuna_magic.outputs.panel.record.TrialRecord`, batched by a daemon flusher thread:
each flush sends at most one delta and one trait update, and flushes are ``flush_interval`` apart,
so the panel gets at most ~10 messages a second whatever the trial rate. A view that opens later
asks for the whole record (``{"type": "sync"}``); Stop sends ``{"type": "stop"}``. A page whose
host drops binary buffers says so (``{"type": "no_buffers"}``), and from then on this panel sends
its record with base64 strings in place of buffers (see :mod:`.wire`). What it does with each
request is :mod:`.requests`; "Run N more" reaches the objective through the
:class:`~optuna_magic.outputs.panel.requests.Continuation` its starter attached.

What goes on the wire is declared in :mod:`optuna_magic.outputs.panel.wire`; what a flush
sends, and the flusher thread, are :mod:`.flushing`; a panel over an existing study, the study
it holds weakly and when its importance refreshes start are :mod:`.shown`; the refreshes are
:mod:`optuna_magic.outputs.panel.importance`; the front end's code and its loader are
:mod:`optuna_magic.outputs.panel.bundle`.

Optuna is imported lazily: importing this module imports anywidget only.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from optuna_magic.outputs.panel.bundle import BUNDLE
from optuna_magic.outputs.panel.flushing import send_changes, start_flusher
from optuna_magic.outputs.panel.kernel_link import KernelLink
from optuna_magic.outputs.panel.record import TrialRecord
from optuna_magic.outputs.panel.requests import PanelRequests
from optuna_magic.outputs.panel.runs import take_up
from optuna_magic.outputs.panel.shown import (
    hold_weakly,
    importance_for,
    show_study,
    shown_study,
    start_importance,
)
from optuna_magic.outputs.panel.status import run_status
from optuna_magic.outputs.panel.wire import StatusTrait, inline_buffers

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from optuna_magic.outputs.kernel_output import KernelParent
    from optuna_magic.outputs.panel.display import CellOutputs
    from optuna_magic.outputs.panel.importance import RefreshTiming
    from optuna_magic.outputs.panel.requests import Continuation
    from optuna_magic.run.contract import RunControl, RunInfo, RunResult, TrialError, TrialEvent

__all__ = ["StudyPanel"]

_log = logging.getLogger(__name__)


class StudyPanel(anywidget.AnyWidget):
    """The live panel of one ``%%optuna`` run (a :class:`~optuna_magic.run.contract.RunSink`).

    Args:
        flush_interval: seconds between flushes; each flush sends at most two messages.
        importance_interval: least seconds between two importance computations.
        final_importance_delay: seconds between the end of a run and its last importance
            refresh (so the refresh does not slow the end of the cell).
    """

    _esm = BUNDLE.esm
    # A runner does not call trial_started for every trial: the flush asks it which trials
    # are running (saves two calls and a queued tuple a trial; see Runner.running_trials).
    reads_running_trials = True
    # Rank the parameters even while no view shows the importance (a benchmark of the refresh,
    # a widget state saved with it); by default only while one does (see importance.py).
    rank_always = False
    # Whether the front end's messages can reach this panel while its run goes on, when the
    # run's caller lets the kernel handle them (not in marimo, which hands them over only
    # after the run): see quiet_until_viewed.
    hears_views_mid_run = True

    meta = traitlets.Dict().tag(sync=True)
    status = traitlets.Dict().tag(sync=True)
    importance = traitlets.Dict().tag(sync=True)
    # The panel's code, in the first panel a kernel draws for a cell only, until its run ends
    # (see Bundle.code_for_first_panel).
    _code = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        *,
        flush_interval: float = 0.25,
        importance_interval: float = 3.0,
        final_importance_delay: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.record = TrialRecord()
        self.flush_interval = flush_interval
        self.final_importance_delay = final_importance_delay
        self._next_flush = 0.0  # time.monotonic() after which a finished trial flushes
        self._info: RunInfo | None = None
        self._control: RunControl | None = None
        self._state = "idle"
        self._error: str | None = None
        self._started = time.time()
        self._ended: float | None = None
        self._n_done = 0
        # One lock orders every message: a full record and the deltas after it reach the
        # front end in the order of their sequence numbers.
        self._send_lock = threading.RLock()
        self._stop_flusher = threading.Event()
        self._last_status_at = 0.0
        self._synced = False  # True once a view asked for the record (see quiet_until_viewed)
        self._quiet_until_viewed = False
        self._complete_state: Any = None  # optuna's TrialState.COMPLETE, once optuna is loaded
        self._outputs: CellOutputs | None = None  # for_run(): the panel's and the snapshot's
        # The request this panel's threads send under (the cell that made it), and the one
        # to say the kernel is busy with while a front end's message comes in mid-run.
        self._link = KernelLink()
        self._importance = importance_for(self, importance_interval)  # see shown.py
        self._changed_at = 0.0  # when a polled trial last changed (a watch's activity)
        # False once a front end said its host drops binary buffers: the record and the bundle
        # then go as text, which every front end reads (a page that keeps buffers too).
        self._buffers = True
        # How its run goes on ("Run N more"), attached by whoever started it; None: it cannot.
        self.continuation: Continuation | None = None
        self._study_ref: weakref.ref[optuna.Study] | None = None  # enqueue's, weakly
        self._requests = PanelRequests(self)
        self.on_msg(self._requests.on_message)

    # ------------------------------------------------------------ construction
    @classmethod
    def for_study(
        cls, study: optuna.Study, *, storage: str | None = None, state: str = "finished"
    ) -> StudyPanel:
        """A panel showing an existing study's trials (``optuna_magic.panel``, a finished study).

        ``storage``: as shown, already masked; default where the study is (masked).
        """
        panel = cls()
        show_study(panel, study, storage=storage, state=state)
        return panel

    @classmethod
    def for_run(cls, **kwargs: Any) -> StudyPanel:
        """A panel displayed beneath the running cell, to pass to the runner as a sink; the
        snapshot fills a second output when the run ends (see :mod:`.display`)."""
        from optuna_magic.outputs.panel.display import CellOutputs

        panel = cls(_code=BUNDLE.code_for_first_panel(), **kwargs)
        panel._outputs = CellOutputs.show(panel.model_id)
        return panel

    @property
    def cell_outputs(self) -> CellOutputs | None:
        """The outputs beneath the cell that made this panel (``for_run``), else None."""
        return self._outputs

    def update_from(self, trials: Sequence[FrozenTrial]) -> None:
        """Upsert trials polled from storage (another process runs them); sent at the next flush."""
        if trials:
            self._changed_at = time.time()
        self.record.add_trials(trials)

    # ------------------------------------------------------------------- sink
    def run_started(self, info: RunInfo, control: RunControl) -> None:
        """Fill the header and the search space table at once, then start the flusher (also
        for "Run N more": the same record goes on; the header counts the new run from zero)."""
        self._n_done, self._ended, self._error = 0, None, None
        self._stop_flusher = threading.Event()  # the previous run's flusher has exited
        with self.hold_sync():  # the new meta and the first status: one message, not two
            self._start(info, control, "running")
            self.flush()
        # The first importance refresh waits a full interval: not over the first few trials,
        # and not at all in a run shorter than that (the run's end computes it once).
        self._importance.at = time.time()
        start_flusher(self)

    def trial_started(self, number: int) -> None:
        """A trial is running (it shows in the table and the timeline)."""
        self.record.trial_started(number)

    def trial_reported(self, number: int, step: int, value: float) -> None:
        """An intermediate value of a running trial."""
        self.record.trial_reported(number, step, value)

    def trial_completed(
        self, trial: FrozenTrial, values: tuple[float, ...], started: float | None, ended: float
    ) -> bool:
        """A trial completed: queued as a row of plain values, out at the next flush.

        The common case of a fast in-memory study, so it does the least it can: ~0.6 us
        (timeit), against ~0.9 us for a TrialEvent going through :meth:`trial_finished`; the
        panel's whole cost per trial went from ~9,000 to ~7,700 instructions (valgrind, next
        to ~390,000 for a trial of plain Optuna). False where the trial needs more than a row
        (importance keeps the trials, or the row does not fit the record): the runner then
        sends it to :meth:`trial_finished` as a TrialEvent.
        """
        importance = self._importance
        if (
            importance.own_study is None  # importance keeps the trials: the general path
            or started is None
            or not self.record.trial_completed(trial, values, started, ended)
        ):
            return False
        self._n_done += 1
        importance.n_complete += 1
        if time.monotonic() >= self._next_flush:  # checked here: a call less a trial
            self._flush_safely()
        return True

    def trial_finished(self, trial: FrozenTrial | TrialEvent, error: TrialError | None) -> None:
        """A trial ended; its row (and a pruned / failed event) goes out at the next flush.

        When a flush is due, the trial's own thread does it, between two trials. A flusher
        thread that woke up mid-run to do it competed with the trials for the GIL: in a kernel,
        applying 5,000 queued trials took 0.25-0.8 s of wall time there, against 5-10 ms in
        the trial's thread. The flusher thread is there for slow trials.
        """
        self.record.trial_finished(trial, (error.message, error.traceback) if error else None)
        self._n_done += 1
        if trial.state is self._complete_state:
            importance = self._importance
            importance.n_complete += 1
            if importance.own_study is None:
                importance.complete.append(trial)
        if time.monotonic() >= self._next_flush:
            self._flush_safely()

    def _flush_safely(self) -> None:
        try:
            self.flush()
        except Exception:  # a panel must never take the run down
            _log.warning("panel flush failed", exc_info=True)

    def run_ended(self, result: RunResult) -> None:
        """Stop the flusher and send the exact final state."""
        # Not joined (that cost the end of the cell 1-4 ms of GIL handoff): the flusher exits
        # at its next wake-up, and a flush it may still make after this one sends nothing new
        # (the send lock orders them; the state below is final).
        self._stop_flusher.set()
        self._link.busy_parent = None  # the cell ends after this: its idle status is the truth
        self._state = result.state
        self._error = result.error
        self._ended = time.time()
        # Nothing to steer any more; and a widget lives as long as its output, so it must not
        # keep the run (and through it the study) alive.
        self._control = None
        hold_weakly(self, result.study)
        self.record.add_event(f"run {result.state}", result.error or "")
        with self.hold_sync():  # the code's removal goes with the final status
            if self._code:
                self._code = ""  # the page has read it; a saved widget state keeps none
            self.flush()
        if self._outputs is not None:
            if self.continuation is not None:
                self._outputs.reserve_more()  # after the lines the run printed
            # An in-memory study's every trial went through this panel: its record has them all.
            record = self.record if result.study is self._importance.own_study else None
            self._outputs.show_snapshot(self._info, result, record)
        # The last refresh waits a moment: started at once, it shared the GIL with the end of
        # the cell (snapshot, the reply to the notebook) and made the cell end later.
        start_importance(self, final=True, delay=self.final_importance_delay)

    # ------------------------------------------------------------------ flush
    def flush(self) -> None:
        """Send what changed: one delta message and one trait update at most (see
        :mod:`.flushing`)."""
        send_changes(self)

    def quiet_until_viewed(self) -> None:
        """The run's caller lets the kernel handle the front end's messages meanwhile (the
        magic awaits its run, ``optimize_async``, a background run): send no deltas until a
        view asks for the record, and the status only when the run's state changes.

        Every view asks ("sync") as it opens and gets the whole record then. A run no page
        shows (a batch run, a notebook whose output is not rendered) then sends no traffic:
        measured with 100,000 trials in a kernel, the unread deltas and status updates left
        ~70 MB of the freed trials' memory pinned after ``del study`` (the objects the kernel
        keeps from each message, scattered among them). A caller that blocks the kernel
        (``optimize``, ``study.optimize`` with a callback) keeps streaming: a view's request
        would reach the panel only after the run.
        """
        if self.hears_views_mid_run:
            self._quiet_until_viewed = True

    def keep_kernel_busy(self, parent: KernelParent) -> None:
        """The cell waits for this run: while it runs, a front end's message to the panel
        must not leave JupyterLab's status bar reading "Idle" (see
        :meth:`KernelParent.hold_busy`)."""
        self._link.busy_parent = parent

    # A watched study that changed less than this long ago is still being optimized, even if
    # no trial was running at the last poll (between two trials of a fast study).
    watch_quiet = 3.0

    def _status(self) -> StatusTrait:
        return run_status(
            self._info,
            self.record,
            state=self._state,
            error=self._error,
            started=self._started,
            ended=self._ended,
            n_done=self._n_done,
            changed_at=self._changed_at,
            watch_quiet=self.watch_quiet,
        )

    # ------------------------------------------------------------- importance
    @property
    def importance_refreshes(self) -> tuple[RefreshTiming, ...]:
        """What each importance refresh of this panel cost, in order (for benchmarks and for
        anyone asking what the panel takes from a run)."""
        return tuple(self._importance.timings)

    def wait_importance(self, timeout: float | None = None) -> None:
        """Block until a running importance computation is done (for tests and scripts)."""
        self._importance.wait(timeout)

    # --------------------------------------------------------------- messages
    @property
    def running(self) -> bool:
        """Whether this panel's run goes on (running or stopping)."""
        return self._state in ("running", "stopping")

    def study(self) -> optuna.Study | None:
        """The study this panel shows, while it lives (None: gone, or not known yet)."""
        return shown_study(self)

    def _send_record(self, content: dict[str, Any], buffers: list[bytes]) -> None:
        """Send a record message (``delta`` / ``full``): binary buffers, or base64 in the
        message where a front end's host drops buffers (the caller holds the send lock)."""
        if self._buffers:
            self.send(content, buffers)
        else:
            self.send(inline_buffers(content, buffers))

    def request_stop(self) -> None:
        """What the Stop button does: ask the run to stop; the state reads "stopping"."""
        if self._control is None or self._state != "running":
            return
        self._control.request_stop()
        self._state = "stopping"
        self.record.add_event("stop requested")
        self.flush()

    def __repr__(self) -> str:
        # The text/plain of the widget's output: one line where no widget can render.
        name = (self._info.study_name if self._info is not None else "") or "study"
        status = self.status or {}
        n = status.get("n_done", 0)
        return f"StudyPanel({name!r}: {self._state}, {n} trials this run)"

    def close(self) -> None:
        """Stop the flusher with the widget."""
        self._stop_flusher.set()
        super().close()

    # ---------------------------------------------------------------- helpers
    def _start(self, info: RunInfo, control: RunControl | None, state: str) -> None:
        take_up(self, info, control, state)
