"""MLflow tracking (``--mlflow``): the sink driven by a real study, read back via MlflowClient."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

mlflow = pytest.importorskip("mlflow")
optuna = pytest.importorskip("optuna")

from optuna_magic.outputs.mlflow import MlflowSink, mask_uri  # noqa: E402
from optuna_magic.run.runner import RunInfo, Runner  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet_mlflow(monkeypatch: pytest.MonkeyPatch) -> None:
    # No usage telemetry from tests (there is no network here anyway: it would only wait).
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    optuna.logging.set_verbosity(optuna.logging.ERROR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _info(study: Any, *, directions: list[str], names: list[str], n_trials: int) -> RunInfo:
    return RunInfo(
        study_name=study.study_name,
        directions=directions,
        sampler=type(study.sampler).__name__,
        pruner=type(study.pruner).__name__,
        storage="in memory",
        n_trials=n_trials,
        timeout=None,
        space=[],
        objective_names=names,
        started_at=time.time(),
        existing_trials=list(study.get_trials(deepcopy=False)),
    )


def _run(
    study: Any,
    objective: Callable[[Any, Runner], Any],
    sink: MlflowSink,
    *,
    n_trials: int,
    n_jobs: int = 1,
    directions: list[str] | None = None,
    names: list[str] | None = None,
) -> Any:
    """Run ``objective(trial, runner)`` through the real Runner with ``sink`` as its only sink."""
    directions = directions or ["minimize"]
    info = _info(study, directions=directions, names=names or ["value"], n_trials=n_trials)
    holder: dict[str, Runner] = {}
    runner = Runner(
        study,
        lambda trial: objective(trial, holder["runner"]),
        info,
        [sink],
        n_trials=n_trials,
        timeout=None,
        n_jobs=n_jobs,
        catch=(RuntimeError,),
    )
    holder["runner"] = runner
    runner.start()
    result = runner.wait(120)
    assert result is not None, "the run did not end"
    return result


def _objective(trial: Any, runner: Runner) -> float:
    """A small objective with a bit of everything: int/float/categorical, reports, a failure."""
    x = trial.suggest_float("x", -4.0, 4.0)
    n = trial.suggest_int("n", 1, 8, log=True)
    kind = trial.suggest_categorical("kind", ["a", "b", None])
    if trial.number == 4:
        raise RuntimeError("boom in trial 4")
    value = (x - 1.0) ** 2 + n * 0.1 + (0.5 if kind == "b" else 0.0)
    for step in range(4):
        # Later trials report worse curves so that the median pruner has something to prune.
        runner.report(trial, value + (3 - step) * 0.2 + trial.number * 0.3, step)
    return value


def _runs_by_number(client: Any, experiment_id: str, parent_id: str) -> dict[int, Any]:
    runs = client.search_runs(
        [experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'", max_results=500
    )
    by_number = {int(r.data.tags["optuna.trial.number"]): r for r in runs}
    assert len(by_number) == len(runs), "two MLflow runs for one trial"
    return by_number


def _check_study_logged(client: Any, sink: MlflowSink, study: Any) -> None:
    """Nested runs match the study trial by trial: params, values, states, intermediate values."""
    assert sink.errors == []
    assert sink.experiment_id is not None and sink.parent_run_id is not None
    parent = client.get_run(sink.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["optuna.study_name"] == study.study_name
    assert "mlflow.parentRunId" not in parent.data.tags

    trials = study.get_trials(deepcopy=False)
    runs = _runs_by_number(client, sink.experiment_id, sink.parent_run_id)
    assert len(runs) == len(trials)
    status = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}
    for t in trials:
        run = runs[t.number]
        assert run.data.tags["optuna.trial.state"] == t.state.name
        assert run.info.status == status[t.state.name]
        assert run.data.params == {k: str(v) for k, v in t.params.items()}
        assert run.info.end_time is not None and run.info.end_time >= run.info.start_time
        assert run.data.metrics["duration_s"] >= 0
        if t.state.name == "COMPLETE":
            assert run.data.metrics["value"] == pytest.approx(t.value)
        else:
            assert "value" not in run.data.metrics
        history = client.get_metric_history(run.info.run_id, "intermediate_value")
        assert {m.step: m.value for m in history} == pytest.approx(t.intermediate_values)
    if study.directions == [optuna.study.StudyDirection.MINIMIZE]:
        best = study.best_trial
        assert parent.data.metrics["best_value"] == pytest.approx(best.value)
        assert parent.data.tags["optuna.best_trial"] == str(best.number)
        for name, value in best.params.items():
            assert parent.data.tags[f"best_params.{name}"] == str(value)


def test_sqlite_store_matches_study(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    sink = MlflowSink.create(uri, "optuna-magic-test")
    study = optuna.create_study(
        study_name="mlflow-sqlite",
        sampler=optuna.samplers.RandomSampler(seed=1),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
    )
    # Two trial threads: events for different trials interleave.
    result = _run(study, _objective, sink, n_trials=16, n_jobs=2)
    assert result.state == "finished"

    states = {t.state.name for t in study.trials}
    assert {"COMPLETE", "PRUNED", "FAIL"} <= states, states
    client = mlflow.MlflowClient(uri)
    _check_study_logged(client, sink, study)
    failed = _runs_by_number(client, sink.experiment_id or "", sink.parent_run_id or "")[4]
    assert "boom in trial 4" in failed.data.tags["optuna.error"]
    parent = client.get_run(sink.parent_run_id or "")
    assert parent.data.params["sampler"] == "RandomSampler"
    assert parent.data.params["pruner"] == "MedianPruner"
    assert parent.data.params["direction"] == "minimize"
    counts = {s: sum(t.state.name == s for t in study.trials) for s in ("COMPLETE", "PRUNED")}
    assert parent.data.metrics["n_trials_complete"] == counts["COMPLETE"]
    assert parent.data.metrics["n_trials_pruned"] == counts["PRUNED"]
    assert parent.data.metrics["n_trials_fail"] == 1


def test_resume_adds_trials_to_the_same_parent_run(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="resumed", storage=storage)

    def objective(trial: Any, runner: Runner) -> float:
        return float(trial.suggest_float("x", 0.0, 1.0))

    first = MlflowSink.create(uri, "resume-test")
    _run(study, objective, first, n_trials=4)
    second = MlflowSink.create(uri, "resume-test")
    _run(study, objective, second, n_trials=3)

    assert second.parent_run_id == first.parent_run_id
    client = mlflow.MlflowClient(uri)
    _check_study_logged(client, second, study)
    parent = client.get_run(second.parent_run_id or "")
    # The best value is logged per run, with the study's trial count as its step.
    history = client.get_metric_history(parent.info.run_id, "best_value")
    assert [m.step for m in history] == [4, 7]


def test_multi_objective_values(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    sink = MlflowSink.create(uri, None)  # MLflow's default experiment
    study = optuna.create_study(directions=["minimize", "maximize"])

    def objective(trial: Any, runner: Runner) -> tuple[float, float]:
        x = trial.suggest_float("x", -2.0, 2.0)
        return x**2, x

    _run(study, objective, sink, n_trials=6, directions=["minimize", "maximize"], names=["l", "x"])
    client = mlflow.MlflowClient(uri)
    assert client.get_experiment(sink.experiment_id or "").name == "Default"
    runs = _runs_by_number(client, sink.experiment_id or "", sink.parent_run_id or "")
    assert len(runs) == 6
    for t in study.trials:
        metrics = runs[t.number].data.metrics
        assert (metrics["l"], metrics["x"]) == pytest.approx(tuple(t.values))
    parent = client.get_run(sink.parent_run_id or "")
    assert parent.data.params["directions"] == "minimize,maximize"
    front = {t.number for t in study.best_trials}
    assert {int(n) for n in parent.data.tags["optuna.best_trials"].split(",")} == front
    assert parent.data.metrics["best_l"] == pytest.approx(min(t.values[0] for t in study.trials))


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """A real ``mlflow server`` on a free loopback port; stopped after the test."""
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--default-artifact-root",
            (tmp_path / "artifacts").as_uri(),
        ],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
        start_new_session=True,  # its uvicorn workers are stopped with it
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import requests

        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"mlflow server exited: {(tmp_path / 'server.log').read_text()[-2000:]}"
                )
            try:
                if requests.get(f"{url}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail("mlflow server did not come up in 90 s")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()


@pytest.mark.slow
def test_real_mlflow_server(mlflow_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    sink = MlflowSink.create(mlflow_server, "server-test")
    study = optuna.create_study(
        study_name="mlflow-server",
        sampler=optuna.samplers.RandomSampler(seed=3),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
    )
    result = _run(study, _objective, sink, n_trials=10, n_jobs=2)
    assert result.state == "finished"
    _check_study_logged(mlflow.MlflowClient(mlflow_server), sink, study)
    # One "View run" link for the study, none per trial.
    assert capsys.readouterr().out.count("View run") <= 1


def test_unreachable_server_fails_fast() -> None:
    port = _free_port()  # nothing listens there
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"cannot reach the MLflow tracking server at http://127"):
        MlflowSink.create(f"http://127.0.0.1:{port}", None)
    assert time.monotonic() - start < 5


def test_silent_server_times_out() -> None:
    # A socket that accepts connections and never answers: the check gives up after ~3 s.
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        start = time.monotonic()
        with pytest.raises(ValueError, match="no answer within 3 s"):
            MlflowSink.create(f"http://127.0.0.1:{port}", None)
        assert time.monotonic() - start < 8


def test_refused_store_is_a_value_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # MLflow 3 refuses the file store unless opted in; the user sees MLflow's reason.
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    with pytest.raises(ValueError, match="MLFLOW_ALLOW_FILE_STORE"):
        MlflowSink.create((tmp_path / "mlruns").as_uri(), None)


def test_mask_uri() -> None:
    assert mask_uri("https://me:secret@host:5000/x") == "https://me:***@host:5000/x"
    assert mask_uri("sqlite:///mlflow.db") == "sqlite:///mlflow.db"


def test_import_does_not_load_mlflow() -> None:
    code = "import sys, optuna_magic.outputs.mlflow; assert 'mlflow' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# ----------------------------------------------------------------- through %%optuna --mlflow
def test_magic_mlflow_option(ip: Any, tmp_path: Path) -> None:
    from shell_helpers import run

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    r = run(
        ip,
        f"%%optuna -n 6 --quiet --seed 0 --study-name magic-mlflow --mlflow {uri}\n"
        "x = hp.float(-1.0, 1.0)\n"
        "kind = hp.choice(['a', 'b'])\n"
        "x ** 2 + (kind == 'b')\n",
    )
    assert r.success, r.error_in_exec
    study = ip.user_ns["study"]
    client = mlflow.MlflowClient(uri)
    (parent,) = client.search_runs(
        ["0"],
        filter_string="tags.`optuna.study_name` = 'magic-mlflow' AND tags.`optuna.role` = 'study'",
    )
    runs = _runs_by_number(client, "0", parent.info.run_id)
    assert len(runs) == len(study.trials) == 6
    for t in study.trials:
        assert runs[t.number].data.params == {k: str(v) for k, v in t.params.items()}
        assert runs[t.number].data.metrics["value"] == pytest.approx(t.value)


def test_magic_mlflow_unreachable_fails_before_any_trial(ip: Any, capsys: Any) -> None:
    from shell_helpers import run

    port = _free_port()
    start = time.monotonic()
    r = run(
        ip,
        f"%%optuna -n 3 --quiet -o unreached --mlflow http://127.0.0.1:{port}\n"
        "x = hp.float(0, 1)\nx\n",
    )
    assert not r.success
    assert time.monotonic() - start < 10
    shown = f"{r.error_in_exec}\n{capsys.readouterr()}"
    assert f"cannot reach the MLflow tracking server at http://127.0.0.1:{port}" in shown
    study = ip.user_ns.get("unreached")
    assert study is None or len(study.trials) == 0
