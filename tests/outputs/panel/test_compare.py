"""The compare panel's data: best-so-far histories, EDFs and best trials of several studies."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from optuna_magic.cell.space import OptunaMagicError
from optuna_magic.outputs.panel.compare import EDF_POINTS, compare_data


def study_of(
    values: list[float], direction: str = "minimize", name: str | None = None
) -> optuna.Study:
    study = optuna.create_study(direction=direction, study_name=name)
    dist = optuna.distributions.FloatDistribution(0, 100)
    for v in values:
        study.add_trial(
            optuna.trial.create_trial(params={"x": float(v)}, distributions={"x": dist}, value=v)
        )
    return study


def test_histories_edfs_and_best_trials() -> None:
    a = study_of([5, 3, 4, 1, 2], name="tpe")
    b = study_of([2, 2, 6], name="random")
    b.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    direction, (da, db) = compare_data([a, b])
    assert direction == "minimize"
    assert da["name"] == "tpe" and da["history"] == [[0, 5], [1, 3], [3, 1], [4, 1]]
    assert da["edf_values"] == [1, 2, 3, 4, 5] and da["edf_fractions"] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert da["best"] == {"number": 3, "value": 1.0, "params": {"x": 1.0}}
    assert db["history"] == [[0, 2], [2, 2]]  # a tie does not improve
    assert db["counts"] == {"COMPLETE": 3, "FAIL": 1} and db["n_complete"] == 3


def test_maximize_and_labels() -> None:
    _, (da, _) = compare_data(
        [study_of([1, 3, 2], "maximize"), study_of([0], "maximize")], ["a", "b"]
    )
    assert da["name"] == "a" and da["history"] == [[0, 1], [1, 3], [2, 3]]


def test_a_large_study_sends_a_bounded_edf() -> None:
    rng = np.random.default_rng(0)
    big = study_of(list(rng.uniform(0, 100, 3 * EDF_POINTS)))
    _, (d, _) = compare_data([big, study_of([1.0])])
    assert len(d["edf_values"]) == EDF_POINTS
    assert d["edf_values"] == sorted(d["edf_values"]) and d["edf_fractions"][-1] == 1.0


@pytest.mark.parametrize(
    ("studies", "message"),
    [
        (lambda: [study_of([1])], "at least two studies"),
        (lambda: [study_of([1]), study_of([1], "maximize")], "go the same way"),
        (
            lambda: [study_of([1]), optuna.create_study(directions=["minimize"] * 2)],
            "one objective",
        ),
    ],
)
def test_what_cannot_be_compared_is_refused(studies, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OptunaMagicError, match=message):
        compare_data(studies())


def test_api_compare_is_a_panel_with_a_text_form() -> None:
    import optuna_magic

    panel = optuna_magic.compare(study_of([3, 1]), study_of([2]), names=["tpe", "random"])
    try:
        assert panel.kind == "compare" and panel.direction == "minimize"
        assert [s["name"] for s in panel.studies] == ["tpe", "random"]
        text = repr(panel)
        assert text.splitlines()[0] == "Compare (minimize):"
        assert "tpe" in text and "best 1 at trial #1" in text
    finally:
        panel.close()


def test_magic_compare_names_the_variables_and_refuses_what_is_not_a_study(ip, capsys) -> None:  # type: ignore[no-untyped-def]
    from IPython.core.error import UsageError

    ip.user_ns["tpe"], ip.user_ns["rnd"] = study_of([3, 1]), study_of([2, 5])
    ip.run_line_magic("optuna", "compare tpe rnd")
    out = capsys.readouterr().out
    assert "Compare (minimize):" in out and "  tpe " in out and "  rnd " in out
    ip.user_ns["notastudy"] = 3
    for line, message in (
        ("compare tpe", "two or more"),
        ("compare tpe notastudy", "`notastudy` holds an int, not an Optuna study"),
        ("compare tpe missing", "`missing` holds nothing"),
    ):
        with pytest.raises(UsageError, match=message):
            ip.run_line_magic("optuna", line)
