"""The study a panel shows, beyond the run it sinks: a panel built over an existing study
(``optuna_magic.panel``), the study held weakly once no run holds it (what enqueue steers and a
late importance ranks), and the panel's importance refreshes: when one starts, where it lands.

The refreshes themselves (what they read, what each cost) are :mod:`.importance`.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, cast

from optuna_magic.outputs.panel.importance import ImportanceRefresh
from optuna_magic.outputs.panel.status import study_span

if TYPE_CHECKING:
    import optuna

    from optuna_magic.outputs.panel.widget import StudyPanel
    from optuna_magic.outputs.panel.wire import ImportanceTrait

__all__ = ["hold_weakly", "importance_for", "show_study", "shown_study", "start_importance"]


def show_study(panel: StudyPanel, study: optuna.Study, *, storage: str | None, state: str) -> None:
    """Make a new ``panel`` show ``study``'s trials in ``state``, with no run (``for_study``).

    ``storage``: as shown, already masked; default where the study is (masked).
    """
    from optuna_magic.run.info import run_info
    from optuna_magic.study.storage import in_memory

    info = run_info(study, storage=storage)
    hold_weakly(panel, study)
    panel._start(info, None, state)
    panel._importance.own_study = in_memory(study)  # read in place, not copied
    # The header tells the study's own trials and time span, not a run's (there is none).
    panel._n_done, span = study_span(info.existing_trials)
    if span is not None:
        panel._started, panel._ended = span
    panel.flush()
    # Its importance once, in the background (a finished study does not change).
    start_importance(panel, final=True)


def hold_weakly(panel: StudyPanel, study: optuna.Study) -> None:
    """What ``panel`` steers and ranks once no run holds ``study``: the study, weakly (a widget
    lives as long as its output, and must not keep a study alive after it is rebound)."""
    panel._study_ref = weakref.ref(study)
    panel._importance.keep_ref(study)


def shown_study(panel: StudyPanel) -> optuna.Study | None:
    """The study ``panel`` shows: its continuation's, else the one it holds weakly (None: gone,
    or not known yet)."""
    if panel.continuation is not None:
        return panel.continuation.study
    return panel._study_ref() if panel._study_ref is not None else None


def importance_for(panel: StudyPanel, interval: float) -> ImportanceRefresh:
    """The importance refreshes of ``panel``, at least ``interval`` seconds apart: each result
    becomes its ``importance`` trait, and each refresh thread files its output under the cell's
    request."""

    def publish(result: ImportanceTrait) -> None:
        with panel._send_lock:
            panel.importance = cast("dict[str, Any]", result)

    refresh = ImportanceRefresh(interval, publish=publish, adopt=panel._link.adopt_parent)
    refresh.always = panel.rank_always
    return refresh


def start_importance(panel: StudyPanel, *, final: bool = False, delay: float = 0.0) -> None:
    """Start a refresh of ``panel``'s importance if one is due (see
    :meth:`ImportanceRefresh.schedule`); ``final``: its run is over."""
    panel._importance.schedule(
        panel._info,
        bool(panel.record.param_columns),
        during_run=panel.running,
        final=final,
        delay=delay,
    )
