"""The run/sink contract: what a run tells its sinks, and what a sink may ask of the run.

Every event reaches a sink through :class:`RunSink`'s methods, in one order for every kind of
run (local, polled, remote; see :class:`optuna_magic.run.handle.RunHandle`): ``run_started``
once, then trial events, then ``run_ended`` once. A sink derives from
:class:`~optuna_magic.run.sink.BaseSink` (or
declares every member of :class:`RunSink`); the run decides how each trial ended.

``%load_ext`` imports :mod:`optuna_magic.run.sink` only (these dataclasses cost milliseconds to
build); everything else imports the contract from here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from optuna_magic.cell.space import ParamSpec

__all__ = [
    "RunControl",
    "RunInfo",
    "RunResult",
    "RunSink",
    "TrialError",
    "TrialEvent",
    "objective_names",
]


@dataclass(frozen=True)
class RunInfo:
    """What a sink needs to know about a run before its first trial."""

    study_name: str
    directions: list[str]
    sampler: str
    pruner: str
    storage: str
    n_trials: int | None
    timeout: float | None
    space: list[ParamSpec]
    objective_names: list[str]
    started_at: float
    existing_trials: list[FrozenTrial] = field(default_factory=list)
    n_jobs: int = 1
    # ``%optuna watch``: other processes run the trials; this run only reads them.
    watch: bool = False


def objective_names(n: int) -> list[str]:
    """Names of a study's objective values when it names none: ``value``, or ``values_i``."""
    return ["value"] if n == 1 else [f"values_{i}" for i in range(n)]


@dataclass(frozen=True)
class TrialError:
    """The error of a failed trial, as text."""

    message: str
    traceback: str


class TrialEvent:
    """A finished trial as the run saw it, readable like an ``optuna.trial.FrozenTrial``.

    Built in the trial's thread for every trial, so it costs as little as it can: it keeps the
    trial's own cached state and reads fields from it only when a sink asks. Asking Optuna for a
    FrozenTrial per trial (a callback) costs a deep copy that doubles the run time of a fast
    study, and copying the fields up front cost 1.2-1.4 us a trial (measured), a few percent of
    a 40 us trial. The trial is over, and Optuna writes its cached state only while it runs.
    Attribute names match FrozenTrial, so sinks read either.
    """

    __slots__ = ("_cached", "complete_ts", "number", "start_ts", "state", "values")

    def __init__(
        self,
        cached: FrozenTrial,
        state: Any,
        values: tuple[float, ...] | None,
        number: int,
        start_ts: float | None = None,
        complete_ts: float | None = None,
    ) -> None:
        self._cached = cached  # the trial's own FrozenTrial (Trial._cached_frozen_trial)
        self.state = state
        # The tuple the runner made (a trial's values are not changed after it ends).
        self.values: tuple[float, ...] | None = values
        self.number = number
        self.start_ts = start_ts  # when the runner started it (None: it never ran)
        # A datetime only when asked for (most sinks never do).
        self.complete_ts = time.time() if complete_ts is None else complete_ts

    @property
    def params(self) -> dict[str, Any]:
        """The trial's parameters (shared with the trial, not copied)."""
        return self._cached.params

    @property
    def distributions(self) -> dict[str, Any]:
        """The trial's distributions."""
        return self._cached.distributions

    @property
    def intermediate_values(self) -> dict[int, float]:
        """The values the trial reported, by step."""
        return self._cached.intermediate_values

    @property
    def user_attrs(self) -> dict[str, Any]:
        """The trial's user attributes."""
        return self._cached.user_attrs

    @property
    def system_attrs(self) -> dict[str, Any]:
        """The trial's system attributes (its constraints among them)."""
        return self._cached.system_attrs

    @property
    def datetime_start(self) -> Any:
        """When the trial started, as ``FrozenTrial.datetime_start``."""
        return self._cached.datetime_start

    @property
    def datetime_complete(self) -> Any:
        """When the trial ended, as ``FrozenTrial.datetime_complete``."""
        import datetime

        return datetime.datetime.fromtimestamp(self.complete_ts)

    @property
    def value(self) -> float | None:
        """The single objective value (None unless COMPLETE)."""
        return None if self.values is None else self.values[0]

    @property
    def duration(self) -> Any:
        """Time from start to completion, as ``FrozenTrial.duration``."""
        if self.datetime_start is None:
            return None
        return self.datetime_complete - self.datetime_start


@dataclass
class RunResult:
    """How a run ended."""

    state: str  # "finished" | "stopped" | "interrupted" | "failed"
    study: optuna.Study
    n_trials_run: int
    elapsed: float
    error: str | None = None
    exception: BaseException | None = None


class RunControl(Protocol):
    """The handle a sink gets at ``run_started`` to steer and read the run (the panel)."""

    def request_stop(self) -> None:
        """Ask the run to stop gracefully: the running trials finish, no new one starts."""

    def running_trials(self) -> dict[int, float] | None:
        """The trials running now (number -> ``time.time()`` of its start), or None where the
        run does not track them (a polled run): its sinks then get every ``trial_started``."""

    @property
    def in_memory_study(self) -> optuna.Study | None:
        """The run's study when its storage is this process's memory, else None: every trial
        of it then reaches the sinks, and its finished trials can be read without copies."""


class RunSink(Protocol):
    """Receives the events of a run. Called from the trial's thread: keep it cheap.

    A sink that derives from :class:`BaseSink` and leaves a per-trial method as it is there is
    not called for it at all (a fast trial takes ~40 us; each call costs a little of that). A
    sink with a true ``reads_running_trials`` is not called for trial starts by a run whose
    :meth:`RunControl.running_trials` tracks them: it asks when it wants to know (the panel, at
    each flush). A sink that overrides ``trial_completed`` gets completed trials there, as plain
    values, and only the other ends (pruned, failed) through ``trial_finished``.
    """

    @property
    def reads_running_trials(self) -> bool:
        """True: trial starts are read from the control, not told (see above)."""

    def run_started(self, info: RunInfo, control: RunControl) -> None:
        """The run begins: before any trial event, once."""

    def trial_started(self, number: int) -> None:
        """Trial ``number`` began running."""

    def trial_reported(self, number: int, step: int, value: float) -> None:
        """A running trial reported an intermediate value."""

    def trial_completed(
        self, trial: FrozenTrial, values: tuple[float, ...], started: float | None, ended: float
    ) -> bool:
        """A trial completed with ``values``; ``trial`` is the trial's own FrozenTrial as it ran
        (params, intermediate values, user attributes; its state and values are not final).
        ``started`` and ``ended`` are ``time.time()`` stamps (``started`` None: not known).

        Returns False where the sink wants this trial as a :class:`TrialEvent` instead: the run
        then calls its ``trial_finished`` with one (the run alone builds trial events)."""

    def trial_finished(self, trial: FrozenTrial | TrialEvent, error: TrialError | None) -> None:
        """A trial ended; ``trial`` reads like a FrozenTrial (number, state, values, params...)."""

    def run_ended(self, result: RunResult) -> None:
        """The run is over: after every trial event, once."""
