"""The wire format: what the real panel sends matches wire.py, and js/ reads the same examples.

One example of every trait and message, made by a real StudyPanel fed a few trials, is checked
against the TypedDicts of ``optuna_magic.outputs.panel.wire`` and written to
``js/src/fixtures/wire.json``; ``js/src/protocol.test.ts`` checks the same file against
``protocol.ts`` and decodes it through the front end's record code. The file is committed: this
test rewrites it and fails when what Python produces now differs from it (commit the new file,
and the vitest suite says whether the front end still reads it).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

import comm
import numpy as np
import optuna
import pytest
from comm.base_comm import BaseComm

from optuna_magic.cell.space import ParamSpec
from optuna_magic.outputs.panel import wire
from optuna_magic.outputs.panel.bundle import BUNDLE
from optuna_magic.outputs.panel.widget import StudyPanel
from optuna_magic.run.contract import RunInfo, RunResult, TrialError

optuna.logging.set_verbosity(optuna.logging.WARNING)

FIXTURE = Path(__file__).parents[3] / "js" / "src" / "fixtures" / "wire.json"
NOW = 1_700_000_000.0  # every clock the panel reads, so the example is the same on every run
T0 = dt.datetime.fromtimestamp(NOW - 60)


# ------------------------------------------------------------------ checking
def problems(value: Any, tp: Any, path: str = "$") -> list[str]:
    """Where ``value`` (decoded JSON) does not have type ``tp`` (a TypedDict of wire.py...)."""
    if tp is Any:
        return []
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, expected {tp.__name__}"]
        hints = get_type_hints(tp)
        out = [f"{path}: missing {k}" for k in tp.__required_keys__ if k not in value]
        out += [f"{path}: unknown key {k}" for k in value if k not in hints]
        for k, v in value.items():
            if k in hints:
                out += problems(v, hints[k], f"{path}.{k}")
        return out
    origin = get_origin(tp)
    if origin is Literal:
        return [] if value in get_args(tp) else [f"{path}: {value!r} not in {get_args(tp)}"]
    if origin in (Union, types.UnionType):
        branches = [problems(value, arm, path) for arm in get_args(tp)]
        return [] if any(not b for b in branches) else min(branches, key=len)
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, expected a list"]
        return [
            p for i, v in enumerate(value) for p in problems(v, get_args(tp)[0], f"{path}[{i}]")
        ]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, expected a dict"]
        return [p for k, v in value.items() for p in problems(v, get_args(tp)[1], f"{path}.{k}")]
    if tp is type(None):
        return [] if value is None else [f"{path}: {value!r}, expected None"]
    allowed: tuple[type, ...] = (int, float) if tp is float else (tp,)
    if (isinstance(value, bool) and tp is not bool) or not isinstance(value, allowed):
        return [f"{path}: {type(value).__name__}, expected {tp.__name__}"]
    return []


@pytest.mark.parametrize(
    ("value", "tp", "wrong"),
    [
        ({"type": "sync"}, wire.SyncRequest, False),
        ({"type": "trial", "number": 3}, wire.TrialRequest, False),
        ({"type": "trial", "number": "3"}, wire.TrialRequest, True),
        ({"type": "trial"}, wire.TrialRequest, True),
        ({"type": "sync", "extra": 1}, wire.SyncRequest, True),
        ({"kind": "pruned", "time": 1.0}, wire.RecordEvent, False),
        ({"kind": "pruned", "time": 1.0, "step": None}, wire.RecordEvent, True),
        (
            {
                "name": "x",
                "kind": "float",
                "log": True,
                "choices": None,
                "distribution": "float [0, 1] log",
            },
            wire.ParamHeader,
            False,
        ),
        (
            {"name": "x", "kind": "grid", "log": True, "choices": None, "distribution": ""},
            wire.ParamHeader,
            True,
        ),
    ],
    ids=[
        "sync",
        "trial",
        "trial-number-text",
        "trial-no-number",
        "extra-key",
        "event",
        "event-none",
        "param",
        "param-kind",
    ],
)
def test_the_checker_tells_right_from_wrong(value: Any, tp: Any, wrong: bool) -> None:
    assert bool(problems(value, tp)) == wrong


# ----------------------------------------------------------------- examples
class Control:
    """A RunControl of a run whose trials live in a storage (nothing in memory)."""

    in_memory_study = None

    def request_stop(self) -> None:
        pass

    def running_trials(self) -> None:
        return None


SPACE = [
    ParamSpec("x", "float", -5.0, 5.0, line=1),
    ParamSpec("n", "int", 1, 100, log=True, line=2),
    ParamSpec("act", "categorical", choices=("relu", "tanh"), line=3),
]
DISTRIBUTIONS = {
    "x": optuna.distributions.FloatDistribution(-5.0, 5.0),
    "n": optuna.distributions.IntDistribution(1, 100, log=True),
    "act": optuna.distributions.CategoricalDistribution(["relu", "tanh"]),
}


def trial(number: int, state: str, value: float | None = None, **kw: Any) -> Any:
    t = optuna.trial.create_trial(
        state=optuna.trial.TrialState[state],
        value=value,
        params={"x": number - 2.5, "n": 1 + 7 * number, "act": ["relu", "tanh"][number % 2]},
        distributions=DISTRIBUTIONS,
        **kw,
    )
    t.number = number
    t.datetime_start = T0 + dt.timedelta(seconds=number)
    t.datetime_complete = t.datetime_start + dt.timedelta(seconds=0.5)
    return t


class Sent:
    def __init__(self) -> None:
        self.customs: list[tuple[dict[str, Any], list[bytes]]] = []


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    """A fixed clock, and a comm that keeps the custom messages the panel sends."""
    recorded = Sent()

    class RecordingComm(BaseComm):
        def publish_msg(
            self,
            msg_type: str,
            data: Any = None,
            metadata: Any = None,
            buffers: Any = None,
            **keys: Any,
        ) -> None:
            if msg_type == "comm_msg" and (data or {}).get("method") == "custom":
                recorded.customs.append((data["content"], [bytes(b) for b in buffers or []]))

    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))
    monkeypatch.setattr(time, "time", lambda: NOW)
    return recorded


def deliver(panel: StudyPanel, content: Any) -> None:
    """Deliver a front end's request the way the kernel's comm manager does."""
    message = {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
    panel.comm.handle_msg(message)


def receive(panel: StudyPanel, sent: Sent, content: Any) -> tuple[dict[str, Any], list[bytes]]:
    """Deliver a front end's request and return the panel's reply."""
    before = len(sent.customs)
    deliver(panel, content)
    (reply,) = sent.customs[before:]
    return reply


def encoded(message: tuple[dict[str, Any], list[bytes]]) -> dict[str, Any]:
    content, buffers = message
    return {"content": content, "buffers": [base64.b64encode(b).decode() for b in buffers]}


def build_examples(sent: Sent) -> dict[str, Any]:
    """One of each message, by a real panel fed a few trials of every end state."""
    panel = StudyPanel(flush_interval=3600.0, final_importance_delay=0.0)
    info = RunInfo(
        "wire",
        ["minimize"],
        "TPESampler",
        "MedianPruner",
        "in memory",
        10,
        None,
        SPACE,
        ["loss"],
        NOW - 60,
    )
    try:
        panel.run_started(info, Control())
        receive(panel, sent, wire.SyncRequest(type="sync"))  # a view opens: deltas follow
        deliver(panel, wire.ImportanceRequest(type="importance", view="v1", open=True))
        for n in range(6):
            panel.trial_started(n)
        panel.trial_reported(1, 0, 0.75)
        panel.trial_finished(trial(0, "COMPLETE", 0.5), None)
        panel.trial_finished(trial(1, "PRUNED", intermediate_values={0: 0.75}), None)
        panel.trial_finished(trial(2, "FAIL"), TrialError("ValueError: bad", "Traceback...\n"))
        # Trial 3 has the lowest value but breaks its constraint: the best is trial 0.
        infeasible = {"constraints:mem": 0.5, "constraints:time": -1.0}
        kw: dict[str, Any] = {"user_attrs": {"fold": [1, 2]}, "system_attrs": infeasible}
        panel.trial_finished(trial(3, "COMPLETE", 0.25, **kw), None)
        feasible = {"constraints:mem": -2.0}
        panel.trial_finished(trial(4, "COMPLETE", 1.5, system_attrs=feasible), None)
        panel.trial_reported(5, 3, 2.0)
        before = len(sent.customs)
        panel.flush()
        (delta,) = sent.customs[before:]
        full = receive(panel, sent, wire.SyncRequest(type="sync"))
        detail = receive(panel, sent, wire.TrialRequest(type="trial", number=2))
        bundle = receive(panel, sent, wire.BundleRequest(type="bundle", version=BUNDLE.version))
        plotly = receive(
            panel, sent, wire.BundleRequest(type="bundle", version=BUNDLE.version, part="plotly")
        )
        # A front end whose host drops binary buffers says so: the same messages, as text.
        before = len(sent.customs)
        deliver(panel, wire.NoBuffersRequest(type="no_buffers"))
        assert sent.customs[before:] == []  # nothing to answer
        full_text = receive(panel, sent, wire.SyncRequest(type="sync"))
        bundle_text = receive(
            panel, sent, wire.BundleRequest(type="bundle", version=BUNDLE.version)
        )
        # Too small a violation for a float32: still infeasible on the wire.
        tiny = {"constraints:mem": 1e-50}
        panel.trial_finished(trial(5, "COMPLETE", 0.75, system_attrs=tiny), None)
        before = len(sent.customs)
        panel.flush()
        (delta_text,) = sent.customs[before:]
        panel.run_ended(RunResult("finished", optuna.create_study(), 5, 60.0))
        panel.wait_importance(60)
        traits = {"meta": panel.meta, "status": panel.status, "importance": panel.importance}
        # This panel has no objective (no continuation): refused, in words.
        steer = receive(
            panel, sent, wire.RunMoreRequest(type="run_more", id="r1", n_trials=5, confirm=False)
        )
    finally:
        panel.close()
    bundle_content = dict(bundle[0], version="<version>")  # the version of the built bundle
    assert plotly[1] == [BUNDLE.plotly]
    assert bundle_text[0].get("code", "").encode("utf-8") == BUNDLE.code
    bundle_text_content = dict(bundle_text[0], version="<version>", code="<code>")
    return {
        "traits": traits,
        "kernel": {
            "delta": encoded(delta),
            "full": encoded(full),
            "trial": {"content": detail[0]},
            "bundle": {"content": bundle_content, "n_buffers": len(bundle[1])},
            "bundle_plotly": {
                "content": dict(plotly[0], version="<version>"),
                "n_buffers": len(plotly[1]),
            },
            # After no_buffers: the buffers are base64 strings in the message, and none is sent.
            "full_base64": encoded(full_text),
            "delta_base64": encoded(delta_text),
            "bundle_text": {"content": bundle_text_content, "n_buffers": len(bundle_text[1])},
            "steer": {"content": steer[0]},
        },
        "requests": {
            "sync": wire.SyncRequest(type="sync"),
            "stop": wire.StopRequest(type="stop"),
            "trial": wire.TrialRequest(type="trial", number=2),
            "bundle": wire.BundleRequest(type="bundle", version="<version>"),
            "bundle_plotly": wire.BundleRequest(type="bundle", version="<version>", part="plotly"),
            "no_buffers": wire.NoBuffersRequest(type="no_buffers"),
            "importance": wire.ImportanceRequest(type="importance", view="v1", open=True),
            "run_more": wire.RunMoreRequest(type="run_more", id="r1", n_trials=5, confirm=True),
            "enqueue": wire.EnqueueRequest(
                type="enqueue", id="e1", params={"x": 0.125, "n": 7, "act": "tanh"}
            ),
        },
    }


TYPES: dict[str, Any] = {
    "traits.meta": wire.MetaTrait,
    "traits.status": wire.StatusTrait,
    "traits.importance": wire.ImportanceTrait,
    "kernel.delta.content": wire.RecordMessage,
    "kernel.full.content": wire.RecordMessage,
    "kernel.trial.content": wire.TrialDetailMessage,
    "kernel.bundle.content": wire.BundleMessage,
    "kernel.bundle_plotly.content": wire.BundleMessage,
    "kernel.full_base64.content": wire.RecordMessage,
    "kernel.delta_base64.content": wire.RecordMessage,
    "kernel.bundle_text.content": wire.BundleMessage,
    "kernel.steer.content": wire.SteerMessage,
    "requests.sync": wire.SyncRequest,
    "requests.stop": wire.StopRequest,
    "requests.trial": wire.TrialRequest,
    "requests.bundle": wire.BundleRequest,
    "requests.bundle_plotly": wire.BundleRequest,
    "requests.no_buffers": wire.NoBuffersRequest,
    "requests.importance": wire.ImportanceRequest,
    "requests.run_more": wire.RunMoreRequest,
    "requests.enqueue": wire.EnqueueRequest,
}


def at(examples: dict[str, Any], dotted: str) -> Any:
    for key in dotted.split("."):
        examples = examples[key]
    return examples


def test_what_the_panel_sends_is_what_wire_py_declares(sent: Sent) -> None:
    examples = build_examples(sent)
    for dotted, tp in TYPES.items():
        assert problems(at(examples, dotted), tp, dotted) == []
    delta = examples["kernel"]["delta"]
    assert len(delta["buffers"]) == len(wire.RECORD_BUFFERS)
    assert delta["content"]["type"] == "delta" and "status" in delta["content"]
    assert delta["content"]["n_trials"] == 6 and delta["content"]["n_intermediate"] == 2
    kinds = [e["kind"] for e in examples["kernel"]["full"]["content"]["events"]]
    assert kinds == ["run started", "pruned", "failed"]
    assert examples["kernel"]["trial"]["content"]["traceback"] == "Traceback...\n"
    # The base64 form: no buffer on the wire, and the same bytes as the binary form.
    kernel = examples["kernel"]
    for kind in ("full_base64", "delta_base64", "bundle_text"):
        assert kernel[kind].get("buffers", []) == [] and kernel[kind].get("n_buffers", 0) == 0
    full_text = dict(kernel["full_base64"]["content"])
    assert full_text.pop("base64") == kernel["full"]["buffers"]
    assert full_text == kernel["full"]["content"]
    assert kernel["delta_base64"]["content"]["n_trials"] == 1
    assert "base64" not in kernel["delta"]["content"] and "code" not in kernel["bundle"]["content"]
    assert examples["traits"]["importance"]["note"] == "PED-ANOVA"
    # The constraint column: each trial's largest constraint value, NaN where none is set.
    at_constraint = [name for name, _ in wire.RECORD_BUFFERS].index("constraint")
    column = np.frombuffer(base64.b64decode(delta["buffers"][at_constraint]), "<f4")
    assert np.array_equal(column, [np.nan, np.nan, np.nan, 0.5, -2.0, np.nan], equal_nan=True)
    (last,) = np.frombuffer(
        base64.b64decode(kernel["delta_base64"]["content"]["base64"][-1]), "<f4"
    )
    assert last > 0
    assert examples["traits"]["status"]["best"]["number"] == 0
    # Every request the front end may send is one the kernel reads as such.
    for request in examples["requests"].values():
        assert wire.parse_request(request) == request
    assert wire.parse_request({"type": "trial", "number": "2"}) is None


def test_the_committed_fixture_is_what_python_sends_now(sent: Sent) -> None:
    examples = build_examples(sent)
    # Importance values depend on Optuna's version; their keys and types are the format.
    importance = examples["traits"]["importance"]
    importance["values"] = {k: 0.5 for k in sorted(importance["values"])}
    text = (
        json.dumps(
            {"_": "written by tests/test_wire.py from the real panel; do not edit", **examples},
            indent=1,
        )
        + "\n"
    )
    old = FIXTURE.read_text(encoding="utf-8") if FIXTURE.is_file() else None
    if old != text:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(text, encoding="utf-8")
    assert old == text, f"{FIXTURE} was out of date and is rewritten: check and commit it"
