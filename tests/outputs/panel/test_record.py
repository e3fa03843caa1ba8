"""The columnar trial record: encoding, deltas, the full record, thread safety."""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from optuna_magic.outputs.panel.record import ParamColumn, TrialRecord

T0 = dt.datetime(2025, 1, 1, 12, 0, 0)
DISTS = {
    "x": FloatDistribution(-5, 5),
    "n": IntDistribution(1, 10),
    "c": CategoricalDistribution(["a", "<b>", None]),
}


def trial(
    number: int, state: TrialState = TrialState.COMPLETE, **kw: Any
) -> optuna.trial.FrozenTrial:
    params = kw.pop("params", {"x": 1.5, "n": 3, "c": "<b>"})
    t = create_trial(
        state=state,
        value=kw.pop("value", 0.5 if state == TrialState.COMPLETE else None),
        params=params,
        distributions={k: DISTS[k] for k in params},
        intermediate_values=kw.pop("intermediate", None),
        user_attrs=kw.pop("user_attrs", None),
        system_attrs=kw.pop("system_attrs", None),
    )
    t.number = number
    t.datetime_start = T0
    t.datetime_complete = None if state == TrialState.RUNNING else T0 + dt.timedelta(seconds=2)
    return t


def decode(message: tuple[dict[str, Any], list[bytes]]) -> dict[str, Any]:
    """The message's buffers as numpy arrays, the way the front end reads them."""
    content, b = message
    k, nv, npar = content["n_trials"], content["n_values"], content["n_params"]
    return {
        **content,
        "number": np.frombuffer(b[0], "<i4"),
        "state": np.frombuffer(b[1], "u1"),
        "values": np.frombuffer(b[2], "<f8").reshape(nv, k),
        "param_values": np.frombuffer(b[3], "<f8").reshape(npar, k),
        "start": np.frombuffer(b[4], "<f8"),
        "duration": np.frombuffer(b[5], "<f8"),
        "pruned_step": np.frombuffer(b[6], "<i4"),
        "int_trial": np.frombuffer(b[7], "<i4"),
        "int_step": np.frombuffer(b[8], "<i4"),
        "int_value": np.frombuffer(b[9], "<f8"),
        "constraint": np.frombuffer(b[10], "<f4"),
    }


ENCODING = [
    ("float", "x", 1.5, 1.5),
    ("int", "n", 3, 3.0),
    ("choice index", "c", "<b>", 1.0),
    ("choice None", "c", None, 2.0),
]


@pytest.mark.parametrize(
    ("name", "value", "encoded"), [c[1:] for c in ENCODING], ids=[c[0] for c in ENCODING]
)
def test_param_encoding(name: str, value: Any, encoded: float) -> None:
    record = TrialRecord()
    params = {"x": 0.0, "n": 1, "c": "a", name: value}
    record.trial_finished(trial(0, params=params))
    d = decode(record.delta())
    column = [p["name"] for p in d["params"]].index(name)
    assert d["param_values"][column, 0] == encoded
    choices = d["params"][[p["name"] for p in d["params"]].index("c")]["choices"]
    assert choices == ["a", "<b>", "None"]


