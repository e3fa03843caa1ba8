"""``--workers K``: real worker processes on one storage, real SIGKILLs."""

from __future__ import annotations

import os
import signal
import threading
import time
import types
from typing import Any

import optuna
import pytest
from parallel_helpers import RecordingSink, cell_objective, counts, quiet_optuna, wait_for
from postgres_fixture import postgresql_url  # noqa: F401 - a fixture

from optuna_magic import OptunaMagicError
from optuna_magic.run.polled import PolledRun
from optuna_magic.run.remote.errors import WorkerError
from optuna_magic.run.remote.shipping import portable_function, ship_objective, unship_objective
from optuna_magic.run.remote.workers import start_worker_run
from optuna_magic.study.liveness import FAIL_REASON_KEY, OWNER_KEY
from optuna_magic.study.open import temporary_journal
from optuna_magic.study.storage import open_storage

pytestmark = pytest.mark.timeout(60)

SLOW_CELL = """x = hp.float(0, 1)
k = hp.int(1, N)
for step in range(2):
    report(x * step, step)
time.sleep(DELAY)
x + k
"""


@pytest.fixture(params=["sqlite", "journal"])
def storage_url(request: Any, tmp_path: Any) -> str:
    quiet_optuna()
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/study.db"
    return f"journal:{tmp_path}/study.log"


def _run(
    url: str,
    code: str,
    ns: dict[str, Any],
    *,
    n: int | None,
    k: int,
    timeout: float | None = None,
    catch: tuple[type[BaseException], ...] = (),
    heartbeat: int | None = None,
) -> tuple[optuna.Study, Any, RecordingSink]:
    study = optuna.create_study(
        storage=open_storage(url), study_name="s", pruner=optuna.pruners.NopPruner()
    )
    sink = RecordingSink()
    info = PolledRun.describe(study, storage=url, n_trials=n, timeout=timeout)
    ns = {"time": time, **ns}
    run = start_worker_run(
        study,
        url,
        cell_objective(code, ns),
        info,
        [sink],
        k=k,
        n_trials=n,
        timeout=timeout,
        catch=catch,
        heartbeat_interval=heartbeat,
        interval=0.1,
        on_output=lambda i, line: None,
    )
    return study, run, sink


def test_trials_are_counted_exactly_across_workers(storage_url: str) -> None:
    study, run, sink = _run(storage_url, SLOW_CELL, {"N": 4, "DELAY": 0.02}, n=24, k=3)
    result = run.wait(60)
    pool = run.source
    assert result is not None and result.state == "finished", result
    assert counts(study) == {"COMPLETE": 24, "PRUNED": 0, "FAIL": 0, "RUNNING": 0, "WAITING": 0}
    # the sinks heard every trial exactly once, each with its two reports
    assert sorted(sink.numbers("started")) == list(range(24))
    assert sorted(sink.numbers("finished")) == list(range(24))
    assert len(sink.numbers("reported")) == 48
    assert result.n_trials_run == 24 and pool.n_started == 24 and pool.n_done == 24
    # every worker process took part and wrote its own pid into its trials
    owners = {t.system_attrs[OWNER_KEY]["pid"] for t in study.trials}
    assert owners == set(pool.pids)


def test_a_killed_worker_fails_its_trial_and_the_others_finish_the_run(storage_url: str) -> None:
    n = 16
    study, run, sink = _run(storage_url, SLOW_CELL, {"N": 4, "DELAY": 0.4}, n=n, k=3)
    pool = run.source
    victim, number = wait_for(
        lambda: next(((i, t) for i, t in pool.running_trials().items() if t >= 3), None)
    )
    # Kill it in the cell's sleep, after its last write: a process killed while it appends
    # to a journal keeps the journal's lock file for Optuna's 30 s grace period.
    wait_for(
        lambda: (
            1
            in study._storage.get_trial(
                study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
            ).intermediate_values
        )
    )
    time.sleep(0.05)
    os.kill(pool.pids[victim], signal.SIGKILL)
    result = run.wait(60)
    assert result is not None and result.state == "finished"
    c = counts(study)
    # exactly n trials: the killed one is FAIL, none is lost or left RUNNING
    assert c == {"COMPLETE": n - 1, "PRUNED": 0, "FAIL": 1, "RUNNING": 0, "WAITING": 0}, c
    failed = study.trials[number]
    assert failed.state.name == "FAIL"
    # failed by the pool (it saw the pipe close) or by the poller (the owner pid is gone)
    pid = f"pid {pool.pids[victim]}"
    assert pid in failed.system_attrs[FAIL_REASON_KEY]
    assert pid in sink.errors[number].message
    assert sorted(sink.numbers("finished")) == list(range(n))
    print(
        f"\nkilled worker: started {pool.n_started}, finished {c['COMPLETE']}, "
        f"failed {c['FAIL']}, lost {n - sum(c.values())}"
    )


