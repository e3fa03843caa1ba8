"""Size figures: the panel bundle, and how much a saved notebook grows per ``%%optuna`` output.

The notebook is executed with nbclient (a real kernel) and written with nbformat, as
``jupyter nbconvert --execute`` would save it; its size is compared with the same executed
notebook whose ``%%optuna`` cell outputs (and saved widget state) are removed. nbclient stores
the widget state in the notebook's metadata by default (``store_widget_state=True``); JupyterLab
does not save it unless its "save widget state" setting is on: both are measured.
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path

from _figures import Results

REPO = Path(__file__).resolve().parents[1]
WIDGET_JS = REPO / "optuna_magic" / "static" / "widget.js"
PLOTLY_JS = REPO / "optuna_magic" / "static" / "plotly.js"


def _cell(n: int) -> str:
    return (
        f"%%optuna -n {n} --seed 1 --sampler random\n"
        "x = hp.float(-10, 10)\n"
        "y = hp.float(1e-3, 1.0, log=True)\n"
        "n = hp.int(1, 100)\n"
        "c = hp.choice(['a', 'b', 'c'])\n"
        "(x - 2) ** 2 + y + n / 100 + (c == 'b')\n"
    )


def _executed(cells: list[str], store_widget_state: bool) -> object:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    with tempfile.TemporaryDirectory(prefix="om-bench-nb-") as tmp:
        env_dir = Path(tmp)
        saved = {k: os.environ.get(k) for k in ("IPYTHONDIR", "JUPYTER_CONFIG_DIR")}
        os.environ["IPYTHONDIR"] = str(env_dir / "ipython")
        os.environ["JUPYTER_CONFIG_DIR"] = str(env_dir / "config")
        try:
            client = NotebookClient(
                nb,
                timeout=600,
                kernel_name="python3",
                store_widget_state=store_widget_state,
                resources={"metadata": {"path": tmp}},
            )
            client.execute()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return nb


def _size(nb: object) -> int:
    import nbformat

    return len(nbformat.writes(nb).encode())  # type: ignore[arg-type]


def _without_optuna_outputs(nb: object) -> object:
    bare = copy.deepcopy(nb)
    for cell in bare.cells:  # type: ignore[attr-defined]
        if cell.source.startswith("%%optuna"):
            cell.outputs = []
    bare.metadata.pop("widgets", None)  # type: ignore[attr-defined]
    return bare


def run(results: Results, *, quick: bool = False) -> None:
    r = results
    r.section = "11. Size"
    size = WIDGET_JS.stat().st_size if WIDGET_JS.is_file() else None
    r.add(
        "optuna_magic/static/widget.js", size / 1e6 if size else None, "MB", at_most=2.0, digits=2
    )
    if size:
        import gzip

        r.add("widget.js gzipped", len(gzip.compress(WIDGET_JS.read_bytes())) / 1e6, "MB", digits=2)
    if PLOTLY_JS.is_file():
        # Asked for apart from widget.js, once a panel is on screen.
        r.add("optuna_magic/static/plotly.js", PLOTLY_JS.stat().st_size / 1e6, "MB", digits=2)
    for store in (False, True):
        growth = {}
        for n in (100,) if quick else (100, 1000):
            nb = _executed(["%load_ext optuna_magic", _cell(n)], store)
            growth[n] = _size(nb) - _size(_without_optuna_outputs(nb))
        how = (
            "nbclient store_widget_state=True (widget state saved in the notebook)"
            if store
            else "no widget state saved (JupyterLab's default)"
        )
        for n, g in growth.items():
            r.add(
                f"saved notebook growth per %%optuna output, {n:,} trials, {how}",
                g / 1000,
                "kB",
                digits=1,
            )
    r.note(
        "Growth = size of the executed notebook (nbformat JSON) minus the same notebook with "
        "the %%optuna cell's outputs and the saved widget state removed. The output holds "
        "the widget view reference, the text summary and the static HTML snapshot."
    )
