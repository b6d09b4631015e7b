"""New requests and My requests: the processes my force can start (after overrides), the start form with
types coerced and errors inline, the confirmation with the reference, status, current step and holder,
the history, the diagram data for bpmn-js, and withdrawing."""
from __future__ import annotations

import re

from flask import Flask

from demo_world import *  # noqa: F401,F403  (fixtures: demo, demo_app, seeded_demo_db)
from demo_world import DemoWorld, claim_form
from engine import org
from engine.audit import history
from engine.models import Instance


def test_new_request_lists_what_the_force_can_start(demo: DemoWorld) -> None:
    page = demo.client("jhale").get("/requests/new").get_data(as_text=True)
    for key in ("expense_claim", "leave_request", "purchase_requisition", "vetting_clearance"):
        assert f'href="/requests/new/{key}"' in page
    assert "pre_approval_hook" not in page  # hook slots are not startable


def test_a_force_override_is_what_that_forces_people_start(demo: DemoWorld) -> None:
    cnc = demo.client("smuir").get("/requests/new/vetting_clearance").get_data(as_text=True)
    ches = demo.client("jhale").get("/requests/new/vetting_clearance").get_data(as_text=True)
    assert 'name="nsv_level_required"' in cnc  # CNC's own version of the vetting request form
    assert 'name="nsv_level_required"' not in ches and 'name="post_title"' in ches


def test_the_start_form_is_rendered_from_its_schema(demo: DemoWorld) -> None:
    page = demo.client("jhale").get("/requests/new/expense_claim").get_data(as_text=True)
    assert "Claim expenses" in page and 'name="journeys.0.miles"' in page and 'name="declaration"' in page
    assert 'value="none"\n' in page or re.search(r'value="none"\s+checked', page)  # the default vehicle


def test_starting_coerces_the_answers_and_confirms_with_the_reference(demo: DemoWorld) -> None:
    constable = demo.client("jhale")
    response = constable.post("/requests/new/expense_claim", data=claim_form())
    assert response.status_code == 302
    found = re.search(r"/requests/(\d+)/confirmation", response.location)
    assert found is not None
    iid = int(found.group(1))
    page = constable.get(response.location).get_data(as_text=True)
    reference = demo.instance(iid).reference
    assert "Request sent" in page and reference in page
    assert "Approve expense claim: with PS 1190 Aisha Rahman" in page
    started = demo.run(lambda s: history(s, iid)[0].data["data"])
    assert started["ytd_business_miles"] == 1200 and started["journeys"][0]["miles"] == 42.5
    assert started["declaration"] is True and "subsistence" not in started and started["other_items"] == []


def test_mistakes_are_shown_inline_with_the_answers_kept(demo: DemoWorld) -> None:
    existing = demo.run(lambda s: s.query(Instance).count())
    response = demo.client("jhale").post("/requests/new/expense_claim", data=claim_form(
        declaration="", **{"journeys.0.miles": "forty", "journeys.0.from_postcode": "nowhere"}))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "There is a problem" in page
    assert 'href="#f-journeys-0-miles">Journey 1: Enter a number, like 12.5' in page
    assert 'href="#f-journeys-0-from_postcode">Journey 1: Enter from (postcode) in the format shown' in page
    assert 'href="#f-declaration">Tick the box to confirm' in page
    assert 'value="forty"' in page and 'value="nowhere"' in page
    assert ">Crown Court attendance, R v Doyle</textarea>" in page
    assert demo.run(lambda s: s.query(Instance).count()) == existing


def test_add_another_row_and_remove_a_row_keep_everything_typed(demo: DemoWorld) -> None:
    constable = demo.client("jhale")
    page = constable.post("/requests/new/expense_claim",
                          data=claim_form(_action="add:journeys")).get_data(as_text=True)
    assert 'name="journeys.1.miles"' in page and 'value="42.5"' in page and "There is a problem" not in page
    form = claim_form(_action="remove:journeys.0",
                      **{"journeys.1.purpose": "Second trip", "journeys.1.miles": "3"})
    page = constable.post("/requests/new/expense_claim", data=form).get_data(as_text=True)
    assert 'value="Second trip"' in page and 'value="Chester Crown Court"' not in page


