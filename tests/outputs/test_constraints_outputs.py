"""Constrained studies in the outputs that are not the panel: the best trial is the best feasible
one (as ``study.best_trial``), and infeasible trials are counted."""

from __future__ import annotations

import io
import time
from typing import Any

import optuna
import pytest

from optuna_magic.outputs.constraints import is_infeasible, largest_constraint
from optuna_magic.outputs.panel.compare import compare_data, compare_text
from optuna_magic.outputs.panel.record import TrialRecord
from optuna_magic.outputs.snapshot.info import snapshot_info
from optuna_magic.outputs.snapshot.summary import summary_text
from optuna_magic.outputs.text import TextProgress, format_summary
from optuna_magic.run.contract import RunInfo, RunResult
from optuna_magic.run.runner import Runner


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -4, 4)
    trial.set_constraint("c", 1 - x)  # feasible when x >= 1: the best of x * x is not 0
    return x * x


def _study(n: int = 30, seed: int = 3) -> optuna.Study:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(objective, n_trials=n)
    return study


RULES = [
    ("no constraints", {}, False),
    ("feasible at 0", {"constraints:a": 0.0}, False),
    ("infeasible", {"constraints:a": -1.0, "constraints:b": 1e-300}, True),
    ("older list form", {"constraints": [0.5]}, True),
]


@pytest.mark.parametrize(("attrs", "bad"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_feasibility_is_optunas(attrs: dict[str, Any], bad: bool) -> None:
    t = optuna.trial.create_trial(value=1.0, system_attrs=attrs)
    assert is_infeasible(t) is bad
    assert is_infeasible(t) is not all(v <= 0 for v in t.constraints.values())
    if not attrs:
        assert largest_constraint(attrs) != largest_constraint(attrs)  # NaN


def _info(study: optuna.Study) -> RunInfo:
    return RunInfo(
        study.study_name,
        ["minimize"],
        "RandomSampler",
        "NopPruner",
        "in memory",
        30,
        None,
        [],
        ["value"],
        time.time(),
    )


@pytest.mark.parametrize("from_record", [False, True], ids=["from trials", "from the record"])
def test_the_snapshot_shows_the_best_feasible_trial(from_record: bool) -> None:
    study = _study()
    record = None
    if from_record:
        record = TrialRecord()
        record.add_trials(study.trials)
    result = RunResult("finished", study, 30, 1.0)
    info = snapshot_info(study, _info(study), result, record=record)
    n_bad = sum(t.params["x"] < 1 for t in study.trials)
    assert info.best[0].number == study.best_trial.number
    assert info.n_infeasible == n_bad > 0
    assert info.top[0].number == study.best_trial.number
    # The best-so-far line ends at the best feasible value.
    assert info.chart is not None and info.chart.line[-1][1] == study.best_value
    text = summary_text(info)
    assert f"({n_bad} infeasible)" in text and "best feasible" in text
    infeasible_rows = [r for r in info.top if r.infeasible]
    assert all(
        r.number in {t.number for t in study.trials if t.params["x"] < 1} for r in infeasible_rows
    )


def test_the_snapshot_html_marks_infeasible_top_trials() -> None:
    from optuna_magic.outputs.snapshot.html import render_snapshot

    study = optuna.create_study()
    for x in (0.0, 1.0, 2.0):  # the lowest value breaks its constraint
        t = optuna.trial.create_trial(
            value=x,
            params={"x": x},
            distributions={"x": optuna.distributions.FloatDistribution(0, 2)},
            system_attrs={"constraints:c": 1.0 - x},
        )
        study.add_trial(t)
    info = snapshot_info(study, _info(study), RunResult("finished", study, 3, 1.0), top=3)
    assert [r.infeasible for r in info.top] == [False, False, True]
    assert info.best[0].number == 1
    html = render_snapshot(study, _info(study), RunResult("finished", study, 3, 1.0), top=3)
    assert "0 (infeasible)" in html and "Best feasible" in html and "(1 infeasible)" in html


def test_the_text_summary_and_progress_line_show_the_best_feasible_trial() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    stream = io.StringIO()
    runner = Runner(
        study,
        objective,
        _info(study),
        [TextProgress(stream, interval=0.0)],
        n_trials=30,
        timeout=None,
        catch=(),
    )
    runner.start()
    result = runner.wait()
    n_bad = sum(t.params["x"] < 1 for t in study.trials)
    best = study.best_trial
    assert f"{n_bad} infeasible" in stream.getvalue()
    assert f"(#{best.number})" in stream.getvalue().split("\n")[0].split("\r")[-1]
    summary = format_summary(result)
    assert f"at trial #{best.number}" in summary and f"{n_bad} infeasible" in summary


def test_a_study_without_a_feasible_trial_says_so() -> None:
    study = optuna.create_study()
    study.optimize(lambda t: (t.set_constraint("c", 1.0), t.suggest_float("x", 0, 1))[1], 3)
    summary = format_summary(RunResult("finished", study, 3, 1.0))
    assert "No feasible trial" in summary
    info = snapshot_info(study, _info(study), RunResult("finished", study, 3, 1.0))
    assert info.best == [] and "no feasible trial" in summary_text(info)


def test_compare_takes_the_best_feasible_trials() -> None:
    a, b = _study(seed=1), _study(seed=2)
    _, data = compare_data([a, b])
    for study, d in zip((a, b), data, strict=True):
        assert d["best"] is not None and d["best"]["number"] == study.best_trial.number
        assert d["history"][-1][1] == study.best_value
    assert "best" in compare_text("minimize", data)
