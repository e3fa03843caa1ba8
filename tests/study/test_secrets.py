"""No password of a storage or tracking URL is ever shown: the masking rule and every path to it."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError
from postgres_fixture import postgresql_url  # noqa: F401 - a fixture
from shell_helpers import run

from optuna_magic.cell.space import OptunaMagicError
from optuna_magic.outputs.mlflow import mask_uri
from optuna_magic.study.secrets import mask_url

# (id, URL as given, what may be shown)
MASKED = [
    ("plain", "postgresql://u:sekrit@h/db", "postgresql://u:***@h/db"),
    ("port", "postgresql://u:sekrit@h:5432/db", "postgresql://u:***@h:5432/db"),
    ("slash", "postgresql://u:se/krit@h:5432/db", "postgresql://u:***@h:5432/db"),
    ("raw-at", "postgresql://u:p/w@ss@127.0.0.1:1/db", "postgresql://u:***@127.0.0.1:1/db"),
    ("encoded-at", "postgresql://u:p%40ss@h/db", "postgresql://u:***@h/db"),
    ("colons", "mysql+pymysql://u:a:b:c@h/db", "mysql+pymysql://u:***@h/db"),
    ("question-hash", "postgresql://u:p?w#x@h/db", "postgresql://u:***@h/db"),
    ("empty-user", "postgresql://:sekrit@h/db", "postgresql://:***@h/db"),
    ("ipv6", "postgresql://u:sekrit@[::1]:5432/db", "postgresql://u:***@[::1]:5432/db"),
    ("at-in-query", "postgresql://u:sekrit@h/db?x=a@b", "postgresql://u:***@h/db?x=a@b"),
    (
        "query-password",
        "postgresql://u@h/db?password=sekrit&sslmode=require",
        "postgresql://u@h/db?password=***&sslmode=require",
    ),
    ("query-pwd-upper", "mssql://h/db?sslmode=x&PWD=sekrit", "mssql://h/db?sslmode=x&PWD=***"),
    ("query-passwd", "mysql://h/db?user=u&passwd=sekrit", "mysql://h/db?user=u&passwd=***"),
    (
        "query-keys",
        "s3://bucket/x?access_key=AKIA&secret_key=sekrit&token=t0k",
        "s3://bucket/x?access_key=***&secret_key=***&token=***",
    ),
    ("no-scheme", "u:sekrit@host/db", "u:***@host/db"),
    ("no-scheme-slash", "u:se/krit@host:5432/db", "u:***@host:5432/db"),
    (
        "mlflow-https",
        "https://me:sekrit@mlflow.example:5000/",
        "https://me:***@mlflow.example:5000/",
    ),
    ("already-masked", "postgresql://u:***@h/db", "postgresql://u:***@h/db"),
    ("quoted", "'postgresql://u:p/w@h/db'", "'postgresql://u:***@h/db'"),
]
UNCHANGED = [
    ("user-only", "postgresql://user@h/db"),
    ("token-as-user", "https://ghp_abc@github.com/x"),
    ("sqlite", "sqlite:///study.db"),
    ("sqlite-colon-at-path", "sqlite:///tmp/a:b@c.db"),
    ("journal", "journal:runs/x.log"),
    ("journal-path", "x.jsonl"),
    ("http-no-auth", "http://127.0.0.1:5000"),
    ("query-harmless", "postgresql://u@h/db?sslmode=require&application_name=nb"),
]


@pytest.mark.parametrize("mask", [mask_url, mask_uri], ids=["storage", "mlflow"])
@pytest.mark.parametrize(("url", "shown"), [c[1:] for c in MASKED], ids=[c[0] for c in MASKED])
def test_the_password_is_masked(mask: Any, url: str, shown: str) -> None:
    assert mask(url) == shown


@pytest.mark.parametrize("mask", [mask_url, mask_uri], ids=["storage", "mlflow"])
@pytest.mark.parametrize("url", [c[1] for c in UNCHANGED], ids=[c[0] for c in UNCHANGED])
def test_urls_without_a_password_are_shown_as_given(mask: Any, url: str) -> None:
    assert mask(url) == url


def test_no_storage_reads_in_memory() -> None:
    assert mask_url(None) == "in memory"


def test_free_text_is_masked_whatever_quotes_the_url() -> None:
    from optuna_magic.study.secrets import mask_text

    text = (
        "--storage 'postgresql://u:p/w@ss@127.0.0.1:1/db' -n 3 "
        '--mlflow "https://me:it\'s@host/" (see u:sekrit@h/db) token=t0k'
    )
    shown = mask_text(text)
    assert shown == (
        "--storage 'postgresql://u:***@127.0.0.1:1/db' -n 3 "
        '--mlflow "https://me:***@host/" (see u:***@h/db) token=***'
    )
    for secret in ("p/w", "ss@", "it's", "sekrit", "t0k"):
        assert secret not in shown


# A PostgreSQL URL nobody answers at: the cell fails while it opens the storage.
DEAD = "postgresql://u:p/w@ss@127.0.0.1:1/db"
SECRETS = ("p/w", "w@ss", "ss@127", "sekrit", "'ss'", '"ss"')


def _error_text(e: BaseException) -> str:
    """All IPython could show of an error: its message, its rendering, the chained errors."""
    out = []
    seen: BaseException | None = e
    while seen is not None:
        out.append(f"{type(seen).__name__}: {seen}")
        render = getattr(seen, "_render_traceback_", None)
        if render is not None:
            out.extend(render())
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return "\n".join(out)


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, text


@pytest.mark.parametrize(
    "storage",
    [DEAD, "'u:sekrit/x@127.0.0.1/db'", "'postgresql://u@127.0.0.1:1/db?password=p/w@ss'"],
    ids=["raw-at", "no-scheme", "query"],
)
def test_a_storage_that_fails_shows_no_password(ip: Any, storage: str) -> None:
    cell = f"%%optuna -n 2 --quiet --storage {storage} --study-name s\nx = hp.float(0, 1)\nx\n"
    r = run(ip, cell)
    assert isinstance(r.error_in_exec, (UsageError, OptunaMagicError)), r.error_in_exec
    text = _error_text(r.error_in_exec)
    _assert_clean(text)
    assert "***" in text


def test_a_password_with_slash_and_at_reaches_postgresql_and_is_never_shown(
    ip: Any,
    capsys: Any,
    postgresql_url: str,  # noqa: F811
) -> None:
    # The server trusts loopback: the password is not checked, but the URL must reach the host.
    url = postgresql_url.replace("postgres@", "postgres:p/w@ss@", 1)
    r = run(ip, f"%%optuna -n 2 --storage '{url}' --study-name slash_at\nx = hp.float(0, 1)\nx\n")
    assert r.success, r.error_in_exec
    out = capsys.readouterr().out
    _assert_clean(out)
    from optuna_magic.run.polled import watch_info

    info = watch_info(ip.user_ns["study"], url)
    _assert_clean(repr(info))
    assert info.storage == url.replace("p/w@ss", "***")
    again = run(
        ip, f"%%optuna -n 2 --storage '{url}' --study-name slash_at\nx = hp.float(0, 1)\nx\n"
    )
    assert "already exists in" in str(again.error_in_exec)
    assert "postgresql://postgres:***@127.0.0.1" in str(again.error_in_exec)
    _assert_clean(_error_text(again.error_in_exec))


def test_a_mistyped_option_echoes_no_password(ip: Any) -> None:
    r = run(ip, f"%%optuna -n 2 --storrage {DEAD}\nx = hp.float(0, 1)\nx\n")
    assert isinstance(r.error_in_exec, UsageError)
    text = _error_text(r.error_in_exec)
    _assert_clean(text)
    assert "u:***@127.0.0.1:1/db" in text


def test_watch_of_a_dead_storage_shows_no_password(ip: Any) -> None:
    with pytest.raises((UsageError, OptunaMagicError)) as info:
        ip.run_line_magic("optuna", f"watch --storage {DEAD} --study-name s")
    _assert_clean(_error_text(info.value))


@pytest.mark.filterwarnings("ignore:Query string argument")
def test_a_trial_traceback_shows_the_magic_line_masked(ip: Any, tmp_path: Any) -> None:
    db = tmp_path / "s.db"
    # sqlite ignores the query; the password there must not reach the cell's cached source.
    r = run(
        ip,
        f"%%optuna -n 1 --quiet --storage 'sqlite:///{db}?password=p/w@ss'\n"
        "x = hp.float(0, 1)\n1 / 0\n",
    )
    assert isinstance(r.error_in_exec, ZeroDivisionError)
    text = "\n".join(r.error_in_exec._render_traceback_())
    _assert_clean(text)
    assert "password=***" in text


def test_an_unexpected_error_shows_its_message_and_traceback_masked(ip: Any) -> None:
    from optuna_magic.study.secrets import masking

    class Boom:
        @masking
        def magic(self, line: str, cell: str) -> None:
            raise RuntimeError(f"the database at {line.split()[1]} said no")

    # A magic that fails past our own messages: IPython shows the whole traceback, whose first
    # frame is the cell's source (`run_cell_magic(..., '<the line as typed>', ...)`).
    ip.register_magic_function(lambda line, cell: Boom().magic(line, cell), "cell", "boom_secret")
    try:
        r = run(ip, f"%%boom_secret --storage {DEAD}\n1\n")
    finally:
        ip.magics_manager.magics["cell"].pop("boom_secret")
    e = r.error_in_exec
    assert isinstance(e, RuntimeError)
    text = "\n".join([str(e), *e._render_traceback_()])
    assert "run_cell_magic" in text and "u:***@127.0.0.1:1/db said no" in text
    _assert_clean(text)


def test_the_kernel_transform_keeps_the_raw_line_out_of_the_source() -> None:
    from optuna_magic.magic.transformer import _async_cell_transformer

    src = "".join(_async_cell_transformer([f"%%optuna -n 3 --storage {DEAD}\n", "hp.int(1, 2)\n"]))
    _assert_clean(src)
    assert "u:***@127.0.0.1:1/db" in src
    plain = "".join(_async_cell_transformer(["%%optuna -n 3\n", "hp.int(1, 2)\n"]))
    assert "'-n 3'" in plain  # a line with nothing to hide still reads as written


@pytest.mark.kernel
def test_no_output_of_a_failing_kernel_cell_shows_the_password() -> None:
    from kernel_helpers import execute, notebook, texts

    nb = notebook(
        "%load_ext optuna_magic\n%config OptunaMagics.widget = False",
        f"%%optuna -n 2 --storage '{DEAD}' --study-name s\nx = hp.float(0, 1)\nx\n",
        f"%optuna watch --storage '{DEAD}' --study-name s",
        f"%%optuna -n 2 --storrage '{DEAD}'\nx = hp.float(0, 1)\nx\n",
        "print(In[2], In[3], In[4])",
    )
    execute(nb, allow_errors=True)
    for cell in nb.cells[1:4]:
        assert "Error" in texts(cell), cell.outputs  # a UsageError is a stderr stream
    for cell in nb.cells:
        _assert_clean(texts(cell))
    assert "u:***@127.0.0.1:1/db" in texts(nb.cells[1])


@pytest.mark.kernel
def test_the_panel_and_the_snapshot_of_a_postgresql_run_show_no_password(
    postgresql_url: str,  # noqa: F811
) -> None:
    import json

    from kernel_helpers import execute, notebook, texts

    url = postgresql_url.replace("postgres@", "postgres:p/w@ss@", 1)
    nb = notebook(
        "%load_ext optuna_magic",
        f"%%optuna -n 3 --storage '{url}' --study-name panel_secret\nx = hp.float(0, 1)\nx\n",
        f"%optuna watch --storage '{url}' --study-name panel_secret --idle 1",
        "%optuna wait",
    )
    execute(nb)
    html = "".join(
        o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", [])
    )
    assert "postgres:***@127.0.0.1" in html  # the snapshot names the storage, masked
    assert "finished" in texts(nb.cells[1]) or "3 trials" in texts(nb.cells[1])
    for cell in nb.cells:
        cell.source = ""  # what the user typed; everything else must hold no password
    _assert_clean(json.dumps(nb))  # outputs, the panels' saved widget state (their headers)
