"""Shared fixtures: a real IPython shell with the extension loaded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def _global_ip() -> Any:
    from IPython.testing.globalipapp import start_ipython

    return start_ipython()


@pytest.fixture
def ip(_global_ip: Any) -> Iterator[Any]:
    """The test InteractiveShell with optuna_magic loaded and a clean namespace."""
    ip = _global_ip
    ip.run_line_magic("load_ext", "optuna_magic")
    saved = dict(ip.user_ns)
    yield ip
    for name in list(ip.user_ns):
        if name not in saved:
            del ip.user_ns[name]
    ip.run_line_magic("unload_ext", "optuna_magic")
