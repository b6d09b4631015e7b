"""Work items through the API: lists, one item with its form, claim, unclaim, complete, and the refusals
(403 role or segregation of duties, 404, 409, 413, 422)."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from engine.models import AuditEvent

from .conftest import Api, error_of, in_db

ITEM_FIELDS = {"id", "instance_id", "process", "task", "title", "lane", "assignee", "candidate_role",
               "candidate_user", "force", "form_key", "created_at", "due_at", "priority", "status"}


def _to_budget_step(api: Api, requester: str = "pc") -> tuple[int, int]:
    """An instance waiting at the budget holder's group item: (instance id, item id)."""
    inst = api.start(requester)
    first = api.only_item(inst["id"], "sgt")
    done = api.complete(first["id"], "sgt", {"decision": "approve"})
    assert done.status_code == 200, done.get_json()
    [budget] = done.get_json()["next_items"]
    return inst["id"], budget["id"]


def test_mine_lists_items_addressed_to_me_with_every_field(api: Api) -> None:
    inst = api.start("pc")
    [item] = api.get("/tasks?scope=mine", "sgt").get_json()["items"]
    assert set(item) == ITEM_FIELDS
    assert item["instance_id"] == inst["id"] and item["task"] == "manager_approve"
    assert item["priority"] == 1 and item["due_at"] is not None and item["status"] == "open"
    assert api.get("/tasks?scope=group", "sgt").get_json()["items"] == []


def test_group_lists_items_claimable_by_my_roles(api: Api) -> None:
    _, budget = _to_budget_step(api)
    [item] = api.get("/tasks?scope=group", "bh").get_json()["items"]
    assert item["id"] == budget and item["candidate_role"] == "budget_holder" and item["assignee"] is None
    assert api.get("/tasks?scope=group", "ap").get_json()["items"] == []


def test_an_unknown_scope_or_filter_is_422(api: Api) -> None:
    r = api.get("/tasks?scope=everyone", "sgt")
    assert r.status_code == 422 and "scope" in error_of(r)["details"]
    assert api.get("/tasks?colour=red", "sgt").status_code == 422


def test_one_item_comes_with_its_forms_json_schema(api: Api) -> None:
    inst = api.start("pc")
    item = api.only_item(inst["id"], "sgt")
    body = api.get(f"/tasks/{item['id']}", "sgt").get_json()
    assert body["form"]["required"] == ["decision"]
    assert body["form_key"] == "approval3_decision"


def test_a_missing_item_is_404(api: Api) -> None:
    for path in ("", "/claim", "/unclaim", "/complete"):
        if path == "":
            r = api.get("/tasks/424242", "sgt")
        else:
            r = api.post(f"/tasks/424242{path}", "sgt", {"data": {"decision": "approve"}} if path else None)
        assert r.status_code == 404, path


def test_claim_then_unclaim_a_group_item(api: Api) -> None:
    _, budget = _to_budget_step(api)
    claimed = api.post(f"/tasks/{budget}/claim", "bh")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "bh"
    assert api.get("/tasks?scope=group", "bh2").get_json()["items"] == []
    unclaimed = api.post(f"/tasks/{budget}/unclaim", "bh")
    assert unclaimed.status_code == 200 and unclaimed.get_json()["assignee"] is None


def test_claiming_an_item_someone_else_holds_is_409(api: Api) -> None:
    _, budget = _to_budget_step(api)
    api.post(f"/tasks/{budget}/claim", "bh")
    r = api.post(f"/tasks/{budget}/claim", "bh2")
    assert r.status_code == 409
    assert api.post(f"/tasks/{budget}/unclaim", "bh2").status_code == 409


def test_unclaiming_an_item_i_do_not_hold_is_409(api: Api) -> None:
    _, budget = _to_budget_step(api)
    assert api.post(f"/tasks/{budget}/unclaim", "bh").status_code == 409


def test_acting_without_the_role_is_403(api: Api) -> None:
    _, budget = _to_budget_step(api)
    r = api.post(f"/tasks/{budget}/claim", "ap")
    assert r.status_code == 403 and error_of(r)["code"] == "not_allowed"
    assert api.complete(budget, "pc2", {"decision": "approve"}).status_code == 403


def test_completing_all_three_steps_completes_the_instance(api: Api) -> None:
    iid, budget = _to_budget_step(api)
    r = api.complete(budget, "bh", {"decision": "approve"})
    assert r.status_code == 200
    [pay] = r.get_json()["next_items"]
    assert pay["candidate_role"] == "ssc_ap_officer"
    last = api.complete(pay["id"], "ap", {"paid_on": "2026-12-01"})
    body = last.get_json()
    assert last.status_code == 200 and body["instance"]["status"] == "completed" and body["next_items"] == []
    assert body["item"]["status"] == "completed"
    assert api.get(f"/instances/{iid}", "pc").get_json()["summary"]["outcome"] == "paid"


def test_invalid_form_data_is_422_by_field_and_changes_nothing(api: Api) -> None:
    inst = api.start("pc")
    item = api.only_item(inst["id"], "sgt")
    r = api.complete(item["id"], "sgt", {"decision": "reject"})
    assert r.status_code == 422
    assert "comment" in error_of(r)["details"]
    assert api.get(f"/tasks/{item['id']}", "sgt").get_json()["status"] == "open"


def test_completing_a_completed_item_is_409(api: Api) -> None:
    inst = api.start("pc")
    item = api.only_item(inst["id"], "sgt")
    assert api.complete(item["id"], "sgt", {"decision": "approve"}).status_code == 200
    again = api.complete(item["id"], "sgt", {"decision": "approve"})
    assert again.status_code == 409 and error_of(again)["code"] == "conflict"


def test_approving_your_own_request_is_403_and_audited(api: Api, app: Flask) -> None:
    iid, budget = _to_budget_step(api, requester="bh")
    r = api.complete(budget, "bh", {"decision": "approve"})
    assert r.status_code == 403
    assert "segregation of duties" in error_of(r)["message"]
    refusals = in_db(app, lambda s: s.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.instance_id == iid, AuditEvent.action == "segregation_refused")).scalar())
    assert refusals == 1


def test_approving_two_steps_of_one_request_is_403(api: Api) -> None:
    inst = api.start("pc3")
    first = api.only_item(inst["id"], "boss")
    [budget] = api.complete(first["id"], "boss", {"decision": "approve"}).get_json()["next_items"]
    r = api.complete(budget["id"], "boss", {"decision": "approve"})
    assert r.status_code == 403
    assert api.complete(budget["id"], "bh", {"decision": "approve"}).status_code == 200


def test_a_body_over_the_limit_is_413(api: Api) -> None:
    inst = api.start("pc")
    item = api.only_item(inst["id"], "sgt")
    r = api.complete(item["id"], "sgt", {"decision": "approve", "comment": "x" * (3 * 1024 * 1024)})
    assert r.status_code == 413 and error_of(r)["code"] == "too_large"
