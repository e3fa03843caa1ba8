"""The wire format between the kernel's panel and its front end (js/src/protocol.ts), declared.

Everything :class:`~optuna_magic.outputs.panel.widget.StudyPanel` puts on the wire is one of these:

- three traits, small and bounded: :class:`MetaTrait` (what the run is), :class:`StatusTrait`
  (where it stands) and :class:`ImportanceTrait` (one number per parameter);
- custom messages to the front end: :class:`RecordMessage` (``delta`` / ``full``, with the
  record's eleven little-endian column buffers, see
  :meth:`~optuna_magic.outputs.panel.record.TrialRecord.delta`), :class:`TrialDetailMessage` (a
  trial's traceback and attributes, on a click) and :class:`BundleMessage` (the panel's code,
  or plotly's, one buffer);
- custom messages from the front end (:data:`FrontendRequest`): ``sync`` (send the whole record),
  ``stop`` (the Stop button), ``trial`` (a trial's detail), ``bundle`` (the panel's code, then
  plotly's), ``no_buffers`` (this page's host drops binary buffers), ``importance`` (a view
  that shows it opens or closes), ``run_more`` and ``enqueue`` (steer the study; answered by
  :class:`SteerMessage`).

Hosts that drop binary buffers (Colab's widget manager): the loader sees the bundle arrive
without its buffer and sends ``no_buffers``; from then on the panel sends the bundle as text
(``BundleMessage.code``) and the record's buffers as base64 strings (``RecordMessage.base64``,
:func:`inline_buffers`), which every front end reads. Elsewhere nothing changes: binary buffers,
no extra message.

js/src/protocol.ts declares the same; tests/test_wire.py writes one real example of each to
js/src/fixtures/wire.json, which the front end's tests read, so a change on one side fails a test
on the other. Keys of a ``total=False`` part may be left out.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from optuna_magic.cell.space import ParamSpec
    from optuna_magic.run.contract import RunInfo

__all__ = [
    "BestTrial",
    "BundleMessage",
    "BundleRequest",
    "EnqueueRequest",
    "FrontendRequest",
    "ImportanceRequest",
    "ImportanceTrait",
    "MetaTrait",
    "NoBuffersRequest",
    "ParamHeader",
    "RecordEvent",
    "RecordMessage",
    "RunMoreRequest",
    "SpaceRow",
    "StatusTrait",
    "SteerMessage",
    "StopRequest",
    "SyncRequest",
    "TrialDetailMessage",
    "TrialRequest",
    "inline_buffers",
    "meta_of",
    "parse_request",
]

# The record's buffers, in order (see RecordMessages._message in .messages): the front end
# reads them by index.
RECORD_BUFFERS = (
    ("number", "<i4"),
    ("state", "u1"),
    ("values", "<f8"),  # column-major: n_values blocks of n_trials
    ("params", "<f8"),  # column-major: n_params blocks of n_trials
    ("start", "<f8"),
    ("duration", "<f8"),
    ("pruned_step", "<i4"),
    ("int_trial", "<i4"),
    ("int_step", "<i4"),
    ("int_value", "<f8"),
    # Per trial, its largest constraint value: > 0 infeasible, else (NaN: none set) feasible.
    ("constraint", "<f4"),
)


# ------------------------------------------------------------------ traits
class SpaceRow(TypedDict):
    """One declared parameter, as the search space table shows it."""

    name: str
    kind: str  # "int" | "float" | "categorical"
    distribution: str
    line: int | None
    dynamic: bool  # its name or bounds are computed when a trial reaches it (shown as written)


class MetaTrait(TypedDict):
    """``meta``: what the run is; set once when it starts."""

    study_name: str
    directions: list[str]
    objective_names: list[str]
    sampler: str
    pruner: str
    storage: str
    n_trials: int | None
    timeout: float | None
    n_jobs: int
    watch: bool
    space: list[SpaceRow]
    # What the panel's kernel side can steer now or after the run: "run_more", "enqueue".
    steer: list[str]


class BestTrial(TypedDict):
    """The best complete trial of a single-objective study."""

    number: int
    values: list[float]
    params: dict[str, str | int | float]


class StatusTrait(TypedDict):
    """``status``: where the run stands (also sent with every delta, as its ``status``)."""

    at: float  # when it was computed: the newer of two statuses wins
    state: str
    note: str | None
    error: str | None
    n_done: int
    n_trials: int | None
    timeout: float | None
    started_at: float
    elapsed: float
    rate: float
    eta: float | None
    counts: dict[str, int]
    best: BestTrial | None


class ImportanceTrait(TypedDict):
    """``importance``: PED-ANOVA importance per parameter, and a note on it."""

    values: dict[str, float]
    note: str
    n_trials: int


# -------------------------------------------------------- to the front end
class _ParamHeaderBase(TypedDict):
    name: str
    kind: Literal["int", "float", "categorical"]
    log: bool
    choices: list[str] | None
    distribution: str  # in words, e.g. "int [1, 8]" (the search space view)


class ParamHeader(_ParamHeaderBase, total=False):
    """A parameter's column header (``ParamColumn.to_json``); the bounds and step of a numeric
    one where known (the trial detail checks an edited value against them before enqueueing)."""

    low: float
    high: float
    step: float | None


class _RecordEventBase(TypedDict):
    kind: str  # "pruned" | "failed" | "run started" | "stop requested" | "run <state>" ...
    time: float


class RecordEvent(_RecordEventBase, total=False):
    """One entry of the event log; fields without a value are left out."""

    trial: int
    step: int
    value: float
    message: str


class _RecordMessageBase(TypedDict):
    type: Literal["delta", "full"]
    seq: int
    n_trials: int
    n_values: int
    n_params: int
    n_intermediate: int
    events: list[RecordEvent]


class RecordMessage(_RecordMessageBase, total=False):
    """What changed (``delta``) or the whole record (``full``), with RECORD_BUFFERS."""

    # The parameters' headers: always in a ``full``, in a delta only where they changed.
    params: list[ParamHeader]
    status: StatusTrait  # deltas carry the status, so one message a flush keeps the header fresh
    # For a host that drops binary buffers: RECORD_BUFFERS as base64 strings, and no buffers.
    base64: list[str]


class TrialDetailMessage(TypedDict):
    """The answer to a ``trial`` request."""

    type: Literal["trial"]
    number: int
    traceback: str
    user_attrs: dict[str, Any]


class _BundleMessageBase(TypedDict):
    type: Literal["bundle"]
    version: str


class BundleMessage(_BundleMessageBase, total=False):
    """The answer to a ``bundle`` request; its one buffer is an ES module: the panel's, or
    plotly's where ``part`` says so."""

    part: Literal["plotly"]
    # For a host that drops binary buffers: the ES module as text, and no buffer. Text, not
    # base64: JSON-encoding the 1.6 MB module costs the kernel ~14 ms as text, ~23 ms as base64.
    code: str


