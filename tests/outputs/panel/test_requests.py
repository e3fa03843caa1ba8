"""The panel's steering requests without a kernel: what is refused before a continuation is
asked, the two steps of "Run N more", and enqueue's checks against the study's distributions."""

from __future__ import annotations

import weakref
from typing import Any

import comm
import optuna
import pytest
from comm.base_comm import BaseComm

from optuna_magic.cell.space import ParamSpec
from optuna_magic.outputs.panel.enqueue import check_params
from optuna_magic.outputs.panel.widget import StudyPanel
from optuna_magic.run.info import run_info

optuna.logging.set_verbosity(optuna.logging.WARNING)


class Continuation:
    """A continuation that records what it was asked to do."""

    def __init__(self, study: optuna.Study, refusal: str | None = None) -> None:
        self._study = study
        self._refusal = refusal
        self.started: list[int] = []

    @property
    def study(self) -> optuna.Study:
        return self._study

    def refusal(self) -> str | None:
        return self._refusal

    def run_more(self, n_trials: int, panel: StudyPanel) -> None:
        self.started.append(n_trials)


@pytest.fixture
def replies(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []

    class RecordingComm(BaseComm):
        def publish_msg(self, msg_type: str, data: Any = None, *a: Any, **k: Any) -> None:
            content = (data or {}).get("content")
            if msg_type == "comm_msg" and isinstance(content, dict) and content["type"] == "steer":
                got.append(content)

    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))
    return got


def _panel(study: optuna.Study, continuation: Continuation | None, state: str) -> StudyPanel:
    panel = StudyPanel(flush_interval=3600.0)
    panel.continuation = continuation
    space = [ParamSpec("x", "float", 0.0, 1.0), ParamSpec("a", "categorical", choices=(1, "b"))]
    panel._start(run_info(study, space=space), None, state)
    return panel


def _ask(panel: StudyPanel, replies: list[dict[str, Any]], **content: Any) -> tuple[str, str]:
    panel._requests.handle(content)
    return replies[-1]["state"], replies[-1]["message"]


@pytest.mark.parametrize(
    ("state", "refusal", "n", "want"),
    [
        ("running", None, 3, "the run is still going: Run more is for a run that has ended"),
        ("finished", None, 0, "the number of trials must be from 1 to 100,000, not 0"),
        ("finished", "the kernel is running a cell", 3, "the kernel is running a cell"),
    ],
    ids=["running", "zero", "continuation-refuses"],
)
def test_run_more_is_refused_in_words(
    replies: list[dict[str, Any]], state: str, refusal: str | None, n: int, want: str
) -> None:
    more = Continuation(optuna.create_study(), refusal)
    panel = _panel(more.study, more, state)
    request = {"type": "run_more", "id": "r", "n_trials": n, "confirm": False}
    assert _ask(panel, replies, **request) == ("refused", want)
    assert more.started == []


def test_run_more_starts_only_on_the_confirmation_of_its_ready(
    replies: list[dict[str, Any]],
) -> None:
    more = Continuation(optuna.create_study())
    panel = _panel(more.study, more, "finished")
    assert panel.meta["steer"] == ["enqueue", "run_more"]
    ask = {"type": "run_more", "n_trials": 3}
    # Another id's confirmation starts nothing, and voids the ready.
    assert _ask(panel, replies, id="a", confirm=False, **ask)[0] == "ready"
    assert _ask(panel, replies, id="b", confirm=True, **ask)[0] == "refused"
    assert _ask(panel, replies, id="a", confirm=True, **ask)[0] == "refused"
    assert more.started == []
    assert _ask(panel, replies, id="c", confirm=False, **ask)[0] == "ready"
    assert _ask(panel, replies, id="c", confirm=True, **ask) == (
        "started",
        "running 3 more trial(s)",
    )
    assert more.started == [3]


def test_enqueue_maps_a_choice_label_back_and_shows_the_waiting_trial(
    replies: list[dict[str, Any]],
) -> None:
    study = optuna.create_study()
    panel = _panel(study, None, "finished")
    assert panel.meta["steer"] == ["enqueue"]  # no objective: enqueue only
    panel._study_ref = weakref.ref(study)  # as for_study does
    state = _ask(panel, replies, type="enqueue", id="e", params={"x": 0.25, "a": "1"})
    assert state == ("enqueued", "Enqueued: runs first in the next run")
    (waiting,) = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert waiting.system_attrs["fixed_params"] == {"x": 0.25, "a": 1}  # the int choice
    assert panel.record.counts().get("WAITING") == 1
    assert panel.record.events[-1]["kind"] == "enqueued"


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"x": 2.0}, "x must be from 0.0 to 1.0, not 2.0"),
        ({"x": "a"}, "x must be a number, not 'a'"),
        ({"a": "c"}, "a must be one of 1, b, not 'c'"),
        ({"n": 4}, "n must be 0.0 plus a multiple of 3.0, not 4.0"),
        ({}, "no parameters to enqueue"),
    ],
    ids=["range", "text", "choice", "step", "none"],
)
def test_enqueue_refuses_what_the_distribution_does_not_hold(
    params: dict[str, Any], problem: str
) -> None:
    distributions = {
        "x": optuna.distributions.FloatDistribution(0.0, 1.0),
        "a": optuna.distributions.CategoricalDistribution([1, "b"]),
        "n": optuna.distributions.FloatDistribution(0.0, 9.0, step=3.0),
    }
    assert check_params(params, distributions)[1] == problem
