"""A small world for engine tests: two forces under a shared service, people, and a deployed process."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from engine import org
from engine.artefacts import SourceFile, collect_files
from engine.db import unit_of_work
from engine.deploy import deploy
from engine.models import User

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "defs"


@dataclass
class World:
    factory: sessionmaker[Session]

    def user(self, s: Session, username: str) -> User:
        u = org.get_user_by_username(s, username)
        assert u is not None
        return u

    def deploy(self, files: list[SourceFile], scope: str = "common") -> Any:
        with unit_of_work(self.factory) as s:
            return deploy(s, files, scope)


def text_file(name: str, content: str) -> SourceFile:
    return SourceFile(name, content.encode())


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> World:
    with unit_of_work(session_factory) as s:
        org.add_force(s, "MFSS", "Multi-Force Shared Service")
        org.add_force(s, "CHES", "Cheshire Constabulary", parent="MFSS")
        org.add_force(s, "NTHN", "Northamptonshire Police", parent="MFSS")
        org.add_user(s, "sgt", "CHES", "Sergeant Sam", roles=["employee", "line_manager"])
        org.add_user(s, "pc", "CHES", "Constable Chris", roles=["employee"], manager="sgt")
        org.add_user(s, "pc2", "CHES", "Constable Cai", roles=["employee"], manager="sgt")
        org.add_user(s, "bh", "CHES", "Budget Holder Bea", roles=["employee", "budget_holder"])
        org.add_user(s, "bh2", "CHES", "Budget Holder Ben", roles=["employee", "budget_holder"])
        org.add_user(s, "ap", "CHES", "AP Officer Ash", roles=["employee", "ssc_ap_officer"])
        org.add_user(s, "nsgt", "NTHN", "Northants Sergeant", roles=["employee", "line_manager"])
        org.add_user(s, "npc", "NTHN", "Northants Constable", roles=["employee"], manager="nsgt")
        org.add_user(s, "nap", "NTHN", "Northants AP", roles=["employee", "ssc_ap_officer", "budget_holder"])
    w = World(session_factory)
    w.deploy(collect_files([FIXTURES / "common", FIXTURES / "forms"]))
    return w
