"""The designer's pages on the seeded demo data: catalogue, drafts, validation, scenarios, publication with
a second person, diff and drift, impact, form preview, downloads and ``muster export``."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.seeding import seeded_sqlite
from engine import calendar
from engine.models import Definition
from engine.seed import DEMO_PASSWORD
from web.cli import main as cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo organisation and definitions, seeded once per module."""

    calendar.working_days_between("2026-01-01", "2031-12-31", ())  # load the bank holidays before any
    # sandboxed script's 1 s budget starts: the first load is slow on a busy machine
    path = tmp_path_factory.mktemp("designer-web") / "seeded.db"
    seeded_sqlite(path)
    return path


@pytest.fixture
def database_url(seeded_db: Path, tmp_path: Path) -> str:
    """Overrides the web conftest's empty database with a copy of the seeded one."""
    target = tmp_path / "designer.db"
    shutil.copyfile(seeded_db, target)
    return f"sqlite:///{target}"


def sign_in(client: FlaskClient, username: str) -> None:
    client.post("/auth/sign-out")
    response = client.post("/auth/sign-in", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def start_draft(client: FlaskClient, kind: str = "process", key: str = "leave_request",
                scope: str = "common") -> int:
    response = client.post("/designer/drafts", data={"kind": kind, "key": key, "scope": scope})
    assert response.status_code == 302
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def content_of(client: FlaskClient, draft_id: int) -> str:
    return client.get(f"/designer/drafts/{draft_id}/download").get_data(as_text=True)


def renamed(content: str) -> str:
    return content.replace('name="Approve leave request"', 'name="Approve or refuse leave"')


def test_catalogue_lists_artefacts_versions_and_forces(client: FlaskClient) -> None:
    sign_in(client, "imarsh")
    page = client.get("/designer/").get_data(as_text=True)
    for text in ("leave_request", "leave_routing", "leave_approval", "NTHN", "common v1"):
        assert text in page
    assert client.get("/designer/process/leave_request").status_code == 200
    assert client.get("/designer/process/no_such_thing").status_code == 404


def test_people_without_a_designer_role_are_refused(client: FlaskClient) -> None:
    assert client.get("/designer/").status_code == 302  # signed out: to the sign-in page
    sign_in(client, "jhale")
    assert client.get("/designer/").status_code == 403
    sign_in(client, "fgrant")  # a force manager reads the catalogue but cannot draft
    assert client.get("/designer/").status_code == 200
    assert client.post("/designer/drafts", data={"kind": "process", "key": "leave_request",
                                                 "scope": "common"}).status_code == 403


def test_editor_saves_and_validates_a_draft_without_inline_scripts(client: FlaskClient, app: Flask) -> None:
    sign_in(client, "imarsh")
    draft_id = start_draft(client)
    page = client.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    assert 'id="designer-data"' in page and "bpmn-modeler.min.js" in page
    tags = re.findall(r"<script[^>]*>", page)
    assert all("src=" in tag or 'type="application/json"' in tag for tag in tags)
    new_content = renamed(content_of(client, draft_id))
    response = client.post(f"/designer/drafts/{draft_id}", data={"content": new_content},
                           follow_redirects=True)
    assert "Validation passed" in response.get_data(as_text=True)
    broken = content_of(client, draft_id).replace(' default="Flow_route_manager"', "")
    page = client.post(f"/designer/drafts/{draft_id}", data={"content": broken},
                       follow_redirects=True).get_data(as_text=True)
    assert "problem(s) found" in page and 'data-element="route_gw"' in page
    with app.app_context():
        from web.extensions import unit_of_work as uow

        with uow(read_only=True) as db:
            assert db.execute(select(Definition).where(Definition.key == "leave_request",
                                                       Definition.version == 2)).first() is None


def test_scenarios_of_a_draft_pass_with_their_path(client: FlaskClient) -> None:
    sign_in(client, "imarsh")
    draft_id = start_draft(client)
    page = client.post(f"/designer/drafts/{draft_id}/scenarios").get_data(as_text=True)
    total = len(list((REPO / "processes/common/leave_request/scenarios").glob("*.json")))
    assert f"{total} of {total} passed" in page
    assert "approve_leave" in page and "muster-scenario--fail" not in page


def test_publication_needs_a_second_person(client: FlaskClient) -> None:
    sign_in(client, "imarsh")
    draft_id = start_draft(client)
    client.post(f"/designer/drafts/{draft_id}", data={"content": renamed(content_of(client, draft_id))})
    response = client.post(f"/designer/drafts/{draft_id}/request", data={"comment": "clearer task name"})
    assert response.status_code == 302
    request_url = response.headers["Location"]
    assert 'id="approve"' not in client.get(request_url).get_data(as_text=True)
    assert client.post(request_url + "/approve").status_code == 403  # the requester
    sign_in(client, "jashworth")  # a force manager: not enough for common
    assert client.post(request_url + "/approve").status_code == 403
    sign_in(client, "zhammond")
    assert "Request " in client.get("/designer/requests").get_data(as_text=True)
    page = client.get(request_url).get_data(as_text=True)
    assert 'id="approve"' in page and "approve_leave" in page  # the change is shown to the approver
    page = client.post(request_url + "/approve", follow_redirects=True).get_data(as_text=True)
    assert "as version 2 for common" in page
    catalogue = client.get("/designer/process/leave_request").get_data(as_text=True)
    assert "v2" in catalogue


def test_force_override_diff_shows_drift(client: FlaskClient) -> None:
    sign_in(client, "imarsh")
    response = client.post("/designer/overrides", data={"kind": "process", "key": "leave_request",
                                                        "force": "NTHN"})
    override_id = int(response.headers["Location"].rsplit("/", 1)[1])
    url = client.post(f"/designer/drafts/{override_id}/request").headers["Location"]
    sign_in(client, "fgrant")
    page = client.post(url + "/approve", follow_redirects=True).get_data(as_text=True)
    assert "as version 1 for NTHN" in page
    sign_in(client, "imarsh")
    draft_id = start_draft(client)
    client.post(f"/designer/drafts/{draft_id}", data={"content": renamed(content_of(client, draft_id))})
    url = client.post(f"/designer/drafts/{draft_id}/request").headers["Location"]
    sign_in(client, "zhammond")
    client.post(url + "/approve")
    page = client.get("/designer/").get_data(as_text=True)
    assert "muster-drift" in page
    artefact = client.get("/designer/process/leave_request").get_data(as_text=True)
    diff_url = re.search(r'href="(/designer/versions/\d+/diff)"', artefact).group(1)
    page = client.get(diff_url).get_data(as_text=True)
    assert "Drift:" in page
    drift = page.split('id="drift-changes"', 1)[1]
    assert 'data-element="approve_leave"' in drift and "Approve or refuse leave" in drift
    assert "diff-data" in page
    impact = client.get("/designer/process/leave_request/impact/common").get_data(as_text=True)
    assert "keeps its own override (NTHN)" in impact and "gets the change" in impact


def test_form_preview_and_downloads(client: FlaskClient) -> None:
    sign_in(client, "imarsh")
    draft_id = start_draft(client, "form", "leave_approval")
    page = client.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    assert 'id="form-preview"' in page and "govuk-form-group" in page
    html = client.post("/designer/forms/preview", json={"content": '{"type": "object", "title": "T", '
                                                                   '"properties": {"why": {"type": "string", '
                                                                   '"title": "Why is this needed"}}}'})
    assert "Why is this needed" in html.get_data(as_text=True)
    bad = client.post("/designer/forms/preview", json={"content": "{"}).get_data(as_text=True)
    assert "cannot be drawn" in bad
    artefact = client.get("/designer/process/leave_request").get_data(as_text=True)
    link = re.search(r'href="(/designer/versions/\d+/download)"', artefact).group(1)
    response = client.get(link)
    assert "attachment" in response.headers["Content-Disposition"] and b"<bpmn:definitions" in response.data


def test_muster_export_writes_the_repository_layout(database_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSTER_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out/processes/common/leave_request/process.bpmn").read_text() == \
        (REPO / "processes/common/leave_request/process.bpmn").read_text()
    assert (tmp_path / "out/forms/forces/CNC/vetting_request.json").is_file()


def test_recording_a_scenario_through_the_forms(client: FlaskClient) -> None:
    sign_in(client, "imarsh")
    draft_id = start_draft(client, "decision", "leave_routing")
    url = f"/designer/drafts/{draft_id}/record"
    assert "leave_request" in client.get(url).get_data(as_text=True)
    requester = '{"employee_type": "officer", "rank": "constable", "hours_per_week": 40, ' \
                '"annual_leave_balance_hours": 120, "service_years": 7}'
    page = client.post(url, data={"action": "begin", "process": "leave_request", "force": "CHES",
                                  "requester": requester}).get_data(as_text=True)

    def recording(html: str) -> str:
        import html as html_lib

        return html_lib.unescape(re.search(r'name="recording" value="([^"]*)"', html).group(1))

    page = client.post(url, data={"action": "submit", "recording": recording(page), "leave_type": "annual",
                                  "start_date": "2030-03-04", "end_date": "2030-03-08", "part_day": "none",
                                  "contact_while_away": "07700 900123"}).get_data(as_text=True)
    assert "approve_leave" in page and "leave_routing" in page, page[:3000]
    refused = client.post(url, data={"action": "submit", "recording": recording(page),
                                     "decision": "reject"}).get_data(as_text=True)
    assert "There is a problem" in refused  # a refusal needs a comment: the form's rule
    page = client.post(url, data={"action": "submit", "recording": recording(page), "decision": "approve",
                                  "comment": "Fine"}).get_data(as_text=True)
    assert "Finished" in page and "post_absence" in page
    response = client.post(url, data={"action": "save", "recording": recording(page),
                                      "name": "Recorded: a week approved"}, follow_redirects=True)
    assert "Recorded: a week approved" in response.get_data(as_text=True)
    results = client.post(f"/designer/drafts/{draft_id}/scenarios").get_data(as_text=True)
    assert "Recorded: a week approved" in results and "muster-scenario--fail" not in results
