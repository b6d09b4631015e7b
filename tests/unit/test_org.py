"""engine.org without Flask, on SQLite and PostgreSQL: forces, users, roles, delegations, sign-in."""
from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from engine import org, passwords
from engine.db import unit_of_work
from engine.errors import ConflictError, InvalidInputError, NotAllowedError, NotFoundError
from engine.models import Definition, Instance, WorkItem

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
PASSWORD = "correct horse battery"
VERSIONS = itertools.count(1)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with tiny costs: the tests are about the rules, not the hash strength."""
    monkeypatch.setattr(passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session over a database seeded with CHES and NTHN under MFSS."""
    with unit_of_work(session_factory) as s:
        org.add_force(s, "MFSS", "Multi-Force Shared Service")
        org.add_force(s, "CHES", "Cheshire Constabulary", parent="MFSS")
        org.add_force(s, "NTHN", "Northamptonshire Police", parent="MFSS")
    with unit_of_work(session_factory) as s:
        yield s


def add_work_item(session: Session, force: str, **fields: object) -> WorkItem:
    """An open work item on a throwaway instance (the rows the deactivation rule looks at)."""
    user_id = fields.get("assignee_id") or fields.get("candidate_user_id")
    definition = Definition(kind="process", key="leave_request", scope="common", version=next(VERSIONS),
                            content_hash="0" * 64, content="<xml/>", filename="process.bpmn")
    session.add(definition)
    session.flush()
    instance = Instance(reference=f"REF-{definition.id}", force_code=force, process_key="leave_request",
                        definition_id=definition.id, status="waiting", state="{}", started_by_id=user_id)
    session.add(instance)
    session.flush()
    item = WorkItem(instance_id=instance.id, force_code=force, task_id="t1", task_name="approve",
                    process_key="leave_request", title="Approve leave", **fields)
    session.add(item)
    session.flush()
    return item


# --- forces and units -----------------------------------------------------------------------


def test_force_code_must_be_short_capitals(session: Session) -> None:
    for bad in ("c", "ches", "CHES-1", "A" * 17, ""):
        with pytest.raises(InvalidInputError):
            org.add_force(session, bad, "Somewhere")


def test_force_needs_a_name_and_a_known_parent(session: Session) -> None:
    with pytest.raises(InvalidInputError):
        org.add_force(session, "NOTT", "   ")
    with pytest.raises(NotFoundError):
        org.add_force(session, "NOTT", "Nottinghamshire Police", parent="NOPE")


def test_duplicate_force_is_a_conflict(session: Session) -> None:
    with pytest.raises(ConflictError):
        org.add_force(session, "CHES", "Cheshire again")


def test_force_parent_cycle_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInputError):
        org.update_force(session, "MFSS", parent="CHES")
    with pytest.raises(InvalidInputError):
        org.update_force(session, "CHES", parent="CHES")
    assert org.force_chain(session, "CHES") == ["CHES", "MFSS"]


def test_update_force_leaves_parent_unless_given(session: Session) -> None:
    org.update_force(session, "CHES", name="Cheshire Police", active=False)
    force = org.get_force(session, "CHES")
    assert (force.name, force.parent_code, force.active) == ("Cheshire Police", "MFSS", False)
    org.update_force(session, "CHES", parent=None)
    assert org.get_force(session, "CHES").parent_code is None


def test_org_units_are_per_force_and_named_once_per_parent(session: Session) -> None:
    lpu = org.add_org_unit(session, "CHES", "Northwich LPU")
    team = org.add_org_unit(session, "CHES", "Response Team 2", parent_id=lpu.id)
    with pytest.raises(ConflictError):
        org.add_org_unit(session, "CHES", "Northwich LPU")
    with pytest.raises(NotFoundError):
        org.add_org_unit(session, "NTHN", "Team", parent_id=lpu.id)
    assert org.org_unit_paths(session, "CHES")[team.id] == "Northwich LPU › Response Team 2"
    assert org.list_org_units(session, "NTHN") == []


# --- users ----------------------------------------------------------------------------------


def test_user_in_unknown_force_is_not_found(session: Session) -> None:
    with pytest.raises(NotFoundError):
        org.add_user(session, "jordan.hale", "NOPE", "Jordan Hale")


def test_duplicate_username_is_a_conflict_whatever_the_case(session: Session) -> None:
    org.add_user(session, "jordan.hale", "CHES", "Jordan Hale")
    with pytest.raises(ConflictError):
        org.add_user(session, "Jordan.Hale", "NTHN", "Another Jordan")


def test_bad_usernames_and_unknown_roles_are_refused(session: Session) -> None:
    for bad in ("j", "jordan hale", "-jordan", "jo<script>"):
        with pytest.raises(InvalidInputError):
            org.add_user(session, bad, "CHES", "Jordan Hale")
    with pytest.raises(InvalidInputError):
        org.add_user(session, "jordan.hale", "CHES", "Jordan Hale", roles=["requester"])
    with pytest.raises(InvalidInputError):
        org.add_user(session, "jordan.hale", "CHES", "Jordan Hale", password="short")


