"""Which RUNNING trial is still running: owner tags, heartbeats, and failing orphaned trials.

A trial is left RUNNING for ever when the process that ran it dies (a SIGKILLed kernel, a worker
killed by the out-of-memory killer). Two mechanisms find such trials:

- RDB storages get Optuna's own heartbeat (``RDBStorage(heartbeat_interval=...)``): a trial whose
  heartbeat is older than the grace period is stale, wherever its process ran.
- Every storage opened by :func:`optuna_magic.study.storage.open_storage` tags each trial it
  creates with its owner (host, boot id, pid, process start time) in the trial's system
  attributes, inside the same write that creates the trial. A RUNNING trial whose owner ran on
  this machine and is gone is orphaned at once; this is the journal storage's equivalent of the
  heartbeat, and it spares RDB storages the grace period when the process died here.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import os
import socket
import time
import uuid
from collections.abc import Iterable
from stat import S_ISREG
from typing import TYPE_CHECKING, Any

import optuna
import optuna.storages.journal

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = [
    "OWNER_KEY",
    "OwnedFileLock",
    "OwnedJournalStorage",
    "OwnedRDBStorage",
    "fail_orphaned_trials",
    "fail_trial",
    "others_running",
    "owner_alive",
]

OWNER_KEY = "optuna_magic:owner"
FAIL_REASON_KEY = "fail_reason"  # the key Optuna < 3 used; read by the poller
TRACEBACK_KEY = "optuna_magic:traceback"
DEFAULT_HEARTBEAT = 10  # seconds; the grace period is twice as long


# ------------------------------------------------------------------- identity
def _proc_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` after the command name, or None off Linux / no process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


@functools.lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> int | None:
    stat = _proc_stat(pid)
    # Field 22 of stat (index 19 after pid and comm): start time in clock ticks since boot.
    return int(stat[19]) if stat is not None and len(stat) > 19 else None


def owner_tag() -> dict[str, Any]:
    """This process as a trial's owner."""
    pid = os.getpid()
    return {
        "host": socket.gethostname(),
        "boot": _boot_id(),
        "pid": pid,
        "start": _start_ticks(pid),
    }


def owner_alive(owner: Any) -> bool | None:
    """Whether a trial's owner process still runs: True / False here, None when unknowable
    (another machine, or a tag this module did not write)."""
    if not isinstance(owner, dict) or "pid" not in owner:
        return None
    if owner.get("host") != socket.gethostname() or owner.get("boot", "") != _boot_id():
        return None
    pid = int(owner["pid"])
    if pid == os.getpid():
        return True
    stat = _proc_stat(pid)
    if stat is not None:
        if stat[0] in ("Z", "X"):  # a killed child its parent has not reaped yet
            return False
        start = owner.get("start")
        return start is None or len(stat) <= 19 or int(stat[19]) == int(start)
    if os.path.isdir("/proc"):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ------------------------------------------------------------------- storages
def _tagged_template() -> Any:
    """A template trial equal to what ``create_new_trial`` makes by default, plus the owner."""
    from optuna.trial import FrozenTrial, TrialState

    return FrozenTrial(
        number=-1,
        state=TrialState.RUNNING,
        value=None,
        values=None,
        datetime_start=datetime.datetime.now(),
        datetime_complete=None,
        params={},
        distributions={},
        user_attrs={},
        system_attrs={OWNER_KEY: owner_tag()},
        intermediate_values={},
        trial_id=-1,
    )


class OwnedFileLock(optuna.storages.journal.JournalFileOpenLock):
    """Optuna's open-file lock of a journal, with its holder written in the lock file.

    A process killed while it holds the lock (``--workers`` after an interrupt, or the OOM
    killer) leaves the lock file behind, and Optuna's lock then waits its 30 s grace period
    before it breaks it: an interrupted run took 30 s to end about one time in six. A lock whose
    holder is known to be gone (this machine, same boot, process not running) is broken at
    once; one whose holder is unknown or on another machine still gets the grace period.
    """

    def acquire(self) -> bool:
        # The lock file appears with its holder already written in it (a hard link to a file
        # written first): creating it empty and writing the holder after left an empty lock,
        # holder unknown, in about one of three kills that landed while the lock was held, and
        # the next writer waited the whole grace period.
        new = f"{self._lock_file}.{uuid.uuid4().hex}.new"
        try:
            with open(new, "w") as f:
                json.dump(owner_tag(), f)
        except OSError:
            return self._acquire_empty()
        try:
            return self._link(new)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(new)

    def _link(self, new: str) -> bool:
        sleep, mtime, since = 0.001, None, time.monotonic()
        while True:
            try:
                os.link(new, self._lock_file)
                return True
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                return self._acquire_empty()
            self._break_if_orphaned()
            with contextlib.suppress(OSError):
                current = os.stat(self._lock_file).st_mtime
                if current != mtime:
                    mtime, since = current, time.monotonic()
                elif self.grace_period is not None and time.monotonic() - since > self.grace_period:
                    with contextlib.suppress(RuntimeError):
                        self.release()  # a holder unknown to us, silent for the grace period
                    continue
            time.sleep(sleep)
            sleep = min(sleep * 2, 0.1)

    def _acquire_empty(self) -> bool:
        self._break_if_orphaned()
        acquired = super().acquire()
        with contextlib.suppress(OSError), open(self._lock_file, "w") as f:
            json.dump(owner_tag(), f)  # ours now; a reader that finds it empty waits
        return acquired

    def _break_if_orphaned(self) -> None:
        path = self._lock_file
        try:
            st = os.lstat(path)
            if not S_ISREG(st.st_mode):
                return  # another kind of lock (Optuna's symlink lock): not ours to judge
            with open(path) as f:
                owner = json.loads(f.read(4096) or "null")
        except (OSError, ValueError):
            return
        if owner_alive(owner) is not False:
            return
        moved = f"{path}.{uuid.uuid4().hex}.stale"
        try:
            os.rename(path, moved)
        except OSError:
            return  # someone else broke it first
        if os.stat(moved).st_ino != st.st_ino:
            # The stale lock was replaced by a live one between the check and the rename: put
            # the live one back (unless yet another lock was taken meanwhile).
            with contextlib.suppress(OSError):
                os.link(moved, path)
        with contextlib.suppress(OSError):
            os.unlink(moved)


