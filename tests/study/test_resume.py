"""Crash and resume: a real kernel SIGKILLed mid-run, then ``--resume`` in a new kernel.

No finished trial is lost; the trial the dead kernel left RUNNING becomes FAIL; the study goes on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import nbformat
import optuna
import pytest
from nbclient import NotebookClient
from parallel_helpers import counts, quiet_optuna, wait_for

from optuna_magic.study.liveness import OWNER_KEY, fail_orphaned_trials
from optuna_magic.study.storage import open_storage

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(120)]

SETUP = (
    "%load_ext optuna_magic\n%config OptunaMagics.widget = False\n"
    "%config OptunaMagics.heartbeat_interval = 1"
)
CELL = (
    "%%optuna -n {n} --storage {url} --study-name s{resume}\n"
    "import time\nx = hp.float(0, 1)\ntime.sleep(0.1)\nx\n"
)


def _cell(source: str) -> Any:
    return nbformat.v4.new_code_cell(source)


def _url(kind: str, tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/s.db" if kind == "sqlite" else f"journal:{tmp_path}/s.log"


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_killed_kernel_loses_no_trial_and_resume_continues(tmp_path: Any, kind: str) -> None:
    quiet_optuna()
    url = _url(kind, tmp_path)
    nb = nbformat.v4.new_notebook()
    nb.cells = [_cell(SETUP), _cell(CELL.format(n=10000, url=url, resume=""))]
    client = NotebookClient(nb, timeout=60, kernel_name="python3")
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        pid = client.km.provisioner.process.pid
        kc = client.kc
        kc.execute(nb.cells[1].source)  # not waited for: the run goes on in the kernel
        reader = open_storage(url, heartbeat_interval=None)

        def some_done() -> Any:
            try:
                study = optuna.load_study(study_name="s", storage=reader)
            except KeyError:
                return None
            c = counts(study)
            return study if c["COMPLETE"] >= 5 and c["RUNNING"] == 1 else None

        wait_for(some_done, timeout=60)
        os.kill(pid, signal.SIGKILL)
        client.km.provisioner.process.wait()
    before = optuna.load_study(study_name="s", storage=open_storage(url, heartbeat_interval=None))
    done_before = {t.number: t.value for t in before.trials if t.state.name == "COMPLETE"}
    c0 = counts(before)
    assert c0["RUNNING"] == 1, c0  # the trial the kernel was running when it died
    running = next(t for t in before.trials if t.state.name == "RUNNING")
    assert running.system_attrs[OWNER_KEY]["pid"] == pid
    time.sleep(2.1)  # past the heartbeat's grace period (2 x 1 s) for the RDB check

    nb2 = nbformat.v4.new_notebook()
    nb2.cells = [
        _cell(SETUP),
        _cell(CELL.format(n=6, url=url, resume=" --resume")),
        _cell(
            "print(sorted(__import__('collections').Counter("
            "t.state.name for t in study.trials).items()))"
        ),
    ]
    NotebookClient(nb2, timeout=60, kernel_name="python3").execute()
    out = "".join(o.get("text", "") for c in nb2.cells[1:] for o in c.outputs)
    assert f"marked FAIL: #{running.number}" in out
    after = optuna.load_study(study_name="s", storage=open_storage(url, heartbeat_interval=None))
    c1 = counts(after)
    kept = {t.number: t.value for t in after.trials if t.number in done_before}
    assert kept == done_before  # no finished trial lost, none changed
    assert after.trials[running.number].state.name == "FAIL"
    assert c1 == {
        "COMPLETE": c0["COMPLETE"] + 6,
        "PRUNED": 0,
        "FAIL": 1,
        "RUNNING": 0,
        "WAITING": 0,
    }, c1
    print(
        f"\n{kind} kernel crash: finished before {c0['COMPLETE']}, running at the kill 1, "
        f"after resume: finished {c1['COMPLETE']}, failed {c1['FAIL']}, lost "
        f"{c0['COMPLETE'] - len(kept)}"
    )


PROCESS = """
import sys, time, optuna
from optuna_magic.study.storage import open_storage
optuna.logging.set_verbosity(optuna.logging.ERROR)
storage = open_storage(sys.argv[1], heartbeat_interval=1)
study = optuna.create_study(study_name="s", storage=storage, load_if_exists=True)
def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    print(trial.number, flush=True)
    time.sleep(0.1)
    return x
study.optimize(objective, n_trials=10000)
"""


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_killed_process_leaves_one_trial_that_the_next_one_fails(
    tmp_path: Any, kind: str
) -> None:
    """The same fault without a kernel or the magic: what ``--resume`` relies on."""
    quiet_optuna()
    url = _url(kind, tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", PROCESS, url], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    for line in proc.stdout:
        if int(line) >= 6:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    study = optuna.load_study(study_name="s", storage=open_storage(url, heartbeat_interval=1))
    c0 = counts(study)
    assert c0["RUNNING"] == 1 and c0["COMPLETE"] >= 6
    failed = fail_orphaned_trials(study)
    assert failed == [t.number for t in study.trials if t.state.name == "FAIL"]
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    c1 = counts(study)
    assert c1 == {
        "COMPLETE": c0["COMPLETE"] + 3,
        "PRUNED": 0,
        "FAIL": 1,
        "RUNNING": 0,
        "WAITING": 0,
    }