def test_manager_must_exist_and_be_in_the_same_force(session: Session) -> None:
    org.add_user(session, "mark.osei", "NTHN", "Mark Osei")
    with pytest.raises(NotFoundError):
        org.add_user(session, "jordan.hale", "CHES", "Jordan Hale", manager="nobody")
    with pytest.raises(NotFoundError):
        org.add_user(session, "jordan.hale", "CHES", "Jordan Hale", manager="mark.osei")


def test_line_manager_chain_skips_inactive_managers_and_refuses_loops(session: Session) -> None:
    price = org.add_user(session, "gareth.price", "CHES", "Gareth Price")
    rahman = org.add_user(session, "aisha.rahman", "CHES", "Aisha Rahman", manager=price.id)
    hale = org.add_user(session, "jordan.hale", "CHES", "Jordan Hale", manager="aisha.rahman")
    assert org.line_manager_of(session, hale) is rahman
    org.deactivate_user(session, "CHES", rahman.id)
    assert org.line_manager_of(session, hale) is price
    with pytest.raises(InvalidInputError):
        org.update_user(session, "CHES", price.id, manager=hale.id)


def test_get_user_of_another_force_is_not_found(session: Session) -> None:
    user = org.add_user(session, "mark.osei", "NTHN", "Mark Osei")
    assert org.get_user(session, "NTHN", user.id) is user
    with pytest.raises(NotFoundError):
        org.get_user(session, "CHES", user.id)


def test_deactivation_flags_the_users_open_work_items(session: Session) -> None:
    hale = org.add_user(session, "jordan.hale", "CHES", "Jordan Hale")
    other = org.add_user(session, "claire.donnelly", "CHES", "Claire Donnelly")
    assigned = add_work_item(session, "CHES", assignee_id=hale.id)
    offered = add_work_item(session, "CHES", candidate_user_id=hale.id)
    done = add_work_item(session, "CHES", assignee_id=hale.id, status="completed")
    someone_elses = add_work_item(session, "CHES", assignee_id=other.id)

    assert org.deactivate_user(session, "CHES", hale.id) == 2

    assert not org.get_user(session, "CHES", hale.id).active
    assert assigned.needs_reassignment and offered.needs_reassignment
    assert not done.needs_reassignment and not someone_elses.needs_reassignment
    assert org.reassignment_counts(session, "CHES") == {hale.id: 2}


# --- roles ----------------------------------------------------------------------------------


def test_known_roles_follow_the_domain_list() -> None:
    some = {"employee", "line_manager", "force_manager", "platform_admin", "ssc_ap_officer"}
    assert some <= org.KNOWN_ROLES
    assert "requester" not in org.KNOWN_ROLES
    assert len(org.KNOWN_ROLES) == 30


def test_role_holders_include_cross_force_grants_and_only_active_users(session: Session) -> None:
    local = org.add_user(session, "ap.nthn", "NTHN", "Local AP", roles=["ssc_ap_officer"])
    priya = org.add_user(session, "priya.nandra", "CHES", "Priya Nandra",
                         cross_force_roles=[("ssc_ap_officer", "NTHN"), ("ssc_ap_officer", "CHES")])
    gone = org.add_user(session, "gone", "NTHN", "Gone Person", roles=["ssc_ap_officer"])
    org.deactivate_user(session, "NTHN", gone.id)

    assert org.role_holders(session, "NTHN", "ssc_ap_officer") == [local, priya]
    assert org.role_holders(session, "CHES", "ssc_ap_officer") == [priya]
    assert org.role_holders(session, "CHES", "finance") == []
    assert org.has_role(priya, "ssc_ap_officer", "NTHN") and not org.has_role(local, "ssc_ap_officer", "CHES")


def test_set_roles_replaces_own_force_roles_and_keeps_cross_force_ones(session: Session) -> None:
    user = org.add_user(session, "priya.nandra", "CHES", "Priya Nandra", roles=["employee"],
                        cross_force_roles={"NTHN": ["ssc_ap_officer"]})
    org.set_roles(session, "CHES", user.id, ["ssc_ap_team_leader"])
    grants = {(g.role, g.force_code) for g in user.roles}
    assert grants == {("ssc_ap_team_leader", "CHES"), ("ssc_ap_officer", "NTHN")}
    org.set_roles(session, "CHES", user.id, [], cross_force_roles=[])
    assert user.roles == []


def test_platform_admin_cannot_hold_task_roles(session: Session) -> None:
    with pytest.raises(InvalidInputError):
        org.add_user(session, "admin", "MFSS", "Admin", roles=["platform_admin", "budget_holder"])
    admin = org.add_user(session, "admin", "MFSS", "Admin", roles=["platform_admin", "employee"])
    with pytest.raises(InvalidInputError):
        org.grant_role(session, "MFSS", admin.id, "ssc_ap_officer", in_force="CHES")


