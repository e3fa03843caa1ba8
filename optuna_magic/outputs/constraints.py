"""Optuna's constraints, read once for every output: which trials are feasible.

As Optuna (``FrozenTrial.constraints``, ``study.best_trial``, ``plot_pareto_front``): a trial is
feasible when every constraint value is <= 0, and a trial without constraints is feasible.
Optuna keeps them as system attributes: ``constraints:<key>`` (``trial.set_constraint``), or
``constraints`` as a list (the older form, keyed by index, a keyed value replacing it).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["is_infeasible", "largest_constraint"]

_LISTED = "constraints"
_KEYED = "constraints:"


def largest_constraint(system_attrs: dict[str, Any]) -> float:
    """The largest of a trial's constraint values, or NaN when it has none.

    The trial is infeasible exactly when this is > 0. Callers on a hot path skip it for an
    empty dict, the common case.
    """
    found: dict[str, float] = {}
    listed = system_attrs.get(_LISTED)
    if listed is not None:
        found = {str(i): float(c) for i, c in enumerate(listed)}
    for key, value in system_attrs.items():
        if key.startswith(_KEYED):
            found[key[len(_KEYED) :]] = float(value)
    return max(found.values()) if found else math.nan


def is_infeasible(trial: Any) -> bool:
    """Whether a FrozenTrial (or a trial that reads like one) breaks one of its constraints."""
    attrs: dict[str, Any] | None = getattr(trial, "system_attrs", None)  # may have none
    return bool(attrs) and largest_constraint(attrs or {}) > 0
