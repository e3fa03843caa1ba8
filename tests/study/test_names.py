"""Names that mean something: a readable study name without --study-name, and the objectives'
names from --metric-names or the cell's last expression, in the study, the panel and the text."""

from __future__ import annotations

import ast
from typing import Any

import optuna
import pytest
from shell_helpers import run

from optuna_magic.cell.value import value_names


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("loss", ("loss",)),
        ("(loss, acc)", ("loss", "acc")),
        ("loss, acc", ("loss", "acc")),
        ("result.accuracy", ("accuracy",)),
        ("scores['f1'], scores['recall']", ("f1", "recall")),
        ("(x - 2) ** 2", None),
        ("cross_val_score(m, X, y).mean()", None),
        ("(loss, loss)", None),  # not distinct: no names rather than wrong ones
        ("(loss, 1 - acc)", None),  # one value has no name: none named
        ("scores[0]", None),
    ],
)
def test_names_read_from_the_last_expression(source: str, names: tuple[str, ...] | None) -> None:
    expr = ast.parse(source, mode="eval").body
    assert value_names(expr) == names


def test_a_new_study_is_named_after_its_variable_and_cell(ip: Any) -> None:
    r = run(ip, "%%optuna -n 2 --quiet -o tuned\nx = hp.float(0, 1)\n(x - 0.5) ** 2\n")
    assert r.success, r.error_in_exec
    name = ip.user_ns["tuned"].study_name
    assert name.startswith("tuned-") and name.removeprefix("tuned-").isdigit()
    assert "no-name" not in name


def test_the_readable_name_is_unique_in_the_storage(ip: Any, tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/names.db"
    cell = f"%%optuna -n 2 --quiet -o s --storage {url}\nx = hp.float(0, 1)\n(x - 0.5) ** 2\n"
    # The same cell three times: a cell run without history keeps one execution count, so
    # every run asks for the same name, and the storage must not take it twice.
    names = []
    for _ in range(3):
        r = run(ip, cell)
        assert r.success, r.error_in_exec
        names.append(ip.user_ns["s"].study_name)
    assert len(set(names)) == 3
    stored = sorted(optuna.get_all_study_names(url))
    assert stored == sorted(names)
    base = names[0]
    assert base.startswith("s-") and names[1:] == [f"{base}-2", f"{base}-3"]


def test_objectives_are_named_from_the_last_expression(ip: Any, capsys: Any) -> None:
    r = run(
        ip,
        "%%optuna -n 4 --directions minimize maximize\n"
        "x = hp.float(0, 1)\nloss = (x - 0.3) ** 2\naccuracy = 1 - loss\n(loss, accuracy)\n",
    )
    assert r.success, r.error_in_exec
    # Shown (the Pareto front lines name the values), not stored: storing them would rename
    # trials_dataframe()'s value columns under the user's code.
    out = capsys.readouterr().out
    assert "loss=" in out and "accuracy=" in out
    study = ip.user_ns["study"]
    assert study.metric_names is None
    assert {"values_0", "values_1"} <= set(study.trials_dataframe().columns)


def test_an_inferred_name_reaches_the_panel_and_the_summary(ip: Any, capsys: Any) -> None:
    r = run(ip, "%%optuna -n 3\nx = hp.float(0, 1)\nrmse = x ** 2\nrmse\n")
    assert r.success, r.error_in_exec
    assert "Best rmse " in capsys.readouterr().out
    assert "value" in ip.user_ns["study"].trials_dataframe().columns


def test_metric_names_option_wins_and_reaches_the_panel(ip: Any, capsys: Any) -> None:
    r = run(
        ip, "%%optuna -n 3 --metric-names rmse -o named\nx = hp.float(0, 1)\nloss = x ** 2\nloss\n"
    )
    assert r.success, r.error_in_exec
    study = ip.user_ns["named"]
    assert study.metric_names == ["rmse"]
    assert "Best rmse " in capsys.readouterr().out
    import optuna_magic

    panel = optuna_magic.panel(study, live=False)
    try:
        assert panel.meta["objective_names"] == ["rmse"]
    finally:
        panel.close()


def test_a_value_that_is_a_parameter_names_no_objective(ip: Any, capsys: Any) -> None:
    r = run(ip, "%%optuna -n 2\nx = hp.float(0, 1)\nx\n")
    assert r.success, r.error_in_exec
    assert "Best value " in capsys.readouterr().out
    assert ip.user_ns["study"].metric_names is None


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ("--metric-names a b", "gives 2 name(s) for 1 direction(s)"),
        ("--directions minimize minimize --metric-names a a", "distinct"),
    ],
)
def test_bad_metric_names_are_refused_and_change_nothing(
    ip: Any, tmp_path: Any, opts: str, message: str
) -> None:
    url = f"sqlite:///{tmp_path}/refused.db"
    ip.user_ns.pop("never", None)
    r = run(ip, f"%%optuna -n 2 --quiet -o never --storage {url} {opts}\nx = hp.float(0, 1)\nx\n")
    assert message in str(r.error_in_exec)
    assert "never" not in ip.user_ns
    assert optuna.get_all_study_names(url) == []


def test_resume_refuses_other_metric_names_and_keeps_the_stored_ones(
    ip: Any, tmp_path: Any
) -> None:
    url = f"sqlite:///{tmp_path}/resume.db"
    cell = "x = hp.float(0, 1)\nloss = x ** 2\nloss\n"
    r = run(
        ip, f"%%optuna -n 2 --quiet --storage {url} --study-name kept --metric-names loss\n{cell}"
    )
    assert r.success, r.error_in_exec
    r = run(
        ip,
        f"%%optuna -n 2 --quiet --storage {url} --study-name kept --resume --metric-names mse\n"
        + cell,
    )
    assert "names its objectives loss" in str(r.error_in_exec)
    stored = optuna.load_study(study_name="kept", storage=url)
    assert stored.metric_names == ["loss"] and len(stored.trials) == 2
