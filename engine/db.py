"""Database engines, sessions and the unit of work. Knows SQLite and PostgreSQL, nothing of Flask.

SQLite runs in WAL mode and write transactions start with ``BEGIN IMMEDIATE`` so two writers are
serialised instead of failing late; PostgreSQL relies on row locks plus optimistic version checks.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from .errors import ConflictError

DEFAULT_SQLITE_PATH = Path("instance") / "muster.db"
T = TypeVar("T")


def database_url() -> str:
    """The configured database: ``MUSTER_DATABASE_URL`` or the embedded SQLite file."""
    url = os.environ.get("MUSTER_DATABASE_URL")
    if url:
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH.resolve()}"


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine with Muster's connection settings for SQLite or PostgreSQL."""
    url = url or database_url()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {})
        kwargs["connect_args"].setdefault("timeout", 30)
        kwargs["connect_args"].setdefault("check_same_thread", False)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        if ":memory:" not in str(engine.url) and engine.url.database:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("muster_read_only"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """One command, one transaction: commit on success, roll back on any error.

    Lost optimistic-lock races and unique-key races surface as ``ConflictError``.
    """
    session = factory()
    if read_only:
        session.connection(execution_options={"muster_read_only": True})
    try:
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise ConflictError(
            "Someone else changed this item at the same time. Reload it and try again."
        ) from exc
    except IntegrityError as exc:
        session.rollback()
        if _is_race(exc):
            raise ConflictError(
                "Someone else changed this item at the same time. Reload it and try again."
            ) from exc
        raise
    except OperationalError as exc:
        session.rollback()
        if "locked" in str(exc).lower() or "could not serialize" in str(exc).lower():
            raise ConflictError("The database was busy with a conflicting change. Try again.") from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_pinned(session: Session, model: type[T], key: Any) -> T | None:
    """``session.get`` that keeps the object referenced for the session's life.

    SQLAlchemy's identity map holds objects weakly, so a row read, dropped and read again in one command
    (forces on the override chain, say) would be fetched twice; pinned rows are fetched once."""
    pinned: dict[tuple[type, Any], Any] = session.info.setdefault("muster_pinned", {})
    if (model, key) not in pinned:
        pinned[(model, key)] = session.get(model, key)
    return pinned[(model, key)]  # type: ignore[no-any-return]


def _is_race(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "uq_audit_seq" in text or "uq_work_item_task" in text or (
        "audit_events.instance_id, audit_events.seq" in text
    )
