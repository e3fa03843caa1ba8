"""How a panel takes up a run: the record and the ``meta`` of its first run, or of a run that
continues its study into it ("Run N more"), and what its front end may offer to steer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from optuna_magic.outputs.panel.columns import space_columns
from optuna_magic.outputs.panel.record import TrialRecord
from optuna_magic.outputs.panel.wire import meta_of

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from optuna_magic.outputs.panel.widget import StudyPanel
    from optuna_magic.run.contract import RunControl, RunInfo, TrialEvent

__all__ = ["steer_actions", "take_up"]


def take_up(panel: StudyPanel, info: RunInfo, control: RunControl | None, state: str) -> None:
    """Make ``panel`` show the run ``info`` in ``state`` (``running``, or a study's state)."""
    import optuna

    continued = panel._info is not None and state == "running"
    panel._info = info
    panel._control = control
    panel._state = state
    panel._started = info.started_at
    panel._complete_state = optuna.trial.TrialState.COMPLETE
    importance = panel._importance
    if control is not None:
        # Again for a continued run: the end of the previous one let the study go.
        importance.own_study = control.in_memory_study
    if continued:
        if importance.own_study is None:  # a stored study: its complete trials as they are now
            importance.complete = [t for t in info.existing_trials if t.state.name == "COMPLETE"]
            importance.n_complete = len(importance.complete)
        _go_on(panel, info)
        return
    record = TrialRecord(len(info.directions), space_columns(info.space))
    if info.existing_trials:
        record.add_trials(info.existing_trials)
        complete: list[FrozenTrial | TrialEvent] = [
            t for t in info.existing_trials if t.state.name == "COMPLETE"
        ]
        importance.n_complete = len(complete)
        if importance.own_study is None:
            importance.complete = complete
    if state == "running":
        record.add_event("run started")
    with panel._send_lock:
        panel.record = record
        panel.meta = cast("dict[str, Any]", meta_of(info, steer_actions(panel)))  # MetaTrait


def _go_on(panel: StudyPanel, info: RunInfo) -> None:
    """A continued run: the panel's record goes on (the front end's copy stays in step with its
    sequence numbers; a new record would start them again), with what changed in the study
    meanwhile (trials enqueued, or run elsewhere)."""
    record = panel.record
    new = [t for t in info.existing_trials if t.number >= len(record) or t.state.name == "WAITING"]
    record.add_trials(new)
    record.add_event("run started", f"{info.n_trials} more trial(s)" if info.n_trials else "")
    with panel._send_lock:
        panel.meta = cast("dict[str, Any]", meta_of(info, steer_actions(panel)))


def steer_actions(panel: StudyPanel) -> list[str]:
    """What the front end may offer (``MetaTrait.steer``): nothing for a watch; "Run N more"
    only where the run's starter attached a continuation (it has the objective)."""
    info = panel._info
    if info is None or info.watch:
        return []
    return ["enqueue", "run_more"] if panel.continuation is not None else ["enqueue"]
