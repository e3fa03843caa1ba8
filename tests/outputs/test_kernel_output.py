"""Trial output in a real kernel while the front end talks to the panel (jupyter_client).

A client plays JupyterLab's part: it runs a ``%%optuna`` cell whose trials print, and while it
runs it sends the panel comm messages (a second view's sync, a trial's detail), on the main
shell or, as JupyterLab 4.4+ does, on a kernel subshell. It reads every IOPub message and
checks what Lab would show: each printed line under the cell, whole, and the status bar busy.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

pytestmark = pytest.mark.kernel

# Status messages JupyterLab's status bar ignores (jupyter_server's untracked_message_types).
_UNTRACKED = {"comm_info_request", "kernel_info_request", "shutdown_request", "interrupt_request"}


@pytest.fixture(scope="module")
def kernel() -> Iterator[Any]:
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        run(kc, "%load_ext optuna_magic")
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc: Any, code: str, timeout: float = 60) -> list[dict[str, Any]]:
    """Execute ``code`` and return the IOPub messages of the request, up to its idle."""
    msg_id = kc.execute(code)
    out = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        out.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return out
    raise AssertionError(f"no idle for {code!r}")


def panel_comm_id(msg: dict[str, Any]) -> str | None:
    if msg["msg_type"] != "comm_open":
        return None
    state = msg["content"].get("data", {}).get("state", {})
    return msg["content"]["comm_id"] if "status" in state and "meta" in state else None


def create_subshell(kc: Any) -> str:
    msg = kc.session.msg("create_subshell_request", {})
    kc.control_channel.send(msg)
    while True:
        reply = kc.control_channel.get_msg(timeout=10)
        if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            return str(reply["content"]["subshell_id"])


def run_while_talking(
    kc: Any, code: str, subshell: str | None, *, subshell_at_panel: bool = False
) -> dict[str, Any]:
    """Run ``code``; from the panel's appearance on, send it a comm message every 30 ms.

    ``subshell_at_panel``: create the subshell the messages go on once the panel appears, as
    JupyterLab does for a comm it opens mid-run (its create request goes on the control channel).

    Returns the cell's stream text, how many messages went to the panel, the parents of all
    stream messages, the status Lab would show whenever a line came in, and every status Lab's
    status bar took while the cell ran.
    """
    msg_id = kc.execute(code)
    timeline: list[tuple[str, str | None]] = []  # statuses, and ("sent", None) for each send
    quiet_until = 0.0
    comm_id = None
    sent = 0
    parents: set[str] = set()
    stream_text = ""
    status = "busy"
    statuses_at_lines: list[str] = []
    last_send = 0.0
    deadline = time.time() + 120
    done = False
    while not done and time.time() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.03)
        except queue.Empty:
            msg = None
        if msg is not None:
            parent = msg["parent_header"]
            kind = msg["msg_type"]
            if kind == "status" and parent.get("msg_type") not in _UNTRACKED:
                status = msg["content"]["execution_state"]
                timeline.append((status, parent.get("msg_id")))
                if parent.get("msg_id") == msg_id and status == "idle":
                    done = True
            elif kind == "stream":
                parents.add(parent.get("msg_id", ""))
                stream_text += msg["content"]["text"]
                statuses_at_lines.append(status)
            elif comm_id is None and parent.get("msg_id") == msg_id:
                comm_id = panel_comm_id(msg)
                if comm_id is not None and subshell_at_panel:
                    subshell = create_subshell(kc)
                    quiet_until = time.time() + 1.0  # what the kernel says on its own first
        now = time.time()
        if comm_id is not None and not done and now - last_send > 0.03 and now > quiet_until:
            content = {"type": "sync"} if sent % 2 else {"type": "trial", "number": 0}
            talk = kc.session.msg(
                "comm_msg",
                {"comm_id": comm_id, "data": {"method": "custom", "content": content}},
            )
            if subshell is not None:
                talk["header"]["subshell_id"] = subshell
            kc.shell_channel.send(talk)
            timeline.append(("sent", None))
            sent += 1
            last_send = time.time()
    assert done, "the cell did not end"
    return {
        "msg_id": msg_id,
        "text": stream_text,
        "sent": sent,
        "parents": parents,
        "statuses": statuses_at_lines,
        "timeline": timeline,
    }


PRINTING_CELL = (
    "%%optuna -n 40 --seed 0 -o printed\n"
    "import time, warnings\n"
    "x = hp.float(0, 1)\n"
    "for i in range(3):\n"
    "    print(f'trial {trial.number} line {i}')\n"
    "time.sleep(0.02)\n"
    "x"
)


@pytest.mark.parametrize("via", ["main shell", "subshell"])
def test_every_line_a_trial_prints_lands_in_its_cell_while_the_panel_is_talked_to(
    kernel: Any, via: str
) -> None:
    subshell = create_subshell(kernel) if via == "subshell" else None
    got = run_while_talking(kernel, PRINTING_CELL, subshell)
    assert got["sent"] >= 10  # the front end did talk to the panel all along
    lines = [ln for ln in got["text"].splitlines() if ln.startswith("trial ")]
    assert sorted(lines) == sorted(f"trial {n} line {i}" for n in range(40) for i in range(3))
    # Every stream message is the cell's: a front end files none of them elsewhere.
    assert got["parents"] == {got["msg_id"]}
    # The status bar read busy whenever a line came in.
    assert set(got["statuses"]) == {"busy"}, got["statuses"].count("idle")


def test_the_status_bar_reads_busy_again_at_once_after_each_other_requests_idle(
    kernel: Any,
) -> None:
    """JupyterLab creates a subshell for the panel's comm once it opens (a control request)
    and may send the panel's messages there; each ends with an "idle" of its own, which Lab
    needs (its request is done only then), and the status bar shows the latest status whatever
    request it belongs to. While the cell runs, each such "idle" is followed at once by the
    cell's "busy", before the front end sends anything more, so the bar never rests on "Idle"."""
    cell = PRINTING_CELL.replace("-n 40", "-n 120")  # on for a while after the quiet second
    got = run_while_talking(kernel, cell, None, subshell_at_panel=True)
    assert got["sent"] >= 10
    timeline = got["timeline"]
    assert timeline[-1] == ("idle", got["msg_id"])  # the cell's own, at its end
    # The client says nothing for a second after the subshell's creation: a "busy" that
    # waited for its next message would come after a ("sent", None) here.
    others = [i for i, (state, parent) in enumerate(timeline[:-1]) if state == "idle"]
    assert others, "the subshell's creation ends with an idle of its own"
    for i in others:
        assert timeline[i + 1] == ("busy", got["msg_id"]), timeline[i - 1 : i + 2]


