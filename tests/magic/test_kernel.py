"""End to end through a real Jupyter kernel: notebooks executed with nbclient."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest
from kernel_helpers import execute, notebook, plain, texts
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

pytestmark = pytest.mark.kernel


def test_a_notebook_runs_a_study_and_uses_it(tmp_path: Any) -> None:
    nb = execute(
        notebook(
            "%load_ext optuna_magic\n%config OptunaMagics.widget = False",
            "from sklearn.datasets import load_iris\n"
            "from sklearn.model_selection import cross_val_score\n"
            "from sklearn.tree import DecisionTreeClassifier\nX, y = load_iris(return_X_y=True)",
            "%%optuna -n 12 --direction maximize --seed 3\n"
            "model = DecisionTreeClassifier(max_depth=hp.int(1, 8), "
            "criterion=hp.choice(['gini', 'entropy']), random_state=0)\n"
            "cross_val_score(model, X, y, cv=3).mean()",
            "print(len(study.trials), sorted(study.best_params), 'model' in globals())",
        )
    )
    assert "Best value" in texts(nb.cells[2]) and "12 trials" in texts(nb.cells[2])
    assert "12 ['criterion', 'max_depth'] False" in texts(nb.cells[3])


def test_errors_in_a_kernel_name_the_cell_line() -> None:
    nb = notebook(
        "%load_ext optuna_magic",
        "%%optuna -n 5\nx = hp.float(1, 0)\nx",
    )
    with pytest.raises(CellExecutionError) as info:
        execute(nb)
    assert "OptunaMagicError" in str(info.value)
    err = next(o for o in nb.cells[1].outputs if o.output_type == "error")
    assert err.ename == "OptunaMagicError" and "cell line 2" in err.evalue


def test_trial_exception_shows_the_cell_source() -> None:
    nb = notebook(
        "%load_ext optuna_magic\n%config OptunaMagics.widget = False",
        "%%optuna -n 5\nx = hp.float(0, 1)\nresult = {}['missing']\nresult",
    )
    with pytest.raises(CellExecutionError):
        execute(nb)
    err = next(o for o in nb.cells[1].outputs if o.output_type == "error")
    tb = plain("\n".join(err.traceback))
    assert err.ename == "KeyError" and "result = {}['missing']" in tb and "_optimize" not in tb


def test_sigint_stops_the_run_keeps_trials_and_the_kernel_lives() -> None:
    """A real SIGINT to the kernel process while the run is going."""
    nb = notebook(
        "%load_ext optuna_magic\n%config OptunaMagics.widget = False",
        "%%optuna -n 100000\nimport time\nx = hp.float(0, 1)\ntime.sleep(0.02)\nx",
        "print('alive', len(study.trials), sorted({t.state.name for t in study.trials}))",
    )
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        pid = client.km.provisioner.process.pid

        def interrupt() -> None:
            time.sleep(3)
            os.kill(pid, signal.SIGINT)

        threading.Thread(target=interrupt, daemon=True).start()
        t0 = time.time()
        with pytest.raises(CellExecutionError) as info:
            client.execute_cell(nb.cells[1], 1)
        assert time.time() - t0 < 15, "the interrupt did not stop the run at once"
        assert info.value.ename == "RunInterrupted"
        client.execute_cell(nb.cells[2], 2)
    out = texts(nb.cells[2])
    assert out.startswith("alive")
    n = int(out.split()[1])
    assert 10 < n < 100000
    assert "RUNNING" not in out  # no trial left hanging
    assert "finished trial(s) kept in `study`" in texts(nb.cells[1])


def test_text_progress_in_a_kernel_updates_in_place() -> None:
    nb = execute(
        notebook(
            "%load_ext optuna_magic\n%config OptunaMagics.widget = False",
            "%%optuna -n 30 --seed 0\nx = hp.float(0, 1)\nx",
        )
    )
    outputs = nb.cells[1].outputs
    # One display, updated in place: the saved notebook holds only its final text.
    assert len([o for o in outputs if o.output_type == "display_data"]) == 1
    assert "30 trials" in texts(nb.cells[1])
    assert "[I " not in texts(nb.cells[1])  # no Optuna INFO lines


def test_panel_output_and_snapshot_output() -> None:
    """With the panel: its widget view first, then the static snapshot that replaces it where no
    kernel runs (reopened notebook, nbconvert, GitHub), then, reserved at the run's end after
    what its trials printed, the (empty) output for what the runs it continues print ("Run N
    more")."""
    nb = execute(
        notebook(
            "%load_ext optuna_magic",
            "%%optuna -n 20 --seed 0\nx = hp.float(0, 1)\nk = hp.choice(['<b>bold</b>', 'b'])\nx",
        )
    )
    panel, snap, more = nb.cells[1].outputs
    assert more.data == {"text/plain": ""}  # shows nothing until a run continues
    assert "application/vnd.jupyter.widget-view+json" in panel.data
    assert panel.data["text/plain"] == ""
    html = snap.data["text/html"]
    assert "<script" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "finished" in snap.data["text/plain"] and "20 trials" in snap.data["text/plain"]


def test_a_run_no_page_shows_sends_no_deltas_unless_its_caller_blocks_the_kernel() -> None:
    """A batch run (nbclient: no page, so no view ever asks for the record): the magic's panel,
    whose cell lets the kernel hear a view that opens, sends no deltas; ``optimize()``, which
    blocks the kernel until the run ends, streams them (a view's request would come too late).
    The record is whole either way: the snapshot counts every trial."""
    nb = execute(
        notebook(
            "%load_ext optuna_magic\n"
            "import optuna, optuna_magic\n"
            "from optuna_magic.outputs.panel.widget import StudyPanel\n"
            "sent = []\n"
            "_send = StudyPanel._send_record\n"
            "def _spy(self, content, buffers):\n"
            "    sent.append(content['type'])\n"
            "    _send(self, content, buffers)\n"
            "StudyPanel._send_record = _spy",
            "%%optuna -n 300 --sampler random\nx = hp.float(0, 1)\nx",
            "print('magic', sent.count('delta'), study.trials[-1].number)\nsent.clear()",
            "s = optuna.create_study(sampler=optuna.samplers.RandomSampler())\n"
            "optuna_magic.optimize(s, lambda t: t.suggest_float('x', 0, 1), n_trials=300)\n"
            "print('optimize', sent.count('delta') > 0)",
        )
    )
    assert "300 trials" in nb.cells[1].outputs[1].data["text/plain"]
    assert plain(texts(nb.cells[2])).strip() == "magic 0 299"
    assert "optimize True" in plain(texts(nb.cells[3]))


def test_background_run_and_awaited_wait() -> None:
    nb = execute(
        notebook(
            "%load_ext optuna_magic",
            "%%optuna -n 20 --background -o bg\nimport time\nx = hp.float(0, 1)\n"
            "time.sleep(0.05)\nx",
            "%optuna wait",
            "print(len(bg.trials), bg.trials[-1].state.name)",
        )
    )
    assert "Running in the background into `bg`" in texts(nb.cells[1])
    assert "finished: 20 trials" in texts(nb.cells[2])
    assert texts(nb.cells[3]).strip() == "20 COMPLETE"
    # The background run's panel and snapshot stay in the cell that started it.
    kinds = [list(o.get("data", {})) for o in nb.cells[1].outputs]
    assert any("application/vnd.jupyter.widget-view+json" in k for k in kinds)
    assert any("text/html" in k for k in kinds)


def test_a_trial_traceback_names_the_cell_by_its_own_execution_count() -> None:
    nb = execute(
        notebook(
            "%load_ext optuna_magic\n%config OptunaMagics.widget = False",
            "x = 1",
            "%%optuna -n 3\nv = hp.float(0, 1)\nif v < 2:\n    raise ValueError('boom')\nv",
        ),
        allow_errors=True,
    )
    cell = nb.cells[2]
    shown = plain(texts(cell))
    assert cell.execution_count == 3
    assert "Cell In[3], line 4" in shown, shown
    assert "Cell In[4]" not in shown


def test_the_panels_own_work_prints_nothing_into_any_cell(tmp_path: Any) -> None:
    # Every trial has the same value: PED-ANOVA warns that its quantiles select the same
    # trials; and for a stored study the panel ranks on a private in-memory study, whose
    # creation Optuna logs at INFO. The run is long enough for a refresh while it runs.
    nb = execute(
        notebook(
            "%load_ext optuna_magic\nimport optuna\n"
            "optuna.logging.set_verbosity(optuna.logging.INFO)",
            f"%%optuna -n 70 --seed 0 -o flat --storage sqlite:///{tmp_path}/flat.db\n"
            "import time\ntime.sleep(0.06)\nx = hp.float(0, 1)\ny = hp.int(1, 5)\n1.0",
            "import time\ntime.sleep(2.5)\nprint('after')",
            "flat.trials[-1].user_attrs",
        )
    )
    shown = "\n".join(plain(texts(c)) for c in nb.cells)
    assert "after" in shown
    assert "Target and region quantiles" not in shown, shown
    assert "A new study created in memory" not in shown.replace("flat", ""), shown
