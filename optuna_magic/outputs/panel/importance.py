"""Parameter importance for the panel: PED-ANOVA on the completed trials, now and then, and
only while a view that shows it is open (its first computation imports ``optuna.importance``,
which pulls in scikit-learn, SciPy and pandas: +160 MB in a kernel, for a run nobody ranks).

A refresh runs in a thread of its own: its first call imports ``optuna.importance`` (and with it
scikit-learn), which takes seconds while trials hold the GIL, and the panel's flushes must not
wait. It shares the GIL with the trials all the same, so refreshes are spaced by what they cost.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optuna_magic.outputs.panel.quiet import panel_work
from optuna_magic.outputs.panel.wire import ImportanceTrait

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from optuna_magic.run.contract import RunInfo, TrialEvent

__all__ = ["ImportanceRefresh", "RefreshTiming"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshTiming:
    """What one importance refresh cost (``StudyPanel.importance_refreshes``).

    Attributes:
        n_trials: the completed trials it ranked.
        wall_s: its wall time, waiting for the GIL included (it shares it with the trials).
        cpu_s: the CPU time of its own thread: what it took from the run.
        during_run: it started while the run went on (the last one starts after the run).
    """

    n_trials: int
    wall_s: float
    cpu_s: float
    during_run: bool


class ImportanceRefresh:
    """The importance side of a panel: the completed trials it reads, when it recomputes, and
    the computation itself.

    Args:
        interval: least seconds between two refreshes.
        publish: hands a result to the panel (its ``importance`` trait).
        adopt: run first in every refresh thread (the cell's request, for its output).
    """

    def __init__(
        self,
        interval: float,
        *,
        publish: Callable[[ImportanceTrait], None] = lambda result: None,
        adopt: Callable[[], None] = lambda: None,
    ) -> None:
        self.interval = interval
        self.at = 0.0  # when the latest refresh started
        self.fed = 0  # completed trials the latest refresh saw
        # The completed trials: counted always; kept (`complete`) only when the run's own
        # study is not in memory. An in-memory run's panel reads `own_study` and keeps no
        # trial: objects kept alive per trial slow the garbage collector for the whole kernel.
        self.n_complete = 0
        self.complete: list[FrozenTrial | TrialEvent] = []
        self.own_study: optuna.Study | None = None
        self.timings: list[RefreshTiming] = []
        # The views of the page that show the importance now (see ImportanceRequest); with
        # `always`, it is ranked whatever is open (a benchmark, a widget state to save).
        self.views: set[str] = set()
        self.always = False
        # After the run lets its trials go: the study, weakly, to rank once a view opens later
        # (while the user still holds the study).
        self._study_ref: weakref.ref[optuna.Study] | None = None
        self._publish = publish
        self._adopt = adopt
        self._cost = 0.0  # seconds the latest refresh took
        self._thread: threading.Thread | None = None
        self._study: optuna.Study | None = None  # a private in-memory copy of the trials

    @property
    def busy(self) -> bool:
        """Whether a refresh is running now."""
        return self._thread is not None and self._thread.is_alive()

    def due(self, n_complete: int, *, final: bool) -> bool:
        """Whether a refresh over ``n_complete`` trials should start now (and note that it does).

        A refresh that took c seconds waits at least 49 c before the next, so importance never
        takes more than ~2% of the run. Its cost grows with the completed trials; before the
        first refresh it is estimated at 15 us a trial (PED-ANOVA measured ~13 us a trial at
        50,000 trials).
        """
        per_trial = self._cost / self.fed if self.fed else 15e-6
        gap = max(self.interval, 49 * per_trial * n_complete)
        if not final and time.time() - self.at < gap:
            return False
        self.at = time.time()
        return True

    def schedule(
        self,
        info: RunInfo | None,
        has_params: bool,
        *,
        during_run: bool,
        final: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Start a refresh if one is due and new trials came (every few seconds while a run
        goes on, once more at its end; see :meth:`due`). ``final``: the run is over, and the
        trials are let go after its refresh. Nothing is computed while no view shows it."""
        busy = self.busy
        if info is None or (busy and not final):
            return
        if not (self.views or self.always):
            if final:  # the trials go now, or after the refresh a closed view started
                self.launch(self.release) if busy else self.release()
            return
        if not busy and self.n_complete == self.fed:
            if final:
                self.release()
            return
        if not self.due(self.n_complete, final=final):
            return

        def work() -> None:
            self._adopt()
            self.refresh(info, has_params, during_run=during_run)
            if final:
                self.release()

        self.launch(work, delay=delay)

    def refresh(self, info: RunInfo, has_params: bool, *, during_run: bool = False) -> None:
        """Recompute now, in this thread, if new trials came, and publish the result."""
        n = self.n_complete
        if n == self.fed:
            return
        wall, cpu = time.perf_counter(), time.thread_time()
        result = self.compute(info, n, has_params)
        self.timings.append(
            RefreshTiming(
                n, time.perf_counter() - wall, time.thread_time() - cpu, during_run=during_run
            )
        )
        self._publish(result)

    def launch(self, work: Callable[[], None], *, delay: float = 0.0) -> None:
        """Run ``work`` in a refresh thread, after ``delay`` and after the running refresh."""
        previous = self._thread

        def refresh() -> None:
            if delay:
                time.sleep(delay)
            if previous is not None:
                previous.join()  # the run's last trials came in while it ran: go again after it
            work()

        self._thread = threading.Thread(target=refresh, name="optuna-magic-importance")
        self._thread.daemon = True
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Block until a running refresh is done."""
        if self._thread is not None:
            self._thread.join(timeout)

    def view(self, view: str, is_open: bool) -> bool:
        """A view that shows the importance opened or closed; True: one opened (rank now)."""
        if is_open:
            self.views.add(view)
        else:
            self.views.discard(view)
        return is_open

    def keep_ref(self, study: optuna.Study) -> None:
        """The run's study, weakly: what a view that opens after the run ranks."""
        self._study_ref = weakref.ref(study)

    def release(self) -> None:
        """Let the trials go (after the run's last refresh): a widget lives as long as its
        output, and it must not keep a finished study's trials alive after `study` is rebound."""
        self.own_study = None
        self._study = None
        self.complete = []

    def compute(self, info: RunInfo, n: int, has_params: bool) -> ImportanceTrait:
        """The importance over the first ``n`` completed trials, never an exception.

        ``own_study`` (the run's in-memory study) is read without copies: finished trials no
        longer change. Else ``complete`` (FrozenTrials or the runner's TrialEvents) is copied
        into a private in-memory study as the trials come.
        """
        started = time.perf_counter()
        try:
            with panel_work():
                values, note = self._evaluate(info, n, has_params)
        except Exception as e:  # an odd study must not break the panel
            _log.debug("importance failed", exc_info=True)
            values, note = {}, f"importance unavailable: {type(e).__name__}: {e}"
        self._cost = time.perf_counter() - started
        return {"values": values, "note": note, "n_trials": n}

    def _evaluate(self, info: RunInfo, n: int, has_params: bool) -> tuple[dict[str, float], str]:
        if n < 2:
            return {}, "importance needs at least 2 completed trials"
        if not has_params:
            return {}, "no parameters to rank"
        import optuna
        from optuna.importance import PedAnovaImportanceEvaluator

        study = self.own_study
        if study is None and not self.complete and self._study_ref is not None:
            # The run let its trials go before any view asked: rank the study itself, if the
            # user still holds it (one read of its storage).
            study = self._study_ref()
            if study is None:
                return {}, "the study is gone (deleted or rebound): importance unavailable"
        if study is None:
            if self._study is None:
                # The evaluator reads trials from a Study, and the run's own storage (maybe a
                # database) is not queried for it.
                directions = [optuna.study.StudyDirection[d.upper()] for d in info.directions]
                self._study = optuna.create_study(directions=directions)
            study = self._study
            study.add_trials([_frozen(t) for t in self.complete[self.fed : n]])
        self.fed = n
        values = optuna.importance.get_param_importances(
            study, evaluator=PedAnovaImportanceEvaluator(), normalize=True
        )
        note = "PED-ANOVA"
        if len(info.directions) > 1:
            note = "PED-ANOVA: importance for reaching the Pareto front"
        return {k: float(v) for k, v in values.items()}, note


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
