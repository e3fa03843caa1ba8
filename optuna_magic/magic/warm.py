"""A kernel's first ``%%optuna`` cell, made shorter: the panel's code is imported while the
kernel waits for that cell, not while the user waits for its panel.

Measured (ipykernel 7, after ``import optuna``): importing the panel's modules takes ~145 ms, of
which ipywidgets ~88 ms, the rest anywidget, psygnal, numpy's submodules and the panel's own;
a first ``%%optuna`` cell opened its panel's comm 100-144 ms after it started, the next cells
17 ms. So once the ``%load_ext`` cell has ended, a daemon thread imports those modules. None of
them imports optuna, plotly or torch (``tests/magic/test_warm.py``), and ``%load_ext`` itself
still imports nothing more. A cell that needs one of them meanwhile waits on Python's import
lock for the thread's import instead of starting its own, so nothing is imported twice. The
thread prints nothing and swallows its own errors: the cell that needs the module imports it
again and reports any error there.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["WARMED", "warm_after_this_cell"]

# What a first %%optuna cell imports that `import optuna` has not: the live panel.
WARMED = ("optuna_magic.outputs.panel.widget", "optuna_magic.outputs.panel.display")


def warm_after_this_cell(shell: InteractiveShell) -> None:
    """In a kernel, import :data:`WARMED` in the background once the running cell ends."""
    if not hasattr(shell, "kernel"):
        return  # a terminal or a script draws no panel: nothing to warm

    def start(result: Any) -> None:
        shell.events.unregister("post_run_cell", start)
        threading.Thread(target=_import_all, name="optuna-magic-warm", daemon=True).start()

    shell.events.register("post_run_cell", start)


def _import_all() -> None:
    for name in WARMED:
        try:
            importlib.import_module(name)
        except Exception:  # the cell that needs it imports it again and says why
            return