def test_graceful_stop_starts_no_new_trial(storage_url: str) -> None:
    study, run, sink = _run(storage_url, SLOW_CELL, {"N": 4, "DELAY": 0.2}, n=1000, k=2)
    wait_for(lambda: len(sink.numbers("finished")) >= 4)
    run.request_stop()
    result = run.wait(30)
    assert result is not None and result.state == "stopped"
    c = counts(study)
    assert c["RUNNING"] == 0 and c["FAIL"] == 0 and 4 <= c["COMPLETE"] < 20
    assert len(sink.numbers("finished")) == c["COMPLETE"]


def test_interrupt_kills_the_workers_and_fails_their_trials(storage_url: str) -> None:
    study, run, sink = _run(storage_url, SLOW_CELL, {"N": 4, "DELAY": 2.0}, n=50, k=2)
    pool = run.source
    wait_for(lambda: len(pool.running_trials()) == 2)
    t0 = time.monotonic()
    run.interrupt()
    result = run.wait(30)
    assert time.monotonic() - t0 < 10
    assert result is not None and result.state == "interrupted"
    c = counts(study)
    assert c["RUNNING"] == 0 and c["FAIL"] == 2, c
    assert all(p is not None for p in (w.proc.poll() for w in pool.workers))
    assert sorted(sink.finished_states().elements()) == ["FAIL", "FAIL"]


def test_a_raising_trial_ends_the_run_with_its_traceback(storage_url: str) -> None:
    code = "x = hp.float(0, 1)\nif x >= 0:\n    raise ValueError(f'bad x {x:.1f}')\nx\n"
    study, run, sink = _run(storage_url, code, {}, n=20, k=2)
    result = run.wait(30)
    assert result is not None and result.state == "failed"
    assert isinstance(result.exception, WorkerError)
    assert "ValueError: bad x" in str(result.exception)
    tb = result.exception.remote_traceback
    assert "raise ValueError" in tb and "line 4" in tb and "_optimize" not in tb
    c = counts(study)
    assert c["RUNNING"] == 0 and 1 <= c["FAIL"] <= 2 and c["COMPLETE"] == 0
    assert all("ValueError: bad x" in e.message for e in sink.errors.values())


def test_catch_records_failures_with_their_error_and_goes_on(storage_url: str) -> None:
    code = (
        "x = hp.float(0, 1)\nif trial.number % 3 == 0:\n    raise RuntimeError('every third')\nx\n"
    )
    study, run, sink = _run(storage_url, code, {}, n=12, k=2, catch=(Exception,))
    result = run.wait(30)
    assert result is not None and result.state == "finished"
    c = counts(study)
    assert c["FAIL"] == 4 and c["COMPLETE"] == 8
    assert sorted(sink.errors) == [0, 3, 6, 9]
    assert sink.errors[3].message == "RuntimeError: every third"
    assert "raise RuntimeError" in sink.errors[3].traceback


def test_timeout_without_n(tmp_path: Any) -> None:
    url = f"journal:{tmp_path}/study.log"
    quiet_optuna()
    t0 = time.monotonic()
    study, run, _ = _run(url, SLOW_CELL, {"N": 2, "DELAY": 0.1}, n=None, k=2, timeout=2.0)
    result = run.wait(30)
    assert result is not None and result.state == "finished"
    assert time.monotonic() - t0 < 10
    c = counts(study)
    assert c["COMPLETE"] >= 4 and c["RUNNING"] == 0


def test_a_plain_objective_function_and_user_helpers_travel_by_value(tmp_path: Any) -> None:
    quiet_optuna()
    ns: dict[str, Any] = {"__name__": "__main__", "threading": threading}
    exec(
        "import math\n"
        "OFFSET = 10\n"
        "class Scale:\n    factor = 2\n"
        "def helper(x):\n    return math.floor(x * Scale.factor) + OFFSET\n"
        "unpicklable = threading.Lock()\n"
        "def objective(trial):\n    return helper(trial.suggest_float('x', 0, 1))\n",
        ns,
    )
    url = f"journal:{tmp_path}/study.log"
    study = optuna.create_study(storage=open_storage(url), study_name="s")
    info = PolledRun.describe(study, storage=url)
    run = start_worker_run(
        study,
        url,
        ns["objective"],
        info,
        [],
        k=2,
        n_trials=6,
        timeout=None,
        interval=0.1,
        on_output=lambda i, line: None,
    )
    result = run.wait(30)
    assert result is not None and result.state == "finished", result.error
    assert {t.value for t in study.trials} <= {10.0, 11.0, 12.0}
    assert len(study.trials) == 6


