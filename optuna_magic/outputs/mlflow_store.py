"""The MLflow tracking store as :class:`.mlflow.MlflowSink` uses it: connect, find, log.

Checks a tracking store before any trial runs (a refused HTTP server fails in seconds, not after
MLflow's minutes of retries), resolves the experiment as ``mlflow`` does, finds a study's earlier
parent run, and logs in batches within MLflow's limits. ``mlflow`` is imported inside functions.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from optuna_magic.run.contract import RunInfo

__all__ = [
    "CHECK_TIMEOUT_S",
    "MAX_TAG_LEN",
    "ROLE_TAG",
    "connect",
    "context_tags",
    "env",
    "experiment_id",
    "find_parent",
    "key",
    "log_batch",
    "mask_uri",
    "ms",
    "text",
]

_log = logging.getLogger(__name__)

#: Seconds the reachability check waits for a tracking server before giving up.
CHECK_TIMEOUT_S = 3.0
#: Tag that marks a parent run as an optuna-magic study (used to find it again on ``--resume``).
ROLE_TAG = "optuna.role"
# MLflow's own limits (mlflow.utils.validation); hard-coded so that this module imports nothing.
_MAX_PARAMS_TAGS_PER_BATCH = 100
_MAX_METRICS_PER_BATCH = 1000
_MAX_PARAM_LEN = 6000
MAX_TAG_LEN = 8000
_BAD_KEY_CHARS = re.compile(r"[^0-9A-Za-z_\-. /]")
# The environment is process-wide; serialize the check's temporary settings.
_ENV_LOCK = threading.Lock()


def mask_uri(uri: str) -> str:
    """``uri`` with its credentials replaced by ``***``, for messages and tags (the one rule)."""
    from optuna_magic.study.secrets import mask_url

    return mask_url(uri)


def key(name: str) -> str:
    """A valid MLflow param or metric key for ``name`` (MLflow rejects ``[``, ``(``, ``..``)."""
    key = _BAD_KEY_CHARS.sub("_", name).strip("/") or "_"
    return key.replace("..", "__")


def ms(seconds: float) -> int:
    return int(seconds * 1000)


def text(value: Any, limit: int) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def env(**settings: str) -> Iterator[None]:
    """Set environment variables for the block, then restore them.

    MLflow reads its ``MLFLOW_*`` settings at every call, so this scopes one to a few calls
    without changing how the user's own MLflow calls behave.
    """
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in settings}
        os.environ.update(settings)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _quick_failing_http() -> contextlib.AbstractContextManager[None]:
    """Within the block, MLflow's HTTP client gives up after one try and a short timeout."""
    return env(
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT=str(math.ceil(CHECK_TIMEOUT_S)),
    )


def _check_reachable(uri: str) -> None:
    """Raise ``ValueError`` unless an HTTP(S) tracking server answers within the timeout.

    A single plain GET, not MLflow's client: MLflow retries a refused connection with exponential
    backoff for minutes. Any HTTP answer (even 401 or 404, e.g. behind a proxy) means a server is
    there; whether it is a working MLflow server is checked next, through the client.
    """
    import requests

    health = uri.rstrip("/") + "/health"
    try:
        requests.get(health, timeout=CHECK_TIMEOUT_S, allow_redirects=False)
    except requests.RequestException as e:
        reason = type(e).__name__
        if isinstance(e, requests.ConnectionError) and not isinstance(e, requests.Timeout):
            reason = "connection refused or host not found"
        elif isinstance(e, requests.Timeout):
            reason = f"no answer within {CHECK_TIMEOUT_S:g} s"
        raise ValueError(
            f"--mlflow: cannot reach the MLflow tracking server at {mask_uri(uri)} ({reason}). "
            "Start it (e.g. `mlflow server --host 127.0.0.1 --port 5000`), fix the URI, or give "
            "a local store such as `--mlflow sqlite:///mlflow.db`."
        ) from None


def connect(tracking_uri: str | None, experiment: str | None) -> tuple[MlflowClient, str]:
    """Check the tracking store; return a client of it and its URI (see ``MlflowSink.create``).

    Raises:
        ValueError: ``mlflow`` is not installed, the server does not answer within a few
            seconds, or the store refuses the connection, with a message that says which.
    """
    try:
        import mlflow
    except ImportError:
        raise ValueError(
            "--mlflow needs MLflow: pip install 'optuna-magic[mlflow]' (or mlflow)"
        ) from None

    uri = tracking_uri or mlflow.get_tracking_uri()
    if urlsplit(uri).scheme in ("http", "https"):
        _check_reachable(uri)
    try:
        with _quick_failing_http():
            client = mlflow.MlflowClient(tracking_uri=uri)
            # Opens the store (creates and migrates a SQLite file, checks credentials) and
            # proves the API answers, once, before the first trial.
            client.search_experiments(max_results=1)
            if experiment is not None:
                exp = client.get_experiment_by_name(experiment)
                if exp is not None and exp.lifecycle_stage == "deleted":
                    raise ValueError(
                        f"--mlflow: the MLflow experiment {experiment!r} is deleted; "
                        "restore it (`mlflow experiments restore`) or choose another name."
                    )
    except ValueError:
        raise
    except Exception as e:  # MlflowException, requests errors, SQLAlchemy errors...
        from optuna_magic.study.secrets import mask_text, secrets_in

        # MLflow and its stores may echo the URI (a SQLAlchemy URL with its password).
        message = mask_text(text(getattr(e, "message", None) or str(e), 600), secrets_in(uri))
        if urlsplit(uri).scheme in ("http", "https"):
            raise ValueError(
                f"--mlflow: the server at {mask_uri(uri)} answered, but not as a working "
                f"MLflow tracking server (wrong URI or path, or credentials?): {message}"
            ) from None
        raise ValueError(
            f"--mlflow: the MLflow tracking store {mask_uri(uri)} cannot be used: {message}"
        ) from None
    return client, uri


def experiment_id(client: MlflowClient, experiment: str | None) -> str:
    """The experiment's id, resolved as ``mlflow`` does; created when missing."""
    name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME")
    if name is None:
        # MLflow's own resolution without a name: an explicit id, else its default experiment.
        exp_id = os.environ.get("MLFLOW_EXPERIMENT_ID")
        if exp_id:
            return exp_id
        default = client.get_experiment_by_name("Default")
        return default.experiment_id if default is not None else "0"
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            raise ValueError(
                f"--mlflow: the MLflow experiment {name!r} is deleted; restore it or choose "
                "another name."
            )
        return str(exp.experiment_id)
    try:
        return str(client.create_experiment(name))
    except Exception:
        # Another process created it in between.
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return str(exp.experiment_id)


def find_parent(client: MlflowClient, experiment_id: str | None, info: RunInfo) -> str | None:
    """The parent run an earlier ``%%optuna`` run of this study left, if any."""

    def quoted(s: str) -> str:
        return "'" + s.replace("'", "\\'") + "'"

    try:
        runs = client.search_runs(
            [str(experiment_id)],
            filter_string=(
                f"tags.`{ROLE_TAG}` = 'study' AND tags.`optuna.study_name` = "
                f"{quoted(info.study_name)} AND tags.`optuna.storage` = "
                f"{quoted(mask_uri(info.storage))}"
            ),
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
    except Exception:
        # A name MLflow's filter grammar cannot express: the resumed study gets a new parent.
        _log.debug("MLflow search for the earlier parent run failed", exc_info=True)
        return None
    return str(runs[0].info.run_id) if runs else None


def context_tags(tags: dict[str, Any]) -> dict[str, Any]:
    """``tags`` plus MLflow's context tags (user, source), as ``mlflow.start_run`` adds them."""
    try:
        from mlflow.tracking.context.registry import resolve_tags

        return dict(resolve_tags(tags))
    except Exception:  # a private module: its absence costs only the user/source columns
        return tags


def log_batch(
    client: MlflowClient,
    run_id: str,
    *,
    params: dict[str, Any] | None = None,
    metrics: list[tuple[str, float, int, float]] | None = None,
    tags: dict[str, Any] | None = None,
) -> None:
    """One ``log_batch`` per MLflow's batch limits. ``metrics``: (key, value, step, time)."""
    from mlflow.entities import Metric, Param, RunTag

    param_list = [Param(key(k), text(v, _MAX_PARAM_LEN)) for k, v in (params or {}).items()]
    tag_list = [RunTag(k, text(v, MAX_TAG_LEN)) for k, v in (tags or {}).items()]
    metric_list = [
        Metric(key(k), float(v), ms(at), int(step)) for k, v, step, at in (metrics or [])
    ]
    while param_list or tag_list or metric_list:
        n_params = min(len(param_list), _MAX_PARAMS_TAGS_PER_BATCH)
        n_tags = min(len(tag_list), _MAX_PARAMS_TAGS_PER_BATCH - n_params)
        n_metrics = min(len(metric_list), _MAX_METRICS_PER_BATCH - n_params - n_tags)
        client.log_batch(
            run_id,
            metrics=metric_list[:n_metrics],
            params=param_list[:n_params],
            tags=tag_list[:n_tags],
        )
        del param_list[:n_params], tag_list[:n_tags], metric_list[:n_metrics]