DELTAS: list[tuple[str, Any, dict[str, Any]]] = [
    (
        "running then complete sends the row twice",
        lambda r: (r.trial_started(0), r.delta(), r.trial_finished(trial(0))),
        {"number": [0], "state": [1]},
    ),
    (
        "only new rows",
        lambda r: (r.trial_finished(trial(0)), r.delta(), r.trial_finished(trial(1))),
        {"number": [1], "state": [1]},
    ),
    (
        "intermediate values are appended once",
        lambda r: (
            r.trial_started(0),
            r.trial_reported(0, 1, 0.9),
            r.delta(),
            r.trial_reported(0, 2, 0.8),
        ),
        {"number": [], "int_step": [2], "int_value": [0.8]},
    ),
    (
        "pruned step and event",
        lambda r: (
            r.trial_started(2),
            r.trial_reported(2, 4, 0.7),
            r.trial_finished(trial(2, TrialState.PRUNED, intermediate={4: 0.7})),
        ),
        {
            "number": [2],
            "state": [2],
            "pruned_step": [4],
            "events": [{"kind": "pruned", "trial": 2, "step": 4, "value": 0.7}],
        },
    ),
    (
        "failed event carries the message, not the traceback",
        lambda r: r.trial_finished(
            trial(0, TrialState.FAIL), ("ValueError: <boom>", "Traceback...")
        ),
        {
            "number": [0],
            "state": [3],
            "events": [{"kind": "failed", "trial": 0, "message": "ValueError: <boom>"}],
        },
    ),
    (
        "values of a resumed trial are added",
        lambda r: r.add_trials([trial(5, intermediate={0: 1.0, 1: 0.5})]),
        {"number": [5], "int_trial": [5, 5], "int_step": [0, 1]},
    ),
    (
        "a dynamic param adds a column and resends the headers",
        lambda r: (
            r.trial_finished(trial(0, params={"x": 1.0})),
            r.delta(),
            r.trial_finished(trial(1, params={"x": 1.0, "n": 2})),
        ),
        {"number": [1], "param_names": ["x", "n"]},
    ),
]


def test_a_delta_carries_the_headers_only_where_they_changed() -> None:
    """~150 B a parameter: sent in the first delta, the one with a new parameter, and in every
    ``full`` (a view that missed a delta asks for one), never with unchanged headers."""
    record = TrialRecord()
    record.trial_finished(trial(0, params={"x": 1.0, "c": "a"}))
    first, _ = record.delta()
    assert [p["name"] for p in first["params"]] == ["x", "c"]
    record.trial_finished(trial(1, params={"x": 2.0, "c": "a"}))
    same, _ = record.delta()
    assert "params" not in same and same["n_params"] == 2
    record.trial_finished(trial(2, params={"x": 2.0, "c": "<b>"}))  # a choice its header has
    assert "params" not in record.delta()[0]
    record.trial_finished(trial(3, params={"x": 2.0, "c": "a", "n": 4}))
    added, _ = record.delta()
    assert [p["name"] for p in added["params"]] == ["x", "c", "n"]
    record.trial_finished(trial(4, params={"x": 3.0, "c": "a", "n": 5}))
    assert "params" not in record.delta()[0]
    full, _ = record.full()
    assert [p["name"] for p in full["params"]] == ["x", "c", "n"]


@pytest.mark.parametrize(("steps", "expected"), [c[1:] for c in DELTAS], ids=[c[0] for c in DELTAS])
def test_delta(steps: Any, expected: dict[str, Any]) -> None:
    record = TrialRecord()
    steps(record)
    d = decode(record.delta())
    for key, want in expected.items():
        if key == "events":
            got = [{k: e[k] for k in w} for e, w in zip(d["events"], want, strict=True)]
            assert got == want
        elif key == "param_names":
            assert [p["name"] for p in d["params"]] == want
        else:
            assert d[key].tolist() == want, key
    assert record.delta() is None  # nothing new since


def test_values_and_times() -> None:
    record = TrialRecord(n_values=2)
    t = trial(0)
    t.values = [0.25, 4.0]
    record.trial_finished(t)
    d = decode(record.delta())
    assert d["values"][:, 0].tolist() == [0.25, 4.0]
    assert d["start"][0] == T0.timestamp()
    assert d["duration"][0] == 2.0


def test_full_is_the_state_as_of_the_last_delta() -> None:
    record = TrialRecord()
    for n in range(3):
        record.trial_finished(trial(n, intermediate={0: float(n)}))
    record.delta()
    record.trial_finished(trial(3))  # not yet in a delta: must come with the next delta only
    full = decode(record.full())
    assert full["type"] == "full" and full["seq"] == 1
    assert full["number"].tolist() == [0, 1, 2]
    assert full["int_trial"].tolist() == [0, 1, 2]
    nxt = decode(record.delta())
    assert nxt["seq"] == 2 and nxt["number"].tolist() == [3]


