"""Shared fixtures: fresh databases on SQLite and (when configured) PostgreSQL."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine.db import make_engine, make_session_factory
from engine.schema import upgrade

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("MUSTER_TEST_POSTGRES_URL")


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
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured (set MUSTER_TEST_POSTGRES_URL)")
    return POSTGRES_URL, _fresh_postgres(POSTGRES_URL)


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
