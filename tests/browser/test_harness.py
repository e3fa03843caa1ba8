"""The harness itself: a server starts, a notebook opens, a cell runs, screenshots are taken.

These pass without the panel; if they fail, the panel tests' failures say nothing about the panel.
"""

from __future__ import annotations

from typing import Any

import pytest
from jupyter_harness import Console, JupyterServer, shot

pytestmark = pytest.mark.browser


def test_lab_runs_a_cell(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(lab_server, page, ["print(1)", "x = 41"])
    nb.run_cell(0)
    assert nb.output(0).inner_text().strip() == "1"
    nb.run_cell(1)
    assert nb.run_code("print(x + 1)").strip() == "42"
    assert nb.cell_count() == 3
    assert nb.kernel_status() == "idle"
    path = shot(page, "harness/lab-light")
    nb.set_theme(dark=True)
    try:
        dark = shot(page, "harness/lab-dark")
    finally:
        nb.set_theme(dark=False)
    assert path.stat().st_size > 10_000 and dark.stat().st_size > 10_000
    assert console.relevant() == []


def test_notebook7_runs_a_cell(
    notebook_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(notebook_server, page, ["print(6 * 7)"])
    nb.run_cell(0)
    assert nb.output(0).inner_text().strip() == "42"
    shot(page, "harness/notebook7-light")
    assert console.relevant() == []
