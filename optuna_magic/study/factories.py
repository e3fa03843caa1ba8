"""Option values -> Optuna objects: samplers and pruners, built and written as code.

A sampler or pruner is given as a name (``tpe``), as a call with literal keywords
(``"tpe(n_startup_trials=5)"``, parsed with ``ast``, never evaluated), or as the name of a variable
that holds an instance. Every class comes from Optuna itself.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from optuna_magic.cell.space import OptunaMagicError, ParamSpec

if TYPE_CHECKING:
    import optuna

__all__ = ["make_pruner", "make_sampler", "unquote"]

# name -> optuna attribute path; the seed goes to every sampler that takes one.
SAMPLERS = {
    "tpe": "samplers.TPESampler",
    "random": "samplers.RandomSampler",
    "cmaes": "samplers.CmaEsSampler",
    "gp": "samplers.GPSampler",
    "qmc": "samplers.QMCSampler",
    "nsga2": "samplers.NSGAIISampler",
    "nsga3": "samplers.NSGAIIISampler",
    "grid": "samplers.GridSampler",
    "bruteforce": "samplers.BruteForceSampler",
}
PRUNERS = {
    "median": "pruners.MedianPruner",
    "percentile": "pruners.PercentilePruner",
    "hyperband": "pruners.HyperbandPruner",
    "sha": "pruners.SuccessiveHalvingPruner",
    "wilcoxon": "pruners.WilcoxonPruner",
    "threshold": "pruners.ThresholdPruner",
    "patient": "pruners.PatientPruner",
    "none": "pruners.NopPruner",
}


@dataclass(frozen=True)
class Call:
    """An Optuna class (a path in ``optuna``) and its keywords, which may be calls themselves.

    The magic builds it; ``%optuna export`` writes it as code: one description, so a script
    gets exactly the defaults the cell ran with.
    """

    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Any:
        return _resolve(self.path)(**self.built_kwargs())

    def built_kwargs(self) -> dict[str, Any]:
        return {k: v.build() if isinstance(v, Call) else v for k, v in self.kwargs.items()}

    def source(self) -> str:
        args = (
            f"{k}={v.source() if isinstance(v, Call) else repr(v)}" for k, v in self.kwargs.items()
        )
        return f"optuna.{self.path}({', '.join(args)})"


# Optuna requires these keywords; sensible defaults keep `--pruner percentile` / `patient` working.
_PRUNER_DEFAULTS: dict[str, dict[str, Any]] = {
    "percentile": {"percentile": 25.0},
    "patient": {"wrapped_pruner": Call("pruners.MedianPruner"), "patience": 1},
}


def sampler_call(
    key: str, kwargs: dict[str, Any], seed: int | None, space: list[ParamSpec]
) -> Call:
    """The sampler of a known name: its keywords, the grid of the cell, the seed."""
    kwargs = dict(kwargs)
    if key == "grid" and "search_space" not in kwargs:
        kwargs["search_space"] = grid_from_space(space)
    if seed is not None:
        kwargs.setdefault("seed", seed)
    return Call(SAMPLERS[key], kwargs)


def pruner_call(key: str, kwargs: dict[str, Any]) -> Call:
    """The pruner of a known name: its keywords over the defaults Optuna requires."""
    return Call(PRUNERS[key], {**_PRUNER_DEFAULTS.get(key, {}), **kwargs})


def parse_choice(
    spec: str, kind: str, user_ns: Mapping[str, Any]
) -> tuple[Any, str, dict[str, Any]]:
    """``--sampler`` / ``--pruner`` as the magic reads it.

    Returns ``(the variable's object, "", {})`` or ``(None, a known name, its keywords)``.
    """
    import optuna

    if kind == "sampler":
        return _lookup(spec, kind, SAMPLERS, optuna.samplers.BaseSampler, user_ns)
    return _lookup(spec, kind, PRUNERS, optuna.pruners.BasePruner, user_ns)


def _resolve(path: str) -> Any:
    import optuna

    obj: Any = optuna
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def unquote(value: str) -> str:
    """Option values keep their shell quotes in IPython's argument split; drop them."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1].strip()
    return value


def _parse_spec(spec: str, kind: str, known: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """``"tpe(n_startup_trials=5)"`` -> ``("tpe", {"n_startup_trials": 5})``."""
    try:
        node = ast.parse(spec.strip(), mode="eval").body
    except SyntaxError:
        raise OptunaMagicError(f"--{kind} {spec!r} is not a {kind} name or call") from None
    kwargs: dict[str, Any] = {}
    if isinstance(node, ast.Call):
        if node.args:
            raise OptunaMagicError(
                f"--{kind} {spec!r}: pass arguments by keyword, e.g. "
                f"{ast.unparse(node.func)}(name=value)"
            )
        for k in node.keywords:
            if k.arg is None:
                raise OptunaMagicError(f"--{kind} {spec!r}: **kwargs is not supported")
            try:
                kwargs[k.arg] = ast.literal_eval(k.value)
            except ValueError:
                raise OptunaMagicError(
                    f"--{kind} {spec!r}: {k.arg}= must be a literal (number, string, list...); "
                    f"for anything else build the {kind} in a variable and pass its name"
                ) from None
        node = node.func
    if not isinstance(node, ast.Name):
        raise OptunaMagicError(f"--{kind} {spec!r} is not a {kind} name or call")
    return node.id, kwargs


def _lookup(
    spec: str, kind: str, registry: Mapping[str, str], base: type, user_ns: Mapping[str, Any]
) -> tuple[Any, str, dict[str, Any]]:
    """``--sampler`` / ``--pruner``: a variable's instance, or a known name with its keywords.

    Returns ``(instance, "", {})`` for a variable, ``(None, name, keywords)`` otherwise.
    """
    spec = unquote(spec)
    word = spec.strip()
    obj = user_ns.get(word)
    if obj is not None and word.isidentifier() and word.lower() not in registry:
        if not isinstance(obj, base):
            raise OptunaMagicError(
                f"--{kind} {spec}: the variable holds a {type(obj).__name__}, not an Optuna {kind}"
            )
        return obj, "", {}
    name, kwargs = _parse_spec(spec, kind, registry)
    key = name.lower()
    if key not in registry:
        raise OptunaMagicError(
            f"--{kind} {name!r} is unknown; use one of {', '.join(registry)}, "
            f"or the name of a variable holding a {kind}"
        )
    return None, key, kwargs


def _build(path: str, kwargs: dict[str, Any], kind: str, spec: str) -> Any:
    try:
        return _resolve(path)(**kwargs)
    except (TypeError, ValueError) as e:  # a wrong keyword, or a value Optuna refuses
        raise OptunaMagicError(f"--{kind} {unquote(spec)}: {e}") from None


def make_sampler(
    spec: str | None,
    seed: int | None,
    user_ns: Mapping[str, Any],
    space: list[ParamSpec],
) -> optuna.samplers.BaseSampler | None:
    """Build the sampler named by ``--sampler`` (None: Optuna's default, seeded when asked)."""
    import optuna

    if spec is None:
        if seed is None:
            return None
        return optuna.samplers.TPESampler(seed=seed)
    obj, key, kwargs = _lookup(spec, "sampler", SAMPLERS, optuna.samplers.BaseSampler, user_ns)
    if obj is not None:
        if seed is not None:
            # A built sampler keeps the random state it was made with; claiming the seed in
            # the panel while it is not used would be a lie.
            word = unquote(spec)
            raise OptunaMagicError(
                f"--sampler {word} --seed {seed}: the sampler in `{word}` was built with its "
                f"own seed; pass seed= when you build it (e.g. RandomSampler(seed={seed})), "
                f"or use --sampler NAME --seed {seed} (the seed may come from "
                f"%config OptunaMagics.seed)"
            )
        return obj  # type: ignore[no-any-return]
    call = sampler_call(key, kwargs, seed, space)
    return _build(call.path, call.built_kwargs(), "sampler", spec)  # type: ignore[no-any-return]


def grid_from_space(space: list[ParamSpec]) -> dict[str, list[Any]]:
    """The grid of every declaration: choices, integer ranges, and stepped floats."""
    grid: dict[str, list[Any]] = {}
    for p in space:
        if p.dynamic:
            raise OptunaMagicError(
                f"--sampler grid needs every parameter known before the run; "
                f"{p.name} is computed in the cell. Pass "
                f'"grid(search_space={{...}})" or a GridSampler variable',
                p.line,
            )
        if p.kind == "categorical":
            grid[p.name] = list(p.choices or ())
        elif p.kind == "int" and not p.log:
            grid[p.name] = list(range(int(p.low), int(p.high) + 1, int(p.step or 1)))  # type: ignore[arg-type]
        elif p.kind == "float" and p.step is not None:
            n = round((float(p.high) - float(p.low)) / float(p.step))  # type: ignore[arg-type]
            grid[p.name] = [float(p.low) + i * float(p.step) for i in range(n + 1)]  # type: ignore[arg-type]
        else:
            raise OptunaMagicError(
                f"--sampler grid cannot enumerate {p.name} ({p.describe()}); give "
                f'it a step, or pass "grid(search_space={{...}})"',
                p.line,
            )
    return grid


def make_pruner(spec: str | None, user_ns: Mapping[str, Any]) -> optuna.pruners.BasePruner | None:
    """Build the pruner named by ``--pruner`` (None: Optuna's default)."""
    import optuna

    if spec is None:
        return None
    obj, key, kwargs = _lookup(spec, "pruner", PRUNERS, optuna.pruners.BasePruner, user_ns)
    if obj is not None:
        return obj  # type: ignore[no-any-return]
    call = pruner_call(key, kwargs)
    return _build(call.path, call.built_kwargs(), "pruner", spec)  # type: ignore[no-any-return]
