"""``--dask [ADDRESS]``: which Dask cluster runs the trials, and where they are stored.

The cluster is, in this order: the ``Client`` already in the user's namespace, a client connected
to ADDRESS, or a ``LocalCluster`` started on loopback (kept for the next run in this process).

Storage: ``--storage`` when given (the workers must reach it: PostgreSQL for several machines; a
SQLite or journal file only on one machine or a shared file system); without it a journal file in
a temporary folder on a local cluster, or optuna-integration's ``DaskStorage`` (the trials live in
the scheduler's memory) on a remote one.

``dask.distributed`` and ``optuna_integration`` are imported only when ``--dask`` is used.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optuna_magic.cell.space import OptunaMagicError

__all__ = [
    "DaskPlan",
    "close_local",
    "find_client",
    "import_distributed",
    "local_client",
    "prepare_dask",
]

_local: dict[str, Any] = {}  # the LocalCluster this process started, reused by later runs


def import_distributed() -> Any:
    """The ``distributed`` module, or a clear error naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise OptunaMagicError(
            "--dask needs dask.distributed: pip install 'optuna-magic[dask]'"
        ) from None
    return distributed


@dataclass
class DaskPlan:
    """Where the trials run and where they are stored.

    Attributes:
        client: the ``distributed.Client``.
        storage: the Optuna storage the parent opens (the study is created on it).
        storage_url: the URL the tasks open, or None when ``storage`` itself travels
            (``DaskStorage``).
        where: a line for the user: which cluster, which storage (credentials masked).
        local: whether the cluster is the loopback ``LocalCluster`` this process started.
    """

    client: Any
    storage: Any
    storage_url: str | None
    where: str
    local: bool


def find_client(user_ns: Mapping[str, Any]) -> Any:
    """The ``distributed.Client`` in the user's namespace, if any (the newest one)."""
    import sys

    if "distributed" not in sys.modules:
        return None
    cls = sys.modules["distributed"].Client
    clients = [v for k, v in user_ns.items() if not k.startswith("_") and isinstance(v, cls)]
    live = [c for c in clients if c.status == "running"]
    return live[-1] if live else None


def local_client(n_workers: int | None = None) -> Any:
    """A client of a loopback ``LocalCluster`` of worker processes, started once per process.

    A task whose worker dies is not re-run (``allowed-failures: 0``): its trial is failed and
    counted, so ``-n`` stays exact.
    """
    import dask

    distributed = import_distributed()
    client = _local.get("client")
    if client is not None and client.status == "running":
        return client
    n = n_workers or max(1, min(4, os.cpu_count() or 1))
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    client = distributed.Client(cluster, set_as_default=False)
    _local.update(client=client, cluster=cluster)
    return client


def close_local() -> None:
    """Close the LocalCluster started by :func:`local_client`, if any."""
    client, cluster = _local.pop("client", None), _local.pop("cluster", None)
    with contextlib.suppress(Exception):
        if client is not None:
            client.close()
    with contextlib.suppress(Exception):
        if cluster is not None:
            cluster.close()


def prepare_dask(
    address: str | None,
    user_ns: Mapping[str, Any],
    storage_url: str | None,
    *,
    n_workers: int | None = None,
    heartbeat_interval: int | None = None,
) -> DaskPlan:
    """Pick the cluster and the storage for ``--dask [ADDRESS]``.

    Args:
        address: the scheduler's address (``tcp://host:8786``); None for the namespace's client
            or a local cluster.
        user_ns: the user's namespace, searched for a ``Client``.
        storage_url: ``--storage``, or None.
        n_workers: worker processes of a local cluster (default: CPUs, at most 4).
        heartbeat_interval: for an RDB ``--storage``.
    """
    from optuna_magic.study.secrets import mask_url
    from optuna_magic.study.storage import open_storage

    client, cluster, local = _pick_cluster(address, user_ns, n_workers)
    if storage_url is None and local:
        from optuna_magic.study.open import temporary_journal

        storage_url = temporary_journal()
        note = (
            f"--dask without --storage: trials go to the journal file "
            f"{storage_url.removeprefix('journal:')}"
        )
    elif storage_url is None:
        from optuna_integration import DaskStorage

        storage = DaskStorage(client=client)
        return DaskPlan(
            client,
            storage,
            None,
            f"Trials run on {cluster}, stored in the scheduler's memory "
            f"(DaskStorage; give --storage to keep them)",
            False,
        )
    else:
        note = f"storage {mask_url(storage_url)}"
    storage = open_storage(storage_url, heartbeat_interval=heartbeat_interval)
    return DaskPlan(client, storage, storage_url, f"Trials run on {cluster}; {note}", local)


def _pick_cluster(
    address: str | None, user_ns: Mapping[str, Any], n_workers: int | None
) -> tuple[Any, str, bool]:
    """The client, a line naming its cluster, and whether it is our local cluster."""
    distributed = import_distributed()
    client = None if address else find_client(user_ns)
    if client is not None:
        return client, f"the Client in the namespace ({client.scheduler.address})", False
    if address:
        try:
            client = distributed.Client(address, timeout=10, set_as_default=False)
        except OSError as e:
            raise OptunaMagicError(f"--dask {address}: cannot reach the scheduler ({e})") from None
        return client, f"the Dask cluster at {address}", False
    client = local_client(n_workers)
    n = len(client.scheduler_info(n_workers=-1)["workers"])
    return client, f"a local Dask cluster ({n} worker processes on 127.0.0.1)", True
