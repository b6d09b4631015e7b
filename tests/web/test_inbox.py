"""The inbox and the work item page: my items and my teams' claimable ones, filters, sort, counts and badges,
claim and unclaim, the form from the item's JSON Schema, inline errors with values kept, drafts, submit."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from flask import Flask

from demo_world import *  # noqa: F401,F403  (fixtures: demo, demo_app, seeded_demo_db)
from demo_world import DemoWorld, claim_data
from engine.calendar import reset_clock, set_clock, utcnow
from engine.models import WorkItem


@pytest.fixture
def clock() -> Iterator[None]:
    yield
    reset_clock()


def audited_claim(demo: DemoWorld) -> int:
    """A claim over £250 (always audited): once the sergeant approves it, SSC finance audit it."""
    iid = demo.start("jhale", data=claim_data(miles=700))
    demo.complete("arahman", demo.item(iid), {"decision": "approve"})
    return iid


# --- the inbox --------------------------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in(demo_app: Flask) -> None:
    response = demo_app.test_client().get("/")
    assert response.status_code == 302 and response.location == "/auth/sign-in?next=/"


def test_someone_with_no_work_sees_where_to_start(demo: DemoWorld) -> None:
    page = demo.client("jhale").get("/").get_data(as_text=True)
    assert "Your inbox" in page and "You have no work waiting" in page and 'href="/requests/new"' in page


def test_the_demo_sergeants_first_screen_has_work_in_it(demo: DemoWorld) -> None:
    page = demo.client("arahman").get("/").get_data(as_text=True)  # the seed's example requests
    assert "You have no work waiting" not in page and "PC 2417 Jordan Hale" in page
    assert "/inbox/items/" in page


def test_the_sergeant_sees_the_constables_claim_with_who_asked_and_when_it_is_due(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    page = demo.client("arahman").get("/").get_data(as_text=True)
    ref = demo.instance(iid).reference
    assert "Approve expense claim" in page and ref in page and "PC 2417 Jordan Hale" in page
    assert f'href="/inbox/items/{demo.item(iid)}"' in page
    shown = len(re.findall(r'href="/inbox/items/\d+"', page))
    assert re.search(rf'muster-count__figure">{shown}</span> assigned to you', page)


def test_team_items_can_be_claimed_and_given_back(demo: DemoWorld) -> None:
    item = demo.item(audited_claim(demo))
    auditor = demo.client("amarlow")  # shared-service finance auditor with a CHES grant
    page = auditor.get("/?scope=group").get_data(as_text=True)
    assert "Audit expense claim" in page and f"/inbox/items/{item}/claim" in page
    assert auditor.post(f"/inbox/items/{item}/claim").status_code == 302
    mine = auditor.get("/?scope=mine").get_data(as_text=True)
    assert f"/inbox/items/{item}/unclaim" in mine and "You have claimed" in mine
    assert f"/inbox/items/{item}" not in auditor.get("/?scope=group").get_data(as_text=True)
    assert auditor.post(f"/inbox/items/{item}/unclaim").status_code == 302
    assert f"/inbox/items/{item}/claim" in auditor.get("/?scope=group").get_data(as_text=True)


def test_claiming_an_item_someone_else_holds_is_a_conflict(demo: DemoWorld) -> None:
    item = demo.item(audited_claim(demo))
    assert demo.client("amarlow").post(f"/inbox/items/{item}/claim").status_code == 302
    assert demo.run(lambda s: s.get(WorkItem, item).assignee_id) == demo.user_id("amarlow")
    response = demo.client("jhale").post(f"/inbox/items/{item}/claim")
    assert response.status_code in (403, 404, 409)


def test_claim_goes_back_to_the_page_it_was_pressed_on_but_never_off_site(demo: DemoWorld) -> None:
    item = demo.item(audited_claim(demo))
    auditor = demo.client("amarlow")
    response = auditor.post(f"/inbox/items/{item}/claim", data={"next": f"/inbox/items/{item}"})
    assert response.location == f"/inbox/items/{item}"
    response = auditor.post(f"/inbox/items/{item}/unclaim", data={"next": "//evil.example/"})
    assert response.location == "/"


def test_filters_by_process_scope_and_due_and_shows_badges(demo: DemoWorld, clock: None) -> None:
    first = demo.start("jhale")
    sergeant = demo.client("arahman")
    assert demo.instance(first).reference in sergeant.get("/?process=expense_claim").get_data(as_text=True)
    assert demo.instance(first).reference not in sergeant.get("/?process=leave_request").get_data(True)
    assert "Nothing matches these filters" in sergeant.get("/?process=purchase_requisition").get_data(True)
    assert "Nothing matches" in sergeant.get("/?scope=group").get_data(as_text=True)
    assert "Nothing matches" in sergeant.get("/?due=overdue").get_data(as_text=True)
    set_clock(utcnow() + dt.timedelta(days=30))
    late = sergeant.get("/?due=overdue").get_data(as_text=True)
    assert "moj-badge--red\">Overdue" in late and demo.instance(first).reference in late
    shown = len(re.findall(r'href="/inbox/items/\d+"', late))
    assert shown >= 2 and re.search(rf'muster-count__figure">{shown}</span> overdue', late)


def test_due_soon_items_get_their_own_badge(demo: DemoWorld, clock: None) -> None:
    iid = demo.start("jhale")
    due = demo.open_items(iid)[0].due_at
    assert due is not None
    set_clock(due - dt.timedelta(hours=3))
    page = demo.client("arahman").get("/?due=soon").get_data(as_text=True)
    assert "Due soon" in page and demo.instance(iid).reference in page


def test_sort_orders_by_due_priority_or_age_and_ignores_nonsense(demo: DemoWorld) -> None:
    older, newer = demo.start("jhale", data=claim_data("First claim")), demo.start("jhale")
    sergeant = demo.client("arahman")
    for sort in ("due", "priority", "age", "nonsense"):
        page = sergeant.get(f"/?sort={sort}&scope=bogus&due=whenever").get_data(as_text=True)
        refs = re.findall(r"CHES-\d{6}", page)
        assert refs.index(demo.instance(older).reference) < refs.index(demo.instance(newer).reference), sort


# --- the work item page -----------------------------------------------------------------------


def test_item_page_shows_who_asked_for_what_the_task_data_and_the_history(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    page = demo.client("arahman").get(f"/inbox/items/{demo.item(iid)}").get_data(as_text=True)
    assert "PC 2417 Jordan Hale" in page and demo.instance(iid).reference in page
    assert "Crown Court attendance, R v Doyle" in page and "£19.12" in page  # read-only task data
    assert 'name="decision"' in page and 'value="approve"' in page and 'name="comment"' in page
    assert "moj-timeline" in page and "Request submitted" in page
    assert "Waiting for: Approve expense claim" in page


def test_a_missing_decision_is_shown_inline_and_the_comment_is_kept(demo: DemoWorld) -> None:
    item = demo.item(demo.start("jhale"))
    response = demo.client("arahman").post(f"/inbox/items/{item}",
                                           data={"comment": "Looks fine", "_action": "submit"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "govuk-error-summary" in page and 'href="#f-decision">Your decision is required' in page
    assert ">Looks fine</textarea>" in page


def test_a_rejection_needs_a_reason_and_keeps_the_choice(demo: DemoWorld) -> None:
    item = demo.item(demo.start("jhale"))
    response = demo.client("arahman").post(f"/inbox/items/{item}", data={"decision": "reject", "comment": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Reason is required" in page
    assert re.search(r'value="reject"\s+checked', page)


def test_submitting_completes_the_item_and_the_request_moves_on(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    sergeant = demo.client("arahman")
    response = sergeant.post(f"/inbox/items/{demo.item(iid)}",
                             data={"decision": "approve", "comment": "OK", "_action": "submit"})
    assert response.status_code == 302 and response.location == "/"
    assert demo.instance(iid).status == "completed"
    assert "Done: “Approve expense claim”" in sergeant.get("/").get_data(as_text=True)


def test_a_saved_draft_comes_back_when_the_item_is_opened_again(demo: DemoWorld) -> None:
    item = demo.item(demo.start("jhale"))
    sergeant = demo.client("arahman")
    response = sergeant.post(f"/inbox/items/{item}",
                             data={"decision": "reject", "comment": "Half written", "_action": "draft"})
    assert response.status_code == 302
    page = sergeant.get(f"/inbox/items/{item}").get_data(as_text=True)
    assert ">Half written</textarea>" in page and re.search(r'value="reject"\s+checked', page)
    assert "Your draft is saved" in page


def test_a_second_approval_by_the_same_person_is_refused_on_the_page(demo: DemoWorld) -> None:
    """The inspector's claim has an exception: the head of department (his line manager too) authorises
    it, and may not then give the line manager's approval as well."""
    tomorrow = (dt.date.fromisoformat(claim_data()["journeys"][0]["date"]) + dt.timedelta(days=1)).isoformat()
    data = claim_data()
    data["journeys"][0]["date"] = tomorrow  # a future-dated line is an exception
    iid = demo.start("gprice", data=data)
    head = demo.client("hward")
    exceptions = demo.item(iid)
    response = head.post(f"/inbox/items/{exceptions}", data={"decision": "approve", "comment": "Court rota"})
    assert response.status_code == 302, response.get_data(as_text=True)
    approval = demo.item(iid)
    response = head.post(f"/inbox/items/{approval}", data={"decision": "approve"})
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and "a second approval must come from someone else" in page
    assert re.search(r'value="approve"\s+checked', page)


