"""Fixtures for the browser tests: one JupyterLab and one Notebook 7 server per session, one
Chromium, a fresh page per test. The helpers they use are in ``jupyter_harness.py``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Console,
    JupyterServer,
    NotebookPage,
    missing_reason,
    shot,
    start_server,
    stop_server,
    write_notebook,
)
from vscode_harness import StaticOrigins, VscodeHost, build_kernel_bundle, static_origins
from vscode_harness import missing_reason as vscode_missing_reason


@pytest.hookimpl(tryfirst=True)  # before `-m "not browser"` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser as ``browser`` and skip them all without Chromium."""
    here = Path(__file__).parent
    reason = missing_reason()
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A JupyterLab server on 127.0.0.1 with a token, shared by the whole session."""
    server = start_server("lab", tmp_path_factory.mktemp("lab"))
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def notebook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A Notebook 7 server on 127.0.0.1 with a token, shared by the whole session."""
    server = start_server("notebook", tmp_path_factory.mktemp("nb7"))
    yield server
    stop_server(server)


# ---------------------------------------------------------------------- browser
@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    if report.when == "call" and report.failed:
        # Now, before teardown shuts the kernels down and changes what the page shows.
        pg = getattr(item, "funcargs", {}).get("page")
        if pg is not None:
            with contextlib.suppress(Exception):
                shot(pg, f"failures/{item.name}")


@pytest.fixture
def console() -> Console:
    """The current test's console errors (filled by the ``page`` fixture)."""
    return Console()


@pytest.fixture
def page(browser: Any, console: Console, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page (own context: no shared cookies or storage) that records console errors.

    On failure: a screenshot under ``artifacts/screenshots/failures/`` and the servers' logs in the
    test report.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    pg.on(
        "console",
        lambda msg: (
            console.errors.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error"
            else None
        ),
    )
    pg.on(
        "pageerror",
        lambda exc: console.errors.append(f"pageerror: {exc}\n{getattr(exc, 'stack', '')}"),
    )
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        for name in ("lab_server", "notebook_server", "vscode_server"):
            if name in request.fixturenames:
                server: JupyterServer = request.getfixturevalue(name)
                request.node.add_report_section(
                    "call", f"{server.kind} server log", server.log_tail()
                )
        request.node.add_report_section("call", "console errors", "\n".join(console.errors))
    context.close()


@pytest.fixture
def notebook_factory(
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., NotebookPage]]:
    """``open(server, page, cells) -> NotebookPage``: write, open, wait for the kernel.

    Kernels the test started are shut down afterwards.
    """
    opened: list[NotebookPage] = []

    def open_(server: JupyterServer, pg: Any, cells: list[str]) -> NotebookPage:
        name = write_notebook(server, cells)
        nbp = NotebookPage(server, pg, name)
        nbp.open()
        opened.append(nbp)
        return nbp

    yield open_
    for nbp in opened:
        nbp.server.shutdown_kernels()


# ------------------------------------------------------------------ VS Code host
@pytest.fixture(scope="session")
def vscode_origins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticOrigins]:
    """The VS Code host's two loopback origins (workbench, webview); see ``vscode_harness``."""
    reason = vscode_missing_reason()
    if reason:
        pytest.skip(reason)
    kernel_js = build_kernel_bundle(tmp_path_factory.mktemp("vscode-host"))
    with static_origins(kernel_js) as origins:
        yield origins


@pytest.fixture(scope="session")
def vscode_server(
    vscode_origins: StaticOrigins, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterServer]:
    """A bare Jupyter server that lets the workbench origin open kernel websockets."""
    server = start_server(
        "server",
        tmp_path_factory.mktemp("vscode-server"),
        extra_args=[f"--ServerApp.allow_origin={vscode_origins.workbench}"],
    )
    yield server
    stop_server(server)


@pytest.fixture
def vscode_host(
    page: Any, vscode_origins: StaticOrigins, vscode_server: JupyterServer
) -> Iterator[Callable[..., VscodeHost]]:
    """``open(kernel=True, csp="") -> VscodeHost`` in the test's page; kernels stopped after."""
    opened: list[VscodeHost] = []

    def open_(*, kernel: bool = True, csp: str = "") -> VscodeHost:
        host = VscodeHost(page, vscode_origins, vscode_server, csp=csp)
        host.open(kernel=kernel)
        opened.append(host)
        return host

    yield open_
    for host in opened:
        host.shutdown()
