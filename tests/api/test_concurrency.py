"""Twenty clients complete one work item at the same moment through a real HTTP server: exactly one 200,
nineteen 409s, one audit event, on SQLite (writers serialised) and PostgreSQL (row versions)."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from engine.audit import verify
from engine.models import AuditEvent, WorkItem

from .conftest import PASSWORD, Api, in_db

CLIENTS = 20


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app served by a threaded HTTP server on a free loopback port."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/api/v1"
    httpd.shutdown()
    thread.join(10)


def _race(url: str, tokens: list[str], body: dict[str, object]) -> list[int]:
    barrier = threading.Barrier(len(tokens), timeout=30)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(token: str) -> None:
        with requests.Session() as http:
            barrier.wait()
            r = http.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=attempt, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    return sorted(statuses)


def test_twenty_simultaneous_completions_give_one_200_and_nineteen_409s(
        api: Api, app: Flask, server: str) -> None:
    inst = api.start("pc")
    first = api.only_item(inst["id"], "sgt")
    [budget] = api.complete(first["id"], "sgt", {"decision": "approve"}).get_json()["next_items"]
    tokens = [api.client.post("/api/v1/auth/token", json={"username": who, "password": PASSWORD})
              .get_json()["token"] for who in ("bh", "bh2") * (CLIENTS // 2)]
    statuses = _race(f"{server}/tasks/{budget['id']}/complete", tokens, {"data": {"decision": "approve"}})
    assert statuses == [200] + [409] * (CLIENTS - 1)

    def check(s):  # type: ignore[no-untyped-def]
        events = s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.work_item_id == budget["id"], AuditEvent.action == "work_item_completed")).scalar()
        return events, s.get(WorkItem, budget["id"]).status, verify(s, inst["id"])

    assert in_db(app, check) == (1, "completed", [])
