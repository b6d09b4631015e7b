"""Manager pages: the team queue (overdue first; approve or reject with a comment; bulk approval reported item
by item), reassigning, out-of-office delegation, and the force dashboard with every force side by side."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest

from demo_world import *  # noqa: F401,F403  (fixtures: demo, demo_app, seeded_demo_db)
from demo_world import DemoWorld, claim_data
from engine import reports
from engine.calendar import reset_clock, set_clock, today, utcnow


@pytest.fixture
def clock() -> Iterator[None]:
    yield
    reset_clock()


def queue_rows(page: str) -> list[str]:
    """The references in the team queue, in order."""
    return re.findall(r"(CHES-\d{6}) · ", page)


# --- team queue -------------------------------------------------------------------------------


def test_the_queue_lists_approvals_for_me_with_quick_decisions(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    page = demo.client("arahman").get("/manager/").get_data(as_text=True)
    item = demo.item(iid)
    assert demo.instance(iid).reference in queue_rows(page) and "Asked by PC 2417 Jordan Hale" in page
    assert f'action="/manager/items/{item}/decide"' in page
    assert 'value="approve"' in page and 'value="reject"' in page
    assert f'name="item_id" type="checkbox" value="{item}" form="bulk-form"' in page


def test_a_constable_has_an_empty_queue(demo: DemoWorld) -> None:
    demo.start("jhale")
    page = demo.client("jhale").get("/manager/").get_data(as_text=True)
    assert "There are no approvals waiting for you or your team" in page


def test_overdue_approvals_come_first(demo: DemoWorld, clock: None) -> None:
    later = demo.start("jhale")
    set_clock(utcnow() + dt.timedelta(days=20))
    newer = demo.start("jhale")  # due later than the first, which is now overdue
    set_clock(utcnow() + dt.timedelta(days=1))
    rows = queue_rows(demo.client("arahman").get("/manager/").get_data(as_text=True))
    assert rows.index(demo.instance(later).reference) < rows.index(demo.instance(newer).reference)
    assert rows[-1] == demo.instance(newer).reference  # the seed's requests are overdue too, so first


def test_approving_from_the_queue_completes_the_request(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    response = demo.client("arahman").post(f"/manager/items/{demo.item(iid)}/decide",
                                           data={"decision": "approve", "comment": "Checked"})
    assert response.status_code == 302 and demo.instance(iid).status == "completed"
    assert demo.instance(iid).data_summary["outcome"] == "queued_for_payment"


def test_a_rejection_without_a_comment_is_refused_next_to_the_item(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    item = demo.item(iid)
    response = demo.client("arahman").post(f"/manager/items/{item}/decide",
                                           data={"decision": "reject", "comment": " "})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and f'href="#comment-{item}">Reason is required' in page
    assert demo.instance(iid).status == "waiting"
    response = demo.client("arahman").post(f"/manager/items/{item}/decide",
                                           data={"decision": "reject", "comment": "Video link was used"})
    assert response.status_code == 302 and demo.instance(iid).data_summary["outcome"] == "rejected"


def test_bulk_approval_completes_each_item_and_reports_failures_one_by_one(demo: DemoWorld) -> None:
    first, second, gone = demo.start("jhale"), demo.start("jhale"), demo.start("jhale")
    stale = demo.item(gone)
    demo.complete("arahman", stale, {"decision": "approve"})  # done elsewhere after the page was loaded
    response = demo.client("arahman").post("/manager/bulk-approve", data={
        "item_id": [str(demo.item(first)), str(demo.item(second)), str(stale)]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 of 3 approved" in page
    assert re.search(rf"Not approved</strong>\s+{demo.instance(gone).reference} · Approve expense claim: "
                     r"This item is already completed", page)
    assert demo.instance(first).status == demo.instance(second).status == "completed"


def test_bulk_approval_never_approves_your_own_request(demo: DemoWorld) -> None:
    own = demo.start("gprice")  # goes to his line manager, hward, who also holds the force's HoD role
    reports_own = demo.start("arahman")  # goes to gprice
    response = demo.client("gprice").post("/manager/bulk-approve", data={
        "item_id": [str(demo.item(reports_own)), str(demo.item(own))]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "1 of 2 approved" in page
    assert demo.instance(own).status == "waiting"


def test_bulk_approval_with_nothing_selected_says_so(demo: DemoWorld) -> None:
    demo.start("jhale")
    response = demo.client("arahman").post("/manager/bulk-approve", data={})
    assert response.status_code == 422 and "Select at least one item" in response.get_data(as_text=True)


def test_the_queue_shows_my_reports_approvals_held_by_someone_else(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    item = demo.item(iid)
    sergeant = demo.client("arahman")
    to_gareth = {"to_user_id": demo.user_id("gprice")}
    assert sergeant.post(f"/manager/items/{item}/reassign", data=to_gareth).status_code == 302
    page = sergeant.get("/manager/").get_data(as_text=True)
    assert demo.instance(iid).reference in page
    assert "with Insp Gareth Price" in page and "Not yours to decide" in page
    assert demo.instance(iid).reference in demo.client("gprice").get("/").get_data(as_text=True)


# --- reassign ---------------------------------------------------------------------------------


def test_reassign_offers_people_of_the_force_and_refuses_the_requester(demo: DemoWorld) -> None:
    item = demo.item(demo.start("jhale"))
    sergeant = demo.client("arahman")
    page = sergeant.get(f"/manager/items/{item}/reassign").get_data(as_text=True)
    assert "Insp Gareth Price (gprice)" in page and "Mark Osei" not in page  # NTHN people are never offered
    response = sergeant.post(f"/manager/items/{item}/reassign", data={"to_user_id": demo.user_id("jhale")})
    assert response.status_code == 422
    assert "Cannot approve their own request" in response.get_data(as_text=True)
    response = sergeant.post(f"/manager/items/{item}/reassign", data={"to_user_id": ""})
    assert response.status_code == 422 and "Choose a person" in response.get_data(as_text=True)


def test_only_the_holder_or_a_manager_may_reassign(demo: DemoWorld) -> None:
    item = demo.item(demo.start("jhale"))
    assert demo.client("jhale").get(f"/manager/items/{item}/reassign").status_code == 403
    assert demo.client("ebooth").get(f"/manager/items/{item}/reassign").status_code == 200  # force manager


# --- out of office ----------------------------------------------------------------------------


def test_out_of_office_sends_work_to_the_delegate_for_the_dates_only(demo: DemoWorld, clock: None) -> None:
    iid = demo.start("jhale")
    start, end = today(), today() + dt.timedelta(days=2)
    response = demo.client("arahman").post("/manager/out-of-office", data={
        "away": demo.user_id("arahman"), "delegate": demo.user_id("gprice"),
        "starts_on": start.isoformat(), "ends_on": end.isoformat()})
    assert response.status_code == 302
    page = demo.client("arahman").get("/manager/out-of-office").get_data(as_text=True)
    assert "Insp Gareth Price" in page and "Cancel" in page
    reference = demo.instance(iid).reference
    assert reference in demo.client("gprice").get("/").get_data(as_text=True)
    set_clock(utcnow() + dt.timedelta(days=5))
    assert reference not in demo.client("gprice").get("/").get_data(as_text=True)
    assert reference in demo.client("arahman").get("/").get_data(as_text=True)


def test_the_delegate_can_decide_while_covering(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    demo.client("arahman").post("/manager/out-of-office", data={
        "away": demo.user_id("arahman"), "delegate": demo.user_id("gprice"),
        "starts_on": today().isoformat(), "ends_on": today().isoformat()})
    response = demo.client("gprice").post(f"/manager/items/{demo.item(iid)}/decide",
                                          data={"decision": "approve"})
    assert response.status_code == 302 and demo.instance(iid).status == "completed"


def test_out_of_office_problems_are_shown_on_the_form(demo: DemoWorld) -> None:
    sergeant, me = demo.client("arahman"), demo.user_id("arahman")
    dates = {"starts_on": "2027-01-05", "ends_on": "2027-01-06"}
    response = sergeant.post("/manager/out-of-office", data={"away": me, "delegate": me, **dates})
    assert response.status_code == 422
    assert "Choose someone other than the person who is away" in response.get_data(as_text=True)
    backwards = {"starts_on": "2027-01-05", "ends_on": "2027-01-01"}
    response = sergeant.post("/manager/out-of-office",
                             data={"away": me, "delegate": demo.user_id("gprice"), **backwards})
    assert response.status_code == 422
    assert "The end date must be on or after the start date" in response.get_data(as_text=True)
    response = sergeant.post("/manager/out-of-office", data={"away": me, "delegate": ""})
    assert response.status_code == 422 and "Enter the first day away" in response.get_data(as_text=True)


def test_only_force_managers_set_out_of_office_for_someone_else(demo: DemoWorld) -> None:
    data = {"away": demo.user_id("jhale"), "delegate": demo.user_id("gprice"), "starts_on": "2027-01-05",
            "ends_on": "2027-01-06"}
    assert demo.client("arahman").post("/manager/out-of-office", data=data).status_code == 422  # not a choice
    assert demo.client("ebooth").post("/manager/out-of-office", data=data).status_code == 302


def test_a_delegation_is_cancelled_by_its_owner_only(demo: DemoWorld) -> None:
    demo.client("arahman").post("/manager/out-of-office", data={
        "away": demo.user_id("arahman"), "delegate": demo.user_id("gprice"),
        "starts_on": "2027-01-05", "ends_on": "2027-01-06"})
    page = demo.client("arahman").get("/manager/out-of-office").get_data(as_text=True)
    found = re.search(r"/manager/out-of-office/(\d+)/cancel", page)
    assert found is not None
    delegation = int(found.group(1))
    assert demo.client("jhale").post(f"/manager/out-of-office/{delegation}/cancel").status_code == 404
    assert demo.client("arahman").post(f"/manager/out-of-office/{delegation}/cancel").status_code == 302
    assert "/cancel" not in demo.client("arahman").get("/manager/out-of-office").get_data(as_text=True)


# --- dashboard --------------------------------------------------------------------------------


def test_the_dashboard_needs_a_manager_role(demo: DemoWorld) -> None:
    assert demo.client("jhale").get("/manager/dashboard").status_code == 403
    assert demo.client("arahman").get("/manager/dashboard").status_code == 200


def test_the_dashboard_counts_open_and_overdue_work_by_step_and_force(demo: DemoWorld, clock: None) -> None:
    before = demo.run(reports.dashboard, "CHES")
    demo.start("jhale", data=claim_data("Secret court case"))
    demo.start("jhale")
    demo.start("lcarter")  # NTHN
    set_clock(utcnow() + dt.timedelta(days=30))
    page = demo.client("arahman").get("/manager/dashboard").get_data(as_text=True)
    assert re.search(rf'id="open-total">{before.own.open + 2}<', page)
    assert re.search(rf'id="overdue-total">{before.own.open + 2}<', page)  # everything open is late by now
    assert "Approve expense claim" in page and "<svg" in page and "muster-chart__bar--overdue" in page
    nthn = next(f for f in before.forces if f.code == "NTHN").process("expense_claim").open + 1
    expense_row = re.search(r'<th scope="row" class="govuk-table__header">Expense claim.*?</tr>', page, re.S)
    assert expense_row is not None
    assert f'data-force="NTHN">{nthn} <span class="muster-overdue">({nthn})' in expense_row.group(0)
    for case_data in ("Secret court case", "CHES-0", "Jordan Hale"):  # figures only
        assert case_data not in page


def test_median_cycle_time_counts_requests_completed_in_the_last_30_days(demo: DemoWorld,
                                                                         clock: None) -> None:
    started = utcnow()
    figures = demo.run(reports.force_figures, started)
    seeded = next(f for f in figures if f.code == "CHES").process("expense_claim")
    quick, slow, old = demo.start("jhale"), demo.start("jhale"), demo.start("jhale")
    set_clock(started + dt.timedelta(hours=2))
    demo.complete("arahman", demo.item(quick), {"decision": "approve"})
    set_clock(started + dt.timedelta(hours=6))
    demo.complete("arahman", demo.item(slow), {"decision": "approve"})
    figures = demo.run(reports.force_figures, started + dt.timedelta(hours=7))
    ches = next(f for f in figures if f.code == "CHES").process("expense_claim")
    assert ches.completed == 2 and ches.open == seeded.open + 1
    assert ches.median_hours == pytest.approx(4, abs=0.01)
    later = demo.run(reports.force_figures, started + dt.timedelta(days=40))
    assert next(f for f in later if f.code == "CHES").process("expense_claim").completed == 0
    assert demo.instance(old).status == "waiting"


def test_open_steps_group_items_by_process_and_title(demo: DemoWorld) -> None:
    def counts(force: str) -> dict[tuple[str, str], int]:
        return {(s.process_key, s.step): s.open for s in demo.run(reports.open_steps, force, utcnow())}

    before, nthn = counts("CHES"), counts("NTHN")
    demo.start("jhale")
    demo.start("jhale")
    after = counts("CHES")
    step = ("expense_claim", "Approve expense claim")
    assert after[step] == before.get(step, 0) + 2 and sum(after.values()) == sum(before.values()) + 2
    assert counts("NTHN") == nthn


def test_every_manager_page_needs_sign_in(demo: DemoWorld) -> None:
    client = demo.app.test_client()
    for url in ("/manager/", "/manager/dashboard", "/manager/out-of-office", "/manager/items/1/reassign"):
        response = client.get(url)
        assert response.status_code == 302 and response.location.startswith("/auth/sign-in"), url
