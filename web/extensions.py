"""The database wiring of the web app: one engine and session factory per app, one unit of work per command.

Why not Flask-SQLAlchemy's engine and scoped session: ``engine.db.make_engine`` sets up SQLite (WAL,
``BEGIN IMMEDIATE`` for writers, ``BEGIN`` for readers) and PostgreSQL pooling, and
``engine.db.unit_of_work`` maps lost races to ``ConflictError``. Views use exactly the same engine,
session factory and unit of work as the CLI, the worker and the tests, with the engine's own models,
so there is one way to reach the database and no second session living in request globals.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine import db as engine_db

EXTENSION_KEY = "muster"


@dataclass(frozen=True)
class Database:
    """What ``app.extensions["muster"]`` holds: the engine and its session factory."""

    engine: Engine
    sessions: sessionmaker[Session]


def init_database(app: Flask) -> Database:
    """Create the app's engine from ``DATABASE_URL`` (+ ``DATABASE_ENGINE_OPTIONS``) and store it."""
    engine = engine_db.make_engine(app.config["DATABASE_URL"], **dict(app.config["DATABASE_ENGINE_OPTIONS"]))
    database = Database(engine=engine, sessions=engine_db.make_session_factory(engine))
    app.extensions[EXTENSION_KEY] = database
    return database


def database() -> Database:
    """The current app's ``Database``."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


@contextmanager
def unit_of_work(*, read_only: bool = False) -> Iterator[Session]:
    """One command, one transaction, for a view: ``with unit_of_work() as session: org.add_user(session, …)``.

    Commits when the block ends, rolls back on any exception (which then propagates to the error
    handlers). ``read_only=True`` for pages that only read: on SQLite it does not take the write lock.
    Objects stay usable after the block (``expire_on_commit=False``) for rendering."""
    with engine_db.unit_of_work(database().sessions, read_only=read_only) as session:
        yield session
