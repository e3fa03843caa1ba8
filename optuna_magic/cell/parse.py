"""Cell text -> AST: the ``hp.*`` declarations, their names, and the objective value.

Everything here works on the syntax tree (never on text with regular expressions), keeps the cell's
own line numbers (shifted by the magic's first line, so they match what the editor shows), and
rewrites each declaration to carry its inferred ``name=`` and its index in the declaration list.
Names come from :mod:`~optuna_magic.cell.names`, arguments from
:mod:`~optuna_magic.cell.arguments`, the objective value from :mod:`~optuna_magic.cell.value`.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Mapping
from typing import Any

from optuna_magic.cell.arguments import bind_arguments, static_arguments, static_value
from optuna_magic.cell.checks import (
    OncePerPath,
    bound_names,
    check_hp_and_magics,
    visible_choice_problem,
)
from optuna_magic.cell.constraints import declare_constraints
from optuna_magic.cell.names import LOOPS, infer_name, name_keyword
from optuna_magic.cell.parsed import Declaration, ParsedCell
from optuna_magic.cell.space import (
    OptunaMagicError,
    ParamSpec,
    SearchSpace,
    check_declaration,
    signature_of,
)
from optuna_magic.cell.value import SCOPES, choose_mode

__all__ = ["Declaration", "ParsedCell", "parse_cell"]

_HP_KINDS = {"int": "int", "float": "float", "choice": "categorical"}
_SUGGEST_KINDS = {
    "suggest_int": "int",
    "suggest_float": "float",
    "suggest_uniform": "float",
    "suggest_loguniform": "float",
    "suggest_categorical": "categorical",
}


def parse_cell(
    code: str,
    filename: str,
    *,
    line_offset: int = 1,
    namespace: Mapping[str, Any] | None = None,
    magic_line: str = "",
) -> ParsedCell:
    """Parse a cell body into a checked search space and a rewritten function body.

    Args:
        code: the cell body, already through IPython's ``transform_cell``.
        filename: the name tracebacks will show for the cell.
        line_offset: lines above the body in the editor (the ``%%optuna`` line).
        namespace: the user's namespace, to resolve bounds such as ``hp.int(1, N_MAX)``.
        magic_line: the ``%%optuna ...`` line, only to show source lines in errors.

    Raises:
        SyntaxError: with the editor's line number, like a normal cell.
        OptunaMagicError: a declaration or the objective value is not usable.
    """
    try:
        tree = ast.parse(code, filename=filename)
    except SyntaxError as e:
        if e.lineno is not None:
            e.lineno += line_offset
            if getattr(e, "end_lineno", None) is not None:
                e.end_lineno += line_offset  # type: ignore[operator]
        raise
    if line_offset:
        ast.increment_lineno(tree, line_offset)
    source_lines = [magic_line] * line_offset + code.splitlines()
    cell = ParsedCell(
        body=tree.body,
        mode="value",
        declarations=[],
        space=SearchSpace(),
        source_lines=source_lines,
    )
    cell.bound = bound_names(tree)
    _Finder(cell, namespace or {}, cell.bound).visit(tree)
    _find_suggest_calls(cell, tree)
    choose_mode(cell, tree)
    if cell.mode == "value":
        check_hp_and_magics(tree, cell.line_source)
        cell.constraints = declare_constraints(tree, cell.line_source)
    return cell


class _Finder(ast.NodeTransformer):
    """Finds ``hp.*`` calls, infers their names, and rewrites them with ``name=`` and ``_decl=``."""

    def __init__(self, cell: ParsedCell, namespace: Mapping[str, Any], bound: set[str]) -> None:
        self.cell = cell
        # A name the cell binds is local to every trial: its global value is not what runs.
        self.namespace = {k: v for k, v in namespace.items() if k not in bound}
        self.bound = bound
        self.once = OncePerPath()
        self.parents: list[ast.AST] = []
        self.statements = {id(s): i for i, s in enumerate(cell.body)}

    def generic_visit(self, node: ast.AST) -> ast.AST:
        self.parents.append(node)
        try:
            return super().generic_visit(node)
        finally:
            self.parents.pop()

    def visit_Name(self, node: ast.Name) -> ast.AST:
        self.cell.names.add(node.id)
        return node

    def visit_Return(self, node: ast.Return) -> ast.AST:
        self.cell.return_statements.add(self._statement(node))
        return self.generic_visit(node)

    def _statement(self, node: ast.AST) -> int:
        """The index in the cell's body of the statement that holds ``node``."""
        top = self.parents[1] if len(self.parents) > 1 else node
        return self.statements.get(id(top), -1)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        kind = _hp_kind(node)
        if kind is None:
            if isinstance(node.func, ast.Name) and node.func.id == "report":
                self.cell.uses_report = True
            return self.generic_visit(node)
        self.generic_visit(node)  # nested declarations (e.g. in a choice list) come first
        self._declare(node, kind)
        return node

    def _declare(self, node: ast.Call, kind: str) -> None:
        line = node.lineno
        src = self.cell.line_source(line)
        fn = f"hp.{node.func.attr}"  # type: ignore[attr-defined]
        name, name_node = self._name(node, fn, line, src)
        in_loop = self._in_loop()
        if in_loop and name is not None:
            raise OptunaMagicError(
                f"{fn} named {name!r} is inside a loop: every pass would reuse the first "
                f'value of {name!r}. Give each pass its own name, e.g. name=f"{name}_{{i}}"',
                line,
                src,
            )
        static, literal = self._static_arguments(node, kind, fn, line, src)
        index = len(self.cell.declarations)
        decl = Declaration(
            index,
            kind,
            name,
            line,
            src,
            in_loop,
            static,
            in_scope=any(isinstance(p, SCOPES) for p in self.parents),
            statement=self._statement(node),
            literal=literal,
        )
        self.cell.declarations.append(decl)
        self.cell.space.add_static(
            _spec_of(decl, node, name_node),
            None if static is None or name is None else signature_of(kind, static),
        )
        if name is not None:
            self.once.add(name, [*self.parents, node], line, src)
        node.keywords.append(ast.keyword(arg="name", value=name_node))
        node.keywords.append(ast.keyword(arg="_decl", value=ast.Constant(index)))
        ast.copy_location(node.keywords[-1].value, node)
        ast.fix_missing_locations(node)

    def _name(self, node: ast.Call, fn: str, line: int, src: str) -> tuple[str | None, ast.expr]:
        """The declaration's name (None when computed per trial) and the expression giving it.

        Takes ``name=`` off the call; :meth:`_declare` puts the resolved one back.
        """
        explicit = name_keyword(node)
        node.keywords = [k for k in node.keywords if k.arg != "name"]
        if any(k.arg is None for k in node.keywords) or any(
            isinstance(a, ast.Starred) for a in node.args
        ):
            raise OptunaMagicError(
                f"{fn} cannot take *args or **kwargs; write its arguments out", line, src
            )
        name: str | None
        name_node: ast.expr
        if explicit is not None:
            if isinstance(explicit.value, ast.Constant):
                if not isinstance(explicit.value.value, str):
                    raise OptunaMagicError(
                        f"{fn} name= must be a string, got {explicit.value.value!r}", line, src
                    )
                name = explicit.value.value
            else:
                name = None  # computed per trial, e.g. f"units_{i}"
            name_node = explicit.value
        else:
            # parents[-1] holds the call (the call's own generic_visit already popped).
            name = infer_name(node, self.parents[-1] if self.parents else None)
            if name is None:
                raise OptunaMagicError(
                    f"cannot infer a parameter name for {fn}(...): pass it as a keyword "
                    f"(f(x={fn}(...))), assign it (x = {fn}(...)), use it as a dict value "
                    f"({{'x': {fn}(...)}}), or give name='x'",
                    line,
                    src,
                )
            name_node = ast.Constant(name)
        if name is not None and not name.strip():
            raise OptunaMagicError(f"{fn} name must not be empty", line, src)
        return name, name_node

    def _static_arguments(
        self, node: ast.Call, kind: str, fn: str, line: int, src: str
    ) -> tuple[dict[str, Any] | None, bool]:
        """The call's arguments checked now if they are known before the run (else None), and
        whether they are literals."""
        args = bind_arguments(node, kind, fn, line, src)
        static = static_arguments(args, self.namespace)
        literal = static is not None and not any(
            isinstance(n, ast.Name) for e in args.values() for n in ast.walk(e)
        )
        if static is not None:
            problem = check_declaration(kind, static)
            if problem is not None:
                raise OptunaMagicError(problem, line, src)
        elif kind == "categorical":
            problem = visible_choice_problem(
                args["choices"], lambda e: static_value(e, self.namespace), self._lookup
            )
            if problem is not None:
                raise OptunaMagicError(problem, line, src)
        return static, literal

    def _lookup(self, name: str) -> Any:
        if name in self.bound:
            return None
        return self.namespace.get(name, getattr(builtins, name, None))

    def _in_loop(self) -> bool:
        for p in reversed(self.parents):
            if isinstance(p, SCOPES):
                return False
            if isinstance(p, LOOPS):
                return True
        return False


