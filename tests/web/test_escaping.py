"""Everything people type is shown as text: script and HTML payloads put into request data, comments,
reasons, drafts and people's names render inert on every staff page that shows them."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from demo_world import *  # noqa: F401,F403  (fixtures: demo, demo_app, seeded_demo_db)
from demo_world import DemoWorld, claim_data, claim_form
from engine import org

SCRIPT = "<script>alert(1)</script>"
TAG = '"><img src=x onerror=alert(2)>'
SHORT = "<b onmouseover=alert(3)>x</b>"  # fits 30-character fields
PAYLOADS = (SCRIPT, TAG, SHORT)
LIVE = ("<script>alert", "<img src=x", "<b onmouseover")


def assert_inert(page: str, where: str) -> None:
    """No payload survives as markup (each would start a tag)."""
    for live in LIVE:
        assert live not in page, f"{live!r} rendered live on {where}"


def hostile_claim() -> dict[str, Any]:
    """A valid claim with payloads in every text field."""
    data = claim_data(purpose=f"{SCRIPT} {TAG}")
    data["operation_code"] = SHORT
    data["journeys"][0]["purpose"] = f"{TAG}{SCRIPT}"
    data["other_items"] = [{"date": data["journeys"][0]["date"], "type": "parking", "description": SCRIPT,
                            "amount_pence": 400, "receipt_ref": TAG}]
    return data


@pytest.fixture
def mallory(demo: DemoWorld) -> str:
    """A CHES constable whose name is a payload, managed by the sergeant."""
    demo.run(org.add_user, "mallory", "CHES", f"{SCRIPT}{TAG}", roles=["employee"], manager="arahman",
             password="muster-demo-password")
    return "mallory"


def test_request_data_names_and_comments_render_inert_on_every_page(demo: DemoWorld, mallory: str) -> None:
    iid = demo.start(mallory, data=hostile_claim())
    item = demo.item(iid)
    sergeant = demo.client("arahman")
    pages = {"inbox": sergeant.get("/"), "item": sergeant.get(f"/inbox/items/{item}"),
             "queue": sergeant.get("/manager/"), "request (manager)": sergeant.get(f"/requests/{iid}"),
             "reassign": sergeant.get(f"/manager/items/{item}/reassign"),
             "out of office": sergeant.get("/manager/out-of-office"),
             "dashboard": sergeant.get("/manager/dashboard")}
    item_page = pages["item"].get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in item_page  # shown, as text
    sergeant.post(f"/inbox/items/{item}", data={"decision": "reject", "comment": f"{SCRIPT}{TAG}{SHORT}"})
    assert demo.instance(iid).status == "completed"
    requester = demo.app.test_client()
    requester.post("/auth/sign-in", data={"username": mallory, "password": "muster-demo-password"})
    pages.update({"my requests": requester.get("/requests"), "request": requester.get(f"/requests/{iid}"),
                  "confirmation": requester.get(f"/requests/{iid}/confirmation"),
                  "item (done)": sergeant.get(f"/inbox/items/{item}")})
    for where, response in pages.items():
        assert response.status_code == 200, where
        assert_inert(response.get_data(as_text=True), where)
    assert "&lt;b onmouseover=alert(3)&gt;" in pages["request"].get_data(as_text=True)  # the comment, as text


def test_values_typed_into_a_form_come_back_inert(demo: DemoWorld) -> None:
    form = claim_form(**{"purpose": SCRIPT + TAG, "operation_code": SHORT, "claim_month": TAG,
                         "journeys.0.purpose": SCRIPT, "journeys.0.from_postcode": TAG,
                         "journeys.0.miles": SCRIPT,
                         "other_items.0.description": TAG, "other_items.0.amount_pence": SHORT,
                         "other_items.0.type": SCRIPT, "vehicle": TAG})
    response = demo.client("jhale").post("/requests/new/expense_claim", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert_inert(page, "start form with errors")
    assert 'value="&#34;&gt;&lt;img src=x onerror=alert(2)&gt;"' in page


def test_drafts_and_queue_comments_come_back_inert(demo: DemoWorld) -> None:
    item = demo.item(demo.start("jhale"))
    sergeant = demo.client("arahman")
    sergeant.post(f"/inbox/items/{item}", data={"comment": SCRIPT + TAG, "decision": TAG, "_action": "draft"})
    assert_inert(sergeant.get(f"/inbox/items/{item}").get_data(as_text=True), "item with a draft")
    response = sergeant.post(f"/manager/items/{item}/decide",
                             data={"decision": TAG, "comment": SCRIPT + SHORT})
    assert response.status_code == 422
    assert_inert(response.get_data(as_text=True), "queue with an error")


def test_withdrawal_reasons_render_inert(demo: DemoWorld) -> None:
    iid = demo.start("jhale")
    constable = demo.client("jhale")
    constable.post(f"/requests/{iid}/withdraw", data={"reason": SCRIPT + TAG})
    assert_inert(constable.get(f"/requests/{iid}").get_data(as_text=True), "withdrawn request")
    assert_inert(demo.client("arahman").get(f"/requests/{iid}").get_data(as_text=True), "withdrawn (manager)")


def test_query_strings_are_never_echoed_as_markup(demo: DemoWorld) -> None:
    page = demo.client("jhale").get(f"/?process={SCRIPT}&scope={TAG}&sort={SHORT}&due={SCRIPT}")
    assert page.status_code == 200
    assert_inert(page.get_data(as_text=True), "filtered inbox")


def test_a_delegate_with_a_hostile_name_is_listed_inert(demo: DemoWorld, mallory: str) -> None:
    sergeant = demo.client("arahman")
    start = dt.date(2027, 2, 1)
    response = sergeant.post("/manager/out-of-office", data={
        "away": demo.user_id("arahman"), "delegate": demo.user_id(mallory), "starts_on": start.isoformat(),
        "ends_on": (start + dt.timedelta(days=3)).isoformat()})
    assert response.status_code == 302
    page = sergeant.get("/manager/out-of-office")
    assert_inert(page.get_data(as_text=True), "out of office with a hostile delegate")
    assert any(p in page.get_data(as_text=True) for p in ("&lt;script&gt;",))
