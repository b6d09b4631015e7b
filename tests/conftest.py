"""Shared fixtures: fresh databases on SQLite and (when configured) PostgreSQL."""
from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine.db import make_engine, make_session_factory
from engine.schema import upgrade

REPO = Path(__file__).resolve().parent.parent
BASE_POSTGRES_URL = os.environ.get("MUSTER_TEST_POSTGRES_URL")
POSTGRES_URL: str | None = None


def _session_database() -> str:
    """A private PostgreSQL database for this test process (parallel runs never share one)."""
    global POSTGRES_URL
    if POSTGRES_URL is None:
        assert BASE_POSTGRES_URL
        name = f"muster_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = make_engine(BASE_POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        POSTGRES_URL = BASE_POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        atexit.register(_drop_database, name)
    return POSTGRES_URL


def _drop_database(name: str) -> None:
    assert BASE_POSTGRES_URL
    admin = make_engine(BASE_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_postgres(url: str) -> Engine:
    engine = make_engine(url, pool_size=5, max_overflow=30)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(url)
    return engine


def fresh_database(kind: str, tmp_path: Path) -> tuple[str, Engine]:
    """Create an empty, migrated database of ``kind`` ('sqlite' or 'postgres')."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'muster-test.db'}"
        upgrade(url)
        return url, make_engine(url)
    if not BASE_POSTGRES_URL:
        pytest.skip("PostgreSQL not configured (set MUSTER_TEST_POSTGRES_URL)")
    url = _session_database()
    return url, _fresh_postgres(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_kind(request: pytest.FixtureRequest) -> str:
    """Run the test once per database backend."""
    return str(request.param)


@pytest.fixture
def db_engine(db_kind: str, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated database engine for each test, on each backend."""
    _url, engine = fresh_database(db_kind, tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite database only (for tests whose subject is not the backend)."""
    _url, engine = fresh_database("sqlite", tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(db_engine)
