"""Fixtures for the Flask tests: an app on a fresh, migrated SQLite file, a client, sign-in helpers
and small builders that create forces, users and work items through ``engine.org``."""
from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine import org, passwords
from engine.models import Definition, Instance, WorkItem
from engine.schema import upgrade
from web import create_app
from web.extensions import unit_of_work

PASSWORD = "correct horse battery"
_versions = itertools.count(1)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with tiny costs: these tests are about pages and rules, not hash strength."""
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test session, copied for each test (faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "muster.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(migrated_sqlite: Path, tmp_path: Path) -> str:
    """A fresh migrated database for this test."""
    target = tmp_path / "web.db"
    shutil.copyfile(migrated_sqlite, target)
    return f"sqlite:///{target}"


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """``make_app(**config)``: an app on this test's database; CSRF is off unless a test turns it on."""
    apps: list[Flask] = []

    def make(**config: Any) -> Flask:
        settings = {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
                    "WTF_CSRF_ENABLED": False, **config}
        app = create_app(settings)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["muster"].engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The app with CSRF checks off (tests about CSRF build their own with ``make_app``)."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class AuthActions:
    """Sign in and out through the real pages."""

    password = PASSWORD

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = PASSWORD, next: str | None = None) -> TestResponse:
        url = "/auth/sign-in" + (f"?next={next}" if next else "")
        data = {"username": username, "password": password, "csrf_token": csrf_token(self.client, url)}
        return self.client.post(url, data=data)

    def logout(self) -> TestResponse:
        token = csrf_token(self.client, "/auth/sign-in")
        return self.client.post("/auth/sign-out", data={"csrf_token": token})


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def auth_for() -> Callable[[FlaskClient], AuthActions]:
    """``auth_for(client)``: sign-in helpers for a client of another app (from ``make_app``)."""
    return AuthActions


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token from the form on ``url`` ('' when CSRF is off and the page has none)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True))
    return found.group(1) if found else ""


class Builder:
    """Creates rows through ``engine.org`` (work items directly: their use cases live elsewhere)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def run(self, command: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call an engine use case in its own unit of work."""
        with self.app.app_context(), unit_of_work() as session:
            return command(session, *args, **kwargs)

    def force(self, code: str, name: str | None = None, parent: str | None = None) -> str:
        return self.run(org.add_force, code, name or f"{code} Police", parent=parent).code

    def user(self, username: str, force: str = "CHES", roles: tuple[str, ...] = ("employee",),
             password: str | None = PASSWORD, **fields: Any) -> int:
        user = self.run(org.add_user, username, force, fields.pop("full_name", username.title()),
                        roles=roles, password=password, **fields)
        return int(user.id)

    def work_item(self, force: str, **fields: Any) -> int:
        """An open work item on a throwaway instance (e.g. ``assignee_id=...``)."""
        with self.app.app_context(), unit_of_work() as session:
            definition = Definition(kind="process", key="leave_request", scope="common",
                                    version=next(_versions), content_hash="0" * 64, content="<xml/>",
                                    filename="process.bpmn")
            session.add(definition)
            session.flush()
            starter = fields.get("assignee_id") or fields.get("candidate_user_id")
            instance = Instance(reference=f"T-{definition.id}", force_code=force, process_key="leave_request",
                                definition_id=definition.id, status="waiting", state="{}",
                                started_by_id=starter)
            session.add(instance)
            session.flush()
            item = WorkItem(instance_id=instance.id, force_code=force, task_id="t1", task_name="approve",
                            process_key="leave_request", title="Approve leave", **fields)
            session.add(item)
            session.flush()
            return int(item.id)


@pytest.fixture
def build(app: Flask) -> Builder:
    return Builder(app)


@dataclass(frozen=True)
class People:
    """The ids of a small organisation: MFSS over CHES and NTHN."""

    admin: int  # platform_admin, MFSS
    manager: int  # force_manager, CHES
    employee: int  # employee, CHES
    other_force_user: int  # employee, NTHN


@pytest.fixture
def people(build: Builder) -> People:
    build.force("MFSS", "Multi-Force Shared Service")
    build.force("CHES", "Cheshire Constabulary", parent="MFSS")
    build.force("NTHN", "Northamptonshire Police", parent="MFSS")
    return People(
        admin=build.user("ada.admin", "MFSS", roles=("platform_admin",), full_name="Ada Admin"),
        manager=build.user("leanne.burke", "CHES", roles=("force_manager",), full_name="Leanne Burke"),
        employee=build.user("jordan.hale", "CHES", full_name="Jordan Hale"),
        other_force_user=build.user("mark.osei", "NTHN", full_name="Mark Osei"),
    )
