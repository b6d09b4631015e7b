"""Idempotency-Key on mutating calls: a retry returns the first result and acts once; a key reused for a
different request is a 422; errors are not stored, so a retry after a refusal runs again."""
from __future__ import annotations

import io
import threading

from flask import Flask
from sqlalchemy import func, select

from engine import idempotency
from engine.errors import ConflictError
from engine.models import AuditEvent, IdempotentRequest, Instance

from .conftest import Api, error_of, in_db, user_named

START = {"process": "approval3", "data": {"amount_pence": 60000, "purpose": "Kit"}}


def _count(app: Flask, model: type) -> int:
    return int(in_db(app, lambda s: s.execute(select(func.count()).select_from(model)).scalar()))


def test_a_retried_start_returns_the_first_result_and_starts_once(api: Api, app: Flask) -> None:
    first = api.post("/instances", "pc", START, headers={"Idempotency-Key": "start-1"})
    retry = api.post("/instances", "pc", START, headers={"Idempotency-Key": "start-1"})
    assert first.status_code == retry.status_code == 201
    assert retry.get_data() == first.get_data()
    assert retry.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _count(app, Instance) == 1


def test_the_same_json_with_other_spacing_or_key_order_is_the_same_request(api: Api) -> None:
    a = api.client.post("/api/v1/instances", data='{"process":"approval3","data":{"purpose":"Kit",'
                        '"amount_pence":5}}', content_type="application/json",
                        headers=api.headers("pc", {"Idempotency-Key": "k"}))
    b = api.client.post("/api/v1/instances", data='{ "data": {"amount_pence": 5, "purpose": "Kit"},'
                        ' "process": "approval3" }', content_type="application/json",
                        headers=api.headers("pc", {"Idempotency-Key": "k"}))
    assert a.status_code == b.status_code == 201 and a.get_json()["id"] == b.get_json()["id"]


def test_a_key_reused_with_a_different_body_is_422(api: Api, app: Flask) -> None:
    api.post("/instances", "pc", START, headers={"Idempotency-Key": "k1"})
    other = {**START, "data": {"amount_pence": 1, "purpose": "Other"}}
    r = api.post("/instances", "pc", other, headers={"Idempotency-Key": "k1"})
    assert r.status_code == 422 and "Idempotency-Key" in error_of(r)["details"]
    assert _count(app, Instance) == 1


def test_keys_belong_to_one_user(api: Api, app: Flask) -> None:
    api.post("/instances", "pc", START, headers={"Idempotency-Key": "shared"})
    r = api.post("/instances", "pc2", START, headers={"Idempotency-Key": "shared"})
    assert r.status_code == 201
    assert _count(app, Instance) == 2


def test_a_retried_completion_is_200_again_not_409(api: Api, app: Flask) -> None:
    inst = api.start("pc")
    item = api.only_item(inst["id"], "sgt")
    first = api.complete(item["id"], "sgt", {"decision": "approve"}, headers={"Idempotency-Key": "c1"})
    retry = api.complete(item["id"], "sgt", {"decision": "approve"}, headers={"Idempotency-Key": "c1"})
    assert first.status_code == retry.status_code == 200 and first.get_json() == retry.get_json()
    completed = in_db(app, lambda s: s.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "work_item_completed")).scalar())
    assert completed == 1
    assert api.complete(item["id"], "sgt", {"decision": "approve"}).status_code == 409


def test_a_refused_call_is_not_stored_so_its_retry_runs_again(api: Api, app: Flask) -> None:
    bad = api.post("/instances", "pc", {**START, "data": {"amount_pence": 0, "purpose": "Kit"}},
                   headers={"Idempotency-Key": "try"})
    assert bad.status_code == 422
    assert _count(app, IdempotentRequest) == 0
    iid = api.start("bh")["id"]
    item = api.only_item(iid, "sgt")
    budget = api.complete(item["id"], "sgt", {"decision": "approve"}).get_json()["next_items"][0]["id"]
    refused = api.complete(budget, "bh", {"decision": "approve"}, headers={"Idempotency-Key": "sod"})
    assert refused.status_code == 403  # the engine commits the refusal's audit event before raising
    assert _count(app, IdempotentRequest) == 0  # ...but the reservation it carried was dropped
    again = api.complete(budget, "bh", {"decision": "approve"}, headers={"Idempotency-Key": "sod"})
    assert again.status_code == 403


def test_a_deployment_retried_with_a_new_multipart_boundary_is_replayed(api: Api) -> None:
    form = b'{"type": "object", "properties": {}}'

    def send() -> dict[str, object]:
        r = api.client.post("/api/v1/definitions", data={"files": [(io.BytesIO(form), "idem_form.json")]},
                            content_type="multipart/form-data",
                            headers=api.headers("designer", {"Idempotency-Key": "dep"}))
        assert r.status_code == 201
        return {"body": r.get_json(), "replayed": r.headers.get("Idempotent-Replayed")}

    first, second = send(), send()
    assert first["body"] == second["body"] and second["replayed"] == "true"


def test_a_malformed_key_is_422(api: Api) -> None:
    r = api.post("/instances", "pc", START, headers={"Idempotency-Key": "x" * 201})
    assert r.status_code == 422


def test_concurrent_duplicates_act_once(api: Api, app: Flask) -> None:
    barrier = threading.Barrier(6)
    results: list[tuple[int, int | None]] = []
    token = api.token("pc")

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        r = client.post("/api/v1/instances", json=START,
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "race"})
        results.append((r.status_code, (r.get_json() or {}).get("id")))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert _count(app, Instance) == 1
    ok = [iid for status, iid in results if status == 201]
    assert ok and len(set(ok)) == 1
    assert all(status in (201, 409) for status, _ in results), results


def test_a_pending_reservation_of_another_transaction_is_a_conflict(app: Flask) -> None:
    def reserve(s: object) -> object:
        user = user_named(s, "pc")
        return idempotency.reserve(s, user_id=user.id, key="k", method="POST", path="/p", fingerprint="f")

    row = in_db(app, reserve)  # committed while still pending (as after an engine commit-then-raise)
    assert row.status_code == idempotency.PENDING
    try:
        in_db(app, reserve)
    except ConflictError:
        pass
    else:
        raise AssertionError("a pending key must not run twice")
    assert in_db(app, lambda s: idempotency.release(s, user_id=row.user_id, key="k")) == 1
