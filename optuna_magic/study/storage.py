"""The one storage opener: an ``--storage`` URL or journal path -> an Optuna storage whose trials
carry their owner (see :mod:`optuna_magic.study.liveness`), refused in our words when it cannot
be opened, and never showing a password.
"""

from __future__ import annotations

import os
from typing import Any

import optuna

from optuna_magic.cell.space import OptunaMagicError
from optuna_magic.study.factories import unquote
from optuna_magic.study.liveness import (
    DEFAULT_HEARTBEAT,
    OwnedFileLock,
    OwnedJournalStorage,
    OwnedRDBStorage,
)
from optuna_magic.study.secrets import connectable_url, mask_text, mask_url, secrets_in

__all__ = ["in_memory", "is_journal_url", "journal_path", "open_storage"]

_JOURNAL_SUFFIXES = (".log", ".journal", ".jsonl")


def in_memory(study: optuna.Study) -> optuna.Study | None:
    """The study when its storage is this process's memory (its trials can be read without a
    copy or a query), else None."""
    return study if isinstance(study._storage, optuna.storages.InMemoryStorage) else None


def is_journal_url(url: str) -> bool:
    """``journal:PATH`` or a path ending in .log / .journal / .jsonl."""
    url = unquote(url)
    return url.startswith("journal:") or ("://" not in url and url.endswith(_JOURNAL_SUFFIXES))


def journal_path(url: str) -> str:
    """The file of a journal storage URL."""
    return os.path.abspath(unquote(url).removeprefix("journal:"))


def open_storage(url: str, *, heartbeat_interval: int | None = DEFAULT_HEARTBEAT) -> Any:
    """An Optuna storage for ``url`` whose trials carry their owner, with a heartbeat for RDB.

    Args:
        url: an RDB URL (``sqlite:///study.db``, ``postgresql://...``) or a journal file
            (``journal:PATH`` or a path ending in .log / .journal / .jsonl).
        heartbeat_interval: seconds between heartbeats of a running trial (RDB only; the grace
            period is twice that); None turns the heartbeat off.
    """
    url = unquote(url)
    if is_journal_url(url):
        from optuna.storages import journal

        path = journal_path(url)
        if not os.path.isdir(os.path.dirname(path)):
            raise OptunaMagicError(
                f"--storage {mask_url(url)!r}: folder {os.path.dirname(path)!r} does not exist"
            )
        _refuse_folder(url, path, "journal:")
        try:
            return OwnedJournalStorage(
                journal.JournalFileBackend(path, lock_obj=OwnedFileLock(path))
            )
        except OSError as e:
            raise OptunaMagicError(
                f"--storage {mask_url(url)!r}: cannot open {path!r}: {e.strerror}"
            ) from None
        except ValueError as e:  # json.JSONDecodeError, UnicodeDecodeError: not a journal
            raise OptunaMagicError(
                f"--storage {mask_url(url)!r}: {path!r} is not an Optuna journal file "
                f"({type(e).__name__}: {e}); give a new file name or that of a journal"
            ) from None
    if "://" not in url:
        raise OptunaMagicError(
            f"--storage {mask_url(url)!r} is neither a database URL (sqlite:///study.db, "
            f"postgresql://user@host/db) nor a journal file (journal:study.log)"
        )
    kwargs: dict[str, Any] = {}
    if heartbeat_interval:
        kwargs = {
            "heartbeat_interval": int(heartbeat_interval),
            "grace_period": 2 * int(heartbeat_interval),
        }
    _check_database_url(url)
    if url.startswith("sqlite"):
        # Several processes write one SQLite file: wait for the lock instead of failing at once.
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 30}}
    import warnings

    with warnings.catch_warnings():
        # heartbeat_interval has been "experimental" since Optuna 2.9; the warning helps nobody.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return OwnedRDBStorage(connectable_url(url), **kwargs)
        except Exception as e:  # SQLAlchemy and driver errors, a missing driver's ImportError
            # In our words, and masked: drivers echo hosts and SQLAlchemy may echo the URL.
            reason = mask_text(str(e).splitlines()[0] if str(e) else "", secrets_in(url))
            raise OptunaMagicError(
                f"--storage {mask_url(url)}: cannot open the database "
                f"({type(e).__name__}: {reason})"
            ) from None


def _refuse_folder(url: str, path: str, scheme: str) -> None:
    if os.path.isdir(path):
        example = os.path.join(path, "study.db" if scheme.startswith("sqlite") else "study.log")
        raise OptunaMagicError(
            f"--storage {mask_url(url)!r}: {path!r} is a folder; the storage is a file in it, "
            f"e.g. {scheme}{example}"
        )


def _check_database_url(url: str) -> None:
    """Say plainly what SQLAlchemy would not: an unknown database, a SQLite path that cannot be
    a file (SQLite only says "unable to open database file")."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except NoSuchModuleError:  # an ArgumentError too: first
        raise OptunaMagicError(
            f"--storage {mask_url(url)!r}: no database driver for {parsed.drivername!r}; use "
            f"sqlite:///FILE, postgresql://..., mysql://... or a journal file (journal:FILE)"
        ) from None
    except (ArgumentError, ImportError):
        return  # the database opener says what is wrong with the URL or its driver
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return
    if database.startswith("file:"):
        return
    path = os.path.abspath(database)
    _refuse_folder(url, path, "sqlite:///")
    if not os.path.isdir(os.path.dirname(path)):
        raise OptunaMagicError(
            f"--storage {mask_url(url)!r}: folder {os.path.dirname(path)!r} does not exist"
        )


# --------------------------------------------------------------- orphan trials
