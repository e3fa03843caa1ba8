"""Batch and terminal hosts: papermill and nbclient runs keep small outputs; IPython in a
terminal keeps the text line.

What a batch run writes into the executed notebook is what every later reader pays for (Git,
GitHub's renderer, nbconvert), so it is bounded here. Measured (ipykernel 7.4, random or TPE
sampler, two parameters, nothing printed by the trials) for the ``%%optuna`` cell:

| trials | panel output | snapshot output | saved widget state | whole notebook |
| -----: | -----------: | --------------: | -----------------: | -------------: |
|     20 |        209 B |         10.5 kB |             3.9 kB |        ~19 kB  |
|    500 |        209 B |         16.9 kB |             3.9 kB |        ~30 kB  |
|  2,000 |        209 B |         21.5 kB |             4.0 kB |        ~30 kB  |

The bounds below leave about twice that as headroom: the cell's outputs other than what the
trials print under 48 kB, the widget state under 16 kB (the 1.6 MB panel bundle is never in
it: every panel carries only its ~1 kB loader), the whole notebook under 96 kB.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

OUTPUTS_BOUND = 48_000  # bytes of the %%optuna cell's outputs, streams left out
WIDGET_STATE_BOUND = 16_000  # bytes of the notebook's saved widget state
NOTEBOOK_BOUND = 96_000  # bytes of the whole executed notebook
N_TRIALS = 300

CELLS = (
    "n_trials = 5",  # papermill's parameters cell
    "%load_ext optuna_magic\nimport optuna\noptuna.logging.set_verbosity(optuna.logging.WARNING)",
    "%%optuna -n $n_trials --sampler random --seed 1 --study-name batch\n"
    "x = hp.float(-10, 10)\n"
    "k = hp.int(0, 5)\n"
    "if trial.number % 100 == 0:\n"
    "    print('trial', trial.number, 'says hi')\n"
    "(x - 2) ** 2 + k",
)


def batch_notebook() -> Any:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in CELLS]
    nb.cells[0].metadata["tags"] = ["parameters"]
    spec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["kernelspec"] = spec
    return nb


def run_papermill(tmp_path: Path) -> Path:
    import papermill

    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(batch_notebook(), src)
    papermill.execute_notebook(
        str(src),
        str(out),
        parameters={"n_trials": N_TRIALS},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
    )
    return out


def run_nbclient(tmp_path: Path) -> Path:
    from nbclient import NotebookClient

    nb = batch_notebook()
    nb.cells[0].source = f"n_trials = {N_TRIALS}"
    # store_widget_state is nbclient's default: what a batch run saves for widgets.
    NotebookClient(nb, timeout=180, kernel_name="python3", store_widget_state=True).execute(
        cwd=str(tmp_path)
    )
    out = tmp_path / "out.ipynb"
    nbformat.write(nb, out)
    return out


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("engine", ["papermill", "nbclient"])
def test_a_batch_run_keeps_the_snapshot_and_small_outputs(
    engine: str, tmp_path: Path, record_property: Any
) -> None:
    if engine == "papermill":
        pytest.importorskip("papermill")
    path = run_papermill(tmp_path) if engine == "papermill" else run_nbclient(tmp_path)
    nb = nbformat.read(path, as_version=4)
    outputs = nb.cells[-1].outputs
    assert not [o for o in outputs if o.output_type == "error"], outputs

    shown = [o for o in outputs if o.output_type == "display_data"]
    views = [o for o in shown if "application/vnd.jupyter.widget-view+json" in o.data]
    snapshots = [o for o in shown if "optuna-magic-snapshot" in o.data.get("text/html", "")]
    assert len(views) == 1 and len(snapshots) == 1, [sorted(o.data) for o in shown]
    # The static snapshot, filled when the run ended: what nbconvert and GitHub show.
    snapshot = snapshots[0].data
    assert f"'batch' finished, {N_TRIALS} trials" in snapshot["text/plain"]
    assert "Static snapshot of the run" in snapshot["text/html"]
    printed = "".join(o.text for o in outputs if o.output_type == "stream")
    assert "trial 0 says hi" in printed and "trial 200 says hi" in printed

    shown_bytes = len(json.dumps([o for o in outputs if o.output_type != "stream"]))
    widgets = nb.metadata.get("widgets", {})
    widget_bytes = len(json.dumps(widgets))
    file_bytes = path.stat().st_size
    record_property("outputs_bytes", shown_bytes)
    record_property("widget_state_bytes", widget_bytes)
    record_property("notebook_bytes", file_bytes)
    assert shown_bytes < OUTPUTS_BOUND
    assert widget_bytes < WIDGET_STATE_BOUND
    assert file_bytes < NOTEBOOK_BOUND
    # The saved state holds the panel's model (a kernel-less reader's loader gives up and
    # points at the snapshot), not its code.
    models = widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    panel_model = models.get(views[0].data["application/vnd.jupyter.widget-view+json"]["model_id"])
    if engine == "nbclient" or panel_model is not None:
        assert panel_model is not None
        assert len(panel_model["state"].get("_esm", "")) < 4_000


# ---------------------------------------------------------------- terminal IPython
def run_in_a_terminal(args: list[str], cwd: Path, timeout: float = 90) -> str:
    """Run ``args`` with a pseudo-terminal as its stdin/stdout/stderr; returns what it wrote."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "40"}
    proc = subprocess.Popen(
        args, stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=env, close_fds=True
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(b"".join(chunks).decode(errors="replace")[-3000:])
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # the terminal closed: the process has ended
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        os.close(leader)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")[-3000:]
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_ipython_in_a_terminal_keeps_the_text_line(tmp_path: Path) -> None:
    setup = "['%load_ext optuna_magic', 'import optuna, optuna_magic', "
    setup += "'optuna.logging.set_verbosity(optuna.logging.WARNING)']"
    # Each of exec_lines and -c is a cell of its own, as if typed at the prompt.
    magic = "%%optuna -n 12 --sampler random --seed 3 --study-name term\n"
    magic += "x = hp.float(-10, 10)\n(x - 2) ** 2\n"
    api = "s = optuna.create_study(study_name='term-api')\n"
    api += "_ = optuna_magic.optimize(s, lambda t: t.suggest_float('x', 0, 1), n_trials=7)\n"
    ipython = [sys.executable, "-m", "IPython", "--no-banner", "--colors=nocolor"]
    ipython.append(f"--InteractiveShellApp.exec_lines={setup}")
    for cell, name, n in ((magic, "term", 12), (api, "term-api", 7)):
        out = run_in_a_terminal([*ipython, "-c", cell], tmp_path)
        # One line redrawn in place (carriage returns), then the summary: no widget, no
        # "StudyPanel(...)" repr, no HTML.
        assert f"optuna: {n}/{n} | best " in out, out
        assert "\r" in out.split(f"optuna: {n}/{n}")[0]
        assert f"Study '{name}' finished: {n} trials in" in out, out
        assert "StudyPanel" not in out and "<div" not in out and "widget" not in out.lower()


def test_a_script_prints_the_text_progress_and_never_imports_marimo(tmp_path: Path) -> None:
    # marimo is installed here (the test extra): the API must still not import it outside a
    # marimo notebook, where it only looks whether marimo is already there.
    script = tmp_path / "train.py"
    script.write_text(
        "import sys\n"
        "import optuna, optuna_magic\n"
        "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
        "study = optuna.create_study(study_name='script')\n"
        "optuna_magic.optimize(study, lambda t: t.suggest_float('x', 0, 1), n_trials=4)\n"
        "print('marimo' in sys.modules, 'IPython' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "optuna: 4/4 | best " in done.stdout
    assert "Study 'script' finished: 4 trials in" in done.stdout
    assert done.stdout.rstrip().endswith("False False")
