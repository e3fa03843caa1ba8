"""The live panel: an anywidget that is a run sink and streams record deltas to the front end.

Traits carry only small, bounded state (``meta``: what the run is; ``status``: where it stands;
``importance``: one number per parameter). The trials themselves go out as binary deltas of the
:class:`~optuna_magic.outputs.panel.record.TrialRecord`, batched by a daemon flusher thread:
each flush sends at most one delta and one trait update, and flushes are ``flush_interval`` apart,
so the panel gets at most ~10 messages a second whatever the trial rate. A view that opens later
asks for the whole record (``{"type": "sync"}``); Stop sends ``{"type": "stop"}``.

Optuna is imported lazily: importing this module imports anywidget only.
"""

from __future__ import annotations

import logging
import pathlib
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from optuna_magic.outputs.kernel_output import KernelParent
from optuna_magic.outputs.panel.quiet import panel_work
from optuna_magic.outputs.panel.record import ParamColumn, TrialRecord, choice_label

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from optuna_magic.run.runner import RunControl, RunInfo, RunResult, TrialError, TrialEvent

__all__ = ["StudyPanel"]

_log = logging.getLogger(__name__)
_STATIC = pathlib.Path(__file__).parents[2] / "static"
_BUNDLE_PATH = _STATIC / "widget.js"
_LOADER_PATH = _STATIC / "loader.js"
_LOADER_VERSION = "__OPTUNA_MAGIC_BUNDLE__"
# Without a built bundle (a source checkout before `make js`) the panel says so instead of
# failing to import.
_MISSING_ESM = """
export default { render({ el }) {
  el.classList.add("optuna-magic");
  el.textContent = "optuna-magic: the panel bundle is not built (run `make js`).";
} };
"""


class _Bundle:
    """The panel's front end: ``widget.js``, read once, and the loader that fetches it.

    Every panel's ``_esm`` is the ~1 kB loader (js/src/loader.ts), not the 1.6 MB bundle: a
    page asks the kernel for the bundle once, by a ``bundle`` message, and shares it between
    its panels. The loader carries a hash of the bundle, so a page that kept an older bundle
    (the package was rebuilt, the kernel restarted) asks for the new one.
    """

    def __init__(self) -> None:
        # Kept as read, so what a page is sent always matches the version its loader names.
        self.code = b""
        self.esm = _MISSING_ESM
        self.version = ""
        if _BUNDLE_PATH.is_file() and _LOADER_PATH.is_file():
            import hashlib

            self.code = _BUNDLE_PATH.read_bytes()
            self.version = hashlib.blake2b(self.code, digest_size=12).hexdigest()
            loader = _LOADER_PATH.read_text(encoding="utf-8")
            self.esm = loader.replace(_LOADER_VERSION, self.version)


_BUNDLE = _Bundle()


