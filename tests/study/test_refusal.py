"""A refused cell changes nothing: not the bound variable, not the storage, no FAIL trial.

Each case runs the refused cell against a real SQLite file (or the study bound in the shell),
checks that nothing was created, bound or added, then runs the corrected cell.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import optuna
import pytest
from parallel_helpers import quiet_optuna
from shell_helpers import run

from optuna_magic import OptunaMagicError
from optuna_magic.study.storage import open_storage

pytestmark = pytest.mark.timeout(120)

GOOD = "x = hp.float(0, 1)\nx\n"


def _studies(url: str) -> list[str]:
    return sorted(s.study_name for s in optuna.get_all_study_summaries(open_storage(url)))


@pytest.fixture
def url(tmp_path: Any) -> str:
    quiet_optuna()
    return f"sqlite:///{tmp_path}/s.db"


@pytest.fixture
def own_tmp(tmp_path: Any, monkeypatch: Any) -> str:
    """A temporary folder of this test's own, so other tests' folders do not count."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return str(folder)


REFUSED_CELLS = [
    ("compile error", "", "from math import *\nx = hp.float(0, 1)\nx\n", SyntaxError),
    (
        "objective cell raises at top level",
        "",
        "1 / 0\ndef objective(trial):\n    return trial.suggest_float('x', 0, 1)\n",
        ZeroDivisionError,
    ),
    ("unpicklable global", "--workers 2", "x = hp.float(0, 1)\nLOCK\nx\n", OptunaMagicError),
]


@pytest.mark.parametrize(
    ("opts", "cell", "error"), [c[1:] for c in REFUSED_CELLS], ids=[c[0] for c in REFUSED_CELLS]
)
def test_a_cell_refused_after_parsing_leaves_no_study(
    ip: Any, url: str, own_tmp: str, opts: str, cell: str, error: type
) -> None:
    import threading

    ip.user_ns["LOCK"] = threading.Lock()
    line = f"%%optuna -n 3 --quiet --storage {url} --study-name s {opts}\n"
    r = run(ip, line + cell)
    assert isinstance(r.error_in_exec, error), r.error_in_exec
    assert _studies(url) == []
    assert "study" not in ip.user_ns
    assert os.listdir(own_tmp) == []
    r = run(ip, line + GOOD)
    assert r.success, r.error_in_exec
    assert len(ip.user_ns["study"].trials) == 3


def test_a_refused_workers_cell_keeps_the_bound_study(ip: Any, own_tmp: str) -> None:
    import threading

    quiet_optuna()
    assert run(ip, "%%optuna -n 7 --quiet\n" + GOOD).success
    before = ip.user_ns["study"]
    ip.user_ns["LOCK"] = threading.Lock()
    r = run(ip, "%%optuna -n 3 --quiet --workers 2\nx = hp.float(0, 1)\nLOCK\nx\n")
    assert isinstance(r.error_in_exec, OptunaMagicError) and "`LOCK`" in str(r.error_in_exec)
    assert ip.user_ns["study"] is before and len(before.trials) == 7
    assert os.listdir(own_tmp) == []  # no journal folder for a study that was never made


# ------------------------------------------------------------ --resume distributions
STORED = "x = hp.float(0, 1)\nk = hp.int(1, 5)\nc = hp.choice(['a', 'b'])\nx + k\n"
CHANGED = [
    ("float to int", "x = hp.int(0, 1)", "x", "float [0.0, 1.0]", "int [0, 1]"),
    ("log added", "x = hp.float(0.1, 1, log=True)", "x", "float [0.0, 1.0]", "[0.1, 1.0] log"),
    ("int to float", "k = hp.float(1, 5)", "k", "int [1, 5]", "float [1.0, 5.0]"),
    ("other choices", "c = hp.choice(['a', 'z'])", "c", "('a', 'b')", "('a', 'z')"),
]


def _changed_cell(new_line: str) -> str:
    target = new_line.split("=", 1)[0] + "="
    lines = [new_line if ln.startswith(target) else ln for ln in STORED.splitlines()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("new_line", "name", "stored", "new"), [c[1:] for c in CHANGED], ids=[c[0] for c in CHANGED]
)
def test_resume_with_a_changed_distribution_is_refused_before_trial_0(
    ip: Any, url: str, new_line: str, name: str, stored: str, new: str
) -> None:
    line = f"%%optuna -n 3 --quiet --storage {url} --study-name s"
    assert run(ip, f"{line}\n{STORED}").success
    cell = _changed_cell(new_line)
    for _ in range(2):  # a second try adds nothing either
        r = run(ip, f"{line} --resume\n{cell}")
        err = r.error_in_exec
        assert isinstance(err, OptunaMagicError), err
        text = str(err)
        assert f"parameter {name!r}" in text and stored in text and new in text, text
        assert err.line == 1 + cell.splitlines().index(new_line) + 1  # the cell's own line
    stored_study = optuna.load_study(study_name="s", storage=open_storage(url))
    assert [t.state.name for t in stored_study.trials] == ["COMPLETE"] * 3


@pytest.mark.parametrize(
    "new_line", ["k = hp.int(1, 50)", "x = hp.float(0, 2, step=0.5)"], ids=["bounds", "step"]
)
def test_resume_with_new_bounds_or_step_of_the_same_kind_runs(
    ip: Any, url: str, new_line: str
) -> None:
    line = f"%%optuna -n 3 --quiet --storage {url} --study-name s"
    assert run(ip, f"{line}\n{STORED}").success
    r = run(ip, f"{line} --resume\n" + _changed_cell(new_line))
    assert r.success, r.error_in_exec
    assert len(ip.user_ns["study"].trials) == 6


def test_in_memory_resume_with_a_changed_distribution_is_refused(ip: Any) -> None:
    quiet_optuna()
    assert run(ip, "%%optuna -n 3 --quiet\n" + STORED).success
    study = ip.user_ns["study"]
    r = run(ip, "%%optuna -n 3 --quiet --resume\n" + _changed_cell("k = hp.float(1, 5)"))
    assert isinstance(r.error_in_exec, OptunaMagicError), r.error_in_exec
    assert "parameter 'k'" in str(r.error_in_exec)
    assert ip.user_ns["study"] is study and len(study.trials) == 3
