"""What a compiled cell runs with, trial after trial: its ``hp``, its objective, its value check.

:mod:`optuna_magic.cell.compile` turns the cell into a function; a cell that still needs ``hp``
(or ``report``, ``constraint``, ``--keep-best``) is called through :class:`CellObjective`.
"""

from __future__ import annotations

import builtins
import math
import sys
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from optuna_magic.cell.constraints import CONSTRAINT, ConstraintCall
from optuna_magic.cell.parsed import Declaration, ParsedCell
from optuna_magic.cell.space import OptunaMagicError, check_declaration, plain, signature_of
from optuna_magic.run.runner import RunAborted

if TYPE_CHECKING:
    import optuna

__all__ = ["CAPTURE", "CellObjective", "ValueCheck"]

CAPTURE = "__optuna_magic_capture__"  # the --keep-best cell function's last parameter


class _TrialHP:
    """``hp`` inside one trial: turns declarations into ``trial.suggest_*`` calls.

    A declaration whose name and arguments were checked before the run (the common case)
    costs one set lookup on top of Optuna's ``suggest_*``. Checking every declaration in full
    made the cell's objective cost ~1.1 us a call for one parameter and ~2.3 us for four
    (timeit; now ~0.6 and ~1.3), ~1.6% of a fast trial's instructions. The set is what
    catches one declaration reached twice in a trial (a loop, a helper called twice).

    One is reused from trial to trial where nothing kept it (see ``CellObjective.__call__``):
    building one a trial cost ~2,400 instructions (a class call with ``__init__`` is not
    specialized in Python 3.11), reusing one ~600 (valgrind, measured in the loop). It reaches
    its cell through a weak proxy, so an idle one does not make a reference cycle of the cell
    objective (which would outlive its run until a full collection).
    """

    __slots__ = ("_cell", "_constrained", "_prechecked", "_report", "_seen", "_trial")

    def __init__(self, cell: CellObjective) -> None:
        self._trial: optuna.Trial = cast("optuna.Trial", None)  # set for each trial
        self._cell = cast("CellObjective", weakref.proxy(cell))
        self._prechecked = cell.prechecked
        self._report = cell.report
        self._seen: set[str] = set()
        self._constrained: set[str] | None = None  # made by the first constraint(...) only

    def _check(self, index: int, name: Any, kind: str, args: dict[str, Any]) -> str:
        if index < 0:
            fn = "hp.choice" if kind == "categorical" else f"hp.{kind}"
            self._cell.fail(
                None,
                f"{fn} was called without its declaration (through an alias, eval or a "
                f"magic), so it has no name: write {fn}(...) in the cell itself, or take "
                f"`trial` in a helper and call trial.suggest_*",
            )
        decl = self._cell.declarations[index]
        if not isinstance(name, str) or not name:
            self._cell.fail(decl, f"name= must be a non-empty string, got {name!r}")
        if name in self._seen:
            self._cell.fail(
                decl,
                f"parameter {name!r} was declared twice in one trial (a loop or a helper "
                f"called twice?); the second declaration would silently reuse the first "
                f'value. Give each its own name, e.g. name=f"{name}_{{i}}"',
            )
        self._seen.add(name)
        if not decl.checked or decl.name is None:
            args = {k: _plain_arg(v) for k, v in args.items()}
            problem = check_declaration(kind, args)
            if problem is not None:
                self._cell.fail(decl, problem)
            self._cell.check_name(decl, name, signature_of(kind, args))
        return name  # type: ignore[no-any-return]

    def int(
        self,
        low: int,
        high: int,
        *,
        step: int = 1,
        log: bool = False,
        name: Any = None,
        _decl: builtins.int = -1,
    ) -> builtins.int:
        """``trial.suggest_int`` under the declaration's name."""
        if _decl >= 0 and self._prechecked[_decl] and name not in self._seen:
            self._seen.add(name)
        else:
            args = {"low": low, "high": high, "step": step, "log": log}
            name = self._check(_decl, name, "int", args)
        return self._trial.suggest_int(name, int(low), int(high), step=int(step), log=log)

    def float(
        self,
        low: builtins.float,
        high: builtins.float,
        *,
        step: builtins.float | None = None,
        log: bool = False,
        name: Any = None,
        _decl: builtins.int = -1,
    ) -> builtins.float:
        """``trial.suggest_float`` under the declaration's name."""
        if _decl >= 0 and self._prechecked[_decl] and name not in self._seen:
            self._seen.add(name)
        else:
            args = {"low": low, "high": high, "step": step, "log": log}
            name = self._check(_decl, name, "float", args)
        if step is None and log is False:  # Optuna's defaults: a call without keywords is cheaper
            return self._trial.suggest_float(name, low, high)
        return self._trial.suggest_float(name, low, high, step=step, log=log)

    def choice(self, choices: Any, *, name: Any = None, _decl: builtins.int = -1) -> Any:
        """``trial.suggest_categorical`` under the declaration's name."""
        if _decl >= 0 and self._prechecked[_decl] and name not in self._seen:
            self._seen.add(name)
        else:
            name = self._check(_decl, name, "categorical", {"choices": choices})
        # numpy choices as Python values: an RDB storage writes the choices as JSON.
        return self._trial.suggest_categorical(name, tuple(map(plain, choices)))

    def report(self, value: builtins.float, step: builtins.int) -> None:
        """``report(value, step)`` in the cell: the runner's report for this trial."""
        self._report(self._trial, value, step)

    def constraint(self, value: Any, *, name: Any = None, _at: builtins.int = -1) -> None:
        """``constraint(value, name=...)`` in the cell: ``trial.set_constraint(name, value)``."""
        cell = self._cell
        at = cell.cell.constraints[_at] if _at >= 0 else None
        if at is None:
            cell.fail(
                None,
                "constraint was called without its declaration (through an alias, eval or a "
                "magic): write constraint(...) in the cell itself, or call "
                "trial.set_constraint(name, value)",
            )
        if not isinstance(name, str) or not name.strip():
            cell.fail(at, f"constraint name= must be a non-empty string, got {name!r}")
        seen = self._constrained
        if seen is None:
            seen = self._constrained = set()
        if name in seen:
            cell.fail(
                at,
                f"constraint {name!r} was set twice in one trial (a loop or a helper called "
                f"twice?); Optuna would keep the first value and drop this one. Give each its "
                f'own name, e.g. name=f"{name}_{{i}}"',
            )
        seen.add(name)
        try:
            # A string that reads as a number is still not one (Optuna would take "1.5").
            if isinstance(value, (str, bytes)):
                raise TypeError
            number = builtins.float(value)
        except (TypeError, ValueError):
            cell.fail(
                at,
                f"constraint {name!r} must be a number (feasible when <= 0), got "
                f"{type(value).__name__}: {_short(value)}",
            )
        if math.isnan(number):
            cell.fail(
                at, f"constraint {name!r} is NaN: a constraint must be a number (<= 0: feasible)"
            )
        self._trial.set_constraint(name, number)