def test_an_unknown_process_is_not_found(demo: DemoWorld) -> None:
    assert demo.client("jhale").get("/requests/new/no_such_process").status_code == 404
    assert demo.client("jhale").get("/requests/new/expense_claim_pre_approval_hook").status_code == 404


def test_my_requests_show_status_current_step_and_who_holds_it(demo: DemoWorld) -> None:
    waiting, done = demo.start("jhale"), demo.start("jhale")
    demo.complete("arahman", demo.item(done), {"decision": "approve"})
    page = demo.client("jhale").get("/requests").get_data(as_text=True)
    assert demo.instance(waiting).reference in page and demo.instance(done).reference in page
    assert "In progress" in page and "Completed" in page
    holder = 'Approve expense claim</span> <span class="govuk-hint muster-secondary">PS 1190 Aisha Rahman'
    assert holder in page
    assert demo.instance(demo.start("arahman")).reference not in page  # only mine


def test_the_request_page_shows_the_step_holder_history_and_diagram(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    page = demo.client("jhale").get(f"/requests/{iid}").get_data(as_text=True)
    assert "Approve expense claim</span> – with PS 1190 Aisha Rahman" in page
    assert "moj-timeline" in page and "Request submitted" in page
    assert f'data-diagram-url="/requests/{iid}/diagram.json"' in page and "muster-diagram.js" in page
    assert "Withdraw request" in page


def test_diagram_data_is_the_pinned_bpmn_with_current_and_done_steps(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    data = demo.client("jhale").get(f"/requests/{iid}/diagram.json").get_json()
    assert data["xml"].startswith("<?xml") and 'id="approve_claim"' in data["xml"]
    assert data["active"] == ["approve_claim"]
    assert data["completed"][:2] == ["check_claim", "mileage_rate"]
    assert "approve_claim" not in data["completed"]


def test_the_line_manager_can_follow_the_request_and_others_cannot(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    assert demo.client("arahman").get(f"/requests/{iid}").status_code == 200
    assert demo.client("ebooth").get(f"/requests/{iid}").status_code == 200  # CHES force manager
    for url in (f"/requests/{iid}", f"/requests/{iid}/diagram.json", f"/requests/{iid}/confirmation"):
        assert demo.client("cdonnelly").get(url).status_code == 404, url
    assert demo.client("cdonnelly").post(f"/requests/{iid}/withdraw").status_code == 404


def test_the_requester_withdraws_an_open_request_once(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    constable = demo.client("jhale")
    response = constable.post(f"/requests/{iid}/withdraw", data={"reason": "Submitted twice"})
    assert response.status_code == 302 and demo.instance(iid).status == "cancelled"
    page = constable.get(f"/requests/{iid}").get_data(as_text=True)
    assert "Withdrawn" in page and "Request withdrawn" in page and "Submitted twice" in page
    assert "Withdraw request" not in page
    assert constable.post(f"/requests/{iid}/withdraw").status_code == 409


def test_the_line_manager_cannot_withdraw_the_request_but_a_force_manager_can(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    assert "Withdraw request" not in demo.client("arahman").get(f"/requests/{iid}").get_data(as_text=True)
    assert demo.client("arahman").post(f"/requests/{iid}/withdraw").status_code == 403
    force_manager = demo.client("ebooth")
    assert "Withdraw request" in force_manager.get(f"/requests/{iid}").get_data(as_text=True)
    assert force_manager.post(f"/requests/{iid}/withdraw", data={"reason": "Duplicate"}).status_code == 302
    assert demo.instance(iid).status == "cancelled"


def test_a_withdrawal_reason_has_a_length_limit(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    response = demo.client("jhale").post(f"/requests/{iid}/withdraw", data={"reason": "x" * 1001})
    assert response.status_code == 422


def test_pages_need_sign_in(demo_app: Flask, demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    client = demo_app.test_client()
    for url in ("/requests", "/requests/new", "/requests/new/expense_claim", f"/requests/{iid}",
                f"/requests/{iid}/diagram.json"):
        response = client.get(url)
        assert response.status_code == 302 and response.location.startswith("/auth/sign-in"), url


def test_a_deactivated_requesters_request_still_shows(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    demo.run(org.deactivate_user, "CHES", demo.user_id("jhale"))
    assert "PC 2417 Jordan Hale" in demo.client("arahman").get(f"/requests/{iid}").get_data(as_text=True)