class StudyPanel(anywidget.AnyWidget):
    """The live panel of one ``%%optuna`` run (a :class:`~optuna_magic.run.runner.RunSink`).

    Args:
        flush_interval: seconds between flushes; each flush sends at most two messages.
        importance_interval: least seconds between two importance computations.
        final_importance_delay: seconds between the end of a run and its last importance
            refresh (so the refresh does not slow the end of the cell).
    """

    _esm = _BUNDLE.esm
    # A runner does not call trial_started for every trial: the flush asks it which trials
    # are running (saves two calls and a queued tuple a trial; see _runner.Runner.running_trials).
    reads_running_trials = True

    meta = traitlets.Dict().tag(sync=True)
    status = traitlets.Dict().tag(sync=True)
    importance = traitlets.Dict().tag(sync=True)

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
        self.importance_interval = importance_interval
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
        self._n_complete = 0
        # The completed trials, kept for the importance study when the run's own study is not
        # in memory (see _compute_importance); an in-memory run's panel keeps no trial: objects
        # kept alive per trial slow the garbage collector for the whole kernel.
        self._complete: list[FrozenTrial | TrialEvent] = []
        self._own_study: optuna.Study | None = None
        self._complete_state: Any = None  # optuna's TrialState.COMPLETE, once optuna is loaded
        self._importance_study: optuna.Study | None = None
        self._importance_fed = 0
        self._importance_at = 0.0
        self._importance_thread: threading.Thread | None = None
        self._importance_cost = 0.0  # seconds the last refresh took
        self._iopub: Any = None  # the kernel's I/O thread (False: none), found at the first flush
        self._display: Any = None  # the DisplayHandles of for_run(): the panel, the snapshot
        self._snapshot_display: Any = None
        # The request this panel's threads send under (the cell that made it), and the one
        # to say the kernel is busy with while a front end's message comes in mid-run.
        self._parent = KernelParent.current()
        self._busy_parent: KernelParent | None = None
        self._changed_at = 0.0  # when a polled trial last changed (a watch's activity)
        self.on_msg(self._on_message)

    # ------------------------------------------------------------ construction
    @classmethod
    def for_study(
        cls, study: optuna.Study, *, storage: str = "in memory", state: str = "finished"
    ) -> StudyPanel:
        """A panel showing an existing study's trials (``%optuna watch``, a finished study)."""
        from optuna_magic.run.runner import RunInfo

        trials = study.get_trials(deepcopy=False)
        info = RunInfo(
            study_name=study.study_name,
            directions=[d.name.lower() for d in study.directions],
            sampler=type(study.sampler).__name__,
            pruner=type(study.pruner).__name__,
            storage=storage,
            n_trials=None,
            timeout=None,
            space=[],
            objective_names=list(study.metric_names or []),
            started_at=time.time(),
            existing_trials=list(trials),
        )
        panel = cls()
        panel._start(info, None, state)
        panel.flush()
        return panel

    @classmethod
    def for_run(cls, **kwargs: Any) -> StudyPanel:
        """A panel displayed beneath the running cell, to pass to the runner as a sink.

        The cell gets two outputs: the panel, and a placeholder that the static snapshot
        fills when the run ends (see
        :func:`optuna_magic.outputs.snapshot.html.snapshot_bundle` for who shows which: the live
        panel while a kernel runs it, the snapshot everywhere else).
        """
        from IPython.display import display

        from optuna_magic.outputs.snapshot.html import panel_bundle, snapshot_placeholder

        panel = cls(**kwargs)
        panel._display = display(  # type: ignore[no-untyped-call]
            panel_bundle(panel.model_id), raw=True, display_id=True
        )
        panel._snapshot_display = display(  # type: ignore[no-untyped-call]
            snapshot_placeholder(), raw=True, display_id=True
        )
        return panel

    def update_from(self, trials: Sequence[FrozenTrial]) -> None:
        """Upsert trials polled from storage (another process runs them); sent at the next flush."""
        if trials:
            self._changed_at = time.time()
        self.record.add_trials(trials)

    # ------------------------------------------------------------------- sink
    def run_started(self, info: RunInfo, control: RunControl) -> None:
        """Fill the header and the search space table at once, then start the flusher."""
        self._start(info, control, "running")
        self.flush()
        # The first importance refresh waits a full interval: not over the first few trials,
        # and not at all in a run shorter than that (the run's end computes it once).
        self._importance_at = time.time()
        flusher = threading.Thread(target=self._flush_loop, name="optuna-magic-panel")
        flusher.daemon = True
        flusher.start()

    def trial_started(self, number: int) -> None:
        """A trial is running (it shows in the table and the timeline)."""
        self.record.trial_started(number)

    def trial_reported(self, number: int, step: int, value: float) -> None:
        """An intermediate value of a running trial."""
        self.record.trial_reported(number, step, value)

    def trial_completed(
        self, trial: FrozenTrial, values: tuple[float, ...], started: float | None, ended: float
    ) -> None:
        """A trial completed: queued as a row of plain values, out at the next flush.

        The common case of a fast in-memory study, so it does the least it can: ~0.6 us
        (timeit), against ~0.9 us for building a TrialEvent and going through
        :meth:`trial_finished`; the panel's whole cost per trial went from ~9,000 to ~7,700
        instructions (valgrind, next to ~390,000 for a trial of plain Optuna).
        """
        if (
            self._own_study is None  # importance keeps the trials: the general path
            or started is None
            or not self.record.trial_completed(trial, values, started, ended)
        ):
            from optuna_magic.run.runner import TrialEvent

            event = TrialEvent(trial, self._complete_state, values, trial.number, started, ended)
            self.trial_finished(event, None)
            return
        self._n_done += 1
        self._n_complete += 1
        self._flush_if_due()

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
            self._n_complete += 1
            if self._own_study is None:
                self._complete.append(trial)
        self._flush_if_due()

    def _flush_if_due(self) -> None:
        if time.monotonic() >= self._next_flush:
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
        self._busy_parent = None  # the cell ends after this: its idle status is the truth
        self._state = result.state
        self._error = result.error
        self._ended = time.time()
        # Nothing to steer any more; and a widget lives as long as its output, so it must not
        # keep the run (and through it the study) alive.
        self._control = None
        self.record.add_event(f"run {result.state}", result.error or "")
        self.flush()
        if self._display is not None:
            self._show_snapshot(result)
        # The last refresh waits a moment: started at once, it shared the GIL with the end of
        # the cell (snapshot, the reply to the notebook) and made the cell end later.
        self._start_importance(final=True, delay=self.final_importance_delay)

    def _show_snapshot(self, result: RunResult) -> None:
        """Fill the snapshot's own output (the panel's output is left alone: updating it
        would make JupyterLab rebuild the live view)."""
        from optuna_magic.outputs.snapshot.html import snapshot_bundle

        # An in-memory study's every trial went through this panel: its record has them all.
        record = self.record if result.study is self._own_study else None
        try:
            bundle = snapshot_bundle(result.study, self._info, result, record=record)
            self._snapshot_display.update(bundle, raw=True)
        except Exception:  # the live panel already shows the result; the snapshot is extra
            _log.warning("could not write the static snapshot of the run", exc_info=True)

    # ------------------------------------------------------------------ flush
    def flush(self) -> None:
        """Send what changed: one delta message and one trait update at most."""
        self._next_flush = time.monotonic() + self.flush_interval
        running = getattr(self._control, "running_trials", None)
        if running is not None:
            self.record.mark_running(running())
        sent = False
        with self._send_lock:
            delta = self.record.delta()
            status = self._status()
            now = time.time()
            if delta is not None:
                content, buffers = delta
                # The delta carries the status too, so one message a flush keeps the header
                # (progress, counts, best) as fresh as the trials.
                content["status"] = status
                self.send(content, buffers)
                sent = True
            # The status trait is what a late view and a saved widget state read: it follows at
            # once on a new run state or error, else at most once a second.
            old = self.status or {}
            urgent = (status.get("state"), status.get("error")) != (
                old.get("state"),
                old.get("error"),
            )
            if urgent or now - self._last_status_at >= 1.0:
                self.status = status
                self._last_status_at = now
                sent = True
        if sent:
            self._let_iopub_send()

    def _let_iopub_send(self) -> None:
        """Wait (a millisecond or two) until the kernel's I/O thread has sent our messages.

        ipykernel sends every message from its I/O thread, which needs the GIL a dozen times
        to do it. While a trial holds the GIL, each of those waits up to the 5 ms switch
        interval and then forces a switch: measured in a kernel, a flush sent that way cost the
        trials ~20 ms (0.1 s of a 10,000-trial run at four flushes a second), the same flush
        with this wait about as much as not sending at all. ipykernel's own stream flush waits
        the same way. Without an ipykernel (a test's comm, a terminal) it does nothing.
        """
        io = self._iopub
        if io is None:
            kernel = getattr(self.comm, "kernel", None)
            io = self._iopub = getattr(kernel, "iopub_thread", None) or False
        if not io:
            return
        thread = getattr(io, "thread", None)
        if thread is None or thread is threading.current_thread() or not thread.is_alive():
            return
        sent = threading.Event()
        io.schedule(sent.set)
        sent.wait(0.1)  # bounded: a busy I/O thread must not hold the trials up

    def _adopt_parent(self) -> None:
        if self._parent is not None:
            self._parent.adopt()

    def keep_kernel_busy(self, parent: KernelParent) -> None:
        """The cell waits for this run: while it runs, a front end's message to the panel
        must not leave JupyterLab's status bar reading "Idle" (see
        :meth:`KernelParent.publish_busy`)."""
        self._busy_parent = parent

    def _flush_loop(self) -> None:
        self._adopt_parent()
        while not self._stop_flusher.wait(self.flush_interval):
            try:
                # Only when overdue by a whole interval: no trial ended to flush it (slow
                # trials), rather than racing the trial thread for a flush that is just due.
                if time.monotonic() >= self._next_flush + self.flush_interval:
                    self.flush()
                self._start_importance()
            except Exception:  # a panel must never take the run down
                _log.warning("panel flush failed", exc_info=True)

    # A watched study that changed less than this long ago is still being optimized, even if
    # no trial was running at the last poll (between two trials of a fast study).
    watch_quiet = 3.0

    def _watch_state(self) -> tuple[str, str | None]:
        """A watch says what it sees: trials running or just changed, or nobody at work."""
        running = self.record.counts().get("RUNNING", 0)
        if running:
            return "watching", f"{running} trial(s) running elsewhere"
        if time.time() - self._changed_at < self.watch_quiet:
            return "watching", None
        return "idle", "nobody is optimizing this study now: no trial is running"

    def _status(self) -> dict[str, Any]:
        info = self._info
        end = self._ended if self._ended is not None else time.time()
        elapsed = max(0.0, end - self._started)
        n_done = self._n_done
        rate = n_done / elapsed if elapsed > 0 and n_done else 0.0
        eta: float | None = None
        if self._state in ("running", "stopping") and info is not None:
            if info.n_trials is not None and rate > 0:
                eta = max(0.0, (info.n_trials - n_done) / rate)
            elif info.timeout is not None:
                eta = max(0.0, info.timeout - elapsed)
        best = self.record.best(info.directions) if info is not None else None
        state, note = self._state, None
        if info is not None and info.watch and state in ("running", "stopping"):
            state, note = self._watch_state()
        return {
            "at": round(time.time(), 3),  # which of two statuses is newer (trait or delta)
            "state": state,
            "note": note,
            "error": self._error,
            "n_done": n_done,
            "n_trials": info.n_trials if info is not None else None,
            "timeout": info.timeout if info is not None else None,
            "started_at": self._started,
            "elapsed": round(elapsed, 3),
            "rate": round(rate, 4),
            "eta": None if eta is None else round(eta, 1),
            "counts": self.record.counts(),
            "best": best,
        }

    # ------------------------------------------------------------- importance
    def _start_importance(self, *, final: bool = False, delay: float = 0.0) -> None:
        """PED-ANOVA on the completed trials, every few seconds and only when new ones came.

        It runs in a thread of its own: its first call imports ``optuna.importance`` (and with
        it scikit-learn), which takes seconds while trials hold the GIL, and flushes must not wait.
        """
        info = self._info
        previous = self._importance_thread
        busy = previous is not None and previous.is_alive()
        if info is None or (busy and not final):
            return
        if not busy and self._n_complete == self._importance_fed:
            if final:
                self._release_trials()
            return
        # The refresh shares the GIL with the trials: a refresh that took c seconds waits at
        # least 49 c before the next, so importance never takes more than ~2% of the run.
        # Its cost grows with the completed trials; before the first refresh it is estimated
        # at 15 us a trial (PED-ANOVA measured ~13 us a trial at 50,000 trials).
        n = self._n_complete
        per_trial = self._importance_cost / self._importance_fed if self._importance_fed else 15e-6
        gap = max(self.importance_interval, 49 * per_trial * n)
        if not final and time.time() - self._importance_at < gap:
            return
        self._importance_at = time.time()

        def work() -> None:
            self._adopt_parent()
            if delay:
                time.sleep(delay)
            if previous is not None:
                previous.join()  # the run's last trials came in while it ran: go again after it
            self._update_importance(info)
            if final:
                self._release_trials()

        self._importance_thread = threading.Thread(target=work, name="optuna-magic-importance")
        self._importance_thread.daemon = True
        self._importance_thread.start()

    def _release_trials(self) -> None:
        """After the run's last refresh: a widget lives as long as its output, and it must not
        keep a finished study's trials alive after `study` is rebound."""
        self._own_study = None
        self._importance_study = None
        self._complete = []

    def wait_importance(self, timeout: float | None = None) -> None:
        """Block until a running importance computation is done (for tests and scripts)."""
        if self._importance_thread is not None:
            self._importance_thread.join(timeout)

    def _update_importance(self, info: RunInfo) -> None:
        n = self._n_complete
        if n == self._importance_fed:
            return
        started = time.perf_counter()
        try:
            with panel_work():
                result = self._compute_importance(info, n)
        except Exception as e:  # an odd study must not break the panel
            _log.debug("importance failed", exc_info=True)
            result = {"values": {}, "note": f"importance unavailable: {type(e).__name__}: {e}"}
        self._importance_cost = time.perf_counter() - started
        result["n_trials"] = n
        with self._send_lock:
            self.importance = result

    def _compute_importance(self, info: RunInfo, n: int) -> dict[str, Any]:
        if n < 2:
            return {"values": {}, "note": "importance needs at least 2 completed trials"}
        if not self.record.param_columns:
            return {"values": {}, "note": "no parameters to rank"}
        import optuna
        from optuna.importance import PedAnovaImportanceEvaluator

        # An in-memory run: its own study is read without copies (finished trials no longer
        # change), which saves converting and deep-copying every trial (~100 us each).
        study: optuna.Study | None = self._own_study
        if study is None and self._importance_study is None:
            # A private in-memory copy of the completed trials: the evaluator reads trials
            # from a Study, and the run's own storage (maybe a database) is not queried for it.
            directions = [optuna.study.StudyDirection[d.upper()] for d in info.directions]
            self._importance_study = optuna.create_study(directions=directions)
        if study is None:
            study = self._importance_study
            assert study is not None
            study.add_trials([_frozen(t) for t in self._complete[self._importance_fed : n]])
        self._importance_fed = n
        values = optuna.importance.get_param_importances(
            study, evaluator=PedAnovaImportanceEvaluator(), normalize=True
        )
        note = "PED-ANOVA"
        if len(info.directions) > 1:
            note = "PED-ANOVA: importance for reaching the Pareto front"
        return {"values": {k: float(v) for k, v in values.items()}, "note": note}

    # --------------------------------------------------------------- messages
    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        # Replies go out under the cell's request, not the message's: ipykernel routes the
        # front end's next message to the subshell a comm last sent from, and a message
        # handled there ends with an "idle" status the status bar shows.
        undo = self._parent.adopt() if self._parent is not None else []
        try:
            self._handle_message(content)
        finally:
            KernelParent.restore(undo)
        busy = self._busy_parent
        if busy is not None:
            busy.publish_busy()
            if threading.current_thread() is not threading.main_thread():
                # On a subshell, the message's own "idle" comes after this handler returns.
                import asyncio

                try:
                    asyncio.get_running_loop().call_soon(self._republish_busy)
                except RuntimeError:
                    pass

    def _republish_busy(self) -> None:
        busy = self._busy_parent
        if busy is not None:
            busy.publish_busy()

    def _handle_message(self, content: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "bundle":
            # A view of this page has no panel code yet (its first panel): send it once.
            if content.get("version") == _BUNDLE.version:
                self.send({"type": "bundle", "version": _BUNDLE.version}, [_BUNDLE.code])
        elif kind == "sync":
            with self._send_lock:
                self.send(*self.record.full())
        elif kind == "stop":
            self.request_stop()
        elif kind == "trial":
            number = content.get("number")
            if isinstance(number, int):
                with self._send_lock:
                    self.send({"type": "trial", **self.record.trial_detail(number)})

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
        self._info = info
        self._control = control
        self._state = state
        self._started = info.started_at
        record = TrialRecord(len(info.directions), [_column(s) for s in info.space if _fixed(s)])
        import optuna

        self._complete_state = optuna.trial.TrialState.COMPLETE
        own = getattr(control, "study", None)
        if own is not None and isinstance(own._storage, optuna.storages.InMemoryStorage):
            self._own_study = own
        if info.existing_trials:
            record.add_trials(info.existing_trials)
            complete: list[FrozenTrial | TrialEvent] = [
                t for t in info.existing_trials if t.state.name == "COMPLETE"
            ]
            self._n_complete = len(complete)
            if self._own_study is None:
                self._complete = complete
        if state == "running":
            record.add_event("run started")
        with self._send_lock:
            self.record = record
            self.meta = _meta(info)


def _frozen(trial: Any) -> FrozenTrial:
    """A FrozenTrial for the importance study (the runner hands sinks lighter TrialEvents)."""
    import optuna

    if isinstance(trial, optuna.trial.FrozenTrial):
        return trial
    return optuna.trial.create_trial(
        state=optuna.trial.TrialState.COMPLETE,
        values=list(trial.values),
        params=dict(trial.params),
        distributions=dict(trial.distributions),
    )


def _fixed(spec: Any) -> bool:
    return not getattr(spec, "dynamic", False) and spec.kind in ("int", "float", "categorical")


def _column(spec: Any) -> ParamColumn:
    choices = getattr(spec, "choices", None)
    if spec.kind == "categorical":
        labels = [choice_label(c) for c in choices] if choices is not None else []
        return ParamColumn(spec.name, "categorical", choices=labels)
    return ParamColumn(spec.name, spec.kind, log=bool(getattr(spec, "log", False)))


def _describe(spec: Any) -> str:
    describe = getattr(spec, "describe", None)
    if callable(describe):
        return str(describe())
    if spec.kind == "categorical":
        return "choice (" + ", ".join(repr(c) for c in spec.choices or ()) + ")"
    return f"{spec.kind} [{spec.low}, {spec.high}]" + (" log" if spec.log else "")


def _meta(info: RunInfo) -> dict[str, Any]:
    return {
        "study_name": info.study_name,
        "directions": list(info.directions),
        "objective_names": list(info.objective_names or []),
        "sampler": info.sampler,
        "pruner": info.pruner,
        "storage": info.storage,
        "n_trials": info.n_trials,
        "timeout": info.timeout,
        "n_jobs": info.n_jobs,
        "watch": info.watch,
        "space": [
            {
                "name": s.name,
                "kind": s.kind,
                "distribution": _describe(s),
                "line": getattr(s, "line", None),
            }
            for s in info.space
        ],
    }
