"""The search space declared in a cell: checks, distributions and the dry-run table.

Checks run twice over the same rules: once before any trial, on every declaration whose arguments
are known statically (literals or simple expressions over the user's globals), and at the first
time a declaration is reached for those that depend on values computed in the cell. Either way the
error names the cell line.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "OptunaMagicError",
    "ParamSpec",
    "SearchSpace",
    "check_declaration",
    "describe",
    "describe_distribution",
    "plain",
    "signature_of",
]

_CHOICE_TYPES = (type(None), bool, int, float, str)
_PLAIN_TYPES = frozenset(_CHOICE_TYPES)


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds; anything else unchanged.

    Optuna takes numpy bounds, but stores a numpy choice as is: a warning, and an RDB storage
    cannot write it as JSON. numpy is only looked up, never imported, here.
    """
    if type(value) in _PLAIN_TYPES:
        return value
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.generic):
        return value.item()
    return value


class OptunaMagicError(Exception):
    """A problem with the cell (its declarations, its value or its options), shown briefly.

    IPython prints it without a Python traceback (``_render_traceback_``), with the cell line it
    is about and that line's source, like a syntax error.
    """

    def __init__(self, message: str, line: int | None = None, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.source = source

    def __str__(self) -> str:
        where = f"cell line {self.line}: " if self.line is not None else ""
        return f"{where}{self.message}"

    def _render_traceback_(self) -> list[str]:
        lines = [f"\x1b[31mOptunaMagicError\x1b[0m: {self}"]
        if self.source:
            lines.append(f"    {self.line} | {self.source.strip()}")
        return lines


@dataclass(frozen=True)
class ParamSpec:
    """One row of the search space table.

    ``dynamic`` marks a declaration whose name or bounds are only known when a trial reaches it
    (e.g. ``name=f"units_{i}"``); such rows show the expression as written.
    """

    name: str
    kind: str  # "int" | "float" | "categorical"
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    log: bool = False
    choices: tuple[Any, ...] | None = None
    line: int | None = None
    dynamic: bool = False
    source: str = ""

    def describe(self) -> str:
        """The distribution in a few words, e.g. ``int [10, 100] log`` or ``choice (a, b)``."""
        if self.kind == "categorical" and self.choices is None:
            return f"choice {self.source}"
        if self.kind != "categorical" and self.low is None:
            return f"{self.kind} {self.source}"
        return describe(self.kind, self.low, self.high, self.step, self.log, self.choices)


def describe(
    kind: str,
    low: Any = None,
    high: Any = None,
    step: Any = None,
    log: bool = False,
    choices: Sequence[Any] | None = None,
) -> str:
    """A distribution in a few words, one format for a declaration and for what Optuna stored:
    ``int [10, 100] log``, ``float [0, 1] step 0.1``, ``choice ('a', 'b')``."""
    if kind == "categorical":
        return "choice (" + ", ".join(repr(c) for c in choices or ()) + ")"
    text = f"{kind} [{low}, {high}]"
    if log:
        text += " log"
    if step is not None and not (kind == "int" and step == 1):
        text += f" step {step}"
    return text


def describe_distribution(distribution: Any) -> str:
    """:func:`describe` of an Optuna distribution (a parameter as a trial stored it)."""
    choices = getattr(distribution, "choices", None)
    if choices is not None:
        return describe("categorical", choices=choices)
    kind = "int" if type(distribution).__name__ == "IntDistribution" else "float"
    return describe(
        kind,
        getattr(distribution, "low", None),
        getattr(distribution, "high", None),
        getattr(distribution, "step", None),
        bool(getattr(distribution, "log", False)),
    )


def signature_of(kind: str, args: dict[str, Any]) -> tuple[Any, ...]:
    """A hashable description of a distribution, to tell whether two declarations agree."""
    if kind == "categorical":
        return (kind, tuple(args["choices"]))
    step = args.get("step")
    if kind == "int" and step is None:
        step = 1
    return (kind, args["low"], args["high"], step, bool(args.get("log", False)))


def check_declaration(kind: str, args: dict[str, Any]) -> str | None:
    """Return what is wrong with a declaration's arguments, or None when they are valid."""
    if kind == "categorical":
        choices = args["choices"]
        if not isinstance(choices, (list, tuple)):
            return f"hp.choice needs a list or tuple of options, got {type(choices).__name__}"
        if len(choices) == 0:
            return "hp.choice needs at least one option, got an empty sequence"
        for c in choices:
            if not isinstance(c, _CHOICE_TYPES):
                return (
                    f"hp.choice options must be None, bool, int, float or str; "
                    f"{c!r} is a {type(c).__name__} (choose by a string key and map it "
                    f"in the cell instead)"
                )
            if isinstance(c, float) and math.isnan(c):
                return "hp.choice options must not be NaN"
        return None
    low, high = args["low"], args["high"]
    step, log = args.get("step"), bool(args.get("log", False))
    fn = f"hp.{kind}"
    for label, v in (("low", low), ("high", high)):
        problem = _bound_problem(fn, label, v, kind)
        if problem is not None:
            return problem
    if low > high:
        return f"{fn} bounds are out of order: low={low!r} is greater than high={high!r}"
    if log and step is not None and not (kind == "int" and step == 1):
        return f"{fn} cannot use step and log together (step={step!r}, log=True)"
    if log and low <= 0:
        return f"{fn} with log=True needs low > 0, got low={low!r}"
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
            return f"{fn} step must be a positive number, got {step!r}"
        if kind == "int" and not float(step).is_integer():
            return f"{fn} step must be an integer, got {step!r}"
        if step > high - low > 0:
            # Optuna would quietly shrink the range to `low` alone: one value, no search.
            return (
                f"{fn} step={step!r} is larger than the range {low!r}..{high!r}: only low "
                f"would ever be tried"
            )
    return None


def _bound_problem(fn: str, label: str, v: Any, kind: str) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return f"{fn} {label} must be a number, got {v!r}"
    if isinstance(v, int) and abs(v) > sys.float_info.max:
        # Optuna samples through floats: such a bound overflows inside its sampler.
        digits = int(v.bit_length() * math.log10(2))
        return f"{fn} {label} is too large (about 10**{digits}; bounds must fit in a float)"
    if kind == "int" and isinstance(v, float) and not v.is_integer():
        return f"{fn} {label} must be an integer, got {v!r}"
    if not math.isfinite(v):
        return f"{fn} {label} must be finite, got {v!r}"
    return None


@dataclass
class SearchSpace:
    """The checked declarations of a cell and the names they bind.

    ``check_name`` guards the run: one name never gets two different distributions, whether the
    names are static or computed (``name=f"units_{i}"``).
    """

    params: list[ParamSpec] = field(default_factory=list)
    _signatures: dict[str, tuple[tuple[Any, ...], int | None]] = field(default_factory=dict)

    def add_static(self, spec: ParamSpec, signature: tuple[Any, ...] | None) -> None:
        """Add a row; when its name and distribution are known, check them against the others."""
        if signature is not None and not spec.dynamic:
            self.check_name(spec.name, signature, spec.line, spec.source)
        self.params.append(spec)

    def check_name(
        self, name: str, signature: tuple[Any, ...], line: int | None, source: str = ""
    ) -> None:
        """Raise :class:`OptunaMagicError` when ``name`` was declared with another distribution."""
        seen = self._signatures.get(name)
        if seen is None:
            self._signatures[name] = (signature, line)
            return
        if seen[0] != signature:
            where = f"line {seen[1]}" if seen[1] is not None else "an earlier trial"
            raise OptunaMagicError(
                f"parameter {name!r} is declared with two different distributions: "
                f"{_sig_text(seen[0])} at {where} and {_sig_text(signature)} here; "
                f"give one of them another name=",
                line,
                source,
            )

    def table(self) -> str:
        """The dry-run table: name, distribution, cell line."""
        if not self.params:
            return "(no hp.* declarations in this cell)"
        rows = [(p.name, p.describe(), "" if p.line is None else str(p.line)) for p in self.params]
        header = ("name", "distribution", "line")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
        out += [fmt.format(*r) for r in rows]
        return "\n".join(line.rstrip() for line in out)

    def names(self) -> Sequence[str]:
        """The static parameter names, in declaration order."""
        return [p.name for p in self.params if not p.dynamic]


def _sig_text(sig: tuple[Any, ...]) -> str:
    if sig[0] == "categorical":
        return "choice " + repr(list(sig[1]))
    kind, low, high, step, log = sig
    text = f"{kind}({low}, {high}"
    if step not in (None, 1) or (kind == "float" and step is not None):
        text += f", step={step}"
    if log:
        text += ", log=True"
    return text + ")"
