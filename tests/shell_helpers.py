"""Helpers for tests that drive the test InteractiveShell (a name no other test module uses:
``conftest`` is ambiguous once ``tests/browser/conftest.py`` is on the path too)."""

from __future__ import annotations

from typing import Any


def run(ip: Any, cell: str) -> Any:
    """Run a cell; return IPython's ExecutionResult (its .error_in_exec tells what failed)."""
    return ip.run_cell(cell, store_history=False)