class SteerMessage(TypedDict):
    """The answer to a ``run_more`` or ``enqueue`` request, in words the panel shows."""

    type: Literal["steer"]
    id: str  # the request's
    action: Literal["run_more", "enqueue"]
    # run_more: "ready" (then confirm), "started"; enqueue: "enqueued"; both: "refused".
    state: Literal["ready", "started", "enqueued", "refused"]
    message: str


# ------------------------------------------------------ from the front end
class SyncRequest(TypedDict):
    """A view that opens later asks for the whole record."""

    type: Literal["sync"]


class StopRequest(TypedDict):
    """The Stop button."""

    type: Literal["stop"]


class TrialRequest(TypedDict):
    """A click on a trial of the event log: its traceback and user attributes."""

    type: Literal["trial"]
    number: int


class _BundleRequestBase(TypedDict):
    type: Literal["bundle"]
    version: str


class BundleRequest(_BundleRequestBase, total=False):
    """The loader asks for the panel's code of its ``version``; with ``part: "plotly"``, for
    plotly's (asked once a panel is on screen)."""

    part: Literal["plotly"]


class NoBuffersRequest(TypedDict):
    """The page's host drops binary buffers (the bundle came without its buffer): from now on
    this panel sends its bundle and its record without buffers."""

    type: Literal["no_buffers"]


class ImportanceRequest(TypedDict):
    """A view that shows the importance (the Importance view; parallel coordinates order their
    axes by it) opens or closes: the kernel ranks the parameters only while one is open."""

    type: Literal["importance"]
    view: str  # which view of the page (a view that closes without saying so keeps it on)
    open: bool


