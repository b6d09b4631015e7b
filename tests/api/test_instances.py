"""Instances through the API: start, list mine, read one, read its history."""
from __future__ import annotations

from .conftest import Api, error_of


def test_starting_an_instance_returns_201_with_its_first_work_item(api: Api) -> None:
    inst = api.start("pc")
    assert inst["status"] == "waiting" and inst["process"] == "approval3" and inst["version"] == 1
    assert inst["force"] == "CHES" and inst["started_by"] == "pc"
    [item] = inst["open_work_items"]
    assert item["candidate_user"] == item["assignee"] == "sgt"
    assert {t["kind"] for t in inst["resolution"]} == {"process", "decision", "form"}


def test_a_start_form_error_is_422_by_field_and_starts_nothing(api: Api) -> None:
    r = api.post("/instances", "pc", {"process": "approval3", "data": {"amount_pence": "lots"}})
    assert r.status_code == 422
    details = error_of(r)["details"]
    assert "amount_pence" in details and "purpose" in details
    assert api.get("/instances?mine=1", "pc").get_json()["items"] == []


def test_a_missing_or_misspelt_field_is_422_by_field(api: Api) -> None:
    missing = api.post("/instances", "pc", {"data": {}})
    misspelt = api.post("/instances", "pc", {"proces": "approval3"})
    assert missing.status_code == misspelt.status_code == 422
    assert "process" in error_of(missing)["details"]
    assert "proces" in error_of(misspelt)["details"]


def test_malformed_json_is_400_and_a_non_json_body_is_415(api: Api) -> None:
    bad = api.client.post("/api/v1/instances", data="{not json", content_type="application/json",
                          headers=api.headers("pc"))
    form = api.client.post("/api/v1/instances", data={"process": "approval3"}, headers=api.headers("pc"))
    assert bad.status_code == 400 and error_of(bad)["code"] == "bad_request"
    assert form.status_code == 415


def test_text_the_database_cannot_store_is_400(api: Api) -> None:
    r = api.post("/instances", "pc", {"process": "approval3",
                                      "data": {"amount_pence": 5, "purpose": "a\u0000b"}})
    nested: list[object] = [1]
    for _ in range(40):
        nested = [nested]
    deep = api.post("/instances", "pc", {"process": "approval3", "data": {"x": nested}})
    nan = api.client.post("/api/v1/instances", data='{"process": "approval3", "data": {"x": NaN}}',
                          content_type="application/json", headers=api.headers("pc"))
    assert r.status_code == deep.status_code == nan.status_code == 400


def test_an_unknown_process_is_404(api: Api) -> None:
    r = api.post("/instances", "pc", {"process": "no_such_process", "data": {}})
    assert r.status_code == 404
    assert error_of(r)["code"] == "not_found"


def test_a_second_open_instance_with_the_same_business_key_is_409(api: Api) -> None:
    api.start("pc", business_key="PO-1")
    r = api.post("/instances", "pc", {"process": "approval3", "business_key": "PO-1",
                                      "data": {"amount_pence": 10, "purpose": "Kit"}})
    assert r.status_code == 409


def test_mine_lists_only_the_callers_instances_newest_first(api: Api) -> None:
    first, second = api.start("pc"), api.start("pc")
    api.start("pc2")
    listed = api.get("/instances?mine=1", "pc").get_json()["items"]
    assert [i["id"] for i in listed] == [second["id"], first["id"]]
    assert api.get("/instances", "pc").get_json()["items"] == listed


def test_mine_0_is_refused_with_422(api: Api) -> None:
    r = api.get("/instances?mine=0", "pc")
    assert r.status_code == 422 and "mine" in error_of(r)["details"]


def test_an_instance_of_the_same_force_can_be_read(api: Api) -> None:
    inst = api.start("pc")
    r = api.get(f"/instances/{inst['id']}", "sgt")
    assert r.status_code == 200
    body = r.get_json()
    assert body["reference"] == inst["reference"] and len(body["open_work_items"]) == 1


def test_a_missing_instance_is_404(api: Api) -> None:
    assert api.get("/instances/999999", "pc").status_code == 404
    assert api.get("/instances/999999/history", "pc").status_code == 404
    assert api.get("/instances/0", "pc").status_code == 404


def test_history_lists_the_audit_events_in_order(api: Api) -> None:
    inst = api.start("pc")
    events = api.get(f"/instances/{inst['id']}/history", "pc").get_json()["items"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["action"] == "instance_started" and events[0]["actor"] == "pc"
    assert "work_item_created" in [e["action"] for e in events]
