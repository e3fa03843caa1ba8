"""``--keep-best``: what it binds, what it never overwrites, and what it says when it cannot."""

from __future__ import annotations

from typing import Any

import optuna
import pytest
from parallel_helpers import quiet_optuna
from shell_helpers import run


@pytest.fixture(autouse=True)
def _quiet() -> None:
    quiet_optuna()


def test_a_cell_variable_named_like_the_study_does_not_replace_it(ip: Any, capsys: Any) -> None:
    r = run(
        ip,
        "%%optuna -n 5 --seed 0 --quiet --keep-best\nx = hp.float(-5, 5)\n"
        "study = 'a name in the cell'\nmodel = {'x': x}\n(x - 1) ** 2\n",
    )
    assert r.success, r.error_in_exec
    study = ip.user_ns["study"]
    assert isinstance(study, optuna.Study) and len(study.trials) == 5
    assert ip.user_ns["model"] == {"x": study.best_params["x"]}
    out = capsys.readouterr().out
    assert "`study`" in out and "not kept" in out and "-o" in out


def _stored(tmp_path: Any) -> str:
    return f"%%optuna --quiet --keep-best --storage sqlite:///{tmp_path}/s.db --study-name s"


def test_keep_best_after_resume_says_the_best_is_from_an_earlier_run(
    ip: Any, capsys: Any, tmp_path: Any
) -> None:
    line = _stored(tmp_path)
    assert run(ip, f"{line} -n 1\nx = hp.float(0, 1)\nmodel = 'first run'\n0.0\n").success
    capsys.readouterr()
    r = run(ip, f"{line} -n 2 --resume\nx = hp.float(0, 1)\nmodel = trial.number\n1.0 + x\n")
    assert r.success, r.error_in_exec
    study = ip.user_ns["study"]
    assert study.best_trial.number == 0
    out = capsys.readouterr().out
    assert "best trial #0 is from an earlier run" in out, out
    best_here = min(study.trials[1:], key=lambda t: t.value)
    assert f"kept the variables of this run's best trial #{best_here.number}" in out, out
    assert ip.user_ns["model"] == best_here.number


def test_keep_best_after_resume_keeps_nothing_when_no_trial_of_this_run_completed(
    ip: Any, capsys: Any, tmp_path: Any
) -> None:
    line = _stored(tmp_path)
    assert run(ip, f"{line} -n 1\nx = hp.float(0, 1)\n0.0\n").success
    ip.user_ns.pop("model", None)
    r = run(
        ip,
        f"{line} -n 2 --resume --catch\nx = hp.float(0, 1)\nmodel = 1\n"
        "if x >= 0:\n    raise ValueError\nx\n",
    )
    assert r.success, r.error_in_exec
    out = capsys.readouterr().out
    assert "best trial #0 is from an earlier run" in out and "kept nothing" in out, out
    assert "model" not in ip.user_ns
