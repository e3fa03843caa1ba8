"""optuna-magic: the ``%%optuna`` cell magic for IPython and Jupyter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = [
    "OptunaMagicError",
    "__version__",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def __getattr__(name: str) -> Any:
    # Lazy, so `import optuna_magic` stays light (the error class lives beside the checks).
    if name == "OptunaMagicError":
        from optuna_magic.cell.space import OptunaMagicError

        return OptunaMagicError
    raise AttributeError(f"module 'optuna_magic' has no attribute {name!r}")


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register ``%%optuna`` and ``%optuna`` (``%load_ext optuna_magic``)."""
    from optuna_magic.magic.magics import register

    register(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Remove the magics and hooks that :func:`load_ipython_extension` installed."""
    from optuna_magic.magic.magics import unregister

    unregister(ipython)