def test_best_and_counts() -> None:
    record = TrialRecord(params=[ParamColumn("c", "categorical", choices=["a", "<b>", "None"])])
    record.add_trials([trial(0, value=3.0), trial(1, value=1.0), trial(2, TrialState.PRUNED)])
    record.trial_started(3)
    assert record.best(["minimize"]) == {
        "number": 1,
        "values": [1.0],
        "params": {"c": "<b>", "x": 1.5, "n": 3},
    }
    assert record.best(["maximize"])["number"] == 0
    assert record.best(["minimize", "minimize"]) is None
    assert record.counts() == {"RUNNING": 1, "COMPLETE": 2, "PRUNED": 1, "FAIL": 0, "WAITING": 0}


def test_trial_detail() -> None:
    record = TrialRecord()
    record.trial_finished(
        trial(0, TrialState.FAIL, user_attrs={"note": "<i>x</i>", "w": [1, 2]}),
        ("KeyError: 'k'", "Traceback (most recent call last): ..."),
    )
    detail = record.trial_detail(0)
    assert detail["traceback"].startswith("Traceback")
    assert detail["user_attrs"] == {"note": "<i>x</i>", "w": [1, 2]}


@pytest.mark.parametrize("n", [1_000, 5_000], ids=["1k", "5k"])
def test_bytes_per_trial_is_constant(n: int) -> None:
    record = TrialRecord(
        params=[
            ParamColumn("x", "float"),
            ParamColumn("n", "int"),
            ParamColumn("c", "categorical", choices=["a", "<b>", "None"]),
            ParamColumn("z", "float"),
        ]
    )
    sent = 0
    for i in range(n):
        t = trial(i)
        t.params["z"] = 0.1
        t.distributions["z"] = FloatDistribution(0, 1)
        record.trial_finished(t)
        if i % 100 == 99:
            content, buffers = record.delta()
            sent += len(repr(content)) + sum(len(b) for b in buffers)
    assert sent / n <= 150
    assert 60 <= sum(len(b) for b in record.full()[1]) / n <= 70


