"""Fixtures for the staff-page tests: the demo organisation and catalogue (``engine.seed.seed_demo``) seeded
once per test session, copied for each test, and clients signed in as demo people.

Import with ``from demo_world import *`` in a test module (pytest finds fixtures imported there)."""
from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.seeding import seeded_sqlite
from engine import instances, org, workitems
from engine.calendar import today as engine_today
from engine.models import Instance, WorkItem
from engine.seed import DEMO_PASSWORD
from web import create_app
from web.extensions import unit_of_work as web_unit_of_work

REPO = Path(__file__).resolve().parents[2]
__all__ = ["DemoWorld", "claim_form", "claim_data", "demo", "demo_app", "seeded_demo_db"]


@pytest.fixture(scope="session")
def seeded_demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding the demo seed (cheap password hashes), made once per session."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    seeded_sqlite(path)
    return path


@pytest.fixture
def demo_app(seeded_demo_db: Path, tmp_path: Path) -> Iterator[Flask]:
    """An app on a fresh copy of the seeded database; CSRF off (the security tests turn it on)."""
    target = tmp_path / "demo.db"
    shutil.copyfile(seeded_demo_db, target)
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{target}", "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": False})
    yield app
    app.extensions["muster"].engine.dispose()


class DemoWorld:
    """Signed-in clients for demo people, and engine shortcuts for arranging a test."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def client(self, username: str) -> FlaskClient:
        """A client signed in as ``username`` through the real sign-in page."""
        client = self.app.test_client()
        page = client.get("/auth/sign-in").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        response = client.post("/auth/sign-in", data={"username": username, "password": DEMO_PASSWORD,
                                                      "csrf_token": token.group(1) if token else ""})
        assert response.status_code == 302, f"could not sign in as {username}"
        return client

    def run(self, command: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call an engine function in its own unit of work."""
        with self.app.app_context(), web_unit_of_work() as session:
            return command(session, *args, **kwargs)

    def user_id(self, username: str) -> int:
        return int(self.run(org.get_user_by_username, username).id)

    def start(self, username: str, process_key: str = "expense_claim",
              data: dict[str, Any] | None = None) -> int:
        """Start a request as ``username``; returns the instance id."""
        def go(session: Any) -> int:
            user = org.get_user_by_username(session, username)
            inst = instances.start_instance(session, user=user, process_key=process_key,
                                            data=claim_data() if data is None else data)
            return int(inst.id)
        return int(self.run(go))

    def open_items(self, instance_id: int) -> list[WorkItem]:
        """The open work items of an instance, oldest first."""
        from sqlalchemy import select

        query = select(WorkItem).where(WorkItem.instance_id == instance_id, WorkItem.status == "open")
        return list(self.run(lambda s: s.execute(query.order_by(WorkItem.id)).scalars().all()))

    def item(self, instance_id: int) -> int:
        """The id of the only open work item of an instance."""
        items = self.open_items(instance_id)
        assert len(items) == 1, [i.title for i in items]
        return int(items[0].id)

    def instance(self, instance_id: int) -> Instance:
        return self.run(lambda s: s.get(Instance, instance_id))

    def complete(self, username: str, item_id: int, data: dict[str, Any]) -> None:
        def go(session: Any) -> None:
            user = org.get_user_by_username(session, username)
            workitems.complete(session, user=user, item_id=item_id, data=data)
        self.run(go)


@pytest.fixture
def demo(demo_app: Flask) -> DemoWorld:
    return DemoWorld(demo_app)


def claim_data(purpose: str = "Crown Court attendance, R v Doyle", miles: float = 42.5) -> dict[str, Any]:
    """A small expense claim within guidance for this month (goes straight to the line manager)."""
    today = engine_today()
    return {"claim_month": f"{today:%Y-%m}", "purpose": purpose, "vehicle": "car", "ytd_business_miles": 1200,
            "journeys": [{"date": today.isoformat(), "from_postcode": "CW9 7TT", "to_postcode": "CH1 2RE",
                          "purpose": "Chester Crown Court", "miles": miles, "passengers": 0}],
            "meal_context": "none", "other_items": [], "declaration": True}


def claim_form(**changes: str) -> dict[str, str]:
    """The same claim as the start form's fields would post it."""
    today = engine_today()
    form = {"claim_month": f"{today:%Y-%m}", "purpose": "Crown Court attendance, R v Doyle",
            "operation_code": "",
            "vehicle": "car", "ytd_business_miles": "1,200", "journeys.0.date": today.isoformat(),
            "journeys.0.from_postcode": "CW9 7TT", "journeys.0.to_postcode": "CH1 2RE",
            "journeys.0.purpose": "Chester Crown Court", "journeys.0.miles": "42.5",
            "journeys.0.passengers": "0",
            "meal_context": "none", "subsistence.date": "", "subsistence.amount_pence": "",
            "other_items.0.date": "", "other_items.0.description": "", "other_items.0.amount_pence": "",
            "declaration": "true", "_action": "submit"}
    form.update(changes)
    return form
