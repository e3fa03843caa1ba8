"""``--resume``: the cell's declarations against the distributions the study already holds.

Optuna checks a parameter's distribution only when a trial suggests it, and then fails that trial
with its own ValueError: every attempt to resume with a changed declaration would add a FAIL trial
and say nothing of the cell. The same rule (Optuna's ``check_distribution_compatibility``) is
applied here before the first trial, in words that name the parameter and the cell line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optuna_magic.cell.space import OptunaMagicError

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

    from optuna_magic.cell.parsed import ParsedCell
    from optuna_magic.cell.space import ParamSpec

__all__ = ["check_stored_space", "distribution_of", "stored_distributions"]


def distribution_of(spec: ParamSpec) -> BaseDistribution | None:
    """The distribution a declaration makes Optuna record, or None when only a trial knows it."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if spec.dynamic:
        return None
    try:
        if spec.kind == "categorical":
            return None if spec.choices is None else CategoricalDistribution(spec.choices)
        if spec.low is None or spec.high is None:
            return None
        if spec.kind == "int":
            step = 1 if spec.step is None else int(spec.step)
            return IntDistribution(int(spec.low), int(spec.high), log=spec.log, step=step)
        return FloatDistribution(spec.low, spec.high, log=spec.log, step=spec.step)
    except (TypeError, ValueError):  # refused by the declaration checks, with the cell line
        return None


def stored_distributions(study: optuna.Study) -> dict[str, BaseDistribution]:
    """Each parameter's distribution as the study first recorded it (what Optuna checks against)."""
    seen: dict[str, BaseDistribution] = {}
    for trial in study.get_trials(deepcopy=False):
        for name, dist in trial.distributions.items():
            seen.setdefault(name, dist)
    return seen


def check_stored_space(study: optuna.Study, cell: ParsedCell) -> None:
    """Refuse a cell whose declaration Optuna would refuse at the first trial that reaches it.

    Bounds and step may change between runs (Optuna allows it); the kind, the log scale and
    the choices of a stored parameter may not.

    Raises:
        OptunaMagicError: naming the parameter, its cell line, and both distributions.
    """
    from optuna.distributions import check_distribution_compatibility

    stored: dict[str, BaseDistribution] | None = None
    for spec in cell.space.params:
        new = distribution_of(spec)
        if new is None:
            continue
        if stored is None:
            stored = stored_distributions(study)
        old = stored.get(spec.name)
        if old is None:
            continue
        try:
            check_distribution_compatibility(old, new)
        except ValueError:
            raise OptunaMagicError(
                f"--resume: parameter {spec.name!r} is stored in study {study.study_name!r} "
                f"as {describe(old)}, and the cell now declares {describe(new)}. A stored "
                f"parameter keeps its kind (int, float or choice), its log scale and its "
                f"choices; its bounds and step may change. Declare it as stored, give the new "
                f"one another name=, or start a new study (another --study-name)",
                spec.line,
                cell.line_source(spec.line),
            ) from None


def describe(dist: Any) -> str:
    """A distribution in the words of the dry-run table: ``float [0.0, 1.0] log``."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return "choice (" + ", ".join(repr(c) for c in dist.choices) + ")"
    kind = "int" if isinstance(dist, IntDistribution) else "float"
    text = f"{kind} [{dist.low}, {dist.high}]"
    if dist.log:
        text += " log"
    if dist.step is not None and not (kind == "int" and dist.step == 1):
        text += f" step {dist.step}"
    return text