def test_concurrent_appends() -> None:
    record = TrialRecord()

    def work(offset: int) -> None:
        for i in range(offset, 2000, 4):
            record.trial_started(i)
            record.trial_reported(i, 0, 1.0)
            record.trial_finished(trial(i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    seen: list[int] = []
    for th in threads:
        th.start()
    deadline = time.monotonic() + 60
    while any(th.is_alive() for th in threads):
        assert time.monotonic() < deadline, "the writer threads did not end"
        d = record.delta()
        if d is not None:
            seen.extend(decode(d)["int_trial"].tolist())
    for th in threads:
        th.join()
    d = record.delta()
    if d is not None:
        seen.extend(decode(d)["int_trial"].tolist())
    assert sorted(seen) == list(range(2000))
    assert len(record) == 2000
    assert record.counts()["COMPLETE"] == 2000


class LightTrial:
    """Reads like a FrozenTrial without last_step or system_attrs (the runner's TrialEvent)."""

    def __init__(self, number: int, state: TrialState, intermediate: dict[int, float]) -> None:
        self.number, self.state, self.values = number, state, None
        self.params = {"x": 1.0}
        self.distributions = {"x": DISTS["x"]}
        self.intermediate_values = intermediate
        self.user_attrs: dict[str, Any] = {}
        self.datetime_start = T0
        self.datetime_complete = T0 + dt.timedelta(seconds=1)


LIGHT = [
    (
        "pruned without last_step: the last reported step",
        TrialState.PRUNED,
        {0: 0.9, 3: 0.4},
        {"pruned_step": [3], "events": [{"kind": "pruned", "step": 3, "value": 0.4}]},
    ),
    (
        "failed without system_attrs",
        TrialState.FAIL,
        {},
        {"state": [3], "events": [{"kind": "failed", "message": "failed"}]},
    ),
]


@pytest.mark.parametrize(
    ("state", "intermediate", "expected"), [c[1:] for c in LIGHT], ids=[c[0] for c in LIGHT]
)
def test_trial_like_objects(
    state: TrialState, intermediate: dict[int, float], expected: dict[str, Any]
) -> None:
    record = TrialRecord()
    record.trial_finished(LightTrial(0, state, intermediate))
    d = decode(record.delta())
    for key, want in expected.items():
        if key == "events":
            assert [{k: e[k] for k in w} for e, w in zip(d["events"], want, strict=True)] == want
        else:
            assert d[key].tolist() == want


# ------------------------------------------------------------------------------ constraints
# (id, the trial's system attributes, its largest constraint cell; NaN: no constraint, feasible)
CONSTRAINTS = [
    ("none", {}, math.nan),
    ("another system attribute", {"nsga2:generation": 3}, math.nan),
    ("feasible", {"constraints:a": -1.0, "constraints:b": 0.0}, 0.0),
    ("infeasible", {"constraints:a": -1.0, "constraints:b": 2.5}, 2.5),
    ("older list form", {"constraints": [-1.0, 0.25]}, 0.25),
    ("keyed value replaces the listed one", {"constraints": [3.0], "constraints:0": -1.0}, -1.0),
    ("empty list", {"constraints": []}, math.nan),
]
# How a trial reaches the record: the runner's fast path, a trial event, a polled trial.
PATHS = ["completed", "event", "finished", "polled"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("attrs", "cell"), [c[1:] for c in CONSTRAINTS], ids=[c[0] for c in CONSTRAINTS]
)
def test_the_largest_constraint_is_recorded(path: str, attrs: dict[str, Any], cell: float) -> None:
    record = TrialRecord(
        1,
        [
            ParamColumn("x", "float"),
            ParamColumn("n", "int"),
            ParamColumn("c", "categorical", choices=["a", "<b>", "None"]),
        ],
    )
    t = trial(0, system_attrs=attrs)
    if path == "completed":
        assert record.trial_completed(t, (0.5,), 1.0, 2.0)
    elif path == "event":
        from optuna_magic.run.contract import TrialEvent

        t.user_attrs = {"fold": 1}  # not a row: the event itself is queued
        record.trial_finished(TrialEvent(t, t.state, (0.5,), 0, 1.0, 2.0))
    elif path == "finished":
        record.trial_finished(t)
    else:
        record.add_trials([t])
    d = decode(record.delta())
    assert np.array_equal(d["constraint"], [cell], equal_nan=True)
    assert record.n_infeasible() == (1 if cell > 0 else 0)


def test_a_violation_too_small_for_float32_stays_infeasible() -> None:
    record = TrialRecord()
    record.trial_finished(trial(0, system_attrs={"constraints:a": 1e-50}))
    assert decode(record.delta())["constraint"][0] > 0


def test_the_best_trial_is_the_best_feasible_one_as_optuna_says() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))

    def objective(t: optuna.Trial) -> float:
        x = t.suggest_float("x", -5, 5)
        t.set_constraint("c", 1 - x)  # feasible when x >= 1
        return x * x

    study.optimize(objective, n_trials=40)
    record = TrialRecord()
    record.add_trials(study.trials)
    best = record.best(["minimize"])
    assert best is not None and best["number"] == study.best_trial.number
    assert record.n_infeasible() == sum(t.params["x"] < 1 for t in study.trials)


def test_no_feasible_trial_means_no_best() -> None:
    record = TrialRecord()
    record.trial_finished(trial(0, system_attrs={"constraints:a": 1.0}))
    assert record.best(["minimize"]) is None


def test_a_polled_trial_that_gains_constraints_is_updated() -> None:
    record = TrialRecord()
    record.add_trials([trial(0, TrialState.RUNNING)])
    record.delta()
    record.add_trials([trial(0, system_attrs={"constraints:a": 4.0})])
    assert decode(record.delta())["constraint"].tolist() == [4.0]


