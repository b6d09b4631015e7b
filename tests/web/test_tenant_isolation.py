"""Every query is scoped to the signed-in user's force: each inbox, requests and manager route given another
force's ids answers 404 (never 403, which would say the thing exists), and nothing of theirs is listed.
Shared-service staff see other forces' work only through explicit cross-force role grants."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from flask import Flask

from demo_world import *  # noqa: F401,F403  (fixtures: demo, demo_app, seeded_demo_db)
from demo_world import DemoWorld, claim_data, claim_form
from engine import org

AREAS = ("inbox.", "requests.", "manager.")
CHES_PEOPLE = ("jhale", "arahman", "ebooth", "kwalsh")  # constable, sergeant, force manager, platform admin


@dataclass(frozen=True)
class Theirs:
    """Ids belonging to Northamptonshire."""

    instance: int
    item: int
    audit_item: int
    delegation: int


@pytest.fixture
def theirs(demo: DemoWorld) -> Theirs:
    waiting = demo.start("lcarter", data=claim_data("Northants court"))
    audited = demo.start("lcarter", data=claim_data("Northants long trip", miles=700))
    demo.complete("gidowu", demo.item(audited), {"decision": "approve"})
    away, cover = demo.user_id("gidowu"), demo.user_id("tbaxter")
    delegation = demo.run(lambda s: org.add_delegation(s, "NTHN", away, cover, dt.date(2027, 1, 4),
                                                       dt.date(2027, 1, 8)).id)
    return Theirs(waiting, demo.item(waiting), demo.item(audited), int(delegation))


def requests_for(t: Theirs) -> list[tuple[str, str, dict[str, object]]]:
    """(method, url, form) for every route of the staff pages, with Northamptonshire's ids."""
    return [
        ("GET", f"/inbox/items/{t.item}", {}),
        ("POST", f"/inbox/items/{t.item}", {"decision": "approve", "_action": "submit"}),
        ("POST", f"/inbox/items/{t.item}", {"comment": "x", "_action": "draft"}),
        ("POST", f"/inbox/items/{t.audit_item}/claim", {}),
        ("POST", f"/inbox/items/{t.audit_item}/unclaim", {}),
        ("GET", f"/requests/{t.instance}", {}),
        ("GET", f"/requests/{t.instance}/diagram.json", {}),
        ("GET", f"/requests/{t.instance}/confirmation", {}),
        ("POST", f"/requests/{t.instance}/withdraw", {"reason": "mine now"}),
        ("POST", f"/manager/items/{t.item}/decide", {"decision": "approve"}),
        ("GET", f"/manager/items/{t.item}/reassign", {}),
        ("POST", f"/manager/items/{t.item}/reassign", {"to_user_id": "1"}),
        ("POST", "/manager/bulk-approve", {"item_id": [str(t.item)]}),
        ("POST", f"/manager/out-of-office/{t.delegation}/cancel", {}),
    ]


COVERED_ELSEWHERE = {  # routes without ids: scoped by the signed-in user, checked below
    "inbox.index", "requests.index", "requests.choose", "requests.start", "manager.queue",
    "manager.dashboard", "manager.out_of_office",
}


def test_the_table_covers_every_route_with_an_id(demo_app: Flask) -> None:
    rules = [r for r in demo_app.url_map.iter_rules() if r.endpoint.startswith(AREAS)]
    with_ids = {r.endpoint for r in rules if r.arguments}
    exercised = {"inbox.item", "inbox.submit", "inbox.claim", "inbox.unclaim", "requests.detail",
                 "requests.diagram", "requests.confirmation", "requests.withdraw", "manager.decide",
                 "manager.reassign", "manager.bulk_approve", "manager.cancel_delegation"}
    mine = {r.endpoint for r in rules}
    assert with_ids - {"requests.start"} <= exercised
    assert mine <= exercised | COVERED_ELSEWHERE, mine - exercised - COVERED_ELSEWHERE


@pytest.mark.parametrize("username", CHES_PEOPLE)
def test_another_forces_ids_are_not_found_on_every_route(demo: DemoWorld, theirs: Theirs,
                                                         username: str) -> None:
    client = demo.client(username)
    for method, url, form in requests_for(theirs):
        response = client.open(url, method=method, data=form)
        assert response.status_code == 404, (username, method, url, response.status_code)
    assert demo.instance(theirs.instance).status == "waiting"  # and nothing changed


def test_lists_never_show_another_forces_work(demo: DemoWorld, theirs: Theirs) -> None:
    for username in CHES_PEOPLE:
        client = demo.client(username)
        for url in ("/", "/?scope=group", "/requests", "/manager/", "/manager/out-of-office"):
            page = client.get(url).get_data(as_text=True)
            for theirs_only in ("NTHN-", "Northants", "Liam Carter"):
                assert theirs_only not in page, (username, url)


def test_the_dashboard_shows_other_forces_as_figures_only(demo: DemoWorld, theirs: Theirs) -> None:
    page = demo.client("arahman").get("/manager/dashboard").get_data(as_text=True)
    assert 'data-force="NTHN"' in page
    assert "NTHN-" not in page and "Northants" not in page and "Liam Carter" not in page


def test_a_request_is_always_started_in_the_signed_in_users_force(demo: DemoWorld) -> None:
    response = demo.client("jhale").post("/requests/new/expense_claim?force=NTHN",
                                         data=claim_form(force_code="NTHN", force="NTHN"))
    assert response.status_code == 302
    iid = int(response.location.split("/")[2])
    assert demo.instance(iid).force_code == "CHES" and demo.instance(iid).reference.startswith("CHES-")


def test_shared_service_staff_see_other_forces_through_their_grants(demo: DemoWorld, theirs: Theirs) -> None:
    auditor = demo.client("amarlow")  # MFSS, finance_auditor granted in every force
    page = auditor.get("/?scope=group").get_data(as_text=True)
    assert f"/inbox/items/{theirs.audit_item}" in page
    assert auditor.get(f"/inbox/items/{theirs.audit_item}").status_code == 200
    assert auditor.get(f"/inbox/items/{theirs.item}").status_code == 404  # not an item for their role
    assert demo.client("taziz").get(f"/inbox/items/{theirs.audit_item}").status_code == 404  # HR, not audit