def test_force_manager_administers_only_their_force_and_makes_no_platform_admins(session: Session) -> None:
    manager = org.add_user(session, "leanne.burke", "CHES", "Leanne Burke", roles=["force_manager"])
    admin = org.add_user(session, "admin", "MFSS", "Admin", roles=["platform_admin"])
    assert org.can_administer(manager, "CHES") and not org.can_administer(manager, "NTHN")
    assert "platform_admin" not in org.assignable_roles(manager, "CHES")
    assert [f.code for f in org.administered_forces(session, admin)] == ["CHES", "MFSS", "NTHN"]
    with pytest.raises(NotAllowedError):
        org.check_can_grant(manager, "platform_admin", "CHES")
    with pytest.raises(NotFoundError):
        org.check_can_manage_user(manager, admin)


# --- delegations ----------------------------------------------------------------------------


def test_delegation_routes_work_to_the_delegate_between_the_dates(session: Session) -> None:
    rahman = org.add_user(session, "aisha.rahman", "CHES", "Aisha Rahman")
    price = org.add_user(session, "gareth.price", "CHES", "Gareth Price")
    org.add_delegation(session, "CHES", rahman.id, price.id, dt.date(2026, 3, 2), dt.date(2026, 3, 6))
    assert org.active_delegate(session, rahman.id, dt.date(2026, 3, 6)) is price
    assert org.active_delegate(session, rahman.id, dt.date(2026, 3, 7)) is None
    with pytest.raises(ConflictError):
        org.add_delegation(session, "CHES", rahman.id, price.id, dt.date(2026, 3, 5), dt.date(2026, 3, 9))
    with pytest.raises(InvalidInputError):
        org.add_delegation(session, "CHES", price.id, rahman.id, dt.date(2026, 3, 3), dt.date(2026, 3, 4))
    with pytest.raises(InvalidInputError):
        org.add_delegation(session, "CHES", price.id, price.id, dt.date(2026, 4, 1), dt.date(2026, 4, 2))
    assert [d.user_id for d in org.list_delegations(session, "CHES")] == [rahman.id]


def test_delegation_to_another_forces_user_is_not_found(session: Session) -> None:
    rahman = org.add_user(session, "aisha.rahman", "CHES", "Aisha Rahman")
    osei = org.add_user(session, "mark.osei", "NTHN", "Mark Osei")
    with pytest.raises(NotFoundError):
        org.add_delegation(session, "CHES", rahman.id, osei.id, dt.date(2026, 3, 2), dt.date(2026, 3, 6))


# --- signing in -----------------------------------------------------------------------------


def test_sign_in_with_the_right_password(session: Session) -> None:
    org.add_user(session, "jordan.hale", "CHES", "Jordan Hale", password=PASSWORD)
    assert org.authenticate(session, " Jordan.Hale ", PASSWORD, T0).username == "jordan.hale"


def test_unknown_user_and_wrong_password_get_the_same_message(session: Session) -> None:
    org.add_user(session, "jordan.hale", "CHES", "Jordan Hale", password=PASSWORD)
    with pytest.raises(NotAllowedError) as unknown:
        org.authenticate(session, "nobody", PASSWORD, T0)
    with pytest.raises(NotAllowedError) as wrong:
        org.authenticate(session, "jordan.hale", "wrong password", T0)
    assert unknown.value.message == wrong.value.message


def test_inactive_user_cannot_sign_in(session: Session) -> None:
    user = org.add_user(session, "jordan.hale", "CHES", "Jordan Hale", password=PASSWORD)
    org.deactivate_user(session, "CHES", user.id)
    with pytest.raises(NotAllowedError):
        org.authenticate(session, "jordan.hale", PASSWORD, T0)


def test_back_off_locks_after_five_failures_and_doubles(
    session_factory: sessionmaker[Session], session: Session,
) -> None:
    org.add_user(session, "jordan.hale", "CHES", "Jordan Hale", password=PASSWORD)
    session.commit()

    def attempt(password: str, at: dt.datetime) -> NotAllowedError | None:
        # each attempt is its own unit of work that fails and rolls back, like a real request
        try:
            with unit_of_work(session_factory) as s:
                org.authenticate(s, "jordan.hale", password, at)
        except NotAllowedError as exc:
            return exc
        return None

    for _ in range(4):
        assert "retry_after_seconds" not in (attempt("wrong", T0).details or {})
    locked = attempt("wrong", T0)
    assert locked.details == {"retry_after_seconds": 30}
    assert attempt(PASSWORD, T0 + dt.timedelta(seconds=29)) is not None  # right password, still locked
    assert attempt("wrong", T0 + dt.timedelta(seconds=31)).details == {"retry_after_seconds": 60}
    assert attempt("wrong", T0 + dt.timedelta(seconds=92)).details == {"retry_after_seconds": 120}
    assert attempt(PASSWORD, T0 + dt.timedelta(seconds=213)) is None
    assert attempt("wrong", T0 + dt.timedelta(seconds=214)).details is None  # the count started again


def test_lock_period_is_capped_at_fifteen_minutes() -> None:
    assert org.lock_period(4) is None
    assert org.lock_period(5) == dt.timedelta(seconds=30)
    assert org.lock_period(50) == dt.timedelta(minutes=15)
