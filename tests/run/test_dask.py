"""``--dask``: trials as tasks on a real LocalCluster of worker processes on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import optuna
import pytest
from parallel_helpers import RecordingSink, cell_objective, counts, quiet_optuna, wait_for

pytest.importorskip("distributed")
pytest.importorskip("optuna_integration")

from optuna_magic.run.polled import PolledRun
from optuna_magic.run.remote.cluster import close_local, find_client, local_client, prepare_dask
from optuna_magic.run.remote.dask import start_dask_run
from optuna_magic.run.remote.errors import WorkerError
from optuna_magic.study.liveness import FAIL_REASON_KEY, OWNER_KEY

pytestmark = pytest.mark.timeout(90)

CELL = """x = hp.float(0, 1)
k = hp.int(1, 4)
report(x, 0)
time.sleep(DELAY)
x + k
"""


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    quiet_optuna()
    client = local_client(n_workers=3)
    yield client
    close_local()


def _start(
    client: Any,
    storage_url: str | None,
    code: str,
    *,
    n: int,
    delay: float = 0.02,
    ns: dict[str, Any] | None = None,
    catch: tuple[type[BaseException], ...] = (),
    interval: float = 0.1,
) -> tuple[optuna.Study, Any, RecordingSink, Any]:
    quiet_optuna()
    plan = prepare_dask(None, ns or {}, storage_url)
    study = optuna.create_study(
        storage=plan.storage, study_name=f"s{time.time_ns()}", pruner=optuna.pruners.NopPruner()
    )
    sink = RecordingSink()
    info = PolledRun.describe(study, storage=str(storage_url), n_trials=n)
    objective = cell_objective(code, {"time": time, "DELAY": delay})
    run = start_dask_run(
        plan,
        study,
        objective,
        info,
        [sink],
        n_trials=n,
        timeout=None,
        catch=catch,
        interval=interval,
    )
    return study, run, sink, plan


def test_local_cluster_on_loopback_with_worker_processes(client: Any) -> None:
    workers = client.scheduler_info(n_workers=-1)["workers"]
    assert len(workers) == 3 and all(a.startswith("tcp://127.0.0.1:") for a in workers)
    pids = client.run(os.getpid)
    assert len(set(pids.values())) == 3 and os.getpid() not in pids.values()


@pytest.mark.parametrize("storage", ["journal (temporary)", "sqlite"])
def test_trials_run_on_the_cluster_and_are_counted_exactly(
    client: Any, storage: str, tmp_path: Any
) -> None:
    url = None if storage.startswith("journal") else f"sqlite:///{tmp_path}/d.db"
    study, run, sink, plan = _start(client, url, CELL, n=15)
    assert plan.local and "local Dask cluster (3 worker processes on 127.0.0.1)" in plan.where
    if url is None:
        assert "journal file" in plan.where
    result = run.wait(60)
    assert result is not None and result.state == "finished", result.error
    assert counts(study)["COMPLETE"] == 15 and len(study.trials) == 15
    assert sorted(sink.numbers("finished")) == list(range(15))
    assert len(sink.numbers("reported")) == 15
    owners = {t.system_attrs[OWNER_KEY]["pid"] for t in study.trials}
    assert owners <= set(client.run(os.getpid).values()) and len(owners) >= 2


def test_the_client_in_the_namespace_is_used_with_dask_storage(client: Any) -> None:
    from optuna_integration import DaskStorage

    ns = {"my_client": client}
    assert find_client(ns) is client
    study, run, sink, plan = _start(client, None, CELL, n=9, ns=ns)
    assert isinstance(plan.storage, DaskStorage) and not plan.local
    assert "Client in the namespace" in plan.where
    result = run.wait(60)
    assert result is not None and result.state == "finished", result.error
    assert counts(study)["COMPLETE"] == 9
    assert sorted(sink.numbers("finished")) == list(range(9))


def test_a_killed_dask_worker_fails_its_trial_and_the_run_goes_on(client: Any) -> None:
    n = 12
    study, run, sink, _ = _start(client, None, CELL, n=n, delay=0.5)
    running = wait_for(
        lambda: [
            t
            for t in study.get_trials(deepcopy=False)
            if t.state.name == "RUNNING" and t.number >= 2 and 0 in t.intermediate_values
        ]
    )
    victim = running[0]
    pid = victim.system_attrs[OWNER_KEY]["pid"]
    # In the cell's sleep, after its last write: a process killed while it appends to a journal
    # keeps the journal's lock file for Optuna's 30 s grace period.
    time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    result = run.wait(60)
    assert result is not None and result.state == "finished", result.error
    c = counts(study)
    assert c == {"COMPLETE": n - 1, "PRUNED": 0, "FAIL": 1, "RUNNING": 0, "WAITING": 0}, c
    failed = study.trials[victim.number]
    assert failed.state.name == "FAIL" and f"pid {pid}" in failed.system_attrs[FAIL_REASON_KEY]
    assert run.source.n_lost == 1  # plus n_replaced: tasks queued on it, run again
    assert sorted(sink.numbers("finished")) == list(range(n))
    print(
        f"\nkilled Dask worker: started {len(sink.numbers('started'))}, finished "
        f"{c['COMPLETE']}, failed {c['FAIL']}, lost {n - sum(c.values())}"
    )
    wait_for(lambda: len(client.scheduler_info(n_workers=-1)["workers"]) == 3, timeout=30)


def test_graceful_stop_on_the_cluster(client: Any) -> None:
    study, run, sink, _ = _start(client, None, CELL, n=500, delay=0.2)
    wait_for(lambda: len(sink.numbers("finished")) >= 3)
    run.request_stop()
    result = run.wait(30)
    assert result is not None and result.state == "stopped"
    c = counts(study)
    assert c["RUNNING"] == 0 and c["FAIL"] == 0 and 3 <= c["COMPLETE"] < 40


def test_a_raising_trial_ends_the_run(client: Any) -> None:
    code = "x = hp.float(0, 1)\nraise KeyError(f'missing {x:.2f}')\nx\n"
    study, run, _, _ = _start(client, None, code, n=30)
    result = run.wait(30)
    assert result is not None and result.state == "failed"
    assert isinstance(result.exception, WorkerError) and "KeyError" in str(result.exception)
    assert counts(study)["RUNNING"] == 0 and counts(study)["COMPLETE"] == 0
    assert len(study.trials) < 30


def test_magic_dask_runs_the_cell_on_the_local_cluster(client: Any, ip: Any, capsys: Any) -> None:
    from shell_helpers import run

    result = run(ip, "%%optuna -n 8 --dask --seed 2\nx = hp.float(0, 1)\nx\n")
    assert result.error_in_exec is None, result.error_in_exec
    out = capsys.readouterr().out
    assert "Trials run on a local Dask cluster (3 worker processes on 127.0.0.1)" in out
    study = ip.user_ns["study"]
    assert counts(study)["COMPLETE"] == 8
    assert {t.system_attrs[OWNER_KEY]["pid"] for t in study.trials} <= set(
        client.run(os.getpid).values()
    )


def test_the_run_ends_when_its_tasks_do_not_at_the_next_poll(client: Any) -> None:
    """The feed's end wakes the run: with a 30 s poll interval it still ends at once."""
    study, run, _, _ = _start(client, None, CELL, n=6, interval=30.0)
    t0 = time.monotonic()
    result = run.wait(60)
    assert result is not None and result.state == "finished", result.error
    assert counts(study)["COMPLETE"] == 6
    assert time.monotonic() - t0 < 20  # the next poll would come 30 s after the first
