"""What :func:`~optuna_magic.cell.parse.parse_cell` gives: the declarations and the parsed cell."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from optuna_magic.cell.space import SearchSpace

if TYPE_CHECKING:
    from optuna_magic.cell.constraints import ConstraintCall

__all__ = ["Declaration", "ParsedCell"]


@dataclass
class Declaration:
    """One ``hp.int`` / ``hp.float`` / ``hp.choice`` call in the cell."""

    index: int
    kind: str  # "int" | "float" | "categorical"
    name: str | None  # None when computed at run time (name=<expression>)
    line: int
    source: str
    in_loop: bool
    static_args: dict[str, Any] | None  # arguments known before the run, else None
    in_scope: bool = False  # inside a def, lambda or class of the cell (may run many times)
    statement: int = -1  # the index in the cell's body of the statement that holds it
    literal: bool = False  # its arguments are literals (no name in them): known, and unchangeable

    @property
    def checked(self) -> bool:
        """Whether the arguments were checked before the run (no check needed per trial)."""
        return self.static_args is not None


@dataclass
class ParsedCell:
    """The result of :func:`parse_cell`."""

    body: list[ast.stmt]
    mode: str  # "value" (last expression / return) or "objective" (def objective(trial))
    declarations: list[Declaration]
    space: SearchSpace
    value_line: int | None = None
    value_arity: int | None = None  # number of values when the last expression is a tuple
    # The objectives' names the last expression gives: `(loss, acc)` -> ("loss", "acc"),
    # `model.score` -> ("score",); None when a value has no name (`(x - 2) ** 2`).
    value_names: tuple[str, ...] | None = None
    uses_report: bool = False
    constraints: list[ConstraintCall] = field(default_factory=list)  # constraint(...) calls
    names: set[str] = field(default_factory=set)  # every name the cell's code reads or writes
    bound: set[str] = field(default_factory=set)  # every name the cell binds, anywhere
    # The statements of the body that hold a `return` (the last expression's, made by the
    # parser, is a `return` statement of its own).
    return_statements: set[int] = field(default_factory=set)
    source_lines: list[str] = field(default_factory=list)

    def line_source(self, line: int | None) -> str:
        """The source text of a cell line (editor numbering)."""
        if line is None:
            return ""
        i = line - 1
        return self.source_lines[i] if 0 <= i < len(self.source_lines) else ""
