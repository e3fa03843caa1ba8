"""MLflow tracking for ``%%optuna --mlflow [URI]``: a run sink that talks to MLflow's own client.

One *parent* run per study, one *nested* run per trial (MLflow's ``mlflow.parentRunId`` tag), so the
MLflow UI shows each study as an expandable row with its trials beneath it:

* parent run: tags ``optuna.study_name``, ``optuna.directions``, ``optuna.sampler``,
  ``optuna.pruner``, ``optuna.storage``; the same as params; when the run ends the study's best
  value(s) as metrics (``best_value`` or ``best_<objective>``, with the number of trials as step, so
  a resumed study draws its best-so-far curve), the best trial's number and params as tags
  (``optuna.best_trial``, ``best_params.<name>``; tags because MLflow params are immutable and a
  resumed study's best params change), counts by state as metrics.
  With ``--resume`` the earlier parent run of the same study (same name and storage) is reopened,
  so a study stays one row however many cells extended it.
* trial run: params = the trial's params; objective value(s) as metrics; each
  ``report(value, step)`` as metric ``intermediate_value`` at that step (live, as the trial runs);
  tags ``optuna.trial.number``, ``optuna.trial.state`` (COMPLETE, PRUNED, FAIL), ``optuna.error``
  for a failed trial; metric ``duration_s``; the run's own start and end time are the trial's, and
  its MLflow status is FINISHED, KILLED (pruned) or FAILED.

Trial events arrive from the trials' threads (``--n-jobs``). The sink only puts them on a queue; a
single writer thread makes every MLflow call, in order, so trials never wait on the tracking
server and the client is never used from two threads at once. ``run_ended`` drains the queue.

``mlflow`` is imported inside functions only: ``import optuna_magic`` must not import it, and it is
an optional extra (``pip install optuna-magic[mlflow]``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from optuna_magic.outputs.mlflow_store import (
    MAX_TAG_LEN,
    ROLE_TAG,
    connect,
    context_tags,
    env,
    experiment_id,
    find_parent,
    key,
    log_batch,
    mask_uri,
    ms,
    text,
)
from optuna_magic.run.sink import BaseSink

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from optuna.trial import FrozenTrial

    from optuna_magic.run.contract import RunControl, RunInfo, RunResult, TrialError, TrialEvent

__all__ = ["MlflowSink", "mask_uri"]

_log = logging.getLogger(__name__)

_STATE_TO_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}
_RESULT_TO_STATUS = {
    "finished": "FINISHED",
    "stopped": "FINISHED",
    "interrupted": "KILLED",
    "failed": "FAILED",
}


class MlflowSink(BaseSink):
    """A :class:`~optuna_magic.run.runner.RunSink` that logs a study and its trials to MLflow.

    Build it with :meth:`create`, which checks the tracking store before any trial runs.

    Args:
        client: the MLflow client to log through.
        tracking_uri: the client's tracking URI (shown in messages, credentials masked).
        experiment: the experiment name; ``None`` uses ``MLFLOW_EXPERIMENT_NAME`` /
            ``MLFLOW_EXPERIMENT_ID`` when set, else MLflow's default experiment, as ``mlflow`` does.
    """

    def __init__(self, client: MlflowClient, tracking_uri: str, experiment: str | None) -> None:
        self.client = client
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.experiment_id: str | None = None
        self.parent_run_id: str | None = None
        #: Errors the writer thread met (MLflow exceptions as text); logging goes on without them.
        self.errors: list[str] = []
        self._queue: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._info: RunInfo | None = None
        # Touched only by the writer thread (every MLflow call happens there).
        self._trial_runs: dict[int, str] = {}
        self._reported: dict[int, set[int]] = {}
        self._n_failed_writes = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, tracking_uri: str | None = None, experiment: str | None = None) -> MlflowSink:
        """Check the tracking store and return a sink that logs to it.

        Args:
            tracking_uri: an MLflow tracking URI (``http(s)://host:port``, ``sqlite:///file.db``,
                ``file:./mlruns``, ``databricks``, ...); ``None`` uses MLflow's default
                (``MLFLOW_TRACKING_URI``, ``mlflow.set_tracking_uri`` or ``sqlite:///mlflow.db``).
            experiment: the MLflow experiment name, created if missing; ``None``: see the class.

        Returns:
            The sink, ready to be given to the runner.

        Raises:
            ValueError: ``mlflow`` is not installed, the server does not answer within a few
                seconds, or the store refuses the connection, with a message that says which.
        """
        client, uri = connect(tracking_uri, experiment)
        return cls(client, uri, experiment)

    # --------------------------------------------------------------------- the sink
    def run_started(self, info: RunInfo, control: RunControl) -> None:
        """Resolve the experiment and open (or, on resume, reopen) the study's parent run.

        Done here, in the caller's thread and before the first trial, so that a problem with the
        experiment is the cell's error rather than a warning in the middle of the run.
        """
        # Without the trials it started with: a panel's "Run N more" keeps this sink.
        self._info = dataclasses.replace(info, existing_trials=[])
        self._trial_runs = {}
        self._reported = {}
        self.errors = []
        self._n_failed_writes = 0
        self._queue = queue.SimpleQueue()
        self.experiment_id = experiment_id(self.client, self.experiment)
        tags = {
            ROLE_TAG: "study",
            "optuna.study_name": info.study_name,
            "optuna.directions": ",".join(info.directions),
            "optuna.sampler": info.sampler,
            "optuna.pruner": info.pruner,
            "optuna.storage": mask_uri(info.storage),
        }
        # The parent run this sink opened before, when it logs a panel's "Run N more" of the
        # same study; else, on resume, the earlier parent run of the study, looked up.
        parent = self.parent_run_id or (
            find_parent(self.client, self.experiment_id, info) if info.existing_trials else None
        )
        if parent is not None:
            self.parent_run_id = parent
            self.client.update_run(parent, status="RUNNING")
            self._log(parent, tags=tags)
        else:
            run = self.client.create_run(
                self.experiment_id,
                start_time=ms(info.started_at),
                tags=context_tags(tags),
                run_name=info.study_name,
            )
            self.parent_run_id = run.info.run_id
            params = {
                "study_name": info.study_name,
                "sampler": info.sampler,
                "pruner": info.pruner,
            }
            if len(info.directions) == 1:
                params["direction"] = info.directions[0]
            else:
                params["directions"] = ",".join(info.directions)
            self._log(self.parent_run_id, params=params)
        self._writer = threading.Thread(target=self._write_loop, name="optuna-magic-mlflow")
        self._writer.daemon = True
        self._writer.start()

    def trial_started(self, number: int) -> None:
        """Open the trial's nested run now, so the MLflow UI shows it running."""
        started = time.time()
        self._queue.put(lambda: self._open_trial(number, started))

    def trial_reported(self, number: int, step: int, value: float) -> None:
        """Log ``report(value, step)`` as the ``intermediate_value`` metric at ``step``."""
        now = time.time()
        self._queue.put(lambda: self._log_intermediate(number, step, value, now))

    def trial_finished(self, trial: FrozenTrial | TrialEvent, error: TrialError | None) -> None:
        """Log the trial's params, values, state and duration, and close its run."""
        self._queue.put(lambda: self._close_trial(trial, error))

    def run_ended(self, result: RunResult) -> None:
        """Log the study's best value(s) and params on the parent run, close it, drain the queue."""
        if self._writer is None:
            return  # run_started did not get as far as starting the writer
        self._queue.put(lambda: self._close_parent(result))
        self._queue.put(None)
        self._writer.join()
        self._writer = None
        if self._n_failed_writes:
            _log.warning(
                "MLflow: %d of the writes to %s failed; the first: %s",
                self._n_failed_writes,
                mask_uri(self.tracking_uri),
                self.errors[0] if self.errors else "?",
            )

    # ----------------------------------------------------------------- the writer
    def _write_loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            except Exception as e:
                # One failed write (a param MLflow rejects, a server hiccup) must not stop the
                # others nor the study; it is counted and reported once when the run ends.
                self._n_failed_writes += 1
                if len(self.errors) < 20:
                    self.errors.append(f"{type(e).__name__}: {getattr(e, 'message', None) or e}")
                _log.debug("MLflow write failed", exc_info=True)

    def _open_trial(self, number: int, started: float) -> str:
        assert self._info is not None and self.experiment_id is not None
        run = self.client.create_run(
            self.experiment_id,
            start_time=ms(started),
            tags=context_tags(
                {
                    "mlflow.parentRunId": self.parent_run_id,
                    "optuna.study_name": self._info.study_name,
                    "optuna.trial.number": str(number),
                    "optuna.trial.state": "RUNNING",
                }
            ),
            run_name=f"trial-{number}",
        )
        self._trial_runs[number] = run.info.run_id
        return str(run.info.run_id)

    def _log_intermediate(self, number: int, step: int, value: float, at: float) -> None:
        run_id = self._trial_runs.get(number) or self._open_trial(number, at)
        if not math.isfinite(value):
            return  # MLflow stores NaN but not inf in every store; Optuna ignores them too
        self._log(run_id, metrics=[("intermediate_value", value, step, at)])
        self._reported.setdefault(number, set()).add(step)

    def _close_trial(self, trial: FrozenTrial | TrialEvent, error: TrialError | None) -> None:
        assert self._info is not None
        start = trial.datetime_start.timestamp() if trial.datetime_start else time.time()
        end = trial.datetime_complete.timestamp() if trial.datetime_complete else time.time()
        # A trial that never started its user code (stopped before it began, or failed by an
        # interrupt) has no run yet.
        run_id = self._trial_runs.get(trial.number) or self._open_trial(trial.number, start)
        del self._trial_runs[trial.number]
        state = trial.state.name
        metrics: list[tuple[str, float, int, float]] = [("duration_s", end - start, 0, end)]
        # Only a complete trial has an objective value; Optuna gives a pruned one its last
        # intermediate value, which is already logged as such and would blur the value column.
        if trial.values is not None and state == "COMPLETE":
            for name, value in zip(self._objective_keys(), trial.values, strict=False):
                if math.isfinite(value):
                    metrics.append((name, value, 0, end))
        # Intermediate values that did not come through report() (a plain `def objective` that
        # calls trial.report itself) are logged from the trial's record.
        seen = self._reported.pop(trial.number, set())
        for step, value in sorted(trial.intermediate_values.items()):
            if step not in seen and math.isfinite(value):
                metrics.append(("intermediate_value", value, step, end))
        tags = {"optuna.trial.state": state, "optuna.trial.number": str(trial.number)}
        for attr, value in trial.user_attrs.items():
            tags[f"optuna.user_attr.{key(attr)}"] = text(value, MAX_TAG_LEN)
        if error is not None:
            tags["optuna.error"] = text(error.message, MAX_TAG_LEN)
            if error.traceback:
                # The end of a traceback is the part that says what went wrong.
                tb = error.traceback
                tags["optuna.traceback"] = tb if len(tb) <= MAX_TAG_LEN else "..." + tb[-7990:]
        elif state == "FAIL":
            # A FrozenTrial from the storage (not the runner's event) keeps Optuna's reason.
            reason = (getattr(trial, "system_attrs", None) or {}).get("fail_reason")
            if reason:
                tags["optuna.error"] = text(reason, MAX_TAG_LEN)
        self._log(
            run_id,
            params={name: value for name, value in trial.params.items()},
            metrics=metrics,
            tags=tags,
        )
        # MLflow prints a "View run" link per terminated run on a server; one per study (the
        # parent's) is useful, one per trial floods the cell.
        with env(MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="true"):
            self.client.set_terminated(
                run_id, status=_STATE_TO_STATUS.get(state, "KILLED"), end_time=ms(end)
            )

    def _close_parent(self, result: RunResult) -> None:
        assert self._info is not None and self.parent_run_id is not None
        import optuna

        from optuna_magic.run.runner import TrialError

        study = result.study
        # Trials whose end no sink heard of: the one whose exception ended the run (Optuna skips
        # the callbacks then) or one cut off by an interrupt. Close them with their real state.
        if self._trial_runs:
            by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
            for number, run_id in list(self._trial_runs.items()):
                t = by_number.get(number)
                if t is not None and t.state.is_finished():
                    err = result.error if t.state.name == "FAIL" else None
                    self._close_trial(t, TrialError(err, "") if err else None)
                else:
                    self.client.set_tag(run_id, "optuna.trial.state", "INTERRUPTED")
                    with env(MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="true"):
                        self.client.set_terminated(run_id, status="KILLED")
                    del self._trial_runs[number]
        now = time.time()
        trials = study.get_trials(deepcopy=False)
        n = len(trials)
        metrics: list[tuple[str, float, int, float]] = []
        tags: dict[str, str] = {"optuna.run_state": result.state}
        counts = {s.name: 0 for s in optuna.trial.TrialState}
        for t in trials:
            counts[t.state.name] += 1
        for state in ("COMPLETE", "PRUNED", "FAIL"):
            metrics.append((f"n_trials_{state.lower()}", counts[state], n, now))
        if result.error:
            tags["optuna.error"] = text(result.error, MAX_TAG_LEN)
        if counts["COMPLETE"]:
            if len(self._info.directions) == 1:
                best = study.best_trial
                assert best.value is not None
                metrics.append(("best_value", best.value, n, now))
                tags["optuna.best_trial"] = str(best.number)
                for name, value in best.params.items():
                    tags[f"best_params.{key(name)}"] = text(value, MAX_TAG_LEN)
            else:
                front = study.best_trials
                tags["optuna.best_trials"] = text(
                    ",".join(str(t.number) for t in front), MAX_TAG_LEN
                )
                # Per objective, the best value on the Pareto front (the front's extreme point).
                for i, (name, direction) in enumerate(
                    zip(self._objective_keys(), self._info.directions, strict=True)
                ):
                    values = [t.values[i] for t in front if t.values is not None]
                    if values:
                        pick = max if direction == "maximize" else min
                        metrics.append((f"best_{name}", pick(values), n, now))
        self._log(self.parent_run_id, metrics=metrics, tags=tags)
        self.client.set_terminated(
            self.parent_run_id, status=_RESULT_TO_STATUS.get(result.state, "FINISHED")
        )

    def _objective_keys(self) -> list[str]:
        assert self._info is not None
        k = len(self._info.directions)
        names = list(self._info.objective_names or [])
        if k == 1 and (len(names) != 1 or not names[0] or names[0] == "value"):
            return ["value"]
        if len(names) != k or len(set(names)) != k:
            names = [f"value_{i}" for i in range(k)]
        return [key(n) for n in names]

    def _log(
        self,
        run_id: str,
        *,
        params: dict[str, Any] | None = None,
        metrics: list[tuple[str, float, int, float]] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> None:
        log_batch(self.client, run_id, params=params, metrics=metrics, tags=tags)
