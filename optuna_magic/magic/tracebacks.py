"""Tracebacks of a run: an interrupted run's short message, and a failed trial's traceback shown
from the cell's own frames down with the cell's own lines (``Cell In[N], line L``).
"""

from __future__ import annotations

import contextlib
import traceback
from types import TracebackType
from typing import Any

from optuna_magic.api import RunInterrupted  # one class for the magic and the API
from optuna_magic.cell.space import OptunaMagicError

__all__ = ["RunInterrupted", "cell_number", "format_cell_traceback", "with_cell_traceback"]


def cell_number(shell: Any) -> int:
    """The execution count of the cell running now, as its prompt shows it.

    IPython counts a cell before running it (``execution_count`` is already the next one while
    a cell runs), but not when a magic is called directly (``run_cell_magic``). The cell's
    own code is on the stack in the first case, under the file name IPython gave it.
    """
    import sys

    cells = getattr(shell.compile, "_filename_map", {})
    frame = sys._getframe(1)
    while frame is not None:
        number = cells.get(frame.f_code.co_filename)
        if number is not None:
            return int(number)
        frame = frame.f_back  # type: ignore[assignment]
    return int(shell.execution_count)


def with_cell_traceback(exc: BaseException, filename: str, shell: Any) -> BaseException:
    """Make IPython show ``exc`` from the cell's own frames down, not from Optuna's loop."""
    if isinstance(exc, OptunaMagicError):
        return exc
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    if tb is None or shell is None:
        return exc
    cell_tb = tb

    def render() -> list[str]:
        return [
            "A trial raised an exception; the run stopped (use --catch to record such trials "
            "as failed and go on).",
            *format_cell_traceback(exc, cell_tb, getattr(shell.compile, "_filename_map", {})),
        ]

    with contextlib.suppress(AttributeError, TypeError):
        exc._render_traceback_ = render  # type: ignore[attr-defined]
    return exc


_RED, _GREEN, _CYAN, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[0m"


def format_cell_traceback(
    exc: BaseException, tb: TracebackType | None, cells: dict[str, int], context: int = 2
) -> list[str]:
    """A traceback whose cell frames read ``Cell In[N], line L`` with the cell's own lines.

    Written here rather than left to IPython's formatter because that one locates a frame's
    function in the cached source, and the cell's function exists only as a syntax tree (the
    source holds the cell as the user wrote it), so it shows the wrong lines.
    """
    import linecache

    out = [
        f"{_RED}{'-' * 75}{_RESET}",
        f"{_RED}{type(exc).__name__}{_RESET}"
        f"{' ' * max(1, 42 - len(type(exc).__name__))}Traceback (most recent call last)",
    ]
    for frame, lineno in traceback.walk_tb(tb):
        code = frame.f_code
        name = code.co_name
        fname = code.co_filename
        if fname in cells:
            where = f"{_CYAN}Cell In[{cells[fname]}], line {lineno}{_RESET}"
            if name == "__optuna_magic_cell__":
                name = "<cell>"
            lo, hi = max(1, lineno - context), lineno + context
        else:
            where = f"File {_GREEN}{fname}:{lineno}{_RESET}"
            lo = hi = lineno
        lines = [f"{where}, in {name}"]
        for n in range(lo, hi + 1):
            text = linecache.getline(fname, n, frame.f_globals).rstrip("\n")
            if not text and n != lineno:
                continue
            if n == 1 and fname in cells and text.startswith("# %%"):
                text = text[2:]  # the magic line, commented out only for the cache
            arrow = f"{_GREEN}---> " if n == lineno else "     "
            lines.append(f"{arrow}{n:<4}{_RESET if n == lineno else ''}{text}")
        out.append("\n".join(lines) + "\n")
    out.extend(line.rstrip("\n") for line in traceback.format_exception_only(exc))
    out[-1] = f"{_RED}{type(exc).__name__}{_RESET}{out[-1][len(type(exc).__name__) :]}"
    return out
