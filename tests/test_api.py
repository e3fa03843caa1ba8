"""The public API (``optuna_magic.optimize`` & co): in a script, in this process, in a kernel."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import optuna
import pytest

import optuna_magic
from optuna_magic.study.storage import open_storage

pytestmark = pytest.mark.timeout(120)


def quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial: optuna.Trial) -> float:
    return trial.suggest_float("x", 0, 1)


def run_python(code: str, cwd: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=cwd,
        env=env,
        check=False,
    )


def test_import_optuna_magic_imports_neither_optuna_nor_plotly_nor_ipython(tmp_path: Any) -> None:
    done = run_python(
        """
        import sys
        import optuna_magic
        heavy = ("optuna", "plotly", "IPython")
        print(sorted(m for m in heavy if m in sys.modules))
        names = [optuna_magic.optimize, optuna_magic.optimize_async, optuna_magic.panel,
                 optuna_magic.watch, optuna_magic.PanelCallback, optuna_magic.RunInterrupted]
        print(sorted(m for m in heavy if m in sys.modules), all(callable(n) for n in names))
        try:
            optuna_magic.no_such_name
        except AttributeError as e:
            print("AttributeError", e)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "[]"  # the import itself
    assert lines[1] == "[] True"  # the API's names resolve without loading them either
    assert lines[2].startswith("AttributeError") and "no_such_name" in lines[2]