def test_someone_else_in_the_force_who_is_not_involved_gets_not_found(demo: DemoWorld) -> None:
    item = demo.item(demo.start("jhale"))
    planner = demo.client("cdonnelly")
    assert planner.get(f"/inbox/items/{item}").status_code == 404
    assert planner.post(f"/inbox/items/{item}", data={"decision": "approve"}).status_code == 404


def test_the_requester_can_look_but_not_complete(demo: DemoWorld) -> None:
    item = demo.item(demo.start("jhale"))
    constable = demo.client("jhale")
    page = constable.get(f"/inbox/items/{item}").get_data(as_text=True)
    assert "PS 1190 Aisha Rahman is working on this item" in page and 'name="decision"' not in page
    assert constable.post(f"/inbox/items/{item}", data={"decision": "approve"}).status_code == 409


def test_a_completed_item_shows_who_did_it_and_no_form(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    item = demo.item(iid)
    demo.complete("arahman", item, {"decision": "approve", "comment": "Fine"})
    page = demo.client("arahman").get(f"/inbox/items/{item}").get_data(as_text=True)
    assert "Completed by PS 1190 Aisha Rahman" in page and 'name="decision"' not in page
    assert "Approve expense claim: Approved" in page and "“Fine”" in page


def test_claim_and_submit_need_a_csrf_token(demo_app: Flask, demo: DemoWorld) -> None:
    demo_app.config["WTF_CSRF_ENABLED"] = True
    item = demo.item(demo.start("jhale"))
    sergeant = demo.client("arahman")
    assert sergeant.post(f"/inbox/items/{item}", data={"decision": "approve"}).status_code == 400
    assert sergeant.post(f"/inbox/items/{item}/claim").status_code == 400
    page = sergeant.get(f"/inbox/items/{item}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = sergeant.post(f"/inbox/items/{item}", data={"decision": "approve", "csrf_token": token})
    assert response.status_code == 302
