"""Browser tests: Playwright for Python driving Debian's chromium against a real Muster server (waitress on
127.0.0.1, a free port) on a SQLite database holding the demo seed.

Skipped when /usr/bin/chromium or Playwright is missing (never ``playwright install``). A failing test
leaves a screenshot in ``test-artifacts/``."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from engine import passwords
from engine.db import make_engine, make_session_factory, unit_of_work
from engine.schema import upgrade
from engine.seed import DEMO_PASSWORD, seed_demo

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MUSTER_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark everything here ``browser``, and skip it when chromium or Playwright is not installed."""
    here = Path(__file__).parent
    reason = None if Path(CHROMIUM).exists() and sync_playwright is not None else \
        f"needs {CHROMIUM} and Playwright for Python"
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Keep each phase's report on the test item, so the page fixture knows whether the test failed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@dataclass(frozen=True)
class LiveServer:
    """A running Muster: its base URL and the database it serves."""

    url: str
    database_url: str
    password: str = DEMO_PASSWORD


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``muster run`` in a thread: waitress serving the app on 127.0.0.1 and a free port, demo data seeded."""
    from waitress import create_server

    from web import create_app

    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder / 'muster.db'}"
    upgrade(url)
    saved, passwords._HASHER = passwords._HASHER, PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            seed_demo(session, REPO)
    finally:
        engine.dispose()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test-secret"})
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="muster-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.effective_port}", url)
    finally:
        passwords._HASHER = saved
        server.close()
        app.extensions["muster"].engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian chromium."""
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context and page; a screenshot in test-artifacts/ when the test fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(page: Page, server: LiveServer, username: str) -> None:
    """Sign in through the real sign-in page, as nobody first.

    Every response refreshes the session cookie, so a late static file could sign the last person back
    in: let the page go quiet and leave it before dropping the cookies."""
    page.wait_for_load_state("networkidle")
    page.goto("about:blank")
    page.context.clear_cookies()
    page.goto(f"{server.url}/auth/sign-in")
    page.fill("#username", username)
    page.fill("#password", server.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")
