"""Every trial ends in a true state: never RUNNING after its run, never PRUNED if it never ran.

Real studies, real threads, real worker processes and real SIGKILLs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import optuna
import pytest
from parallel_helpers import RecordingSink, cell_objective, counts, quiet_optuna, wait_for
from shell_helpers import run

from optuna_magic.run.polled import PolledRun
from optuna_magic.run.remote.errors import WorkerError
from optuna_magic.run.remote.workers import start_worker_run
from optuna_magic.run.runner import RunInfo, Runner
from optuna_magic.study.liveness import FAIL_REASON_KEY
from optuna_magic.study.storage import open_storage

pytestmark = pytest.mark.timeout(120)

GOOD = "x = hp.float(0, 1)\nx\n"


class Exit(BaseException):
    """A BaseException of the user's own (neither Exception nor KeyboardInterrupt)."""


def _info(n: int | None) -> RunInfo:
    return RunInfo("s", ["minimize"], "r", "n", "in memory", n, None, [], ["value"], time.time())


# ------------------------------------------------------------ BaseException in a trial
@pytest.mark.parametrize("exc", [SystemExit(3), GeneratorExit(), Exit("own")], ids=type)
@pytest.mark.parametrize("n_jobs", [1, 3], ids=["sequential", "n_jobs=3"])
def test_a_trial_raising_a_base_exception_ends_fail_and_so_does_the_run(
    exc: BaseException, n_jobs: int
) -> None:
    quiet_optuna()
    study = optuna.create_study()

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 4:
            raise exc
        time.sleep(0.01)
        return x

    sink = RecordingSink()
    runner = Runner(study, objective, _info(30), [sink], n_trials=30, timeout=None, n_jobs=n_jobs)
    runner.start()
    result = runner.wait(60)
    assert result is not None and result.state == "failed"
    assert result.exception is exc and type(exc).__name__ in (result.error or "")
    states = {t.number: t.state.name for t in study.trials}
    assert "RUNNING" not in states.values(), states
    assert states[4] == "FAIL"
    # The sinks heard of each trial once, in the state it was stored with.
    assert dict(sink.finished_states()) == {k: v for k, v in counts(study).items() if v}
    assert sorted(sink.numbers("finished")) == sorted(states)


@pytest.mark.filterwarnings("ignore:To exit")  # IPython's own note after a SystemExit
def test_sys_exit_in_a_cell_trial_is_a_failed_trial_and_the_cell_says_so(ip: Any) -> None:
    quiet_optuna()
    r = run(ip, "%%optuna -n 5 --quiet\nimport sys\nx = hp.float(0, 1)\nsys.exit(2)\nx\n")
    assert isinstance(r.error_in_exec, SystemExit)
    assert [t.state.name for t in ip.user_ns["study"].trials] == ["FAIL"]


def test_sys_exit_in_a_worker_trial_fails_it_with_its_own_reason(tmp_path: Any) -> None:
    quiet_optuna()
    url = f"journal:{tmp_path}/s.log"
    study = optuna.create_study(storage=open_storage(url), study_name="s")
    run_ = start_worker_run(
        study,
        url,
        cell_objective("import sys\nx = hp.float(0, 1)\nsys.exit(5)\nx\n"),
        PolledRun.describe(study, storage=url, n_trials=4),
        [RecordingSink()],
        k=1,
        n_trials=4,
        timeout=None,
        interval=0.1,
        on_output=lambda i, line: None,
    )
    result = run_.wait(60)
    assert result is not None and result.state == "failed"
    (trial,) = study.trials
    assert trial.state.name == "FAIL"
    assert trial.system_attrs[FAIL_REASON_KEY].startswith("SystemExit: 5")


# ------------------------------------------------------------ workers that all die
@pytest.mark.parametrize("k", [1, 2])
def test_a_run_whose_workers_all_die_ends_with_an_error(tmp_path: Any, k: int) -> None:
    quiet_optuna()
    url = f"journal:{tmp_path}/s.log"
    study = optuna.create_study(storage=open_storage(url), study_name="s")
    code = (
        "import os, signal, time\nx = hp.float(0, 1)\n"
        "if trial.number >= 2:\n    os.kill(os.getpid(), signal.SIGKILL)\nx\n"
    )
    sink = RecordingSink()
    run_ = start_worker_run(
        study,
        url,
        cell_objective(code),
        PolledRun.describe(study, storage=url, n_trials=10),
        [sink],
        k=k,
        n_trials=10,
        timeout=None,
        interval=0.1,
        on_output=lambda i, line: None,
    )
    result = run_.wait(60)
    assert result is not None and result.state == "failed", result
    assert isinstance(result.exception, WorkerError)
    text = str(result.exception)
    assert f"all {k} worker" in text and "killed by signal 9" in text, text
    assert "of 10 trials" in text, text
    c = counts(study)
    assert c["RUNNING"] == 0 and c["COMPLETE"] == 2 and c["FAIL"] == k, c


