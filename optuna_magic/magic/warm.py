"""A kernel's first ``%%optuna`` cell, made shorter: the code it runs is imported while the
kernel waits for that cell, not while the user waits for its panel.

Measured (ipykernel 7, after ``import optuna``): importing the panel's modules takes ~145 ms, of
which ipywidgets ~88 ms, the rest anywidget, psygnal, numpy's submodules and the panel's own;
a first ``%%optuna`` cell opened its panel's comm 100-144 ms after it started, the next cells
17 ms. With the panel warmed, the first cell still imported 40 modules (the cell's parser and
objective, the runner, the study's factories and storage, the snapshot, ``numpy.random`` for the
sampler's seed; 64 ms under cProfile) and opened its comm 56 ms after its execute_input in
JupyterLab, the next cell 4 ms after.

So once the ``%load_ext`` cell has ended, a daemon thread imports the panel (:data:`WARMED`),
and once a cell has ended with ``optuna`` imported by the user, the modules that need optuna
(:data:`WARMED_WITH_OPTUNA`). None of them imports optuna, plotly or torch on its own
(``tests/magic/test_warm.py``), and ``%load_ext`` itself still imports nothing more. A cell
that needs one of them meanwhile waits on Python's import lock for the thread's import instead
of starting its own, so nothing is imported twice. The thread prints nothing and swallows its
own errors: the cell that needs the module imports it again and reports any error there.
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["WARMED", "WARMED_WITH_OPTUNA", "warm_after_this_cell"]

# What a first %%optuna cell imports that `import optuna` has not: the live panel...
WARMED = ("optuna_magic.outputs.panel.widget", "optuna_magic.outputs.panel.display")
# ... and, where the user has imported optuna, what runs the cell (each imports optuna).
WARMED_WITH_OPTUNA = (
    "optuna_magic.cell.parse",
    "optuna_magic.cell.objective",
    "optuna_magic.continuation",
    "optuna_magic.run.handle",
    "optuna_magic.run.info",
    "optuna_magic.study.factories",
    "optuna_magic.study.liveness",
    "optuna_magic.study.open",
    "optuna_magic.study.storage",
    "optuna_magic.outputs.progress",
    "optuna_magic.outputs.text",
    "optuna_magic.outputs.snapshot.html",
    "numpy.random",  # a sampler's seed: optuna imports it at the first sampler
)


def warm_after_this_cell(shell: InteractiveShell) -> None:
    """In a kernel, import :data:`WARMED` in the background once the running cell ends, and
    :data:`WARMED_WITH_OPTUNA` once a cell ends with ``optuna`` imported."""
    if not hasattr(shell, "kernel"):
        return  # a terminal or a script draws no panel: nothing to warm
    panel_started = False

    def start(result: Any) -> None:
        nonlocal panel_started
        names: tuple[str, ...] = ()
        if not panel_started:
            panel_started = True
            names = WARMED
        if "optuna" in sys.modules:
            shell.events.unregister("post_run_cell", start)
            names = (*names, *WARMED_WITH_OPTUNA)
        if names:
            threading.Thread(
                target=_import_all, args=(names,), name="optuna-magic-warm", daemon=True
            ).start()

    shell.events.register("post_run_cell", start)


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # the cell that needs it imports it again and says why
            return