def test_stop_from_the_panel_still_ends_the_run_gracefully(kernel: Any) -> None:
    msg_id = kernel.execute(
        "%%optuna -n 1000 --seed 0 -o stopped\n"
        "import time\ntime.sleep(0.02)\nhp.float(0, 1, name='x')"
    )
    comm_id = None
    while comm_id is None:
        msg = kernel.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id:
            comm_id = panel_comm_id(msg)
    time.sleep(0.5)
    stop = kernel.session.msg(
        "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": {"type": "stop"}}}
    )
    kernel.shell_channel.send(stop)
    reply = kernel.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "ok"
    msgs = run(kernel, "print(len(stopped.trials), {t.state.name for t in stopped.trials})")
    text = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
    n = int(text.split()[0])
    assert 0 < n < 1000
    assert "RUNNING" not in text


def test_lines_of_parallel_trials_stay_whole(kernel: Any) -> None:
    # Threads switch every 5 ms by default, so a print is seldom cut; switching as often as
    # the interpreter can makes a cut line likely in every run without the fix.
    run(kernel, "import sys\nsys.setswitchinterval(1e-6)")
    try:
        msgs = run(
            kernel,
            "%%optuna -n 24 --n-jobs 4 --seed 0 -o parallel --quiet\n"
            "x = hp.float(0, 1)\n"
            "for i in range(20):\n"
            "    print('trial', trial.number, 'piece', i, 'of', 20, sep='-')\n"
            "x",
        )
    finally:
        run(kernel, "sys.setswitchinterval(0.005)")
    text = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")
    lines = text.splitlines()
    assert len(lines) == 24 * 20
    for line in lines:
        parts = line.split("-")
        assert len(parts) == 6 and parts[0] == "trial" and parts[2] == "piece", line


def test_a_background_run_prints_beneath_its_own_cell(kernel: Any) -> None:
    start = run(
        kernel,
        "%%optuna -n 30 --seed 0 --background -o bg\n"
        "import time\ntime.sleep(0.03)\nprint('bg trial', trial.number)\nhp.float(0, 1, name='x')",
    )
    later = run(kernel, "import time\nfor _ in range(10):\n    time.sleep(0.05)\nprint('later')")
    waited = run(kernel, "%optuna wait")
    streams = [
        m["content"]["text"]
        for ms in (start, later, waited)
        for m in ms
        if m["msg_type"] == "stream"
    ]
    # No other cell got the background trials' lines; they are in the output widget that
    # the background cell shows (its state is what the front end renders and saves).
    assert not any("bg trial" in t for t in streams), streams
    widgets = [m for m in start if m["msg_type"] == "comm_open"]
    outputs = [
        w["content"]["comm_id"]
        for w in widgets
        if w["content"]["data"]["state"].get("_model_name") == "OutputModel"
    ]
    assert len(outputs) == 1
    msgs = run(
        kernel,
        "from ipywidgets.widgets.widget import _instances\n"
        f"w = _instances[{outputs[0]!r}]\n"
        "print(''.join(o['text'] for o in w.outputs).count('bg trial'))",
    )
    text = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")
    assert text.strip() == "30"
