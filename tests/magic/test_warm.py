"""In a kernel, the panel's code is imported while the kernel waits for its first ``%%optuna``
cell (``optuna_magic.magic.warm``), and the code that runs the cell once the user has imported
optuna; ``%load_ext`` itself imports no more than before."""

from __future__ import annotations

import subprocess
import sys

from kernel_helpers import execute, notebook, texts

from optuna_magic.magic.warm import WARMED, WARMED_WITH_OPTUNA

HEAVY = ("optuna", "plotly", "torch")
SEEN = "print(sorted(m for m in {names!r} if m in sys.modules))"


JOIN = (
    "import threading\n"
    "warm = [t for t in threading.enumerate() if t.name == 'optuna-magic-warm']\n"
    "[t.join(60) for t in warm]\n"
    "print(len(warm))\n"
)


def test_the_panel_is_imported_after_the_load_ext_cell_and_nothing_heavy_with_it() -> None:
    names = (*WARMED, "anywidget", *HEAVY, *WARMED_WITH_OPTUNA)
    nb = notebook(
        # The cell that loads the extension ends before the import starts.
        "%load_ext optuna_magic\nimport sys\n" + SEEN.format(names=names),
        JOIN + SEEN.format(names=names),
    )
    execute(nb)
    assert texts(nb.cells[0]).strip() == "[]"
    started, imported = texts(nb.cells[1]).strip().splitlines()
    assert started in ("0", "1")  # 0: it had already ended
    assert imported == repr(sorted({*WARMED, "anywidget"}))


def test_what_runs_the_cell_is_imported_once_a_cell_has_imported_optuna() -> None:
    nb = notebook(
        "%load_ext optuna_magic\nimport sys",
        JOIN + SEEN.format(names=WARMED_WITH_OPTUNA),
        "import optuna",
        JOIN + SEEN.format(names=WARMED_WITH_OPTUNA),
    )
    execute(nb)
    assert texts(nb.cells[1]).strip().splitlines()[1] == "[]"  # not before optuna
    started, imported = texts(nb.cells[3]).strip().splitlines()
    assert started in ("0", "1")
    assert imported == repr(sorted(WARMED_WITH_OPTUNA))


def test_a_terminal_ipython_warms_nothing() -> None:
    code = (
        "import sys, threading\nfrom IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\nip.run_line_magic('load_ext', 'optuna_magic')\n"
        "ip.run_cell('1')\n"
        "print([t.name for t in threading.enumerate() if t.name == 'optuna-magic-warm'],"
        " 'anywidget' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[] False"
