"""Alembic environment: runs migrations against the engine's metadata (no Flask involved)."""
from __future__ import annotations

from alembic import context

from engine import design_models  # noqa: F401  (registers the designer tables on Base.metadata)
from engine.db import make_engine
from engine.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    db_engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with db_engine.connect() as connection:
        _run(connection)
    db_engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
