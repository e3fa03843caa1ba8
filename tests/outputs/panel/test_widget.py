"""The live panel through a real comm: traits, deltas, throttling, sync, stop, importance."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import comm
import numpy as np
import optuna
import pytest
from comm.base_comm import BaseComm

from optuna_magic.cell.space import ParamSpec
from optuna_magic.outputs.panel import wire as wire_module
from optuna_magic.outputs.panel.widget import StudyPanel
from optuna_magic.run.runner import RunInfo, Runner, RunResult, TrialError

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass
class Sent:
    """One message the kernel side published on the widget's comm."""

    at: float
    msg_type: str
    data: dict[str, Any]
    buffers: list[bytes]

    @property
    def size(self) -> int:
        return len(json.dumps(self.data, default=str)) + sum(len(b) for b in self.buffers)

    @property
    def custom(self) -> dict[str, Any] | None:
        if self.data.get("method") == "custom":
            return self.data["content"]
        return None


@dataclass
class Wire:
    messages: list[Sent] = field(default_factory=list)

    def comm_msgs(self, since: float = 0.0) -> list[Sent]:
        return [m for m in self.messages if m.msg_type == "comm_msg" and m.at >= since]

    def customs(self, kind: str) -> list[dict[str, Any]]:
        return [m.custom for m in self.comm_msgs() if m.custom and m.custom["type"] == kind]


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Iterator[Wire]:
    """Widgets created in the test get a comm that records what it would send to the browser."""
    recorded = Wire()

    class RecordingComm(BaseComm):
        def publish_msg(
            self,
            msg_type: str,
            data: Any = None,
            metadata: Any = None,
            buffers: Any = None,
            **keys: Any,
        ) -> None:
            recorded.messages.append(
                Sent(time.time(), msg_type, data or {}, [bytes(b) for b in buffers or []])
            )

    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))
    yield recorded


SPACE = [
    ParamSpec("x", "float", -5, 5, line=1),
    ParamSpec("n", "int", 1, 10, line=2),
    ParamSpec("act", "categorical", choices=("relu", "<img src=x onerror=alert(1)>"), line=3),
    ParamSpec("lr", "float", 1e-4, 1, log=True, line=4),
]


def objective(trial: optuna.Trial) -> float:
    return (
        trial.suggest_float("x", -5, 5) ** 2
        + trial.suggest_int("n", 1, 10)
        + len(trial.suggest_categorical("act", ["relu", "<img src=x onerror=alert(1)>"]))
        + trial.suggest_float("lr", 1e-4, 1, log=True)
    )


def info_for(study: optuna.Study, n_trials: int | None = None, **kw: Any) -> RunInfo:
    base: dict[str, Any] = {
        "study_name": study.study_name,
        "directions": [d.name.lower() for d in study.directions],
        "sampler": "RandomSampler",
        "pruner": "MedianPruner",
        "storage": "postgresql://user:***@db/optuna",
        "n_trials": n_trials,
        "timeout": None,
        "space": SPACE,
        "objective_names": [],
        "started_at": time.time(),
    }
    base.update(kw)
    return RunInfo(**base)


def receive(panel: StudyPanel, content: dict[str, Any]) -> None:
    """Deliver a message from the front end the way the kernel's comm manager does."""
    panel.comm.handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    )


def viewed(panel: StudyPanel) -> StudyPanel:
    """``panel`` with a view open on it: a view asks for the record ("sync") as it opens, and
    the flushes stream deltas from then on (before, they send only a change of run state)."""
    receive(panel, {"type": "sync"})
    return panel


def run(panel: StudyPanel, n_trials: int, **kw: Any) -> tuple[Runner, float]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    runner = Runner(
        study,
        kw.pop("objective", objective),
        info_for(study, n_trials),
        [panel],
        n_trials=n_trials,
        timeout=None,
        **kw,
    )
    t0 = time.time()
    runner.start()
    runner.wait()
    return runner, time.time() - t0


def for_directions(base: Any, directions: list[str]) -> Any:
    """``base`` for one objective; with several, a second value: the trial's ``x``."""

    def obj(trial: optuna.Trial) -> Any:
        v = base(trial)
        return v if len(directions) == 1 else (v, trial.params["x"])

    return obj


class Control:
    """A RunControl of a run whose trials live elsewhere (nothing in memory, starts are told)."""

    in_memory_study = None

    def __init__(self) -> None:
        self.stops = 0

    def request_stop(self) -> None:
        self.stops += 1

    def running_trials(self) -> None:
        return None


