"""The catalogue through the API: startable processes, deployed versions, and deploying (process_designer)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from werkzeug.test import TestResponse

from .conftest import FIXTURES, Api, error_of

FORM = b'{"type": "object", "title": "Note", "properties": {"note": {"type": "string"}}}'


def _upload(api: Api, as_: str, files: list[tuple[str, bytes]], force: str | None = None,
            **kwargs: Any) -> TestResponse:
    data: dict[str, Any] = {"files": [(io.BytesIO(content), name) for name, content in files]}
    if force is not None:
        data["force"] = force
    return api.client.post("/api/v1/definitions", data=data, content_type="multipart/form-data",
                           headers=api.headers(as_, kwargs.pop("headers", None)))


def test_processes_lists_what_the_callers_force_can_start(api: Api) -> None:
    items = api.get("/processes", "pc").get_json()["items"]
    assert [(p["key"], p["version"], p["scope"]) for p in items] == [("approval3", 1, "common")]
    assert items[0]["start_form"] == "approval3_start"


def test_definitions_lists_every_deployed_version(api: Api) -> None:
    items = api.get("/definitions", "pc").get_json()["items"]
    assert {(d["kind"], d["key"]) for d in items} >= {
        ("process", "approval3"), ("decision", "approval3_route"), ("form", "approval3_start")}


def test_a_designer_deploys_new_versions_and_identical_content_is_unchanged(api: Api) -> None:
    first = _upload(api, "designer", [("api_note.json", FORM)])
    assert first.status_code == 201
    [item] = first.get_json()["deployed"]
    assert (item["kind"], item["key"], item["scope"], item["version"], item["status"]) == \
        ("form", "api_note", "common", 1, "new")
    again = _upload(api, "designer", [("api_note.json", FORM)])
    assert again.get_json()["deployed"][0]["status"] == "unchanged"


def test_an_override_in_a_force_is_visible_only_to_that_forces_people(api: Api) -> None:
    assert _upload(api, "designer", [("api_note.json", FORM)], force="CHES").status_code == 201
    ches = {(d["key"], d["scope"]) for d in api.get("/definitions", "pc").get_json()["items"]}
    nthn = {(d["key"], d["scope"]) for d in api.get("/definitions", "npc").get_json()["items"]}
    assert ("api_note", "CHES") in ches and ("api_note", "CHES") not in nthn


def test_an_invalid_deployment_is_422_with_every_problem_and_stores_nothing(api: Api) -> None:
    bpmn = (FIXTURES / "common" / "approval3" / "process.bpmn").read_bytes()
    broken = bpmn.replace(b'name="budget_holder"', b'name="no_such_role"').replace(b'"high"', b'"urgent"')
    r = _upload(api, "designer", [("broken.bpmn", broken)])
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "definition_error"
    messages = " ".join(p["message"] for p in err["details"])
    assert "no_such_role" in messages and "priority" in messages
    assert all(set(p) >= {"file", "element", "line", "message"} for p in err["details"])
    assert [d["version"] for d in api.get("/definitions", "designer").get_json()["items"]
            if d["key"] == "approval3" and d["kind"] == "process"] == [1]


def test_files_that_do_not_parse_are_all_reported(api: Api) -> None:
    r = _upload(api, "designer", [("bad.dmn", b"<not-xml"), ("bad.json", b"{"), ("api_note.json", FORM)])
    assert r.status_code == 422
    assert {Path(p["file"]).name for p in error_of(r)["details"]} == {"bad.dmn", "bad.json"}


def test_deploying_without_files_is_422(api: Api) -> None:
    r = api.client.post("/api/v1/definitions", data={"force": "CHES"}, content_type="multipart/form-data",
                        headers=api.headers("designer"))
    assert r.status_code == 422


def test_deploying_without_the_designer_role_is_403(api: Api) -> None:
    assert _upload(api, "pc", [("api_note.json", FORM)]).status_code == 403
    assert _upload(api, "pc", [("api_note.json", FORM)], force="CHES").status_code == 403


def test_a_force_designer_cannot_deploy_to_common(api: Api) -> None:
    assert _upload(api, "chesdesigner", [("api_note.json", FORM)]).status_code == 403
    assert _upload(api, "chesdesigner", [("api_note.json", FORM)], force="CHES").status_code == 201


def test_deploying_to_a_force_you_do_not_work_in_is_404(api: Api) -> None:
    r = _upload(api, "designer", [("api_note.json", FORM)], force="NTHN")
    assert r.status_code == 404
    assert _upload(api, "designer", [("api_note.json", FORM)], force="NOPE").status_code == 404


def test_an_upload_over_the_limit_is_413(api: Api) -> None:
    r = _upload(api, "designer", [("big.json", b" " * (3 * 1024 * 1024))])
    assert r.status_code == 413
