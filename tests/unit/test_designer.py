"""The process designer's engine layer: drafts, validation, draft scenarios, publication with a second
person, diff, drift, impact, export, on the seeded demo catalogue (SQLite)."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.seeding import seeded_sqlite
from engine import calendar, designer, org
from engine.design_models import Draft
from engine.catalog import bundle_for
from engine.db import make_engine, make_session_factory, unit_of_work
from engine.design_catalog import catalogue, drift_of, has_drifted, impact
from engine.design_scenarios import run_draft_scenarios
from engine.diff import diff_bpmn, diff_dmn, diff_form
from engine.errors import ConflictError, DefinitionError, InvalidInputError, NotAllowedError
from engine.export import export_definitions
from engine.instances import start_instance
from engine.models import AuditEvent, Definition, User
from engine.schema import upgrade
from engine.seed import deploy_repo

REPO = Path(__file__).resolve().parents[2]
LEAVE_START = {"leave_type": "annual", "start_date": "2030-03-04", "end_date": "2030-03-08",
               "part_day": "none", "msl_breach": False, "embargo": False,
               "contact_while_away": "07700 900123"}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded demo database per module, copied for each test."""
    calendar.working_days_between("2026-01-01", "2031-12-31", ())  # load the bank holidays before any
    # sandboxed script's 1 s budget starts: the first load is slow on a busy machine
    path = tmp_path_factory.mktemp("designer") / "seeded.db"
    seeded_sqlite(path)
    return path