def test_panel_shows_the_space_before_any_trial(wire: Wire) -> None:
    panel = viewed(StudyPanel())
    study = optuna.create_study()
    panel.run_started(info_for(study, 10), Control())
    try:
        assert panel.status["state"] == "running"
        assert [(r["name"], r["line"]) for r in panel.meta["space"]] == [
            ("x", 1),
            ("n", 2),
            ("act", 3),
            ("lr", 4),
        ]
        assert panel.meta["space"][3]["distribution"] == "float [0.0001, 1] log"
        # Storage arrives masked from the options layer and is shown as given.
        assert panel.meta["storage"] == "postgresql://user:***@db/optuna"
        headers = wire.customs("delta")[0]["params"]
        assert headers[2]["choices"] == ["relu", "<img src=x onerror=alert(1)>"]
    finally:
        panel.run_ended(RunResult("finished", study, 0, 0.0))


@pytest.mark.slow
def test_many_fast_trials_are_throttled(wire: Wire) -> None:
    panel = viewed(StudyPanel())
    t0 = time.time()
    _runner, elapsed = run(panel, 5000)
    sent = wire.comm_msgs(since=t0)
    per_second = len(sent) / elapsed
    # Two messages a flush at most (a delta and a status), four flushes a second, plus the
    # first and last flushes and an importance update.
    assert len(sent) <= 10 * elapsed + 6, f"{len(sent)} messages in {elapsed:.1f}s"
    print(
        f"\n{len(sent)} messages in {elapsed:.2f}s = {per_second:.1f}/s; "
        f"{sum(m.size for m in sent) / 5000:.1f} bytes/trial"
    )
    assert panel.status["state"] == "finished"
    assert panel.status["counts"]["COMPLETE"] == 5000
    assert panel.status["n_done"] == 5000
    rows = sum(c["n_trials"] for c in wire.customs("delta"))
    assert 5000 <= rows <= 5000 * 2  # a trial is sent at most twice: running, then finished


def feed(panel: StudyPanel, n: int) -> None:
    """n finished trials through the sink methods, flushing as the flusher would."""
    dists = {
        "x": optuna.distributions.FloatDistribution(-5, 5),
        "n": optuna.distributions.IntDistribution(1, 10),
        "act": optuna.distributions.CategoricalDistribution(
            ["relu", "<img src=x onerror=alert(1)>"]
        ),
        "lr": optuna.distributions.FloatDistribution(1e-4, 1, log=True),
    }
    rng = np.random.default_rng(0)
    for i in range(n):
        t = optuna.trial.create_trial(
            value=float(rng.random()),
            params={
                "x": float(rng.uniform(-5, 5)),
                "n": int(rng.integers(1, 11)),
                "act": "relu",
                "lr": 0.01,
            },
            distributions=dists,
        )
        t.number = i
        panel.trial_started(i)
        panel.trial_finished(t, None)
        if i % 37 == 0:
            panel.flush()
    panel.flush()


@pytest.mark.parametrize("n", [1_000, 5_000], ids=["1k", "5k"])
def test_bytes_per_trial_stay_constant(wire: Wire, n: int) -> None:
    panel = StudyPanel()
    panel.run_started(info_for(optuna.create_study(), n), Control())
    panel._stop_flusher.set()  # flush by hand: a deterministic batching
    start = len(wire.messages)
    feed(panel, n)
    deltas = [m for m in wire.messages[start:] if m.custom and m.custom["type"] == "delta"]
    per_trial = sum(m.size for m in deltas) / n
    print(f"\n{n} trials: {per_trial:.1f} bytes/trial in deltas")
    assert per_trial <= 150
    receive(panel, {"type": "sync"})
    full = [m for m in wire.messages if m.custom and m.custom["type"] == "full"][-1]
    assert 60 <= full.size / n <= 80


def test_sync_returns_the_whole_record(wire: Wire) -> None:
    panel = viewed(StudyPanel())
    _runner, _ = run(panel, 30)
    receive(panel, {"type": "sync"})
    full = wire.customs("full")[1:]  # after the one its view got as it opened
    assert len(full) == 1
    assert full[0]["n_trials"] == 30
    assert full[0]["status"]["n_done"] == 30  # the header as fresh as the trials
    assert full[0]["seq"] == wire.customs("delta")[-1]["seq"]
    assert [p["name"] for p in full[0]["params"]] == ["x", "n", "act", "lr"]
    message = [m for m in wire.comm_msgs() if m.custom and m.custom["type"] == "full"][-1]
    numbers = np.frombuffer(message.buffers[0], "<i4")
    assert numbers.tolist() == list(range(30))


