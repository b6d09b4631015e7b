"""One way for tests to get a database holding the demo seed: migrate a SQLite file and run
``engine.seed.seed_demo`` on it with cheap password hashes (the tests are not about hash strength)."""
from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher

from engine import passwords
from engine.db import make_engine, make_session_factory, unit_of_work
from engine.schema import upgrade
from engine.seed import seed_demo

REPO = Path(__file__).resolve().parent.parent


def seeded_sqlite(path: Path) -> str:
    """Create a migrated SQLite file at ``path`` with the demo seed; returns its URL."""
    url = f"sqlite:///{path}"
    upgrade(url)
    saved = passwords._HASHER
    passwords._HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            seed_demo(session, REPO)
    finally:
        passwords._HASHER = saved
        engine.dispose()
    return url