class OwnedRDBStorage(optuna.storages.RDBStorage):
    """An RDBStorage whose new trials carry their owner process (same transaction)."""

    def _create_new_trial(self, study_id: int, template_trial: Any = None) -> Any:
        # Optuna's cached storage calls this private method, not create_new_trial.
        return super()._create_new_trial(study_id, template_trial or _tagged_template())


class OwnedJournalStorage(optuna.storages.JournalStorage):
    """A JournalStorage whose new trials carry their owner process (no extra log line)."""

    def create_new_trial(self, study_id: int, template_trial: Any = None) -> int:
        return super().create_new_trial(study_id, template_trial or _tagged_template())

    def set_trial_state_values(self, trial_id: int, state: Any, values: Any = None) -> bool:
        ok: bool = super().set_trial_state_values(trial_id, state, values)
        if ok and state == optuna.trial.TrialState.RUNNING:  # an enqueued trial popped here
            with contextlib.suppress(Exception):
                self.set_trial_system_attr(trial_id, OWNER_KEY, owner_tag())
        return ok


def others_running(study: optuna.Study) -> list[int]:
    """The numbers of the study's RUNNING trials that another process runs now, as far as the
    storage tells: a trial whose owner is this process, or a process known to be gone, is not
    one; a trial of an unknown owner (another machine, no tag) counts, since it may be."""
    from optuna.trial import TrialState

    from optuna_magic.study.storage import in_memory

    if in_memory(study) is not None:
        return []  # this process's memory: nobody else can run its trials
    mine = os.getpid()
    found = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner: Any = t.system_attrs.get(OWNER_KEY)
        if isinstance(owner, dict) and owner.get("pid") == mine and owner_alive(owner):
            continue
        if owner_alive(owner) is not False:
            found.append(t.number)
    return found


def fail_trial(storage: Any, trial_id: int, reason: str) -> bool:
    """Mark a RUNNING trial FAIL with ``reason``; False if it had finished meanwhile."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    with contextlib.suppress(UpdateFinishedTrialError, RuntimeError):
        storage.set_trial_system_attr(trial_id, FAIL_REASON_KEY, reason)
    try:
        return bool(storage.set_trial_state_values(trial_id, TrialState.FAIL))
    except (UpdateFinishedTrialError, RuntimeError):
        return False


def fail_orphaned_trials(
    study: optuna.Study, running: Iterable[FrozenTrial] | None = None
) -> list[int]:
    """Fail the RUNNING trials whose process is gone; return their numbers.

    Uses the owner tag (a process of this machine that no longer runs) and, for an RDB storage
    opened with a heartbeat, Optuna's ``fail_stale_trials`` (a heartbeat older than the grace
    period, any machine). Trials of live or unknown owners are left alone.

    Args:
        study: the study to check.
        running: its RUNNING trials when the caller has them already (the poller).
    """
    import warnings

    from optuna.trial import TrialState

    storage = study._storage
    failed: list[int] = []
    if running is None:
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for t in running:
        if t.state != TrialState.RUNNING:
            continue
        owner: Any = t.system_attrs.get(OWNER_KEY)
        if owner_alive(owner) is False:
            reason = (
                f"its process (pid {owner['pid']} on {owner['host']}) ended while the trial ran"
            )
            if fail_trial(storage, t._trial_id, reason):
                failed.append(t.number)
    before = set(failed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        stale_ids = _stale_trial_ids(storage, study._study_id)
        for trial_id in stale_ids:
            number = storage.get_trial(trial_id).number
            if number not in before and fail_trial(
                storage, trial_id, "its heartbeat stopped (the process running it died)"
            ):
                failed.append(number)
    return failed


def _stale_trial_ids(storage: Any, study_id: int) -> list[int]:
    from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled

    if not isinstance(storage, BaseHeartbeat) or not is_heartbeat_enabled(storage):  # type: ignore[arg-type]
        return []
    return list(storage._get_stale_trial_ids(study_id))
