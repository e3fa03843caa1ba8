"""optuna-magic: the ``%%optuna`` cell magic for IPython and Jupyter, and its Python API.

``optimize``, ``optimize_async``, ``panel``, ``watch``, ``compare`` and ``PanelCallback`` (see
:mod:`optuna_magic.api`) serve code without the magic: a plain kernel cell, marimo, a script.
``StudyPanel`` is the widget ``panel`` returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from optuna_magic.api import (
        PanelCallback,
        RunInterrupted,
        compare,
        optimize,
        optimize_async,
        panel,
        watch,
    )
    from optuna_magic.outputs.panel.widget import StudyPanel

__all__ = [
    "OptunaMagicError",
    "PanelCallback",
    "RunInterrupted",
    "StudyPanel",
    "__version__",
    "compare",
    "load_ipython_extension",
    "optimize",
    "optimize_async",
    "panel",
    "unload_ipython_extension",
    "watch",
]

# Imported on first use: `import optuna_magic` imports neither optuna nor plotly nor IPython.
_API = {
    "PanelCallback",
    "RunInterrupted",
    "compare",
    "optimize",
    "optimize_async",
    "panel",
    "watch",
}


def __getattr__(name: str) -> Any:
    # Lazy, so `import optuna_magic` stays light (the error class lives beside the checks).
    if name == "OptunaMagicError":
        from optuna_magic.cell.space import OptunaMagicError

        return OptunaMagicError
    if name == "StudyPanel":
        from optuna_magic.outputs.panel.widget import StudyPanel

        return StudyPanel
    if name in _API:
        from optuna_magic import api

        return getattr(api, name)
    raise AttributeError(f"module 'optuna_magic' has no attribute {name!r}")


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register ``%%optuna`` and ``%optuna`` (``%load_ext optuna_magic``)."""
    from optuna_magic.magic.transformer import register

    register(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Remove the magics and hooks that :func:`load_ipython_extension` installed."""
    from optuna_magic.magic.transformer import unregister

    unregister(ipython)
