"""Shared fixtures: a fresh, migrated database per test on SQLite and (when configured) PostgreSQL.

Migrations run once per test process. SQLite tests get a copy of a migrated template file; PostgreSQL
tests share one private database per test process, emptied (TRUNCATE) before each test, so parallel test
processes never share a PostgreSQL database.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine.db import make_engine, make_session_factory
from engine.models import Base
from engine.schema import upgrade

REPO = Path(__file__).resolve().parent.parent
BASE_POSTGRES_URL = os.environ.get("MUSTER_TEST_POSTGRES_URL")
_RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
_templates: dict[str, str] = {}


def _admin() -> Engine:
    assert BASE_POSTGRES_URL
    return make_engine(BASE_POSTGRES_URL, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    assert BASE_POSTGRES_URL
    return BASE_POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


def _sqlite_template() -> str:
    if "sqlite" not in _templates:
        folder = tempfile.mkdtemp(prefix="muster-tpl-")
        path = os.path.join(folder, "template.db")
        upgrade(f"sqlite:///{path}")
        atexit.register(shutil.rmtree, folder, True)
        _templates["sqlite"] = path
    return _templates["sqlite"]


def _pg_template() -> str:
    if "postgres" not in _templates:
        name = f"muster_tpl_{_RUN_ID}"
        admin = _admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        upgrade(_pg_url(name))
        atexit.register(_drop_databases)
        _templates["postgres"] = name
    return _templates["postgres"]


def _drop_databases() -> None:
    admin = _admin()
    with admin.connect() as conn:
        for name in conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                 {"p": f"muster_%_{_RUN_ID}"}).scalars().all():
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fresh_database(kind: str, tmp_path: Path) -> tuple[str, Engine]:
    """An empty, migrated database of ``kind`` ('sqlite' or 'postgres') for one test."""
    if kind == "sqlite":
        target = tmp_path / "muster-test.db"
        shutil.copyfile(_sqlite_template(), target)
        url = f"sqlite:///{target}"
        return url, make_engine(url)
    if not BASE_POSTGRES_URL:
        pytest.skip("PostgreSQL not configured (set MUSTER_TEST_POSTGRES_URL)")
    name = _pg_template()
    url = _pg_url(name)
    engine = make_engine(url, pool_size=5, max_overflow=30)
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events"))
        conn.execute(text("CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
                          "FOR EACH ROW EXECUTE FUNCTION muster_audit_append_only()"))
    return url, engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_kind(request: pytest.FixtureRequest) -> str:
    """Run the test once per database backend."""
    return str(request.param)


@pytest.fixture
def db_url_and_engine(db_kind: str, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """(url, engine) of a fresh database on each backend."""
    url, engine = fresh_database(db_kind, tmp_path)
    yield url, engine
    engine.dispose()


@pytest.fixture
def db_engine(db_url_and_engine: tuple[str, Engine]) -> Engine:
    """A fresh, migrated database engine for each test, on each backend."""
    return db_url_and_engine[1]


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite database only (for tests whose subject is not the backend)."""
    _url, engine = fresh_database("sqlite", tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(db_engine)
