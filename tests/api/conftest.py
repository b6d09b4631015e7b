"""A small world for API tests: MFSS over CHES and NTHN, people with roles, the approval3 process
deployed, an app on a fresh database (SQLite, and PostgreSQL when configured) and a token-aware client."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine import org, passwords
from engine.artefacts import collect_files
from engine.deploy import deploy
from tests.conftest import fresh_database
from web import create_app
from web.extensions import unit_of_work

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "defs"
PASSWORD = "correct horse battery"
PEOPLE: list[dict[str, Any]] = [
    {"username": "sgt", "force": "CHES", "roles": ["employee", "line_manager"]},
    {"username": "pc", "force": "CHES", "roles": ["employee"], "manager": "sgt"},
    {"username": "pc2", "force": "CHES", "roles": ["employee"], "manager": "sgt"},
    {"username": "bh", "force": "CHES", "roles": ["employee", "budget_holder"]},
    {"username": "bh2", "force": "CHES", "roles": ["employee", "budget_holder"]},
    {"username": "boss", "force": "CHES", "roles": ["employee", "line_manager", "budget_holder"]},
    {"username": "pc3", "force": "CHES", "roles": ["employee"], "manager": "boss"},
    {"username": "ap", "force": "CHES", "roles": ["employee", "ssc_ap_officer"]},
    {"username": "nsgt", "force": "NTHN", "roles": ["employee", "line_manager"]},
    {"username": "npc", "force": "NTHN", "roles": ["employee"], "manager": "nsgt"},
    {"username": "nap", "force": "NTHN", "roles": ["employee", "ssc_ap_officer", "budget_holder"]},
    {"username": "designer", "force": "MFSS", "roles": ["employee", "process_designer"],
     "cross_force_roles": [("process_designer", "CHES")]},
    {"username": "ssc", "force": "MFSS", "roles": ["employee", "ssc_ap_officer"],
     "cross_force_roles": [("ssc_ap_officer", "CHES"), ("ssc_ap_officer", "NTHN")]},
    {"username": "chesdesigner", "force": "CHES", "roles": ["employee", "process_designer"]},
]


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with tiny costs: these tests are about the API, not hash strength."""
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def seed(app: Flask) -> None:
    """Forces, people and the approval3 process (with its decision and forms) in common."""
    with app.app_context(), unit_of_work() as s:
        org.add_force(s, "MFSS", "Multi-Force Shared Service")
        org.add_force(s, "CHES", "Cheshire Constabulary", parent="MFSS")
        org.add_force(s, "NTHN", "Northamptonshire Police", parent="MFSS")
        s.flush()
        for p in PEOPLE:
            org.add_user(s, p["username"], p["force"], p["username"].title(), roles=p["roles"],
                         manager=p.get("manager"), password=PASSWORD,
                         cross_force_roles=p.get("cross_force_roles", ()))
            s.flush()
        deploy(s, collect_files([FIXTURES / "common", FIXTURES / "forms"]), "common", deployed_by="test")


@pytest.fixture
def app(db_kind: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on a fresh, seeded database of each backend."""
    url, engine = fresh_database(db_kind, tmp_path)
    engine.dispose()
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": False})
    seed(app)
    yield app
    app.extensions["muster"].engine.dispose()


class Api:
    """A test client that signs in through the API and sends bearer tokens."""

    prefix = "/api/v1"

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            body = {"username": username, "password": PASSWORD}
            r = self.client.post(f"{self.prefix}/auth/token", json=body)
            assert r.status_code == 201, r.get_json()
            self.tokens[username] = r.get_json()["token"]
        return self.tokens[username]

    def headers(self, as_: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token(as_)}"} if as_ else {}
        return {**out, **(extra or {})}

    def get(self, path: str, as_: str | None, **kwargs: Any) -> TestResponse:
        return self.client.get(self.prefix + path, headers=self.headers(as_, kwargs.pop("headers", None)),
                               **kwargs)

    def post(self, path: str, as_: str | None, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.client.post(self.prefix + path, json=json,
                                headers=self.headers(as_, kwargs.pop("headers", None)), **kwargs)

    # --- the approval3 journey ------------------------------------------------------------------

    def start(self, as_: str = "pc", amount: int = 60000, **extra: Any) -> dict[str, Any]:
        r = self.post("/instances", as_, {"process": "approval3",
                                          "data": {"amount_pence": amount, "purpose": "Kit"}, **extra})
        assert r.status_code == 201, r.get_json()
        return dict(r.get_json())

    def only_item(self, instance_id: int, as_: str, scope: str = "all") -> dict[str, Any]:
        r = self.get(f"/tasks?scope={scope}", as_)
        assert r.status_code == 200, r.get_json()
        items = [i for i in r.get_json()["items"] if i["instance_id"] == instance_id]
        assert len(items) == 1, items
        return dict(items[0])

    def complete(self, item_id: int, as_: str, data: dict[str, Any], **kwargs: Any) -> TestResponse:
        return self.post(f"/tasks/{item_id}/complete", as_, {"data": data}, **kwargs)


@pytest.fixture
def api(app: Flask) -> Api:
    return Api(app.test_client())


def error_of(response: TestResponse) -> dict[str, Any]:
    """The ``error`` object of a JSON error response (asserting the shape)."""
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return dict(body["error"])


def in_db(app: Flask, command: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``command(session, ...)`` in its own unit of work on the app's database."""
    with app.app_context(), unit_of_work() as session:
        return command(session, *args, **kwargs)


def user_named(session: Any, username: str) -> Any:
    """The user called ``username``."""
    return org.get_user_by_username(session, username)
