"""Steering a study from its panel, through a real kernel (jupyter_client plays the front end).

"Run N more" after a ``%%optuna`` run ended, in memory and with a real SQLite file: the same
``study`` gets N more trials, the panel's record and status have them, a parameter set enqueued
from the panel is the first trial of the continued run, and what the continued trials print
lands beneath the cell (in the output widget its reserved output shows). Refusals, in words:
a cell running, another run going, a watch panel, another process's running trial.
"""

from __future__ import annotations

import queue
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

pytestmark = pytest.mark.kernel

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class Client:
    """A kernel client that keeps every IOPub message it reads (any parent).

    ``dump``: a file the kernel writes every thread's Python stack into on SIGUSR1
    (faulthandler), so a cell that never ends says where the kernel was: a full run once saw
    a ``--background`` cell not go idle in 60 s, which the module alone has not repeated.
    """

    def __init__(self, kc: Any, km: Any = None, dump: Path | None = None) -> None:
        self.kc = kc
        self.km = km
        self.dump = dump
        self.seen: list[dict[str, Any]] = []

    def stacks(self) -> str:
        """The kernel's threads, where they are now (empty without a dump file)."""
        if self.km is None or self.dump is None:
            return ""
        self.km.signal_kernel(signal.SIGUSR1)
        time.sleep(1.0)
        return self.dump.read_text(errors="replace")

    def _read(self, timeout: float) -> dict[str, Any] | None:
        try:
            msg = self.kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return None
        self.seen.append(msg)
        return dict(msg)

    def run(self, code: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Execute ``code``; the IOPub messages of the request, up to its idle."""
        msg_id = self.kc.execute(code)
        out = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg = self._read(1.0)
            if msg is None or msg["parent_header"].get("msg_id") != msg_id:
                continue
            out.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return out
        seen = [m["msg_type"] for m in out]
        raise AssertionError(
            f"no idle for {code!r}; its messages: {seen}\nthe kernel's threads:\n{self.stacks()}"
        )

    def value(self, expr: str) -> str:
        """What ``print(expr)`` prints in the kernel."""
        msgs = self.run(f"print({expr})")
        return "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream").strip()

    def send(self, comm_id: str, content: dict[str, Any]) -> str:
        msg = self.kc.session.msg(
            "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}}
        )
        self.kc.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 30, since: int = 0
    ) -> dict[str, Any]:
        for msg in self.seen[since:]:
            if match(msg):
                return msg
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg = self._read(0.2)
            if msg is not None and match(msg):
                return msg
        raise AssertionError("no such message came")

    def steer(self, comm_id: str, content: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        """Send a steering request; the kernel's answer (a ``steer`` message of its id)."""
        ident, since = content["id"], len(self.seen)
        self.send(comm_id, content)
        reply = self.wait_for(lambda m: _custom(m, comm_id, "steer", id=ident), timeout, since)
        return dict(reply["content"]["data"]["content"])

    def run_more(self, comm_id: str, n: int, ident: str) -> dict[str, Any]:
        """Both steps of "Run N more", as the front end does them."""
        ready = self.steer(comm_id, _run_more(ident, n, confirm=False))
        if ready["state"] != "ready":
            return ready
        return self.steer(comm_id, _run_more(ident, n, confirm=True))


def _run_more(ident: str, n: int, *, confirm: bool) -> dict[str, Any]:
    return {"type": "run_more", "id": ident, "n_trials": n, "confirm": confirm}


def _custom(msg: dict[str, Any], comm_id: str, kind: str, **fields: Any) -> bool:
    if msg["msg_type"] != "comm_msg" or msg["content"].get("comm_id") != comm_id:
        return False
    data = msg["content"].get("data", {})
    content = data.get("content") if data.get("method") == "custom" else None
    if not isinstance(content, dict) or content.get("type") != kind:
        return False
    return all(content.get(k) == v for k, v in fields.items())


def _status_state(msg: dict[str, Any], comm_id: str) -> str | None:
    if msg["msg_type"] != "comm_msg" or msg["content"].get("comm_id") != comm_id:
        return None
    state = msg["content"].get("data", {}).get("state", {})
    status = state.get("status")
    return status.get("state") if isinstance(status, dict) else None


def _panel(msgs: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The panel's comm id and its first ``meta``, from a cell's messages."""
    comm_id = None
    for m in msgs:
        state = m["content"].get("data", {}).get("state", {})
        if m["msg_type"] == "comm_open" and "status" in state and "meta" in state:
            comm_id = m["content"]["comm_id"]
        elif comm_id and m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id:
            if state.get("meta"):  # the trait, set when the run starts
                return comm_id, state["meta"]
    raise AssertionError("the cell showed no panel")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    km, kc = start_new_kernel(kernel_name="python3")
    dump = tmp_path_factory.mktemp("kernel") / "stacks.txt"
    try:
        c = Client(kc, km, dump)
        c.run(
            "%load_ext optuna_magic\nimport optuna\n"
            "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
            "import faulthandler as _fh, signal as _sig\n"
            f"_om_stacks = open({str(dump)!r}, 'w')\n"
            "_fh.register(_sig.SIGUSR1, file=_om_stacks, all_threads=True)"
        )
        yield c
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _cell(out: str, options: str = "") -> str:
    return (
        f"%%optuna -n 5 --seed 0 -o {out} {options}\n"
        "x = hp.float(0, 1)\n"
        "k = hp.int(1, 9, step=2)\n"
        "print(f'printed by trial {trial.number}')\n"
        "x + k\n"
    )


def _widget_text(model_id: str) -> str:
    """An expression for the text of the output widget ``model_id`` in the kernel."""
    widget = f"__import__('ipywidgets').widgets.widget._instances[{model_id!r}]"
    return f"''.join(o['text'] for o in {widget}.outputs)"


def _wait_idle(client: Client, comm_id: str, start: int, state: str = "finished") -> None:
    """Until the panel's status trait reads ``state`` after message ``start``."""
    deadline = time.time() + 60
    while time.time() < deadline:
        for m in client.seen[start:]:
            if _status_state(m, comm_id) == state:
                return
        client._read(0.2)
    raise AssertionError("the continued run did not finish")


@pytest.mark.parametrize("where", ["memory", "sqlite"])
def test_run_more_continues_the_study_into_the_same_panel_with_the_enqueued_trial_first(
    client: Client, tmp_path: Path, where: str
) -> None:
    out = f"more_{where}"
    options = f"--storage sqlite:///{tmp_path / 'more.db'}" if where == "sqlite" else ""
    cell = client.run(_cell(out, options))
    comm_id, meta = _panel(cell)
    assert meta["steer"] == ["enqueue", "run_more"]
    # Displays the cell reserved: the panel's, the snapshot's, and at the run's end, after the
    # lines its trials printed, the continued runs' output.
    shown_in_cell = [m for m in cell if m["msg_type"] in ("display_data", "stream")]
    reserved = [
        m["content"]["transient"]["display_id"]
        for m in shown_in_cell
        if m["msg_type"] == "display_data" and "display_id" in m["content"].get("transient", {})
    ]
    assert len(reserved) == 3
    _, snapshot_id, more_id = reserved
    assert shown_in_cell[-1]["content"]["transient"]["display_id"] == more_id
    assert any(m["msg_type"] == "stream" for m in shown_in_cell)  # the first run printed

    enq = client.steer(
        comm_id, {"type": "enqueue", "id": "e1", "params": {"x": 0.123456789012345, "k": 7}}
    )
    assert enq["state"] == "enqueued", enq
    assert enq["message"] == "Enqueued: runs first in the next run"
    start = len(client.seen)
    started = client.run_more(comm_id, 4, "r1")
    assert started["state"] == "started", started
    _wait_idle(client, comm_id, start)
    end = len(client.seen)

    assert client.value(f"len({out}.trials)") == "9"
    assert client.value(f"{out}.trials[5].params") == "{'x': 0.123456789012345, 'k': 7}"
    assert client.value(f"[t.state.name for t in {out}.trials].count('COMPLETE')") == "9"
    panel = f"__import__('ipywidgets').widgets.widget._instances[{comm_id!r}]"
    assert client.value(f"len({panel}.record)") == "9"
    assert client.value(f"{panel}.status['n_done'], {panel}.status['n_trials']") == "4 4"

    # The continued trials' prints: in an output widget shown in the output the cell reserved
    # (an update of a display the cell has: a new output of an ended cell is dropped).
    shown = [
        m
        for m in client.seen[start:]
        if m["msg_type"] == "update_display_data"
        and m["content"]["transient"]["display_id"] == more_id
        and WIDGET_VIEW in m["content"]["data"]
    ]
    assert len(shown) == 1
    widget = shown[0]["content"]["data"][WIDGET_VIEW]["model_id"]
    text = client.value(_widget_text(widget))
    assert [ln for ln in text.splitlines() if ln] == [f"printed by trial {n}" for n in range(5, 9)]
    # ... and nowhere else: no stream of any request carries them.
    run = client.seen[start:end]
    streams = "".join(m["content"]["text"] for m in run if m["msg_type"] == "stream")
    assert "printed by trial 5" not in streams

    # The snapshot (what a notebook reopened without the kernel shows) is refreshed at its end.
    snapshot = client.wait_for(
        lambda m: (
            m["msg_type"] == "update_display_data"
            and m["content"]["transient"]["display_id"] == snapshot_id
        ),
        since=start,
    )["content"]["data"]
    assert "text/html" in snapshot
    assert (
        "finished" in snapshot["text/plain"] and "4 trials (9 in study)" in snapshot["text/plain"]
    )

    # A second "Run N more" goes on in the same output widget, after the first one's lines.
    start = len(client.seen)
    assert client.run_more(comm_id, 2, "r2")["state"] == "started"
    _wait_idle(client, comm_id, start)
    assert client.value(f"len({out}.trials)") == "11"
    text = client.value(_widget_text(widget))
    assert [ln for ln in text.splitlines() if ln] == [f"printed by trial {n}" for n in range(5, 11)]


def test_enqueue_checks_the_values_in_the_kernel(client: Client) -> None:
    comm_id, _ = _panel(client.run(_cell("checked")))
    cases = {
        "x": ({"x": 1.5}, "x must be from 0.0 to 1.0, not 1.5"),
        "k step": ({"k": 4}, "k must be 1 plus a multiple of 2, not 4"),
        "k whole": ({"k": 3.5}, "k must be a whole number, not 3.5"),
        "unknown": ({"y": 1}, "'y' is not a parameter of this study"),
    }
    for i, (params, message) in enumerate(cases.values()):
        reply = client.steer(comm_id, {"type": "enqueue", "id": f"bad{i}", "params": params})
        assert (reply["state"], reply["message"]) == ("refused", message)
    assert client.value("len(checked.get_trials(states=(optuna.trial.TrialState.WAITING,)))") == "0"


def test_run_more_is_refused_while_a_cell_runs_or_another_run_goes(client: Client) -> None:
    comm_id, _ = _panel(client.run(_cell("refused")))
    # A cell that awaits: the kernel handles the panel's messages meanwhile.
    msg_id = client.kc.execute("import asyncio\nawait asyncio.sleep(3)")
    time.sleep(0.5)
    reply = client.run_more(comm_id, 3, "busy")
    assert reply == {
        "type": "steer",
        "id": "busy",
        "action": "run_more",
        "state": "refused",
        "message": "the kernel is running a cell: Run more starts when it is idle",
    }
    client.wait_for(
        lambda m: (
            m["parent_header"].get("msg_id") == msg_id
            and m["msg_type"] == "status"
            and m["content"]["execution_state"] == "idle"
        )
    )
    # Another run of this kernel (a background one) is going.
    client.run(
        "%%optuna -n 40 --seed 1 --background -o other\n"
        "import time\ntime.sleep(0.05)\nhp.float(0, 1, name='z')"
    )
    reply = client.run_more(comm_id, 3, "other")
    assert reply["state"] == "refused"
    assert reply["message"].startswith("another run of this kernel is optimizing")
    client.run("%optuna stop")
    client.run("%optuna wait")
    # A confirmation that no "ready" preceded (the front end gave up): nothing starts.
    late = client.steer(comm_id, _run_more("late", 3, confirm=True))
    assert late["state"] == "refused" and "too late" in late["message"]
    assert client.value("len(refused.trials)") == "5"


def test_run_more_is_refused_for_a_watch_and_for_another_process(
    client: Client, tmp_path: Path
) -> None:
    import optuna

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    comm_id, _ = _panel(client.run(_cell("shared", f"--storage {url} --study-name shared")))
    # Another process (this test's) runs a trial of the stored study now.
    other = optuna.load_study(study_name="shared", storage=url)
    trial = other.ask()
    reply = client.run_more(comm_id, 3, "elsewhere")
    assert reply["state"] == "refused"
    assert reply["message"].startswith(
        f"another process is optimizing this study now (trial(s) {trial.number} running there)"
    )
    other.tell(trial, 1.0)
    watch = client.run(f"%optuna watch --storage {url} --study-name shared")
    watch_id, meta = _panel(watch)
    assert meta["watch"] is True and meta["steer"] == []
    for request in (
        _run_more("w", 3, confirm=False),
        {"type": "enqueue", "id": "w2", "params": {"x": 0.5}},
    ):
        reply = client.steer(watch_id, request)
        assert reply["state"] == "refused"
        assert (
            reply["message"] == "this panel watches a study that others optimize: it only reads it"
        )
    client.run("%optuna stop")
    assert client.value("len(shared.trials)") == "6"


def test_stop_works_during_run_more(client: Client) -> None:
    slow = "%%optuna -n 2 --seed 0 -o slow\nimport time\ntime.sleep(0.1)\nhp.float(0, 1, name='x')"
    comm_id, _ = _panel(client.run(slow))
    start = len(client.seen)
    assert client.run_more(comm_id, 500, "long")["state"] == "started"
    time.sleep(1.0)
    # The kernel is idle meanwhile: a cell runs at once, and the panel takes its Stop.
    assert client.value("1 + 1") == "2"
    client.send(comm_id, {"type": "stop"})
    deadline = time.time() + 30
    while not any(_status_state(m, comm_id) == "stopped" for m in client.seen[start:]):
        assert time.time() < deadline, "the continued run did not stop"
        client._read(0.2)
    n = int(client.value("len(slow.trials)"))
    assert 2 < n < 100, n


def test_run_more_after_optimize_in_a_kernel(client: Client) -> None:
    cell = client.run(
        "import optuna_magic\n"
        "def objective(trial):\n"
        "    print('api trial', trial.number)\n"
        "    return trial.suggest_int('k', 0, 10)\n"
        "api = optuna.create_study()\n"
        "_ = optuna_magic.optimize(api, objective, n_trials=3)"
    )
    comm_id, meta = _panel(cell)
    assert meta["steer"] == ["enqueue", "run_more"]
    enq = client.steer(comm_id, {"type": "enqueue", "id": "a1", "params": {"k": 10}})
    assert enq["state"] == "enqueued", enq
    start = len(client.seen)
    assert client.run_more(comm_id, 2, "a2")["state"] == "started"
    _wait_idle(client, comm_id, start)
    assert client.value("len(api.trials), api.trials[3].params") == "5 {'k': 10}"
    # A panel of optuna_magic.panel(study) has no objective: it enqueues, it does not run.
    shown = client.run("optuna_magic.panel(api)")
    panel_id, meta = _panel(shown)
    assert meta["steer"] == ["enqueue"]
    reply = client.run_more(panel_id, 2, "a3")
    assert reply["state"] == "refused" and reply["message"].startswith(
        "this panel has no objective"
    )


def test_run_more_after_a_background_run_prints_into_its_output_widget(client: Client) -> None:
    """A --background run's cell ended before its run: the runs its panel continues print into
    the run's own output widget, after its lines, and the cell reserves no other output."""
    cell = client.run(_cell("more_bg", "--background"))
    comm_id, _ = _panel(cell)
    client.run("%optuna wait")
    start = len(client.seen)
    assert client.run_more(comm_id, 2, "bg1")["state"] == "started"
    _wait_idle(client, comm_id, start)
    client.run("import time; time.sleep(0.5)")  # the writer sends at most 5 times a second
    views = [
        m["content"]["data"][WIDGET_VIEW]["model_id"]
        for m in cell
        if m["msg_type"] == "display_data"
        and m["content"]["data"].get("text/plain") == "Output()"  # not the panel's own view
    ]
    texts = [client.value(_widget_text(v)) for v in views]
    lines = [ln for t in texts for ln in t.splitlines() if ln]
    assert lines == [f"printed by trial {n}" for n in range(7)], texts
    assert not [
        m for m in client.seen[start:] if m["msg_type"] == "display_data"
    ]  # no new output: an ended cell's would be dropped


def test_run_more_keeps_the_cells_keep_best_until_stale_and_mlflow(
    client: Client, tmp_path: Path
) -> None:
    """ "Run N more" runs as the cell did: --until-stale stops it after K trials that did not
    improve, --keep-best binds the new best trial's variables once it ends, and --mlflow logs
    its trials into the study's one parent run."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # Trial n's value: the best is trial 1 (4), then trial 6 (3), which the continued run has.
    client.run("STALE_VALUES = [5, 4, 6, 6, 6, 6, 3] + [7] * 30")
    cell = client.run(
        f"%%optuna -n 6 -o carried --keep-best --until-stale 3 --mlflow {uri}\n"
        "x = hp.float(0, 1)\n"
        "model = f'model of trial {trial.number}'\n"
        "STALE_VALUES[trial.number]\n",
        timeout=120,
    )
    comm_id, _ = _panel(cell)
    # The cell's own run: trials 2, 3 and 4 did not beat trial 1, so it stopped after 5.
    assert client.value("len(carried.trials), model") == "5 model of trial 1"
    start = len(client.seen)
    assert client.run_more(comm_id, 20, "stale1")["state"] == "started"
    _wait_idle(client, comm_id, start, "stopped")
    # Trial 5 did not improve, 6 did, 7-9 did not: stopped after 5 of the 20.
    assert client.value("len(carried.trials)") == "10"
    assert client.value("model") == "model of trial 6"
    client.run("import time; time.sleep(0.5)")  # the writer sends at most 5 times a second
    outputs = [
        m["content"]["data"][WIDGET_VIEW]["model_id"]
        for m in client.seen[start:]
        if m["msg_type"] == "update_display_data" and WIDGET_VIEW in m["content"]["data"]
    ]
    said = client.value(_widget_text(outputs[-1]))
    assert "--until-stale 3: 3 trials without a better value (best: trial #6)" in said, said
    # One parent run for the study, holding all ten trials, its best the continued run's.
    client.run(
        "import mlflow\n"
        f"_c = mlflow.MlflowClient({uri!r})\n"
        "_runs = _c.search_runs([_c.get_experiment_by_name('Default').experiment_id])\n"
        "_parents = [r for r in _runs if r.data.tags.get('optuna.role') == 'study']\n"
        "_kids = [r for r in _runs if r.data.tags.get('mlflow.parentRunId')]"
    )
    assert client.value("len(_parents), len(_kids)") == "1 10"
    assert (
        client.value(
            "{r.data.tags['mlflow.parentRunId'] for r in _kids} == {_parents[0].info.run_id}"
        )
        == "True"
    )
    assert (
        client.value("_parents[0].data.metrics['best_value'], _parents[0].info.status")
        == "3.0 FINISHED"
    )