@pytest.fixture
def factory(seeded: Path, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    target = tmp_path / "db.sqlite"
    shutil.copyfile(seeded, target)
    engine = make_engine(f"sqlite:///{target}")
    yield make_session_factory(engine)
    engine.dispose()


def user(s: Session, username: str) -> User:
    return s.execute(select(User).where(User.username == username)).scalar_one()


def start(s: Session, kind: str, key: str, scope: str = "common") -> Draft:
    return designer.start_draft(s, user=user(s, "imarsh"), kind=kind, key=key, scope=scope)


def renamed(content: str) -> str:
    return content.replace('name="Approve leave request"', 'name="Approve or refuse leave"')


def publish(f: sessionmaker[Session], kind: str, key: str, scope: str, approver: str,
            edit: object = None) -> int:
    """Draft (edited by ``edit``), request and approve; return the new definition id."""
    with unit_of_work(f) as s:
        d = designer.start_draft(s, user=user(s, "imarsh"), kind=kind, key=key, scope=scope)
        if callable(edit):
            designer.save_draft(s, d.id, user=user(s, "imarsh"), content=edit(d.content))
        req = designer.request_publication(s, d.id, user=user(s, "imarsh"))
        designer.approve(s, req.id, user=user(s, approver))
        return int(d.published_definition_id or 0)


def test_saving_a_draft_validates_it_and_stores_no_version(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as s:
        before = s.execute(select(func.count(Definition.id))).scalar()
        d = start(s, "process", "leave_request")
        assert d.problems == [] and d.based_on_id is not None
        d = designer.save_draft(s, d.id, user=user(s, "imarsh"), content=renamed(d.content))
        assert d.status == "draft" and d.problems == []
        assert s.execute(select(func.count(Definition.id))).scalar() == before
        broken = designer.save_draft(s, d.id, user=user(s, "imarsh"), content="<bpmn:definitions")
        assert broken.problems and broken.content == "<bpmn:definitions"  # kept, so no work is lost


def test_validation_names_each_problem_and_its_element(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as s:
        d = start(s, "process", "leave_request")
        original = d.content
        bad = original.replace(' default="Flow_route_manager"', "")
        bad = bad.replace('<bpmn:userTask id="approve_leave"',
                          '<bpmn:task id="orphan_task" name="Nobody gets here" />\n'
                          '    <bpmn:userTask id="approve_leave"')
        problems = designer.save_draft(s, d.id, user=user(s, "imarsh"), content=bad).problems
        by_element = {p["element"]: p["message"] for p in problems}
        assert "default flow" in by_element["route_gw"]
        assert "no path" in by_element["orphan_task"]

        refused = original.replace("route == ", "__import__('os') or route == ", 1)
        problems = designer.save_draft(s, d.id, user=user(s, "imarsh"), content=refused).problems
        assert any("sandbox" in p["message"] for p in problems), problems

        missing = original.replace('value="leave_approval"', 'value="no_such_form"', 1)
        problems = designer.save_draft(s, d.id, user=user(s, "imarsh"), content=missing).problems
        assert [(p["element"], p["ref"]) for p in problems] == [("approve_leave", "no_such_form")]
        assert "not available" in problems[0]["message"]

        both = missing.replace(' default="Flow_route_manager"', "")
        problems = designer.save_draft(s, d.id, user=user(s, "imarsh"), content=both).problems
        assert {p["element"] for p in problems} == {"route_gw", "approve_leave"}  # every problem at once

        other = original.replace('<bpmn:process id="leave_request"', '<bpmn:process id="leave_request_2"')
        problems = designer.save_draft(s, d.id, user=user(s, "imarsh"), content=other).problems
        assert "keep the id" in problems[0]["message"]


def test_draft_scenarios_run_with_the_draft_over_the_catalogue(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as s:
        d = start(s, "process", "leave_request")
        designer.save_draft(s, d.id, user=user(s, "imarsh"), content=renamed(d.content))
        results = run_draft_scenarios(s, d, REPO)
        assert len(results) >= 10 and all(r.result.passed for r in results)
        assert any("approve_leave" in r.result.path for r in results)

        table = designer.start_draft(s, user=user(s, "imarsh"), kind="decision", key="leave_routing",
                                     scope="common")
        designer.save_draft(s, table.id, user=user(s, "imarsh"),
                            content=table.content.replace('"manager"', '"second_line"'))
        results = run_draft_scenarios(s, table, REPO)
        assert results and any(not r.result.passed for r in results)  # the overlay is what ran


def test_publication_needs_a_second_person_and_a_platform_admin_for_common(
        factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as s:
        d = start(s, "process", "leave_request")
        designer.save_draft(s, d.id, user=user(s, "imarsh"), content=renamed(d.content))
        req = designer.request_publication(s, d.id, user=user(s, "imarsh"), comment="clearer name")
        with pytest.raises(ConflictError):
            designer.save_draft(s, d.id, user=user(s, "imarsh"), content=d.content)
        with pytest.raises(NotAllowedError):
            designer.approve(s, req.id, user=user(s, "imarsh"))
        with pytest.raises(NotAllowedError):
            designer.approve(s, req.id, user=user(s, "jashworth"))  # a force manager, not a platform admin
        assert designer.pending_requests(s, user(s, "zhammond")) == [req]
        item = designer.approve(s, req.id, user=user(s, "zhammond"), comment="fine")
        assert (item.scope, item.version, item.status) == ("common", 2, "new")
        assert d.status == "published" and req.decision == "approved"
        actions = set(s.execute(select(AuditEvent.action).where(AuditEvent.instance_id.is_(None))).scalars())
        assert {"definition_publication_requested", "definition_publication_approved",
                "definition_published"} <= actions
        with pytest.raises(ConflictError):
            designer.approve(s, req.id, user=user(s, "kwalsh"))


def test_force_publication_needs_that_forces_manager(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as s:
        d = designer.override_for_force(s, user=user(s, "imarsh"), kind="decision", key="leave_routing",
                                        force="NTHN")
        assert d.scope == "NTHN" and s.get(Definition, d.based_on_id).scope == "common"
        req = designer.request_publication(s, d.id, user=user(s, "imarsh"))
        for outsider in ("zhammond", "ebooth"):  # platform admin; force manager of CHES
            with pytest.raises(NotAllowedError):
                designer.approve(s, req.id, user=user(s, outsider))
        item = designer.approve(s, req.id, user=user(s, "fgrant"))
        assert (item.scope, item.version) == ("NTHN", 1)
        assert bundle_for(s, "NTHN", "leave_request").get("decision", "leave_routing").scope == "NTHN"
        assert bundle_for(s, "CHES", "leave_request").get("decision", "leave_routing").scope == "common"


def test_rejection_needs_a_reason_and_problems_block_requests(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as s:
        d = designer.start_draft(s, user=user(s, "imarsh"), kind="form", key="leave_approval", scope="common")
        req = designer.request_publication(s, d.id, user=user(s, "imarsh"))
        with pytest.raises(InvalidInputError):
            designer.reject(s, req.id, user=user(s, "zhammond"), comment=" ")
        designer.reject(s, req.id, user=user(s, "zhammond"), comment="no change in it")
        assert d.status == "rejected"
        designer.save_draft(s, d.id, user=user(s, "imarsh"), content='{"type": "object", "properties": 3}')
        with pytest.raises(DefinitionError):
            designer.request_publication(s, d.id, user=user(s, "imarsh"))
        with pytest.raises(NotAllowedError):
            designer.start_draft(s, user=user(s, "zhammond"), kind="form", key="leave_approval",
                                 scope="common")


def test_running_instances_keep_their_version(factory: sessionmaker[Session]) -> None:
    def running(s: Session) -> list[int]:
        entry = next(e for e in catalogue(s) if (e.kind, e.key) == ("process", "leave_request"))
        return [v.running for v in entry.versions["common"]]

    with unit_of_work(factory) as s:
        already = running(s)[0]  # the demo seed may have started some
        old = start_instance(s, user=user(s, "jhale"), process_key="leave_request", data=LEAVE_START)
    publish(factory, "process", "leave_request", "common", "zhammond", renamed)
    with unit_of_work(factory) as s:
        new = start_instance(s, user=user(s, "jhale"), process_key="leave_request",
                             data={**LEAVE_START, "start_date": "2030-04-01", "end_date": "2030-04-02"})
        assert s.get(Definition, new.definition_id).version == 2
        assert s.get(Definition, old.definition_id).version == 1
        assert running(s) == [1, already + 1]
        entry = next(e for e in catalogue(s) if (e.kind, e.key) == ("process", "leave_request"))
        assert entry.resolution["CHES"] == ("common", 2)
        counts = {(r["force"], r["version"]): r["count"] for r in impact(s, "process", "leave_request",
                                                                         "common").running}
        assert counts[("CHES", 2)] == 1 and counts[("CHES", 1)] >= 1


def test_override_drift_and_impact(factory: sessionmaker[Session]) -> None:
    override_id = publish(factory, "process", "leave_request", "NTHN", "fgrant",
                          lambda c: c.replace('name="Record absence"', 'name="Record absence (NTHN)"'))
    with unit_of_work(factory) as s:
        draft = designer.override_for_force(s, user=user(s, "imarsh"), kind="process", key="leave_request",
                                            force="CNC")
        assert not has_drifted(s, s.get(Definition, override_id))
    publish(factory, "process", "leave_request", "common", "zhammond", renamed)
    with unit_of_work(factory) as s:
        override = s.get(Definition, override_id)
        assert has_drifted(s, override)
        report = drift_of(s, override)
        assert report.base.version == 1 and report.current.version == 2
        assert any(c.element == "approve_leave" and c.change == "changed" and "Approve or refuse" in c.detail
                   for c in report.drift_changes)
        assert all(c.element != "approve_leave" for c in report.override_changes)
        assert drift_of(s, designer.get_draft(s, draft.id)).drifted  # drafts drift too
        entry = next(e for e in catalogue(s) if (e.kind, e.key) == ("process", "leave_request"))
        assert entry.drift == {"NTHN": True} and entry.resolution["NTHN"] == ("NTHN", 1)
        forces = {f.force: f for f in impact(s, "process", "leave_request", "common").forces}
        assert forces["NTHN"].overridden_in == "NTHN" and not forces["NTHN"].gets_change
        assert forces["CHES"].gets_change


def test_diffs_name_elements_rows_and_fields() -> None:
    bpmn = (REPO / "processes/common/leave_request/process.bpmn").read_text()
    changed = renamed(bpmn).replace('name="Dates valid?"', 'name="Dates OK?"')
    found = {(c.element, c.what, c.change) for c in diff_bpmn(bpmn, changed)}
    assert found == {("approve_leave", "task", "changed"), ("dates_gw", "gateway", "changed")}
    assert diff_bpmn(bpmn, bpmn) == []

    dmn = (REPO / "processes/common/leave_request/leave_routing.dmn").read_text()
    rows = diff_dmn(dmn, dmn.replace('"manager"', '"second_line"', 1))
    assert len(rows) == 1 and rows[0].what == "row" and rows[0].change == "changed"

    form = (REPO / "forms/common/leave_approval.json").read_text()
    import json

    schema = json.loads(form)
    schema["properties"]["extra_note"] = {"type": "string", "title": "Extra note"}
    schema["properties"].pop(next(iter(schema["properties"])))
    kinds = {(c.element, c.change) for c in diff_form(form, json.dumps(schema))}
    assert ("extra_note", "added") in kinds and any(change == "removed" for _e, change in kinds)


def test_export_round_trip(factory: sessionmaker[Session], tmp_path: Path) -> None:
    publish(factory, "decision", "leave_routing", "NTHN", "fgrant")
    with unit_of_work(factory) as s:
        written = export_definitions(s, tmp_path / "out")
        newest: dict[tuple[str, str, str], Definition] = {}
        for d in s.execute(select(Definition).order_by(Definition.version)).scalars():
            newest[(d.kind, d.key, d.scope)] = d
        latest = {(d.kind, d.key, d.scope, d.content_hash) for d in newest.values()}
    assert (tmp_path / "out/processes/common/leave_request/process.bpmn").is_file()
    assert (tmp_path / "out/processes/forces/NTHN/leave_request/leave_routing.dmn").is_file()
    assert len(written) == len(latest)
    fresh = tmp_path / "fresh.db"
    upgrade(f"sqlite:///{fresh}")
    engine = make_engine(f"sqlite:///{fresh}")
    with unit_of_work(make_session_factory(engine)) as s:
        org.add_force(s, "MFSS", "Shared service")
        for code in ("CHES", "NTHN", "NOTT", "CNC"):
            org.add_force(s, code, f"{code} Police", parent="MFSS")
        s.flush()
        deploy_repo(s, tmp_path / "out")
        again = {(d.kind, d.key, d.scope, d.content_hash) for d in s.execute(select(Definition)).scalars()}
    engine.dispose()
    assert again == latest


def test_recording_a_scenario_form_by_form(factory: sessionmaker[Session]) -> None:
    from engine.design_recorder import Recording, recordable_processes, replay, to_scenario

    requester = {"employee_type": "officer", "rank": "constable", "service_years": 7, "hours_per_week": 40,
                 "annual_leave_balance_hours": 120, "toil_balance_hours": 16}
    with unit_of_work(factory) as s:
        d = start(s, "decision", "leave_routing")
        assert recordable_processes(s, d) == ["leave_request"]
        rec = Recording("leave_request", "CHES", requester=requester)
        pos = replay(s, d, rec)
        assert (pos.form_key, pos.task) == ("leave_request_start", None)
        with pytest.raises(InvalidInputError):
            replay(s, d, Recording("leave_request", "CHES", {"leave_type": "nonsense"}, [], requester))
        rec.start = LEAVE_START
        pos = replay(s, d, rec)
        assert (pos.task, pos.form_key) == ("approve_leave", "leave_approval") and "leave_routing" in pos.path
        rec.steps.append({"task": "approve_leave", "data": {"decision": "approve", "comment": "OK"}})
        pos = replay(s, d, rec)
        assert pos.completed and pos.path[-1] == "post_absence"
        scenario = to_scenario(rec, pos, "Recorded: manager approves")
        designer.save_draft(s, d.id, user=user(s, "imarsh"), content=d.content, scenarios=[scenario])
        results = [r for r in run_draft_scenarios(s, d, None)]
        assert [(r.result.name, r.result.passed) for r in results] == [("Recorded: manager approves", True)]