def test_a_script_prints_the_text_progress_and_the_summary(tmp_path: Any) -> None:
    done = run_python(
        """
        import sys
        import optuna, optuna_magic
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        def objective(trial):
            return (trial.suggest_float("x", -10, 10) - 2) ** 2
        study = optuna.create_study(study_name="script", sampler=optuna.samplers.RandomSampler(0))
        assert optuna_magic.optimize(study, objective, n_trials=15) is study
        print("trials", len(study.trials), "IPython" in sys.modules)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "optuna: 0/15" in out and "optuna: 15/15 | best " in out  # the progress line
    assert "Study 'script' finished: 15 trials in" in out and "Best value" in out
    assert "params: x=" in out
    assert out.rstrip().endswith("trials 15 False")  # a script never loads IPython


def test_optimize_reraises_a_trials_exception_and_the_study_keeps_its_trials() -> None:
    quiet()

    def breaks_at_3(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 3:
            raise ValueError("boom at 3")
        return x

    study = optuna.create_study()
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(ValueError, match="boom at 3"):
        optuna_magic.optimize(study, breaks_at_3, n_trials=10)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3 + ["FAIL"]

    # With catch, the same trial is recorded as failed and the run goes on.
    again = optuna.create_study()
    with contextlib.redirect_stdout(io.StringIO()):
        assert optuna_magic.optimize(again, breaks_at_3, n_trials=6, catch=(ValueError,)) is again
    assert [t.state.name for t in again.trials].count("FAIL") == 1 and len(again.trials) == 6


CTRL_C_SCRIPT = """
import io, contextlib, os, signal, threading, time
import optuna, optuna_magic
optuna.logging.set_verbosity(optuna.logging.WARNING)

def slow(trial):
    time.sleep(0.02)
    return trial.suggest_float("x", 0, 1)

# As a terminal starts a script: Ctrl-C raises KeyboardInterrupt. A test run's process can
# have SIGINT ignored (something in the browser tests sets it so), and a child inherits that.
signal.signal(signal.SIGINT, signal.default_int_handler)
study = optuna.create_study()
# Ctrl-C as a terminal sends it: to the process, whichever thread the OS hands it to.
threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
out = io.StringIO()
try:
    with contextlib.redirect_stdout(out):
        optuna_magic.optimize(study, slow, n_trials=100_000)
    print("not interrupted")
except optuna_magic.RunInterrupted as e:
    print("interrupted:", e)
states = {t.state.name for t in study.trials}
print("trials", len(study.trials), "running" if "RUNNING" in states else "none running")
print("summary says interrupted" if "interrupted" in out.getvalue() else "summary silent")
"""


def test_ctrl_c_during_optimize_raises_run_interrupted_and_keeps_finished_trials() -> None:
    # In a process of its own, as a script meets it: late in a full test run (after the browser
    # tests) pytest's own process ignored SIGINT (set below Python's signal module: getsignal
    # still named Python's handler), so a Ctrl-C sent to it never arrived.
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_SCRIPT], capture_output=True, text=True, timeout=120
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert lines[0].startswith("interrupted:") and "finished trial(s) kept in study" in lines[0]
    trials = int(lines[1].split()[1])
    assert 3 < trials < 100_000 and lines[1].endswith("none running"), lines
    assert lines[2] == "summary says interrupted"  # the summary says how the run ended


def test_optimize_async_awaits_the_run() -> None:
    import asyncio

    quiet()
    study = optuna.create_study()
    # In a thread of its own: a test before this one may leave an event loop running in this
    # thread (Playwright's sync API does), and asyncio.run refuses to start inside one.
    with contextlib.redirect_stdout(io.StringIO()) as out, ThreadPoolExecutor(1) as pool:
        coro = optuna_magic.optimize_async(study, objective, n_trials=7)
        result = pool.submit(asyncio.run, coro).result(60)
    assert result is study and len(study.trials) == 7
    assert "finished: 7 trials" in out.getvalue()


def test_panel_of_a_stored_study_shows_its_trials_with_the_storage_masked(tmp_path: Any) -> None:
    quiet()
    url = f"sqlite:///{tmp_path}/p.db"
    study = optuna.create_study(storage=url, study_name="stored", direction="maximize")
    study.optimize(objective, n_trials=9)
    panel = optuna_magic.panel(study)
    try:
        assert len(panel.record) == 9
        assert panel.meta["study_name"] == "stored" and panel.meta["directions"] == ["maximize"]
        assert panel.meta["storage"] == url
        assert panel.status["state"] == "finished" and panel.status["counts"]["COMPLETE"] == 9
        # The header tells the study's trials and time span (it read "0 trials in 0.0s").
        assert panel.status["n_done"] == 9 and panel.status["elapsed"] > 0
    finally:
        panel.close()


def test_panel_of_a_finished_study_ranks_its_parameters_once() -> None:
    # A finished study's panel is static: its importance is computed once, in the background,
    # when a view shows it, and what that cost is public (the benchmarks read it).
    quiet()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))

    def two(trial: optuna.Trial) -> float:
        return trial.suggest_float("x", -1, 1) ** 2 + 0.01 * trial.suggest_float("y", -1, 1)

    study.optimize(two, n_trials=30)
    panel = optuna_magic.panel(study)
    try:
        assert isinstance(panel, optuna_magic.StudyPanel)
        panel.wait_importance(60)
        assert panel.importance_refreshes == ()  # nothing is ranked until a view shows it
        # The Importance view opens (the message a front end sends).
        panel.comm.handle_msg(
            {
                "content": {
                    "data": {
                        "method": "custom",
                        "content": {"type": "importance", "view": "v", "open": True},
                    }
                },
                "buffers": [],
            }
        )
        panel.wait_importance(60)
        assert set(panel.importance["values"]) == {"x", "y"}
        assert panel.importance["n_trials"] == 30
        (refresh,) = panel.importance_refreshes
        assert refresh.n_trials == 30 and not refresh.during_run
        assert 0 < refresh.cpu_s and 0 < refresh.wall_s
    finally:
        panel.close()


def test_live_panel_follows_an_in_memory_study_another_thread_optimizes() -> None:
    quiet()
    study = optuna.create_study()
    release = threading.Event()

    def waits(trial: optuna.Trial) -> float:
        if trial.number == 0:
            release.wait(10)  # trial 0 keeps running until the panel exists
        return trial.suggest_float("x", 0, 1)

    worker = threading.Thread(target=lambda: study.optimize(waits, n_trials=30))
    worker.start()
    deadline = time.monotonic() + 10
    while not study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
        assert time.monotonic() < deadline, "the worker never started a trial"
        time.sleep(0.01)
    panel = optuna_magic.panel(study, interval=0.05)  # a trial runs: live by default
    try:
        assert panel.meta["watch"] is True
        release.set()
        worker.join(10)
        deadline = time.monotonic() + 10
        while panel.record.counts().get("COMPLETE", 0) < 30:
            assert time.monotonic() < deadline, panel.record.counts()
            time.sleep(0.05)
    finally:
        release.set()
        panel.request_stop()  # the Stop button of a live panel ends the following
        panel.close()
    assert len(study.trials) == 30


def test_watch_follows_a_stored_study_and_stops(tmp_path: Any) -> None:
    quiet()
    url = f"journal:{tmp_path}/w.log"
    writer = optuna.create_study(storage=open_storage(url, heartbeat_interval=None), study_name="w")
    writer.optimize(objective, n_trials=3)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run = optuna_magic.watch(url, "w", interval=0.05, idle_timeout=30)
        try:
            writer.optimize(objective, n_trials=4)
            deadline = time.monotonic() + 10
            while run.poller.n_finished < 4:
                assert time.monotonic() < deadline, "the watch did not see the new trials"
                time.sleep(0.05)
        finally:
            run.request_stop()
            result = run.wait(10)
    assert result is not None and result.state == "stopped" and result.n_trials_run == 4
    assert run.info.watch and run.info.storage == url
    assert "Study 'w' stopped: 4 trials" in out.getvalue()

    with pytest.raises(optuna_magic.OptunaMagicError, match="studies there: w"):
        optuna_magic.watch(url, "missing")


def test_panel_callback_feeds_each_trial_and_its_stop_stops_study_optimize() -> None:
    quiet()
    study = optuna.create_study(study_name="cb")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        with optuna_magic.PanelCallback(study, n_trials=12, panel=False) as cb:
            study.optimize(objective, n_trials=12, callbacks=[cb])
    assert "optuna: 12/12" in out.getvalue()
    assert "Study 'cb' finished: 12 trials" in out.getvalue()

    # Stop (as the panel's button does) ends study.optimize after the next trial.
    stopped = optuna.create_study(study_name="cb-stop")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cb = optuna_magic.PanelCallback(stopped, panel=False)

        def stop_at_4(study: optuna.Study, trial: Any) -> None:
            if trial.number == 4:
                cb.request_stop()

        with cb:
            stopped.optimize(objective, n_trials=1000, callbacks=[stop_at_4, cb])
    assert len(stopped.trials) == 5
    assert "Study 'cb-stop' stopped: 5 trials" in out.getvalue()


@pytest.mark.kernel
def test_a_plain_kernel_cell_without_load_ext_shows_the_panel_and_its_prints() -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(s)
        for s in (
            "import optuna, optuna_magic\n"
            "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
            "def objective(trial):\n"
            "    x = trial.suggest_float('x', 0, 1)\n"
            "    print(f'trial {trial.number} says hi')\n"
            "    return x\n"
            "study = optuna.create_study()\n"
            "_ = optuna_magic.optimize(study, objective, n_trials=20)",
            "await optuna_magic.optimize_async(study, objective, n_trials=5, panel=False)\n"
            "print('trials', len(study.trials), 'OptunaMagics' in get_ipython().magics_manager"
            ".registry)",
            "optuna_magic.panel(study)",
        )
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    first = nb.cells[0].outputs
    data = [o for o in first if o.output_type == "display_data"]
    assert "application/vnd.jupyter.widget-view+json" in data[0].data  # the live panel first
    snapshot = data[1].data  # after the panel; the output continued runs would use comes last
    assert data[-1].data == {"text/plain": ""} and first[-1] is data[-1]  # after the prints
    assert "finished" in snapshot["text/plain"] and "20 trials" in snapshot["text/plain"]
    assert "text/html" in snapshot  # the end-of-run snapshot
    printed = "".join(o.text for o in first if o.output_type == "stream")
    assert all(f"trial {i} says hi" in printed for i in range(20))

    second = nb.cells[1].outputs
    printed = "".join(o.text for o in second if o.output_type == "stream")
    assert all(f"trial {i} says hi" in printed for i in range(20, 25))
    assert "trials 25 False" in printed  # the magic was never loaded
    shown = [o for o in second if o.output_type == "display_data"]
    assert len(shown) == 1 and "finished: 5 trials" in shown[0].data["text/plain"]

    third = nb.cells[2].outputs
    assert third[0].output_type == "execute_result"
    assert "application/vnd.jupyter.widget-view+json" in third[0].data
