"""A timer whose following step keeps failing becomes an incident, puts the instance in error, and an
administrator's retry puts it back in the queue."""
from __future__ import annotations

import datetime as dt
from engine import instances, jobs
from engine.artefacts import SourceFile
from engine.db import unit_of_work
from engine.deploy import deploy
from engine.models import Instance
from engine.worker import run_once
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.timers.support import HERE, T0, Clock, controlled_clock, jobs_of, setup_org, user

Factory = sessionmaker[Session]


@pytest.fixture
def clock() -> Iterator[Clock]:
    with controlled_clock(T0) as c:
        yield c


def test_failing_timer_step_becomes_an_incident_and_the_instance_shows_error(
        session_factory: Factory, clock: Clock) -> None:
    broken = (HERE / "common" / "timer_only" / "process.bpmn").read_text().replace(
        'outcome = "waited"', "outcome = no_such_value")
    with unit_of_work(session_factory) as s:
        setup_org(s)
        deploy(s, [SourceFile("process.bpmn", broken.encode())])
    with unit_of_work(session_factory) as s:
        iid = instances.start_instance(s, user=user(s, "requester"), process_key="timer_only", data={}).id
    for _ in range(8):  # each attempt fails; backoff grows until the job becomes an incident
        clock.advance(hours=2)
        run_once(session_factory)
    with unit_of_work(session_factory) as s:
        inst = s.get(Instance, iid)
        assert inst.status == "error" and "no_such_value" in (inst.error_message or "")
        [incident] = jobs.list_incidents(s)
        assert "no_such_value" in (incident.last_error or "")
        jobs.retry_incident(s, incident.id, actor="admin", now=clock.now())
    with unit_of_work(session_factory) as s:
        assert s.get(Instance, iid).status == "waiting"
        assert [j.status for j in jobs_of(session_factory, instance_id=iid, kind="timer")][-1] == "pending"
    assert isinstance(clock.now(), dt.datetime)