class RunMoreRequest(TypedDict):
    """ "Run N more" after the run ended: ``n_trials`` more trials of the same objective on the
    same study, into this panel. Two steps: the kernel answers ``confirm=False`` with "ready"
    (or a refusal) and starts only on ``confirm=True`` of the same ``id``, so a request that
    waited behind a blocking cell, which the front end gave up on, never starts a run."""

    type: Literal["run_more"]
    id: str
    n_trials: int
    confirm: bool


class EnqueueRequest(TypedDict):
    """Enqueue a trial's edited parameters (``study.enqueue_trial``): a choice by its label."""

    type: Literal["enqueue"]
    id: str
    params: dict[str, str | int | float]


FrontendRequest = (
    SyncRequest
    | StopRequest
    | TrialRequest
    | BundleRequest
    | NoBuffersRequest
    | ImportanceRequest
    | RunMoreRequest
    | EnqueueRequest
)


# ------------------------------------------------------------------ builders
def meta_of(info: RunInfo, steer: Sequence[str] = ()) -> MetaTrait:
    """The ``meta`` trait of a run; ``steer``: what its kernel side can steer (see MetaTrait)."""
    return {
        "study_name": info.study_name,
        "directions": list(info.directions),
        "objective_names": list(info.objective_names or []),
        "sampler": info.sampler,
        "pruner": info.pruner,
        "storage": info.storage,
        "n_trials": info.n_trials,
        "timeout": info.timeout,
        "n_jobs": info.n_jobs,
        "watch": info.watch,
        "space": [space_row(s) for s in info.space],
        "steer": list(steer),
    }


def space_row(spec: ParamSpec) -> SpaceRow:
    """A declared parameter as the search space table shows it."""
    return {
        "name": spec.name,
        "kind": spec.kind,
        "distribution": spec.describe(),
        "line": spec.line,
        "dynamic": spec.dynamic,
    }


def inline_buffers(content: dict[str, Any], buffers: list[bytes]) -> dict[str, Any]:
    """A record message for a host that drops binary buffers: ``content`` carrying its
    ``buffers`` as base64 strings (``RecordMessage.base64``), to send with no buffers.

    Base64, not JSON numbers: a float is 8 bytes binary, ~11 characters as base64 and up to
    24 as a JSON number."""
    return {**content, "base64": [base64.b64encode(b).decode("ascii") for b in buffers]}


def parse_request(content: Any) -> FrontendRequest | None:
    """A front end's message as the request it is; None for anything else (ignored)."""
    if not isinstance(content, dict):
        return None
    kind = content.get("type")
    if kind == "sync":
        return SyncRequest(type="sync")
    if kind == "stop":
        return StopRequest(type="stop")
    if kind == "no_buffers":
        return NoBuffersRequest(type="no_buffers")
    number = content.get("number")
    if kind == "trial" and isinstance(number, int) and not isinstance(number, bool):
        return TrialRequest(type="trial", number=number)
    version = content.get("version")
    if kind == "bundle" and isinstance(version, str):
        bundle = BundleRequest(type="bundle", version=version)
        if content.get("part") == "plotly":
            bundle["part"] = "plotly"
        return bundle
    view, is_open = content.get("view"), content.get("open")
    if kind == "importance" and isinstance(view, str) and isinstance(is_open, bool):
        return ImportanceRequest(type="importance", view=view, open=is_open)
    return _parse_steer(kind, content)


def _parse_steer(kind: Any, content: dict[str, Any]) -> FrontendRequest | None:
    ident = content.get("id")
    if not isinstance(ident, str):
        return None
    n, confirm = content.get("n_trials"), content.get("confirm")
    if kind == "run_more" and isinstance(n, int) and _is_int(n) and isinstance(confirm, bool):
        return RunMoreRequest(type="run_more", id=ident, n_trials=n, confirm=confirm)
    params = content.get("params")
    if kind == "enqueue" and isinstance(params, dict):
        values = {
            str(k): v
            for k, v in params.items()
            if isinstance(v, (str, int, float)) and not isinstance(v, bool)
        }
        if len(values) == len(params):
            return EnqueueRequest(type="enqueue", id=ident, params=values)
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
