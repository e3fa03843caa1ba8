"""``make demo``: run the quickstart notebook in a real Jupyter kernel and say how to open it.

Executes ``examples/quickstart.ipynb`` top to bottom with nbclient (the same machinery as
``jupyter nbconvert --execute``), writes the executed copy to
``examples/quickstart.executed.ipynb``, prints the best trial the notebook found, and prints the
command that opens the notebook in JupyterLab, where the live panel shows the runs as they happen.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "quickstart.ipynb"
EXECUTED = HERE / "quickstart.executed.ipynb"


def _stdout_of(cell: dict[str, object]) -> str:
    outputs = cell.get("outputs", [])
    assert isinstance(outputs, list)
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


def main() -> int:
    """Execute the notebook; return the process exit status."""
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError:
        print("the demo needs the examples extra: pip install 'optuna-magic[examples]'")
        return 1

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        # Run where the notebook lives, as JupyterLab would.
        resources={"metadata": {"path": str(HERE)}},
    )
    shown = NOTEBOOK.relative_to(Path.cwd()) if NOTEBOOK.is_relative_to(Path.cwd()) else NOTEBOOK
    print(f"running {shown} in a Jupyter kernel ...")
    start = time.monotonic()
    status = 0
    try:
        client.execute(env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    except CellExecutionError as e:
        # Keep the partly executed copy: it shows where it failed.
        print(f"the notebook failed:\n{e}", file=sys.stderr)
        status = 1
    finally:
        nbformat.write(nb, EXECUTED)
    print(f"done in {time.monotonic() - start:.1f} s; executed copy: {EXECUTED}")
    if status:
        return status

    # The notebook's last code cell prints the best trial.
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    print()
    print(_stdout_of(last).rstrip())
    print()
    print("Open it in JupyterLab (the live panel shows each run as it happens):")
    print("    .venv/bin/jupyter lab examples/quickstart.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
