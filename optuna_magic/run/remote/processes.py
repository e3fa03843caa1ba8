"""The worker process of ``--workers``: ``python -m optuna_magic.run.remote.processes``.

It loads the payload the parent wrote (:func:`write_payload`), then runs one trial per ticket:
before each trial it asks the parent for one over a pipe (JSON lines out, ``go`` / ``stop`` in),
and tells it which trial it runs and when it is done.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import TYPE_CHECKING, Any

from optuna_magic.run.remote.shipping import (
    TRACEBACK_CHARS,
    RecordingObjective,
    open_payload,
    user_traceback,
)

if TYPE_CHECKING:
    import optuna

__all__ = ["write_payload"]


def write_payload(path: str, storage_url: str, payload: dict[str, Any]) -> None:
    """Write what the workers load: a plain header first, then the cloudpickled payload."""
    import pickle

    import cloudpickle

    header = {"storage": storage_url, "sys_path": list(sys.path)}
    with open(path, "wb") as f:
        pickle.dump((header, cloudpickle.dumps(payload)), f)


class _Channel:
    """The worker's side of the ticket protocol: JSON lines out, ``go`` / ``stop`` in."""

    def __init__(self, fd: int) -> None:
        self._out = os.fdopen(fd, "wb", buffering=0)
        self._in = sys.stdin.buffer

    def send(self, **msg: Any) -> None:
        self._out.write(json.dumps(msg).encode() + b"\n")

    def ticket(self) -> bool:
        self.send(ask=1)
        return self._in.readline().strip() == b"go"


def _worker_main(path: str, index: int, fd: int) -> int:
    channel = _Channel(fd)
    try:
        header, payload = _load_payload(path)
        study, objective = open_payload(payload, header["storage"])
    except BaseException as e:
        channel.send(
            error=f"worker {index} could not start: {type(e).__name__}: {e}",
            traceback="".join(traceback.format_exception(e))[-TRACEBACK_CHARS:],
        )
        return 1

    def started(trial: optuna.Trial) -> None:
        channel.send(trial=trial.number, id=trial._trial_id)

    wrapped = RecordingObjective(objective, payload["n_objectives"], started)
    catch = payload["catch"]
    try:
        while channel.ticket():
            study.optimize(wrapped, n_trials=1, catch=catch, gc_after_trial=False)
            channel.send(done=1)
    except BaseException as e:
        from optuna_magic.run.runner import RunAborted

        if isinstance(e, RunAborted):
            channel.send(error=str(e.error), traceback="")
        else:
            channel.send(error=f"{type(e).__name__}: {e}", traceback=user_traceback(e))
        return 1
    return 0


def _load_payload(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header first: it carries the parent's sys.path, which unpickling the rest may need."""
    import pickle

    with open(path, "rb") as f:
        header, blob = pickle.load(f)
    sys.path.extend(p for p in header["sys_path"] if p not in sys.path)
    return header, pickle.loads(blob)


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
