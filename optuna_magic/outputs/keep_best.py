"""``--keep-best``: which trial's cell variables go into the namespace, and what to say about it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

__all__ = ["kept_variables"]


def kept_variables(
    study: optuna.Study, kept: Mapping[int, dict[str, Any]], out: str
) -> tuple[dict[str, Any], str | None]:
    """The variables to bind after a run, and a note for the user when they are not simply the
    best trial's.

    ``kept`` holds the variables of this run's best trial only (the other trials' are dropped
    as the run goes). After ``--resume`` the study's best may come from an earlier run, whose
    variables no longer exist: then this run's best is kept, and the note says so, since a
    ``model`` that does not match ``study.best_params`` must never pass for the best one. The
    variable named by ``-o`` holds the Study and is never overwritten by a cell variable.
    """
    try:
        best = study.best_trial
    except ValueError:  # no trial completed
        return {}, "--keep-best: no trial completed; kept nothing"
    note = None
    number = best.number
    if number not in kept:
        earlier = f"--keep-best: best trial #{number} is from an earlier run, whose variables "
        if not kept:
            return {}, (
                f"{earlier}this run does not have; no trial of this run completed, so kept nothing"
            )
        number = next(iter(kept))
        value = study.get_trials(deepcopy=False)[number].value
        note = (
            f"{earlier}this run does not have; kept the variables of this run's best trial "
            f"#{number} (value {value}) instead"
        )
    variables = dict(kept[number])
    if out in variables:
        del variables[out]
        clash = (
            f"--keep-best: the cell's own `{out}` (trial #{number}) was not kept: `{out}` holds "
            f"the Study (-o {out}); rename the variable in the cell, or give -o another name"
        )
        note = clash if note is None else f"{note}\n{clash}"
    return variables, note
