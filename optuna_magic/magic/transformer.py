"""The kernel side of the magic: the input transformer that turns a ``%%optuna`` cell into an
awaited call, the entry points its code calls, and the extension's register / unregister.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from optuna_magic.magic.commands import report_background
from optuna_magic.magic.magics import OptunaMagics
from optuna_magic.study.secrets import hide_line, reveal_line

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["line_in_kernel", "register", "run_in_kernel", "unregister", "wait_in_kernel"]

# The module the transformed code imports its entry points from (this one).
_HERE = f"__import__({__name__!r}, fromlist=['_'])"


def _async_cell_transformer(lines: list[str]) -> list[str]:
    """In a kernel, turn a ``%%optuna`` cell into an awaited call.

    An awaiting cell lets ipykernel dispatch the panel's comm messages (Stop, a second view's
    sync request) while the trials run in the runner's thread; a blocking cell would hold them
    until it ends.
    """
    if not lines:
        return lines
    code = [ln.strip() for ln in lines if ln.strip()]
    if code == ["%optuna wait"]:
        # Waiting on a background run also keeps the panel's Stop button working.
        return [f"await {_HERE}.wait_in_kernel()\n"]
    first = lines[0]
    head = first.strip()
    if not (head == "%%optuna" or head.startswith("%%optuna ")) or head.endswith("?"):
        return _hide_line_magics(lines)
    # IPython keeps the generated source (tracebacks show it, so does `In`): a password in the
    # options stays out of it, in a table the call reads it back from.
    magic_line, key = hide_line(head[len("%%optuna") :].strip())
    body = "".join(lines[1:])
    return [
        f"await {_HERE}.run_in_kernel("
        f"{magic_line!r}, {body!r}{'' if key is None else f', {key}'})\n"
    ]


def _hide_line_magics(lines: list[str]) -> list[str]:
    """``%optuna LINE`` lines with a credential call the magic through the table of hidden lines."""
    out = []
    for ln in lines:
        stripped = ln.lstrip()
        if stripped.startswith("%optuna ") and not stripped.rstrip().endswith("?"):
            shown, key = hide_line(stripped[len("%optuna ") :].rstrip("\n"))
            if key is not None:
                indent = ln[: len(ln) - len(stripped)]
                ln = f"{indent}{_HERE}.line_in_kernel({shown!r}, {key})\n"
        out.append(ln)
    return out


def line_in_kernel(shown: str, key: int | None) -> Any:
    """Entry point of a ``%optuna`` line that held a credential (see :func:`_hide_line_magics`)."""
    from IPython import get_ipython

    return get_ipython().run_line_magic("optuna", reveal_line(shown, key))


async def run_in_kernel(line: str, cell: str, key: int | None = None) -> None:
    """Entry point of the transformed cell (see :func:`_async_cell_transformer`)."""
    from IPython import get_ipython

    line = reveal_line(line, key)

    shell = get_ipython()
    magics = shell.magics_manager.registry.get("OptunaMagics")
    if magics is None:  # pragma: no cover - extension unloaded meanwhile
        raise UsageError("optuna_magic is not loaded")
    await magics.optuna_async(line, cell)


async def wait_in_kernel() -> None:
    """``%optuna wait`` in a kernel: await the background runs (see the transformer)."""
    from IPython import get_ipython

    magics = get_ipython().magics_manager.registry.get("OptunaMagics")
    if magics is None:  # pragma: no cover - extension unloaded meanwhile
        raise UsageError("optuna_magic is not loaded")
    for runner in list(magics.background):
        await runner.wait_async()
    report_background(magics)


def register(shell: InteractiveShell) -> None:
    """Register the magics and, in a kernel, the async cell transformer."""
    magics = OptunaMagics(shell)
    shell.register_magics(magics)
    if hasattr(shell, "kernel") and _async_cell_transformer not in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.append(_async_cell_transformer)
    from optuna_magic.magic.warm import warm_after_this_cell

    warm_after_this_cell(shell)


def unregister(shell: InteractiveShell) -> None:
    """Remove what :func:`register` added."""
    mm = shell.magics_manager
    mm.magics["line"].pop("optuna", None)
    mm.magics["cell"].pop("optuna", None)
    mm.registry.pop("OptunaMagics", None)
    with contextlib.suppress(ValueError):
        shell.input_transformers_cleanup.remove(_async_cell_transformer)