def _hp_kind(node: ast.Call) -> str | None:
    f = node.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "hp":
        kind = _HP_KINDS.get(f.attr)
        if kind is None:
            raise OptunaMagicError(
                f"hp.{f.attr} is not a declaration; use hp.int, hp.float or hp.choice",
                node.lineno,
            )
        return kind
    return None


def _spec_of(decl: Declaration, node: ast.Call, name_node: ast.expr) -> ParamSpec:
    name = decl.name if decl.name is not None else ast.unparse(name_node)
    s = decl.static_args
    if s is None:
        return ParamSpec(
            name=name, kind=decl.kind, line=decl.line, dynamic=True, source=_unparse_args(node)
        )
    if decl.kind == "categorical":
        return ParamSpec(
            name=name,
            kind="categorical",
            choices=tuple(s["choices"]),
            line=decl.line,
            dynamic=decl.name is None,
        )
    return ParamSpec(
        name=name,
        kind=decl.kind,
        low=s["low"],
        high=s["high"],
        step=s["step"],
        log=bool(s["log"]),
        line=decl.line,
        dynamic=decl.name is None,
    )


def _unparse_args(node: ast.Call) -> str:
    parts = [ast.unparse(a) for a in node.args]
    parts += [
        f"{k.arg}={ast.unparse(k.value)}"
        for k in node.keywords
        if k.arg != "_decl" and k.arg != "name"
    ]
    return "(" + ", ".join(parts) + ")"


def _find_suggest_calls(cell: ParsedCell, tree: ast.Module) -> None:
    """Add ``trial.suggest_*("name", ...)`` calls to the table, so dry runs show them too."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        f = node.func
        kind = _SUGGEST_KINDS.get(f.attr)
        if kind is None or not (isinstance(f.value, ast.Name) and f.value.id == "trial"):
            continue
        first = (
            node.args[0]
            if node.args
            else next((k.value for k in node.keywords if k.arg == "name"), None)
        )
        static_name = isinstance(first, ast.Constant) and isinstance(first.value, str)
        name = first.value if static_name else (ast.unparse(first) if first else "?")  # type: ignore[union-attr]
        rest = ", ".join(
            [ast.unparse(a) for a in node.args[1:]]
            + [f"{k.arg}={ast.unparse(k.value)}" for k in node.keywords if k.arg != "name"]
        )
        cell.space.params.append(
            ParamSpec(name=name, kind=kind, line=node.lineno, dynamic=True, source=f"({rest})")
        )