def test_the_bundle_is_sent_once_on_request_not_with_every_panel(wire: Wire) -> None:
    """Each panel's widget state holds the small loader; the bundle goes out when asked for,
    the panel's code first and plotly apart from it."""
    import hashlib

    from optuna_magic.outputs.panel.bundle import BUNDLE

    panel = StudyPanel()
    opened = [m.data["state"] for m in wire.messages if m.msg_type == "comm_open"]
    esm = next(state["_esm"] for state in opened if "_esm" in state)
    version = BUNDLE.version
    assert len(esm) < 4_000
    assert f'"{version}"' in esm and "__OPTUNA_MAGIC_BUNDLE__" not in esm

    receive(panel, {"type": "bundle", "version": "an-older-page"})
    receive(panel, {"type": "bundle", "version": "an-older-page", "part": "plotly"})
    assert wire.customs("bundle") == []  # a version it does not have: the loader keeps waiting
    receive(panel, {"type": "bundle", "version": version})
    replies = [m for m in wire.comm_msgs() if m.custom and m.custom["type"] == "bundle"]
    assert len(replies) == 1 and replies[0].custom == {"type": "bundle", "version": version}
    (bundle,) = replies[0].buffers
    assert 50_000 < len(bundle) < 400_000 and b"as default}" in bundle  # the panel's ES module
    assert b"plotly.js" not in bundle  # plotly is a part of its own (its banner names it)

    receive(panel, {"type": "bundle", "version": version, "part": "plotly"})
    replies = [m for m in wire.comm_msgs() if m.custom and m.custom["type"] == "bundle"]
    assert replies[1].custom == {"type": "bundle", "version": version, "part": "plotly"}
    (plotly,) = replies[1].buffers
    assert len(plotly) > 1_000_000 and b"plotly.js" in plotly
    digest = hashlib.sha256(bundle)
    digest.update(plotly)
    assert digest.hexdigest()[:24] == version  # a rebuilt part is a new version


