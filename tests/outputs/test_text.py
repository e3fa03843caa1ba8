"""The text sink: a line updated in place, then a summary; no Optuna INFO lines."""

from __future__ import annotations

import io
import logging
import time
from typing import Any

import optuna

from optuna_magic.outputs.text import TextProgress
from optuna_magic.run.runner import RunInfo, Runner


def _run(n: int, objective: Any, stream: io.StringIO, interval: float = 0.0) -> Any:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    info = RunInfo(
        "s",
        ["minimize"],
        "RandomSampler",
        "MedianPruner",
        "in memory",
        n,
        None,
        [],
        ["value"],
        time.time(),
    )
    runner = Runner(
        study,
        objective,
        info,
        [TextProgress(stream, interval=interval)],
        n_trials=n,
        timeout=None,
        catch=(Exception,),
    )
    runner.start()
    return runner.wait()


def test_progress_line_is_redrawn_in_place_then_summarised() -> None:
    out = io.StringIO()

    def objective(t: optuna.Trial) -> float:
        x = t.suggest_float("x", 0, 1)
        if t.number == 3:
            raise ValueError("bad luck")
        return x

    result = _run(10, objective, out)
    text = out.getvalue()
    frames = [f for f in text.split("\r") if f]
    assert len(frames) > 3
    assert frames[-1].splitlines()[0].startswith("optuna: 10/10 | best")
    assert "1 failed" in frames[-1]
    assert "finished: 10 trials" in text and "Best value" in text and "params: x=" in text
    assert result.state == "finished"


def test_redraws_are_throttled() -> None:
    out = io.StringIO()
    _run(300, lambda t: t.suggest_float("x", 0, 1), out, interval=10.0)
    # First line, the forced last line and the summary: not one write per trial.
    assert out.getvalue().count("\r") <= 3


def test_no_optuna_info_lines_during_a_magic_run(ip: Any, capsys: Any, caplog: Any) -> None:
    from shell_helpers import run

    with caplog.at_level(logging.INFO, logger="optuna"):
        run(ip, "%%optuna -n 5\nx = hp.float(0, 1)\nx\n")
    captured = capsys.readouterr()
    assert "Trial 0 finished" not in captured.out + captured.err
    assert not [r for r in caplog.records if "finished with value" in r.getMessage()]
    assert "optuna: 5/5" in captured.out
