"""A real PostgreSQL server on loopback for the tests (Debian's ``postgresql`` package).

Started once per session in a temporary folder on a free port, as the ``postgres`` user when the
tests run as root (``initdb`` refuses root). Skipped, with the reason, only where the server
binaries are missing and cannot be installed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator

import pytest


def _bin_dir() -> str | None:
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(os.path.realpath(found))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(versions[-1]) if versions else None


def _install() -> str | None:
    """apt-get install postgresql when we can (root, apt); the bin folder or None."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
        if subprocess.run(cmd, env=env, capture_output=True, timeout=600).returncode != 0:
            return None
    return _bin_dir()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Unavailable(Exception):
    """No PostgreSQL server can be started here (the reason is the message)."""


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server in a temporary folder on a free port, for as long as the block runs:
    ``postgresql://postgres@127.0.0.1:PORT/optuna``. Raises :class:`Unavailable`."""
    bindir = _bin_dir() or _install()
    if bindir is None:
        raise Unavailable(
            "PostgreSQL is not installed and cannot be installed here "
            "(needs root and apt-get: apt-get install postgresql)"
        )
    root = tempfile.mkdtemp(prefix="optuna-magic-pg-")
    data = os.path.join(root, "data")
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def run(*cmd: str) -> None:
        done = subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")

    run(
        os.path.join(bindir, "initdb"),
        "-D",
        data,
        "-U",
        "postgres",
        "-A",
        "trust",
        "--no-sync",
        "-E",
        "UTF8",
    )
    run(
        os.path.join(bindir, "pg_ctl"),
        "-D",
        data,
        "-l",
        os.path.join(root, "server.log"),
        "-w",
        "-t",
        "60",
        "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
        "start",
    )
    try:
        run(
            os.path.join(bindir, "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "optuna",
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/optuna"
    finally:
        subprocess.run(
            [*prefix, os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """``postgresql://postgres@127.0.0.1:PORT/optuna`` of a server that lives for the session."""
    pytest.importorskip(
        "psycopg", reason="psycopg (3) is needed: SQLAlchemy 2.1 reads postgresql:// with it"
    )
    try:
        server = postgres_server()
        url = server.__enter__()
    except Unavailable as e:
        pytest.skip(str(e))
    try:
        yield url
    finally:
        server.__exit__(None, None, None)
