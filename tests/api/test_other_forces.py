"""Another force's objects are never visible: every endpoint that takes an id answers 404 (never 403) for
another force's instance or work item, and lists never include them."""
from __future__ import annotations

import io
from typing import Any

from .conftest import Api

BODIES: dict[str, Any] = {"complete": {"data": {"decision": "approve"}}}


def _northants(api: Api) -> dict[str, int]:
    """A Northamptonshire instance waiting at its group step (a budget holder's item)."""
    inst = api.start("npc")
    first = api.only_item(inst["id"], "nsgt")
    [budget] = api.complete(first["id"], "nsgt", {"decision": "approve"}).get_json()["next_items"]
    return {"instance_id": inst["id"], "item_id": budget["id"]}


def test_every_endpoint_with_an_id_is_404_for_another_forces_object(api: Api) -> None:
    ids = _northants(api)
    paths = api.get("/openapi.json", None).get_json()["paths"]
    swept = []
    for path, operations in paths.items():
        if "{" not in path:
            continue
        url = path.removeprefix(api.prefix).format(**ids)
        for method in operations:
            body = BODIES.get(url.rsplit("/", 1)[-1]) if method == "post" else None
            for who in ("boss", "bh", "pc"):  # CHES people: budget holder, requester
                call = api.get(url, who) if method == "get" else api.post(url, who, body or {})
                assert call.status_code == 404, (method, url, who, call.get_json())
                assert call.get_json()["error"]["code"] == "not_found"
            swept.append((method, path))
    assert len(swept) == 6  # instance, history, task, claim, unclaim, complete
    assert api.get(f"/tasks/{ids['item_id']}", "nap").status_code == 200  # the id is real


def test_lists_never_include_another_forces_objects(api: Api) -> None:
    ids = _northants(api)
    for who in ("boss", "bh", "sgt"):
        for scope in ("mine", "group", "all"):
            items = api.get(f"/tasks?scope={scope}", who).get_json()["items"]
            assert ids["item_id"] not in [i["id"] for i in items]
        assert api.get("/instances?mine=1", who).get_json()["items"] == []


def test_deploying_into_another_force_is_404_even_for_a_designer(api: Api) -> None:
    data = {"files": [(io.BytesIO(b'{"type": "object"}'), "f.json")], "force": "NTHN"}
    r = api.client.post("/api/v1/definitions", data=data, content_type="multipart/form-data",
                        headers=api.headers("chesdesigner"))
    assert r.status_code == 404


def test_a_cross_force_grant_does_see_the_other_forces_objects(api: Api) -> None:
    ids = _northants(api)
    assert api.get(f"/instances/{ids['instance_id']}", "designer").status_code == 404  # MFSS and CHES only
    # A request is visible to those it concerns: not yet to AP staff while it waits for the budget holder.
    assert api.get(f"/instances/{ids['instance_id']}", "ssc").status_code == 404
    [ap_item] = api.complete(ids["item_id"], "nap", {"decision": "approve"}).get_json()["next_items"]
    assert api.get(f"/instances/{ids['instance_id']}", "ssc").status_code == 200  # ssc_ap_officer in NTHN
    assert api.get(f"/tasks/{ap_item['id']}", "ssc").status_code == 200