@pytest.mark.parametrize(
    "code",
    ["x = hp.float(0, 1)\nx * SCALE\n", "x = hp.float(0, ONE)\nx * SCALE\n"],
    ids=["plain-function", "cell-objective"],
)
def test_only_the_globals_the_code_uses_are_shipped(code: str) -> None:
    ns = {"SCALE": 3.0, "ONE": 1.0, "lock": threading.Lock(), "sqrt": None}
    objective = cell_objective(code, ns)
    plain_form = isinstance(objective, types.FunctionType)
    assert plain_form == ("ONE" not in code)  # a literal declaration needs no hp at run time
    fn = portable_function(objective if plain_form else objective._function)
    assert set(fn.__globals__) == {"__builtins__", "SCALE"} | (set() if plain_form else {"ONE"})
    rebuilt = unship_objective(ship_objective(objective, 1))
    study = optuna.create_study()
    study.optimize(rebuilt, n_trials=3)
    assert all(0 <= t.value <= 3 for t in study.trials)


def test_an_unpicklable_variable_is_named() -> None:
    objective = cell_objective(
        "x = hp.float(0, 1)\nwith lock:\n    y = x\ny\n", {"lock": threading.Lock()}
    )
    with pytest.raises(OptunaMagicError, match=r"`lock` \(lock: TypeError: cannot pickle"):
        ship_objective(objective, 1)


def test_workers_draw_different_parameters_from_a_seeded_sampler(tmp_path: Any) -> None:
    quiet_optuna()
    url = f"journal:{tmp_path}/study.log"
    study = optuna.create_study(
        storage=open_storage(url), study_name="s", sampler=optuna.samplers.RandomSampler(seed=1)
    )
    info = PolledRun.describe(study, storage=url)
    run = start_worker_run(
        study,
        url,
        cell_objective("hp.float(0, 1, name='x')\n"),
        info,
        [],
        k=3,
        n_trials=9,
        timeout=None,
        interval=0.1,
        on_output=lambda i, line: None,
    )
    run.wait(30)
    xs = [t.params["x"] for t in study.trials]
    assert len(xs) == 9 and len(set(xs)) == 9


def test_temporary_journal_is_a_new_folder() -> None:
    a, b = temporary_journal(), temporary_journal()
    assert a.startswith("journal:") and a != b
    assert os.path.isdir(os.path.dirname(a.removeprefix("journal:")))


def test_three_workers_on_a_real_postgresql_server(postgresql_url: str) -> None:  # noqa: F811
    study, run, sink = _run(
        postgresql_url, SLOW_CELL, {"N": 4, "DELAY": 0.05}, n=18, k=3, heartbeat=2
    )
    pool = run.source
    result = run.wait(60)
    assert result is not None and result.state == "finished", result.error
    assert counts(study) == {"COMPLETE": 18, "PRUNED": 0, "FAIL": 0, "RUNNING": 0, "WAITING": 0}
    assert sorted(sink.numbers("finished")) == list(range(18))
    assert {t.system_attrs[OWNER_KEY]["pid"] for t in study.trials} == set(pool.pids)