# ------------------------------------------------------------ interrupt with n_jobs
class _HeldSampler(optuna.samplers.RandomSampler):
    """A real sampler that is slow to start trial #1: the trial exists, its code has not run."""

    def __init__(self, release: threading.Event, entered: threading.Event) -> None:
        super().__init__(seed=0)
        self.release, self.entered = release, entered

    def before_trial(self, study: optuna.Study, trial: Any) -> None:
        if trial.number == 1:
            self.entered.set()
            self.release.wait(30)


@pytest.mark.parametrize("how", ["interrupted", "stopped"])
def test_a_stop_with_n_jobs_leaves_no_pruned_trial_that_never_ran(how: str) -> None:
    """Trial #1 exists when the run is stopped, and its code never runs: it is put back to
    WAITING (a later run may run it), not recorded as PRUNED."""
    quiet_optuna()
    release, entered, running = threading.Event(), threading.Event(), threading.Event()
    study = optuna.create_study(sampler=_HeldSampler(release, entered))
    ran: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        ran.append(trial.number)
        running.set()
        x = trial.suggest_float("x", 0, 1)
        for _ in range(100):
            time.sleep(0.01)
        return x

    sink = RecordingSink()
    runner = Runner(study, objective, _info(4), [sink], n_trials=4, timeout=None, n_jobs=2)
    runner.start()
    assert entered.wait(20) and running.wait(20)
    runner.interrupt() if how == "interrupted" else runner.request_stop()
    release.set()  # trial #1 is asked for now, after the stop
    result = runner.wait(60)
    assert result is not None and result.state == how
    states = {t.number: t.state.name for t in study.trials}
    assert ran == [0], ran
    assert states == {0: "FAIL" if how == "interrupted" else "COMPLETE", 1: "WAITING"}, states
    assert sink.numbers("finished") == [0]  # the panel never counts a trial that did not run


# ------------------------------------------------------------ journal lock of a dead process
def _kill_while_holding_the_lock(path: str, url: str) -> None:
    """Start a process that writes trials; SIGKILL it until it dies holding the lock."""
    writer = (
        "import optuna\nfrom optuna_magic.study.storage import open_storage\n"
        "optuna.logging.set_verbosity(optuna.logging.ERROR)\n"
        f"s = optuna.load_study(study_name='s', storage=open_storage({url!r}))\n"
        "print('go', flush=True)\n"
        "while True:\n    t = s.ask()\n    t.set_user_attr('a', 1)\n    s.tell(t, 1.0)\n"
    )
    for _ in range(200):
        proc = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "go"
        deadline = time.monotonic() + 10
        while not os.path.exists(path + ".lock"):
            assert time.monotonic() < deadline, "the writer never took the lock"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if os.path.exists(path + ".lock"):
            return
    raise AssertionError("no kill landed while the lock was held")


def test_resume_after_a_process_killed_while_holding_the_journal_lock_is_quick(
    ip: Any, tmp_path: Any
) -> None:
    """The lock a killed writer leaves always names its holder, so the next ``--resume``
    breaks it at once instead of waiting out Optuna's 30 s grace period. Before, about one
    kill in three landed while the lock file was still empty."""
    quiet_optuna()
    path = str(tmp_path / "s.log")
    url = f"journal:{path}"
    optuna.create_study(storage=open_storage(url), study_name="s")
    for _ in range(8):
        _kill_while_holding_the_lock(path, url)
        with open(path + ".lock") as f:
            assert "pid" in f.read()  # the holder is known: a dead one is broken at once
        t0 = time.monotonic()
        r = run(ip, f"%%optuna -n 1 --quiet --storage {url} --study-name s --resume\n{GOOD}")
        assert r.success, r.error_in_exec
        assert time.monotonic() - t0 < 10
        assert counts(ip.user_ns["study"])["RUNNING"] == 0


# ------------------------------------------------------------ --workers temporary folder
CELLS = {
    "finished": GOOD,
    "failed": "x = hp.float(0, 1)\nraise ValueError('no')\nx\n",
}


@pytest.mark.parametrize("how", ["finished", "failed", "interrupted"])
def test_workers_remove_their_temporary_folder_however_the_run_ends(
    tmp_path: Any, monkeypatch: Any, how: str
) -> None:
    quiet_optuna()
    own = tmp_path / "tmp"
    own.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own))
    url = f"journal:{tmp_path}/s.log"
    study = optuna.create_study(storage=open_storage(url), study_name="s")
    code = CELLS.get(how, "import time\nx = hp.float(0, 1)\ntime.sleep(30)\nx\n")
    run_ = start_worker_run(
        study,
        url,
        cell_objective(code),
        PolledRun.describe(study, storage=url, n_trials=4),
        [RecordingSink()],
        k=2,
        n_trials=4,
        timeout=None,
        interval=0.1,
        on_output=lambda i, line: None,
    )
    assert os.listdir(own)  # the payload is there while the run goes on
    if how == "interrupted":
        wait_for(lambda: len(run_.source.running_trials()) == 2)  # type: ignore[union-attr]
        run_.interrupt()
    result = run_.wait(60)
    assert result is not None and result.state == how
    assert os.listdir(own) == []