def test_the_first_panel_a_kernel_draws_carries_the_code_until_its_run_ends(
    wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel's first cell's panel sends the code in its comm_open (the page need not ask),
    later panels do not, and the first forgets it when its run ends (a saved state keeps none)."""
    from optuna_magic.outputs.panel import display
    from optuna_magic.outputs.panel.bundle import BUNDLE

    monkeypatch.setattr(BUNDLE, "_sent_with_a_panel", False)  # this process's first panel
    monkeypatch.setattr(display.CellOutputs, "show", classmethod(lambda cls, model_id: None))
    first, second = StudyPanel.for_run(), StudyPanel.for_run()
    opened = [
        m
        for m in wire.messages
        if m.msg_type == "comm_open" and m.data["state"].get("_model_name") == "AnyModel"
    ]
    assert [m.data["state"]["_code"] for m in opened] == [BUNDLE.code.decode(), ""]
    assert [m.buffers for m in opened] == [[], []]  # text: a host that drops buffers opens it
    assert second._code == "" and first._code == BUNDLE.code.decode()
    run(first, 3)
    assert first._code == ""
    cleared = [m for m in wire.comm_msgs() if "_code" in m.data.get("state", {})]
    assert len(cleared) == 1 and cleared[0].data["state"]["_code"] == ""
    assert "status" in cleared[0].data["state"]  # with the final status: one message


def test_marimo_s_inline_bundle_carries_plotly_before_the_panel() -> None:
    """marimo's panel cannot ask mid-run: its one module holds both parts."""
    import json

    from optuna_magic.outputs.panel.bundle import BUNDLE

    esm = BUNDLE.inline_esm()
    first, rest = esm.split("\n", 1)
    assert first.startswith('globalThis["optuna-magic:plotly-source"] ??= "')
    assert json.loads(first.split(" ??= ", 1)[1].rstrip(";")).encode() == BUNDLE.plotly
    assert rest.encode() == BUNDLE.code


def test_stop_message_stops_the_run(wire: Wire) -> None:
    panel = viewed(StudyPanel())
    study = optuna.create_study()
    started = threading.Event()

    def slow(trial: optuna.Trial) -> float:
        started.set()
        time.sleep(0.02)
        return objective(trial)

    runner = Runner(study, slow, info_for(study, 10_000), [panel], n_trials=10_000, timeout=None)
    runner.start()
    started.wait(5)
    receive(panel, {"type": "stop"})
    assert panel.status["state"] == "stopping"
    runner.wait(30)
    assert runner.result is not None and runner.result.state == "stopped"
    assert panel.status["state"] == "stopped"
    assert len(study.trials) < 10_000
    kinds = [e["kind"] for d in wire.customs("delta") for e in d["events"]]
    assert "stop requested" in kinds and kinds[-1] == "run stopped"


def test_stop_calls_request_stop_once() -> None:
    panel = StudyPanel()
    control = Control()
    panel.run_started(info_for(optuna.create_study(), 10), control)
    panel.request_stop()
    panel.request_stop()  # a second click while stopping does nothing more
    assert control.stops == 1
    panel.run_ended(RunResult("stopped", optuna.create_study(), 0, 0.1))
    assert panel.status["state"] == "stopped"


def test_failed_trial_detail_on_request(wire: Wire) -> None:
    panel = viewed(StudyPanel())
    panel.run_started(info_for(optuna.create_study(), 1), Control())
    t = optuna.trial.create_trial(
        state=optuna.trial.TrialState.FAIL,
        params={},
        distributions={},
        user_attrs={"why": "<b>bad</b>"},
    )
    t.number = 0
    panel.trial_finished(t, TrialError("ValueError: <bad>", "Traceback (most recent call last):"))
    panel.run_ended(RunResult("finished", optuna.create_study(), 1, 0.1))
    failed = [e for d in wire.customs("delta") for e in d["events"] if e["kind"] == "failed"]
    assert failed == [
        {"kind": "failed", "trial": 0, "time": failed[0]["time"], "message": "ValueError: <bad>"}
    ]
    receive(panel, {"type": "trial", "number": 0})
    detail = wire.customs("trial")[-1]
    assert detail["traceback"].startswith("Traceback")
    assert detail["user_attrs"] == {"why": "<b>bad</b>"}


IMPORTANCE = [
    ("single objective", ["minimize"], 20, "PED-ANOVA", True),
    ("several objectives", ["minimize", "maximize"], 20, "Pareto", True),
    ("too few trials", ["minimize"], 1, "at least 2", False),
]


@pytest.mark.parametrize(
    ("directions", "n", "note", "ranked"),
    [c[1:] for c in IMPORTANCE],
    ids=[c[0] for c in IMPORTANCE],
)
def test_importance(wire: Wire, directions: list[str], n: int, note: str, ranked: bool) -> None:
    study = optuna.create_study(
        directions=directions, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    obj = for_directions(objective, directions)
    panel = StudyPanel()
    receive(panel, {"type": "importance", "view": "v", "open": True})  # the Importance view
    runner = Runner(study, obj, info_for(study, n), [panel], n_trials=n, timeout=None)
    runner.start()
    runner.wait()
    panel.wait_importance(30)
    assert note in panel.importance["note"]
    assert panel.importance["n_trials"] == n
    assert (set(panel.importance["values"]) == {"x", "n", "act", "lr"}) is ranked


def test_resume_prefills_the_record(wire: Wire) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=12)
    panel = StudyPanel()
    panel.run_started(info_for(study, 5, existing_trials=study.trials), Control())
    panel.run_ended(RunResult("finished", study, 0, 0.1))
    assert panel.status["counts"]["COMPLETE"] == 12
    assert panel.status["best"]["number"] == study.best_trial.number
    assert panel.status["best"]["values"] == [study.best_value]
    assert panel.status["n_done"] == 0  # progress counts this run's trials only


def test_for_study(wire: Wire) -> None:
    study = optuna.create_study(study_name="<script>name</script>", direction="maximize")
    study.optimize(objective, n_trials=5)
    panel = StudyPanel.for_study(study)
    assert panel.meta["study_name"] == "<script>name</script>"
    assert panel.meta["directions"] == ["maximize"]
    assert panel.status["state"] == "finished"
    assert panel.status["counts"]["COMPLETE"] == 5
    assert wire.customs("delta")[-1]["n_trials"] == 5


def test_module_import_is_light() -> None:
    code = "import sys, optuna_magic.outputs.panel.widget; print('optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def mixed(trial: optuna.Trial) -> Any:
    """Every kind of trial the panel meets: plain, pruned at a step, failed, with attributes,
    with intermediate values, and with a parameter only some trials have."""
    value = objective(trial)
    k = trial.number % 7
    if k == 1:
        trial.report(value, 0)
        trial.report(value / 2, 3)
        raise optuna.TrialPruned()
    if k == 2:
        raise ValueError("broken")
    if k == 3:
        trial.set_user_attr("note", "kept")
    if k == 4:
        trial.report(value, 1)
    if k == 5:
        value += trial.suggest_float("extra", 0, 1)
    if k == 6:
        return float("nan")
    return value


def decoded(record: Any) -> dict[str, Any]:
    record.delta()  # full() is the record as of the latest delta
    content, b = record.full()
    k, nv, npar = content["n_trials"], content["n_values"], content["n_params"]
    names = [p["name"] for p in content["params"]]
    params = np.frombuffer(b[3], "<f8").reshape(npar, k)
    return {
        "number": np.frombuffer(b[0], "<i4").tolist(),
        "state": np.frombuffer(b[1], "u1").tolist(),
        "values": np.frombuffer(b[2], "<f8").reshape(nv, k).tolist(),
        "params": {n: params[i].tolist() for i, n in enumerate(names)},
        "duration": np.frombuffer(b[5], "<f8"),
        "pruned_step": np.frombuffer(b[6], "<i4").tolist(),
        "intermediate": np.frombuffer(b[9], "<f8").tolist(),
        "events": [(e.get("kind"), e.get("trial")) for e in content["events"] if e.get("trial")],
    }


def test_record_of_a_run_matches_the_stored_trials(wire: Wire) -> None:
    """Trials queued as plain rows (the fast path) and trials queued whole read the same as a
    record filled from the study's stored trials."""
    panel = StudyPanel()
    runner, _ = run(panel, 70, objective=mixed, catch=(ValueError,))
    stored = type(panel.record)(1, [])
    stored.add_trials(runner.study.get_trials(deepcopy=False))
    live, want = decoded(panel.record), decoded(stored)
    assert live["number"] == want["number"] == list(range(70))
    for key in ("state", "pruned_step", "events"):
        assert live[key] == want[key], key
    assert np.array_equal(live["intermediate"], want["intermediate"], equal_nan=True)
    # Values of the complete trials (Optuna also stores a pruned trial's last reported value).
    complete = np.asarray(want["state"]) == 1
    assert np.array_equal(
        np.asarray(live["values"])[:, complete], np.asarray(want["values"])[:, complete]
    )
    assert live["params"].keys() == want["params"].keys()
    for name, column in want["params"].items():
        assert np.array_equal(live["params"][name], column, equal_nan=True), name
    # Durations: the runner stamps start and end itself, a few microseconds from Optuna's.
    assert np.allclose(live["duration"], want["duration"], atol=0.05, equal_nan=True)


@pytest.mark.parametrize("directions", [["minimize"], ["maximize"], ["minimize", "maximize"]])
def test_snapshot_from_the_record_matches_the_study(wire: Wire, directions: list[str]) -> None:
    from optuna_magic.outputs.snapshot.info import snapshot_info

    study = optuna.create_study(
        directions=directions, sampler=optuna.samplers.RandomSampler(seed=3)
    )
    obj = for_directions(mixed, directions)
    panel = StudyPanel()
    info = info_for(study, 60)
    runner = Runner(study, obj, info, [panel], n_trials=60, timeout=None, catch=(Exception,))
    runner.start()
    runner.wait()
    assert runner.result is not None
    from_study = snapshot_info(study, info, runner.result)
    assert from_study.counts["COMPLETE"] > 10
    assert snapshot_info(study, info, runner.result, record=panel.record) == from_study


def test_a_finished_run_keeps_nothing_of_its_study_alive(wire: Wire) -> None:
    """A widget lives as long as its output: after the run (and its last importance refresh)
    the panel must not hold the study, or every study of a session would stay in memory."""
    import gc
    import weakref

    panel = StudyPanel(final_importance_delay=0.0)
    receive(panel, {"type": "importance", "view": "v", "open": True})
    runner, _ = run(panel, 30)
    panel.wait_importance(30)
    assert panel.importance.get("n_trials") == 30
    study = weakref.ref(runner.study)
    gc.disable()  # freed by reference counting, not by a later collection
    try:
        del runner
        assert study() is None
    finally:
        gc.enable()


def test_a_running_trial_shows_at_the_next_flush(wire: Wire) -> None:
    """The runner is asked which trials run (it does not call the panel per start): a trial
    that is still running shows as RUNNING, with its start, and later as COMPLETE."""
    inside, release = threading.Event(), threading.Event()

    def slow(trial: optuna.Trial) -> float:
        value = objective(trial)
        if trial.number == 2:
            inside.set()
            release.wait(10)
        return value

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    panel = StudyPanel(flush_interval=60)  # flushes only when the test asks
    runner = Runner(study, slow, info_for(study, 4), [panel], n_trials=4, timeout=None)
    assert runner.running_trials() == {}
    before = time.time()
    runner.start()
    try:
        assert inside.wait(10)
        assert set(runner.running_trials()) == {2}
        panel.flush()
        d = decoded(panel.record)
        assert d["number"] == [0, 1, 2] and d["state"] == [1, 1, 0]
        _, buffers = panel.record.full()
        start = np.frombuffer(buffers[4], "<f8")[2]
        assert before <= start <= time.time()
    finally:
        release.set()
        runner.wait()
    d = decoded(panel.record)
    assert d["state"] == [1, 1, 1, 1]
    assert runner.running_trials() == {}


def test_parallel_trials_are_recorded_once_each(wire: Wire) -> None:
    """--n-jobs: trials end in any order from several threads while flushes run; the record
    ends up with every trial, in its final state, as stored."""

    def obj(trial: optuna.Trial) -> float:
        value = objective(trial)
        time.sleep(0.001 * (trial.number % 3))
        if trial.number % 5 == 0:
            panel.flush()  # flushes race the other threads' trials
        return value

    panel = StudyPanel(flush_interval=0.01)
    runner, _ = run(panel, 150, objective=obj, n_jobs=3)
    stored = type(panel.record)(1, [])
    stored.add_trials(runner.study.get_trials(deepcopy=False))
    live, want = decoded(panel.record), decoded(stored)
    assert live["number"] == want["number"] == list(range(150))
    assert live["state"] == want["state"] == [1] * 150
    assert live["values"] == want["values"]
    assert panel.status["counts"]["COMPLETE"] == 150
    assert panel.status["counts"]["RUNNING"] == 0


# ------------------------------------------- hosts that drop binary buffers (Colab)
def record_messages(wire: Wire, since: int = 0) -> list[Sent]:
    return [
        m
        for m in wire.messages[since:]
        if m.msg_type == "comm_msg" and m.custom and m.custom["type"] in ("delta", "full")
    ]


def as_binary(message: Sent) -> tuple[dict[str, Any], list[bytes]]:
    """A record message in the binary form, whichever form it was sent in."""
    import base64

    content = dict(message.custom or {})
    if "base64" in content:
        assert message.buffers == []  # nothing for the host to drop
        return content, [base64.b64decode(s) for s in content.pop("base64")]
    return content, message.buffers


def same_record(a: Sent, b: Sent) -> bool:
    """Same header and buffers, but for the start column: ``feed``'s trials start at the
    wall clock (``create_trial``), not at a clock the test fixes."""
    (ca, ba), (cb, bb) = as_binary(a), as_binary(b)
    start = [name for name, _ in wire_module.RECORD_BUFFERS].index("start")
    return ca == cb and ba[:start] + ba[start + 1 :] == bb[:start] + bb[start + 1 :]


def fed_panel(wire: Wire, n: int, *, no_buffers: bool) -> tuple[StudyPanel, int]:
    """A panel fed ``n`` trials (as in test_bytes_per_trial_stay_constant), told first, if
    ``no_buffers``, that its front end's host drops buffers; returns it and where its deltas
    begin in ``wire.messages``."""
    panel = viewed(StudyPanel())
    panel.run_started(info_for(optuna.create_study(), n), Control())
    panel._stop_flusher.set()  # flush by hand: the same batching for both panels
    if no_buffers:
        receive(panel, {"type": "no_buffers"})
    start = len(wire.messages)
    feed(panel, n)
    return panel, start


def test_a_host_without_buffers_gets_the_same_record_as_base64(
    wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After ``no_buffers``, deltas and the whole record carry their buffers as base64 and no
    buffer: decoded, the same bytes and the same header as a panel that keeps buffers sends."""
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)  # same timestamps for both
    binary, b_start = fed_panel(wire, 300, no_buffers=False)
    b_deltas = record_messages(wire, b_start)
    text, t_start = fed_panel(wire, 300, no_buffers=True)
    t_deltas = record_messages(wire, t_start)
    assert all(m.buffers and "base64" not in (m.custom or {}) for m in b_deltas)
    assert all(not m.buffers and "base64" in (m.custom or {}) for m in t_deltas)
    assert len(t_deltas) == len(b_deltas) > 5
    for b, t in zip(b_deltas, t_deltas, strict=True):
        assert same_record(t, b)
    # A view that opens later (sync) gets the whole record in the same form.
    for panel in (binary, text):
        receive(panel, {"type": "sync"})
    b_full, t_full = record_messages(wire)[-2:]
    assert b_full.custom is not None and b_full.custom["type"] == "full"
    assert t_full.custom is not None and t_full.custom["type"] == "full"
    assert t_full.buffers == [] and same_record(t_full, b_full)
    assert as_binary(t_full)[0]["n_trials"] == 300


def test_a_host_without_buffers_gets_the_bundle_as_text(wire: Wire) -> None:
    from optuna_magic.outputs.panel.bundle import BUNDLE

    panel = StudyPanel()
    receive(panel, {"type": "bundle", "version": BUNDLE.version})
    receive(panel, {"type": "no_buffers"})
    receive(panel, {"type": "bundle", "version": BUNDLE.version})
    receive(panel, {"type": "bundle", "version": BUNDLE.version, "part": "plotly"})
    sent = [m for m in wire.comm_msgs() if m.custom and m.custom["type"] == "bundle"]
    first, second, plotly = sent
    assert first.buffers == [BUNDLE.code] and "code" not in (first.custom or {})
    assert second.buffers == []
    assert second.custom == {"type": "bundle", "version": BUNDLE.version, "code": ANY_TEXT}
    assert second.custom["code"].encode("utf-8") == BUNDLE.code
    assert plotly.buffers == []
    assert plotly.custom == {
        "type": "bundle",
        "version": BUNDLE.version,
        "part": "plotly",
        "code": ANY_TEXT,
    }
    assert plotly.custom["code"].encode("utf-8") == BUNDLE.plotly


class _AnyText:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str)


ANY_TEXT = _AnyText()


def test_stop_and_trial_detail_work_after_no_buffers(wire: Wire) -> None:
    panel = viewed(StudyPanel())
    control = Control()
    panel.run_started(info_for(optuna.create_study(), 10), control)
    receive(panel, {"type": "no_buffers"})
    t = optuna.trial.create_trial(
        state=optuna.trial.TrialState.FAIL, params={}, distributions={}, user_attrs={"k": 1}
    )
    t.number = 0
    panel.trial_finished(t, TrialError("ValueError: bad", "Traceback (most recent call last):"))
    receive(panel, {"type": "stop"})
    assert control.stops == 1 and panel.status["state"] == "stopping"
    receive(panel, {"type": "trial", "number": 0})
    assert wire.customs("trial")[-1]["user_attrs"] == {"k": 1}
    panel.run_ended(RunResult("stopped", optuna.create_study(), 1, 0.1))
    last = record_messages(wire)[-1]
    content, buffers = as_binary(last)
    assert last.buffers == [] and [e["kind"] for e in content["events"]][-1] == "run stopped"
    assert np.frombuffer(buffers[1], "u1").tolist() == []  # the failed trial went out before
    states = [
        s for m in record_messages(wire) for s in np.frombuffer(as_binary(m)[1][1], "u1").tolist()
    ]
    assert 3 in states  # FAIL reached the front end in the base64 form


@pytest.mark.parametrize("n", [1_000, 5_000], ids=["1k", "5k"])
def test_bytes_per_trial_without_buffers(wire: Wire, n: int) -> None:
    """What the fallback costs on the wire: base64 is 4/3 of the buffers' bytes, and the
    header (JSON) is the same. Printed for the record (run with -s)."""
    _binary, b_start = fed_panel(wire, n, no_buffers=False)
    b_deltas = record_messages(wire, b_start)
    _text, t_start = fed_panel(wire, n, no_buffers=True)
    t_deltas = record_messages(wire, t_start)
    binary = sum(m.size for m in b_deltas) / n
    text = sum(m.size for m in t_deltas) / n
    buffers = sum(len(b) for m in b_deltas for b in m.buffers) / n
    print(
        f"\n{n} trials: binary {binary:.1f} bytes/trial ({buffers:.1f} in buffers), "
        f"base64 {text:.1f} bytes/trial ({text / binary:.2f}x)"
    )
    assert buffers * 4 / 3 <= text - (binary - buffers) <= buffers * 4 / 3 + 40
    assert text <= 200


def test_importance_is_ranked_only_while_a_view_shows_it(wire: Wire) -> None:
    """A run nobody looks at ranks nothing (the first ranking imports optuna.importance, and
    with it scikit-learn, SciPy and pandas); a view that opens after the run ranks it once, from
    the study while the user holds it, and says so when the study is gone."""
    import gc

    panel = StudyPanel(final_importance_delay=0.0, importance_interval=0.0)
    runner, _ = run(panel, 20)
    panel.wait_importance(30)
    assert panel.importance_refreshes == () and panel.importance == {}
    study = runner.study
    del runner
    receive(panel, {"type": "importance", "view": "v", "open": True})
    panel.wait_importance(30)
    assert panel.importance["n_trials"] == 20 and set(panel.importance["values"]) >= {"x"}
    (refresh,) = panel.importance_refreshes
    assert not refresh.during_run
    # Closed, and opened again once the study is gone: a note, not an error.
    receive(panel, {"type": "importance", "view": "v", "open": False})
    other = StudyPanel(final_importance_delay=0.0)
    runner2, _ = run(other, 5)
    del runner2
    gc.collect()
    receive(other, {"type": "importance", "view": "w", "open": True})
    other.wait_importance(30)
    assert "the study is gone" in other.importance["note"]
    del study


def test_a_run_without_views_never_imports_the_importance_evaluators() -> None:
    code = (
        "import sys, optuna\n"
        "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
        "from optuna_magic.outputs.panel.widget import StudyPanel\n"
        "from optuna_magic.run.runner import Runner\n"
        "from optuna_magic.run.info import run_info\n"
        "s = optuna.create_study()\n"
        "p = StudyPanel(final_importance_delay=0.0)\n"
        "r = Runner(s, lambda t: t.suggest_float('x', 0, 1), run_info(s, n_trials=30), [p],"
        " n_trials=30, timeout=None)\n"
        "r.start(); r.wait(); p.wait_importance(30)\n"
        "print(sorted(m for m in ('optuna.importance', 'sklearn', 'scipy', 'pandas')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_run_no_view_has_opened_streams_nothing_and_a_late_view_gets_it_all(
    wire: Wire,
) -> None:
    """A run whose caller lets the kernel hear the front end meanwhile (the magic): until a view
    asks for the record (every view does as it opens), the flushes send no deltas and the
    status only when the run's state changes, so a batch run, or a notebook whose output is not
    on screen, costs the kernel no traffic. The view that opens mid-run gets the whole record
    and a fresh header, then every delta in sequence."""
    panel = StudyPanel()
    panel.quiet_until_viewed()
    study = optuna.create_study()
    panel.run_started(info_for(study, 400), Control())
    panel._stop_flusher.set()  # flush by hand
    t0 = time.time()
    feed(panel, 200)  # flushes every 37 trials
    assert wire.customs("delta") == []
    status_updates = [m for m in wire.comm_msgs(since=t0) if "status" in m.data.get("state", {})]
    assert status_updates == []  # still running: nothing to say without a view

    receive(panel, {"type": "sync"})  # a view opens
    (full,) = wire.customs("full")
    assert full["n_trials"] == 200
    assert full["status"]["n_done"] == 200 and full["status"]["state"] == "running"
    numbers = np.frombuffer(
        next(m for m in wire.comm_msgs() if m.custom and m.custom["type"] == "full").buffers[0],
        "<i4",
    )
    assert numbers.tolist() == list(range(200))

    # From here on it streams: the next trials arrive in deltas numbered on from the full one.
    dists = {"x": optuna.distributions.FloatDistribution(-5, 5)}
    for i in range(200, 260):
        t = optuna.trial.create_trial(value=float(i), params={"x": 0.0}, distributions=dists)
        t.number = i
        panel.trial_finished(t, None)
        if i % 20 == 0:
            panel.flush()
    panel.flush()
    deltas = wire.customs("delta")
    assert [d["seq"] for d in deltas] == list(range(full["seq"] + 1, full["seq"] + 1 + len(deltas)))
    assert sum(d["n_trials"] for d in deltas) == 60
    panel.run_ended(RunResult("finished", study, 260, 1.0))
    assert panel.status["state"] == "finished"  # a change of state goes out, viewed or not
    panel.close()


def test_a_change_of_run_state_reaches_the_status_trait_without_a_view(wire: Wire) -> None:
    """What a saved widget state and a view opening later read: the run's state, always."""
    panel = StudyPanel()
    panel.quiet_until_viewed()
    _runner, _ = run(panel, 50)
    assert wire.customs("delta") == []
    states = [
        m.data["state"]["status"]["state"]
        for m in wire.comm_msgs()
        if "status" in m.data.get("state", {})
    ]
    assert states[0] == "running" and states[-1] == "finished"
    assert panel.status["n_done"] == 50


def test_a_run_s_meta_and_first_status_go_out_in_one_message(wire: Wire) -> None:
    """A short run's traffic is mostly its fixed messages: the header's two traits share one."""
    panel = StudyPanel()
    panel.quiet_until_viewed()
    run(panel, 5)
    updates = [m.data["state"] for m in wire.comm_msgs() if m.data.get("method") == "update"]
    with_meta = [u for u in updates if "meta" in u]
    assert len(with_meta) == 1 and with_meta[0]["status"]["state"] == "running"
    assert updates.index(with_meta[0]) == 0  # no status went out before it


def test_a_panel_whose_caller_blocks_the_kernel_streams_without_a_view(wire: Wire) -> None:
    """``optimize()`` or ``study.optimize`` with a callback block the kernel: a view's request
    would reach the panel only after the run, so its panel streams from the start. So does
    marimo's, asked or not: marimo hands a widget its messages only between cells."""
    from optuna_magic.outputs.panel.marimo import _inline_panel_class

    blocked = StudyPanel()  # its caller does not ask it to wait for a view
    marimo = _inline_panel_class()()
    marimo.quiet_until_viewed()
    for panel in (blocked, marimo):
        before = len(wire.customs("delta"))
        _runner, _ = run(panel, 40)
        deltas = wire.customs("delta")[before:]
        assert sum(d["n_trials"] for d in deltas) >= 40, type(panel).__name__
        panel.close()