class CellObjective:
    """The objective built from a cell; call it with a trial.

    Args:
        cell: the parsed cell.
        function: the compiled cell function ``f(trial, hp, report)``.
        report: ``report(trial, value, step)`` from the runner.
        n_objectives: how many values each trial must return.
        keep_locals: keep the variables of each trial until the runner says which is best.
    """

    def __init__(
        self,
        cell: ParsedCell,
        function: Callable[..., Any],
        report: Callable[[Any, float, int], None],
        n_objectives: int,
        keep_locals: bool = False,
    ) -> None:
        self.cell = cell
        self.declarations = cell.declarations
        # Per declaration: its name is a constant and its arguments were checked before the
        # run, so a trial needs no check beyond "not reached twice".
        self.prechecked = tuple(d.checked and d.name is not None for d in cell.declarations)
        self._function = function
        self.report = report
        self._n = n_objectives
        self._check_value = ValueCheck(cell, n_objectives)
        self._keep = keep_locals
        # The cell function takes `constraint` only when the cell calls it, so a cell that
        # does not still sees a notebook variable of that name.
        self._constrained = bool(cell.constraints)
        self._names_lock = threading.Lock()
        self._idle_hp: list[_TrialHP] = []  # see __call__
        self.trial_locals: dict[int, dict[str, Any]] = {}

    def fail(self, decl: Declaration | ConstraintCall | None, message: str) -> None:
        """Raise the run-stopping error for a problem found while a trial runs."""
        line = decl.line if decl is not None else self.cell.value_line
        raise RunAborted(OptunaMagicError(message, line, self.cell.line_source(line)))

    def check_name(self, decl: Declaration, name: str, sig: tuple[Any, ...]) -> None:
        """Check a run-time name against every distribution already used under it."""
        with self._names_lock:
            try:
                self.cell.space.check_name(name, sig, decl.line, decl.source)
            except OptunaMagicError as e:
                raise RunAborted(e) from None

    def __call__(self, trial: optuna.Trial) -> Any:
        # An idle hp from an earlier trial (list pop and append are atomic: --n-jobs threads
        # share the list), else a new one; see _TrialHP.
        idle = self._idle_hp
        try:
            hp = idle.pop()
        except IndexError:
            hp = _TrialHP(self)
        hp._trial = trial
        # Per-trial path: the function read into a local (a plain attribute read is specialized
        # in Python 3.11; calling self._function through LOAD_METHOD is not).
        function = self._function
        if self._keep:

            def capture(ns: Mapping[str, Any]) -> None:
                self.trial_locals[trial.number] = {
                    k: v
                    for k, v in ns.items()
                    if k not in ("trial", "hp", "report", CONSTRAINT, CAPTURE)
                }

            value = function(trial, hp, hp.report, *self._extra(hp), capture)
        elif self._constrained:
            value = function(trial, hp, hp.report, hp.constraint)
        else:
            value = function(trial, hp, hp.report)
        # Reused only where nothing but this frame holds it: a closure of the cell, a global,
        # a bound hp.report kept somewhere goes on seeing its own trial, as a new hp a trial
        # did. A trial that raised leaves it to its traceback: it is not reused either.
        if _refcount(hp) == _ALONE:
            hp._trial = None  # type: ignore[assignment]  # not cast(): a call a trial
            hp._seen.clear()
            hp._constrained = None
            idle.append(hp)
        if type(value) is float and self._n == 1:  # the common case, nothing to check
            return value
        return self._check_value(value)

    def _extra(self, hp: _TrialHP) -> tuple[Any, ...]:
        return (hp.constraint,) if self._constrained else ()