def test_a_postgresql_worker_killed_mid_trial_is_failed_by_its_heartbeat_too(
    postgresql_url: str,  # noqa: F811
) -> None:
    """Without the parent's help (it is killed too): the heartbeat marks the trial stale."""
    from optuna_magic.study.liveness import fail_orphaned_trials

    quiet_optuna()
    url = postgresql_url
    name = f"hb{time.time_ns()}"
    optuna.create_study(storage=open_storage(url), study_name=name)
    script = (
        "import sys, time, optuna\n"
        "from optuna_magic.study.storage import open_storage\n"
        "s = optuna.load_study(study_name=sys.argv[2], storage=open_storage(sys.argv[1], "
        "heartbeat_interval=1))\n"
        "def f(t):\n    print('in', flush=True); time.sleep(60)\n"
        "s.optimize(f, n_trials=1)\n"
    )
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", script, url, name], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"in"
    time.sleep(1.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # A checker on "another machine" cannot use the owner pid: only the heartbeat tells.
    checker = optuna.load_study(study_name=name, storage=open_storage(url, heartbeat_interval=1))
    time.sleep(2.5)  # the grace period (2 x 1 s) passes
    from unittest import mock

    with mock.patch("optuna_magic.study.liveness.owner_alive", return_value=None):
        assert fail_orphaned_trials(checker) == [0]
    assert checker.trials[0].state.name == "FAIL"
    assert "heartbeat" in checker.trials[0].system_attrs[FAIL_REASON_KEY]


# ------------------------------------------------------------ through the magic


def test_magic_workers_without_storage_say_where_the_trials_go(ip: Any, capsys: Any) -> None:
    from shell_helpers import run

    quiet_optuna()
    # Each trial sleeps, so one worker cannot drain every trial before the others have started.
    result = run(
        ip,
        "%%optuna -n 9 --workers 3 --seed 1\nimport time\nx = hp.float(0, 1)\n"
        "time.sleep(0.4)\nreport(x, 0)\nx\n",
    )
    assert result.error_in_exec is None, result.error_in_exec
    out = capsys.readouterr().out
    assert "--workers without --storage: trials go to the journal file" in out
    study = ip.user_ns["study"]
    assert counts(study)["COMPLETE"] + counts(study)["PRUNED"] == 9 and len(study.trials) == 9
    assert len({t.system_attrs[OWNER_KEY]["pid"] for t in study.trials}) >= 2
    assert "9 trials" in out


def test_magic_workers_show_a_raising_cell_line(ip: Any) -> None:
    from shell_helpers import run

    quiet_optuna()
    result = run(ip, "%%optuna -n 4 --workers 2 --quiet\nx = hp.float(0, 1)\n{}['missing']\nx\n")
    assert isinstance(result.error_in_exec, WorkerError)
    assert "{}['missing']" in result.error_in_exec.remote_traceback


def test_magic_watch_follows_another_process_until_idle(
    ip: Any, capsys: Any, tmp_path: Any
) -> None:
    from shell_helpers import run

    quiet_optuna()
    url = f"journal:{tmp_path}/w.log"
    writer = optuna.create_study(storage=open_storage(url), study_name="w")
    writer.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)

    def more() -> None:
        time.sleep(0.5)
        writer.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)

    threading.Thread(target=more).start()
    t0 = time.monotonic()
    result = run(ip, f"%optuna watch --storage {url} --study-name w --idle 1.5 --interval 0.1")
    assert result.error_in_exec is None, result.error_in_exec
    assert time.monotonic() - t0 < 15
    out = capsys.readouterr().out
    assert "Study 'w' finished: 3 trials" in out


def test_a_journal_lock_left_by_a_killed_process_is_broken_at_once(tmp_path: Any) -> None:
    """A process killed while it holds the journal's lock: the next writer takes the lock at
    once (Optuna's lock would wait its 30 s grace period), and a live holder is still waited
    for."""
    import subprocess
    import sys

    from optuna_magic.study.liveness import OwnedFileLock

    path = str(tmp_path / "study.log")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom optuna_magic.study.liveness import OwnedFileLock\n"
            f"OwnedFileLock({path!r}).acquire()\nprint('held', flush=True)\ntime.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        lock = OwnedFileLock(path)
        lock._break_if_orphaned()
        assert os.path.exists(path + ".lock")  # a live holder's lock is left alone
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        t0 = time.monotonic()
        assert lock.acquire()
        assert time.monotonic() - t0 < 5
        lock.release()
        assert not os.path.exists(path + ".lock")
    finally:
        holder.kill()


def test_the_run_ends_when_its_workers_do_not_at_the_next_poll(tmp_path: Any) -> None:
    """The last worker's end wakes the run: with a 30 s poll interval it still ends at once."""
    quiet_optuna()
    url = f"journal:{tmp_path}/study.log"
    study = optuna.create_study(storage=open_storage(url), study_name="s")
    info = PolledRun.describe(study, storage=url, n_trials=4)
    run = start_worker_run(
        study,
        url,
        cell_objective("x = hp.float(0, 1)\nx", {}),
        info,
        [RecordingSink()],
        k=2,
        n_trials=4,
        timeout=None,
        interval=30.0,
        on_output=lambda i, line: None,
    )
    t0 = time.monotonic()
    result = run.wait(60)
    assert result is not None and result.state == "finished", result
    assert result.n_trials_run == 4
    # The first poll is at the start; without the wake-up the next one is 30 s later.
    assert time.monotonic() - t0 < 20
