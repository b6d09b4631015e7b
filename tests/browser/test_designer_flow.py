"""The designer end to end in Debian's chromium: a designer renames a task of the leave process in bpmn-js,
sees validation pass, runs its scenarios and asks to publish; the second person approves; a new instance
uses v2 while an existing one stays on v1; a force override made earlier shows the rename as drift.

Approvers follow the issue's rule: the force override (NTHN) is approved by NTHN's force manager, the
common change by a platform admin (a force manager may not publish to common).
"""
from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.seeding import seeded_sqlite
from engine import calendar
from engine.db import make_engine, make_session_factory, unit_of_work
from engine.instances import start_instance
from engine.models import Definition, Instance, User
from engine.seed import DEMO_PASSWORD
from web import create_app

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
LEAVE = {"leave_type": "annual", "start_date": "2030-03-04", "end_date": "2030-03-08", "part_day": "none",
         "msl_breach": False, "embargo": False, "contact_while_away": "07700 900123"}
NEW_NAME = "Approve or refuse leave"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    calendar.working_days_between("2026-01-01", "2031-12-31", ())  # load the bank holidays before any
    # sandboxed script's 1 s budget starts: the first load is slow on a busy machine
    url = seeded_sqlite(tmp_path / 'browser.db')
    yield url


@pytest.fixture
def server(database: str, tmp_path: Path) -> Iterator[str]:
    """Muster on a free loopback port, in a thread, with CSRF checks on."""
    if not (REPO / "web/static/vendor/bpmn-js/bpmn-modeler.min.js").is_file():
        pytest.skip("bpmn-js is not installed (run scripts/bootstrap.sh)")
    app = create_app({"DATABASE_URL": database, "SECRET_KEY": "browser-test", "TESTING": True})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)
    app.extensions["muster"].engine.dispose()
    shutil.rmtree(tmp_path / "instance", ignore_errors=True)


@pytest.fixture
def page(server: str) -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(20000)
        page.musters_errors = []  # type: ignore[attr-defined]
        page.on("console", lambda m: m.type == "error" and page.musters_errors.append(m.text))  # type: ignore
        yield page
        browser.close()


def sign_in(page: object, server: str, username: str) -> None:
    page.goto(f"{server}/auth/sign-in")  # type: ignore[attr-defined]
    if page.locator("button:has-text('Sign out')").count():  # type: ignore[attr-defined]
        page.click("button:has-text('Sign out')")  # type: ignore[attr-defined]
        page.goto(f"{server}/auth/sign-in")  # type: ignore[attr-defined]
    page.fill("#username", username)  # type: ignore[attr-defined]
    page.fill("#password", DEMO_PASSWORD)  # type: ignore[attr-defined]
    page.click("button:has-text('Sign in')")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def start_leave(database: str, username: str = "jhale", **changes: object) -> tuple[int, int]:
    """Start a leave request; (instance id, version of the process it pinned)."""
    engine = make_engine(database)
    try:
        with unit_of_work(make_session_factory(engine)) as s:
            user = s.execute(select(User).where(User.username == username)).scalar_one()
            inst = start_instance(s, user=user, process_key="leave_request", data={**LEAVE, **changes})
            return int(inst.id), int(s.get(Definition, inst.definition_id).version)
    finally:
        engine.dispose()


def test_designer_renames_a_task_publishes_and_the_override_drifts(page: object, server: str,
                                                                   database: str) -> None:
    p = page
    old_id, old_version = start_leave(database)
    assert old_version == 1  # an instance already running on v1

    # A force override of the leave process for NTHN, made from common v1 and approved by NTHN's manager.
    sign_in(p, server, "imarsh")
    p.goto(f"{server}/designer/process/leave_request")
    p.select_option("#override-force", "NTHN")
    p.click("#new-override")
    p.click("#request-publication")
    request_url = p.url
    sign_in(p, server, "fgrant")
    p.goto(request_url)
    p.click("#approve")
    assert "as version 1 for NTHN" in p.content()

    # The designer opens the leave process, renames a task in bpmn-js and saves: validation passes.
    sign_in(p, server, "imarsh")
    p.goto(f"{server}/designer/process/leave_request")
    p.select_option("#draft-scope", "common")
    p.click("#new-draft")
    p.wait_for_selector("#canvas[data-ready='yes']")
    p.click("g.djs-element[data-element-id='approve_leave']")
    p.fill("#prop-name", NEW_NAME)
    p.press("#prop-name", "Tab")
    p.wait_for_selector("g[data-element-id='approve_leave'] text:has-text('Approve or refuse')")
    p.click("#save-draft")
    p.wait_for_selector(".muster-validation-ok")
    assert "Validation passed" in p.content()

    # Its scenarios pass, each with the path taken.
    p.click("#run-scenarios")
    summary = p.inner_text(".muster-scenario-summary")
    total = len(list((REPO / "processes/common/leave_request/scenarios").glob("*.json")))
    assert f"{total} of {total} passed" in summary
    assert p.locator(".muster-scenario--fail").count() == 0
    assert "approve_leave" in p.inner_text("table")
    p.click("#back-to-draft")
    p.fill("#request-comment", "Clearer name for the manager's task")
    p.click("#request-publication")
    request_url = p.url

    # A force manager cannot publish to common; a platform admin approves.
    sign_in(p, server, "jashworth")
    p.goto(request_url)
    assert p.locator("#approve").count() == 0
    sign_in(p, server, "zhammond")
    p.goto(request_url)
    p.click("#approve")
    assert "as version 2 for common" in p.content()

    # New instances get v2; the running one stays on v1.
    assert start_leave(database, start_date="2030-05-06", end_date="2030-05-07")[1] == 2
    engine = make_engine(database)
    with unit_of_work(make_session_factory(engine)) as s:
        v2 = s.execute(select(Definition).where(Definition.key == "leave_request", Definition.version == 2,
                                                Definition.scope == "common")).scalar_one()
        assert f'name="{NEW_NAME}"' in v2.content
        old = s.get(Instance, old_id)
        assert s.get(Definition, old.definition_id).version == 1 and old.status in ("running", "waiting")
    engine.dispose()

    # The NTHN override is flagged, and its diff shows the renamed task as drift, marked on the diagram.
    sign_in(p, server, "imarsh")
    p.goto(f"{server}/designer/")
    assert p.locator("tr[data-artefact='process:leave_request'] .muster-drift").count() == 1
    p.goto(f"{server}/designer/process/leave_request")
    p.click("a:has-text('Diff NTHN v1')")
    drift = p.inner_text("#drift-changes")
    assert "approve_leave" in drift and NEW_NAME in drift
    p.wait_for_selector("#drift-canvas[data-ready='yes']")
    assert p.locator("#drift-canvas g.muster-diff-changed[data-element-id='approve_leave']").count() == 1
    assert not [e for e in p.musters_errors if "Content Security Policy" in e]  # type: ignore[attr-defined]