# ------------------------------------------------------------- the kept best and counts
@pytest.mark.parametrize("kept", [5, 1 << 16], ids=["rescans", "incremental"])
def test_the_kept_best_and_counts_match_a_scan_through_any_writes(
    kept: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The best and the counts are kept as rows are written, not scanned for at each read:
    through starts, polled running trials, every end state, repeated polls, constraints,
    infinite values and ties, read at random moments in either direction, they are what a scan
    of the trials gives. ``kept`` small: the kept rows overflow between reads and the read
    scans instead."""
    from optuna_magic.outputs.panel import batch

    monkeypatch.setattr(batch, "_COMPLETED_KEPT", kept)
    rng = np.random.default_rng(7)
    record = TrialRecord(params=[ParamColumn("x", "float")])
    truth: dict[int, tuple[TrialState, float, float]] = {}  # number -> state, value, constraint
    states = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL]
    for number in range(600):
        how = rng.integers(4)
        value = float(rng.choice([np.inf, 1.0, 2.0, rng.normal()]))  # inf: not a usable best
        violation = float(rng.choice([-1.0, 0.0, 0.5])) if rng.random() < 0.3 else None
        attrs = {"constraints:a": violation} if violation is not None else None
        if how == 0:
            record.trial_started(number)
            truth[number] = (TrialState.RUNNING, math.nan, math.nan)
        elif how == 1:
            record.mark_running({number: 1.0})
            truth[number] = (TrialState.RUNNING, math.nan, math.nan)
        state = states[int(rng.integers(3))] if rng.random() < 0.4 else TrialState.COMPLETE
        t = trial(
            number,
            state,
            value=value if state == TrialState.COMPLETE else None,
            params={"x": 1.0},
            system_attrs=attrs,
        )
        if how == 3:  # polled: seen running first, then again once it ended
            record.add_trials([trial(number, TrialState.RUNNING, params={"x": 1.0})])
            record.add_trials([t])
        else:
            record.trial_finished(t)
        c = math.nan if violation is None else violation
        truth[number] = (state, value if state == TrialState.COMPLETE else math.nan, c)
        if rng.random() < 0.15:
            direction = "maximize" if rng.random() < 0.3 else "minimize"
            _check_against_a_scan(record, truth, direction)
    _check_against_a_scan(record, truth, "minimize")
    _check_against_a_scan(record, truth, "maximize")


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_a_tie_goes_to_the_lowest_number_whatever_order_trials_end_in(direction: str) -> None:
    # With --n-jobs, trials end out of order: the rows a read finds completed are not sorted.
    best, worse = (1.0, 3.0) if direction == "minimize" else (3.0, 1.0)
    record = TrialRecord(params=[ParamColumn("x", "float")])
    record.trial_finished(trial(9, value=worse, params={"x": 1.0}))
    assert record.best([direction])["number"] == 9  # type: ignore[index]
    for number, value in ((8, best), (6, best), (7, worse), (4, best)):
        record.trial_finished(trial(number, value=value, params={"x": 1.0}))
    assert record.best([direction])["number"] == 4  # type: ignore[index]
    for number in (5, 2):  # the kept best ties with a later read's rows
        record.trial_finished(trial(number, value=best, params={"x": 1.0}))
    assert record.best([direction])["number"] == 2  # type: ignore[index]


def _check_against_a_scan(
    record: TrialRecord, truth: dict[int, tuple[TrialState, float, float]], direction: str
) -> None:
    usable = [
        (v if direction == "minimize" else -v, n)
        for n, (s, v, c) in truth.items()
        if s == TrialState.COMPLETE and math.isfinite(v) and not c > 0
    ]
    best = record.best([direction])
    if not usable:
        assert best is None
    else:
        assert best is not None and best["number"] == min(usable)[1]  # a tie: the lowest number
    want = {name: 0 for name in ("RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING")}
    for s, _, _ in truth.values():
        want[s.name] += 1
    assert record.counts() == want
    assert len(record) == len(truth)
