"""Notebooks run in a real kernel with nbclient, and what their cells showed."""

from __future__ import annotations

import re
from typing import Any

import nbformat
from nbclient import NotebookClient


def notebook(*sources: str) -> Any:
    """A notebook of code cells."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def texts(cell: Any) -> str:
    """Every text the cell showed: streams, display data, errors."""
    out = []
    for o in cell.outputs:
        if o.output_type == "stream":
            out.append(o.text)
        elif o.output_type in ("display_data", "execute_result"):
            out.append(o.get("data", {}).get("text/plain", ""))
        elif o.output_type == "error":
            out.append(f"{o.ename}: {o.evalue}\n" + "\n".join(o.traceback))
    return "\n".join(out)


def plain(text: str) -> str:
    """Text without terminal colours."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def execute(nb: Any, **kw: Any) -> Any:
    """Run every cell in a fresh python3 kernel (two minutes per cell at most)."""
    NotebookClient(nb, timeout=120, kernel_name="python3", **kw).execute()
    return nb