class ValueCheck:
    """The cell's value as the values Optuna records, or the run-stopping error in our words.

    One rule for both forms of a cell's objective: :class:`CellObjective` calls it, and a cell
    compiled to a plain function (:mod:`optuna_magic.cell.direct`) calls it from its returns.
    It holds only the numbers and text of its errors, so it travels to worker processes.
    """

    __slots__ = ("_line", "_source", "n")

    def __init__(self, cell: ParsedCell, n_objectives: int) -> None:
        self.n = n_objectives
        self._line = cell.value_line
        self._source = cell.line_source(cell.value_line)

    def fail(self, message: str) -> None:
        """Raise the run-stopping error for the cell's value."""
        raise RunAborted(OptunaMagicError(message, self._line, self._source))

    def __call__(self, value: Any) -> Any:
        if self.n == 1:
            if isinstance(value, (tuple, list)):
                self.fail(
                    f"the cell returned {len(value)} values but the study has one "
                    f"objective; use --directions with {len(value)} directions",
                )
            return self._number(value)
        if not isinstance(value, (tuple, list)) or len(value) != self.n:
            got = f"{len(value)} values" if isinstance(value, (tuple, list)) else "one value"
            self.fail(
                f"the cell returned {got} but --directions gives {self.n}; "
                f"return a tuple of {self.n} values",
            )
        return tuple(self._number(v) for v in value)

    def _number(self, v: Any) -> float:
        if v is None:
            self.fail(
                "the cell's value is None: its last expression must be the objective value "
                "(a number)"
            )
        try:
            return float(v)
        except (TypeError, ValueError):
            self.fail(f"the cell's value must be a number, got {type(v).__name__}: {_short(v)}")
        return math.nan  # unreachable


_refcount = sys.getrefcount


def _refs_of_a_local() -> int:
    """What ``sys.getrefcount`` reads for an object that only a local variable holds (the
    count includes the call's own argument, differently across Python versions)."""
    probe = object()
    return _refcount(probe)


_ALONE = _refs_of_a_local()


def _plain_arg(v: Any) -> Any:
    """numpy scalars (also among choices) as the Python values Optuna stores."""
    return tuple(map(plain, v)) if isinstance(v, (list, tuple)) else plain(v)


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) < 80 else text[:77] + "..."
