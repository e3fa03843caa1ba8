"""Enqueue a trial's edited parameters from the panel (``study.enqueue_trial``), checked first.

The front end checks each value against the parameter's bounds and step; the kernel checks
again here, against the distribution the next trial will suggest from (the cell's declaration
where there is one, else what the study's trials recorded), because Optuna only warns about a
fixed parameter out of its range and runs it anyway. A choice arrives as the label the panel
shows and is mapped back to the choice itself.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from optuna_magic.outputs.panel.columns import choice_label

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

    from optuna_magic.outputs.panel.widget import StudyPanel

__all__ = ["check_params", "distributions_for", "enqueue"]


def distributions_for(panel: StudyPanel, study: optuna.Study) -> dict[str, BaseDistribution]:
    """Each parameter's distribution as the next trial will suggest it."""
    from optuna_magic.study.resume import distribution_of, stored_distributions

    found = stored_distributions(study)
    info = panel._info
    for spec in info.space if info is not None else ():
        declared = distribution_of(spec)
        if declared is not None:
            found[spec.name] = declared
    return found


def check_params(
    params: dict[str, str | int | float], distributions: dict[str, BaseDistribution]
) -> tuple[dict[str, Any], str | None]:
    """The parameters as Optuna takes them, or what is wrong with the first one that is not."""
    out: dict[str, Any] = {}
    if not params:
        return out, "no parameters to enqueue"
    for name, value in params.items():
        dist = distributions.get(name)
        if dist is None:
            return out, f"{name!r} is not a parameter of this study"
        checked, problem = _check(name, value, dist)
        if problem is not None:
            return out, problem
        out[name] = checked
    return out, None


def _check(name: str, value: Any, dist: Any) -> tuple[Any, str | None]:
    choices = getattr(dist, "choices", None)
    if choices is not None:
        for choice in choices:
            if choice_label(choice) == value or (choice == value and type(choice) is type(value)):
                return choice, None
        shown = ", ".join(choice_label(c) for c in choices)
        return None, f"{name} must be one of {shown}, not {value!r}"
    if isinstance(value, str) or not math.isfinite(value):
        return None, f"{name} must be a number, not {value!r}"
    is_int = type(dist).__name__ == "IntDistribution"
    if is_int and float(value) != int(value):
        return None, f"{name} must be a whole number, not {value}"
    number: int | float = int(value) if is_int else float(value)
    if not dist.low <= number <= dist.high:
        return None, f"{name} must be from {dist.low} to {dist.high}, not {number}"
    step = dist.step
    if step is not None and not (is_int and step == 1):
        k = (number - dist.low) / step
        if abs(k - round(k)) > 1e-8:
            return None, f"{name} must be {dist.low} plus a multiple of {step}, not {number}"
    return number, None


def enqueue(
    panel: StudyPanel, study: optuna.Study, params: dict[str, str | int | float]
) -> tuple[str, str]:
    """Check ``params`` and enqueue them; ``(state, message)`` for the panel's answer."""
    checked, problem = check_params(params, distributions_for(panel, study))
    if problem is not None:
        return "refused", problem
    try:
        study.enqueue_trial(checked, skip_if_exists=False)
    except Exception as e:  # a storage that refuses: said in words, not a traceback
        return "refused", f"could not enqueue: {type(e).__name__}: {e}"
    waiting = _waiting_trial(study, checked)
    if waiting is not None:
        # The table and the event log show it now, as WAITING, not only once it runs.
        panel.record.add_trials([waiting])
        panel.record.add_event("enqueued", f"trial {waiting.number}: {_shown(checked)}")
        panel.flush()
    when = "runs next in the current run" if panel.running else "runs first in the next run"
    return "enqueued", f"Enqueued: {when}"


def _waiting_trial(study: optuna.Study, params: dict[str, Any]) -> Any:
    from optuna.trial import TrialState

    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    for trial in reversed(waiting):
        if trial.system_attrs.get("fixed_params") == params:
            return trial
    return waiting[-1] if waiting else None


def _shown(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())
