"""Instances and work items on SQLite and PostgreSQL: start, route, complete, validate, segregate, cancel."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import instances, workitems
from engine.audit import history, verify
from engine.db import unit_of_work
from engine.errors import ConflictError, InvalidInputError, NotAllowedError, NotFoundError
from engine.models import AuditEvent, Instance, WorkItem

from .conftest import World


def start(world: World, who: str = "pc", amount: int = 60000, key: str | None = None) -> int:
    with unit_of_work(world.factory) as s:
        inst = instances.start_instance(s, user=world.user(s, who), process_key="approval3",
                                        data={"amount_pence": amount, "purpose": "Boots"}, business_key=key)
        return inst.id


def only_item(world: World, who: str, scope: str = "all") -> int:
    with unit_of_work(world.factory) as s:
        items = workitems.inbox(s, user=world.user(s, who), flt=workitems.InboxFilter(scope=scope))
        assert len(items) == 1, [i.title for i in items]
        return items[0].id


def complete(world: World, who: str, item_id: int, data: dict) -> workitems.Completion:
    with unit_of_work(world.factory) as s:
        return workitems.complete(s, user=world.user(s, who), item_id=item_id, data=data)


def test_start_runs_to_first_wait_state_and_routes_to_line_manager(world: World) -> None:
    iid = start(world)
    with unit_of_work(world.factory) as s:
        inst = s.get(Instance, iid)
        assert inst.status == "waiting" and inst.reference == f"CHES-{iid:06d}"
        assert inst.current_step == "Approve the request"
        assert [t["kind"] for t in inst.bundle] == ["process", "decision", "form", "form", "form"]
        item = s.execute(select(WorkItem).where(WorkItem.instance_id == iid)).scalar_one()
        assert item.candidate_user_id == world.user(s, "sgt").id and item.is_approval and item.priority == 1
        assert item.due_at is not None and item.form_key == "approval3_decision"
    assert only_item(world, "sgt", "mine")


def test_whole_process_completes_with_role_lanes_and_audit(world: World) -> None:
    iid = start(world)
    complete(world, "sgt", only_item(world, "sgt"), {"decision": "approve"})
    assert only_item(world, "bh2", "group") == only_item(world, "bh", "group")
    complete(world, "bh", only_item(world, "bh"), {"decision": "approve", "comment": "fine"})
    result = complete(world, "ap", only_item(world, "ap"), {"paid_on": "2026-12-01"})
    assert result.instance.status == "completed" and result.next_items == []
    with unit_of_work(world.factory) as s:
        assert s.get(Instance, iid).data_summary == {"outcome": "paid", "total_pence": 60000, "decision": "approve"}
        actions = [e.action for e in history(s, iid)]
        assert actions.count("work_item_completed") == 3 and actions[-1] == "instance_completed"
        assert verify(s, iid) == []


def test_small_amount_skips_budget_step(world: World) -> None:
    start(world, amount=100)
    result = complete(world, "sgt", only_item(world, "sgt"), {"decision": "approve"})
    assert [i.title for i in result.next_items] == ["Check and pay"]


def test_start_form_errors_are_reported_by_field_and_nothing_is_stored(world: World) -> None:
    with pytest.raises(InvalidInputError) as err, unit_of_work(world.factory) as s:
        instances.start_instance(s, user=world.user(s, "pc"), process_key="approval3",
                                 data={"amount_pence": -5})
    assert err.value.details == {"amount_pence": ["Must be 1 or more"], "purpose": ["Purpose is required"]}
    with unit_of_work(world.factory) as s:
        assert s.execute(select(Instance)).first() is None


def test_completion_validation_failure_changes_nothing(world: World) -> None:
    iid = start(world)
    item = only_item(world, "sgt")
    with pytest.raises(InvalidInputError) as err:
        complete(world, "sgt", item, {"decision": "reject"})
    assert err.value.details == {"comment": ["Comment is required"]}
    with unit_of_work(world.factory) as s:
        assert s.get(WorkItem, item).status == "open"
        assert [e.action for e in history(s, iid)][-1] == "work_item_created"


def test_unknown_process_and_other_force_objects_are_not_found(world: World) -> None:
    with pytest.raises(NotFoundError), unit_of_work(world.factory) as s:
        instances.start_instance(s, user=world.user(s, "pc"), process_key="nope", data={})
    iid = start(world)
    item = only_item(world, "sgt")
    with unit_of_work(world.factory) as s:
        outsider = world.user(s, "nsgt")
        with pytest.raises(NotFoundError):
            workitems.get_work_item(s, user=outsider, item_id=item)
        with pytest.raises(NotFoundError):
            instances.get_instance(s, user=outsider, instance_id=iid)
        assert workitems.inbox(s, user=world.user(s, "nap")) == []


def test_business_key_is_unique_among_open_instances(world: World) -> None:
    start(world, key="PO-1")
    with pytest.raises(ConflictError):
        start(world, key="PO-1")
    start(world, who="npc", key="PO-1")  # another force may use the same key


def test_business_key_can_be_reused_once_the_instance_is_closed(world: World) -> None:
    iid = start(world, key="PO-2")
    with unit_of_work(world.factory) as s:
        instances.withdraw_instance(s, user=world.user(s, "pc"), instance_id=iid, reason="mistake")
    start(world, key="PO-2")


def test_requester_cannot_approve_own_request_and_refusal_is_audited(world: World) -> None:
    with unit_of_work(world.factory) as s:
        from engine import org

        org.set_roles(s, "CHES", world.user(s, "bh").id, ["employee", "budget_holder", "line_manager"])
    iid = start(world, who="bh")
    item = only_item(world, "bh", "group") if False else None
    with unit_of_work(world.factory) as s:
        item = s.execute(select(WorkItem).where(WorkItem.instance_id == iid)).scalar_one().id
    with unit_of_work(world.factory) as s:
        s.get(WorkItem, item).candidate_user_id = world.user(s, "bh").id
        s.get(WorkItem, item).assignee_id = world.user(s, "bh").id
    with pytest.raises(NotAllowedError, match="own request"):
        complete(world, "bh", item, {"decision": "approve"})
    with unit_of_work(world.factory) as s:
        assert [e.action for e in history(s, iid)][-1] == "segregation_refused"
        assert s.get(WorkItem, item).status == "open"


def test_nobody_approves_twice_in_one_instance(world: World) -> None:
    with unit_of_work(world.factory) as s:
        from engine import org

        org.set_roles(s, "CHES", world.user(s, "sgt").id, ["employee", "line_manager", "budget_holder"])
    start(world)
    complete(world, "sgt", only_item(world, "sgt", "mine"), {"decision": "approve"})
    with unit_of_work(world.factory) as s:
        budget = workitems.inbox(s, user=world.user(s, "sgt"), flt=workitems.InboxFilter(scope="group"))[0].id
    with pytest.raises(NotAllowedError, match="already approved"):
        complete(world, "sgt", budget, {"decision": "approve"})
    complete(world, "bh", budget, {"decision": "approve"})


def test_claim_unclaim_and_reassign(world: World) -> None:
    start(world)
    complete(world, "sgt", only_item(world, "sgt"), {"decision": "approve"})
    item = only_item(world, "bh", "group")
    with unit_of_work(world.factory) as s:
        workitems.claim(s, user=world.user(s, "bh"), item_id=item)
    with pytest.raises(ConflictError), unit_of_work(world.factory) as s:
        workitems.claim(s, user=world.user(s, "bh2"), item_id=item)
    with pytest.raises(ConflictError), unit_of_work(world.factory) as s:
        workitems.complete(s, user=world.user(s, "bh2"), item_id=item, data={"decision": "approve"})
    with unit_of_work(world.factory) as s:
        assert workitems.inbox(s, user=world.user(s, "bh2")) == []
        workitems.unclaim(s, user=world.user(s, "bh"), item_id=item)
    with unit_of_work(world.factory) as s:
        assert [i.id for i in workitems.inbox(s, user=world.user(s, "bh2"))] == [item]
        with pytest.raises(InvalidInputError):  # the AP officer does not hold budget_holder
            workitems.reassign(s, user=world.user(s, "sgt"), item_id=item, to_user_id=world.user(s, "ap").id)
        workitems.reassign(s, user=world.user(s, "sgt"), item_id=item, to_user_id=world.user(s, "bh2").id)
    assert only_item(world, "bh2", "mine") == item


def test_people_outside_the_role_cannot_act(world: World) -> None:
    start(world)
    item = only_item(world, "sgt")
    with pytest.raises(NotAllowedError), unit_of_work(world.factory) as s:
        workitems.claim(s, user=world.user(s, "ap"), item_id=item)


def test_withdraw_cancels_items_and_blocks_completion(world: World) -> None:
    iid = start(world)
    item = only_item(world, "sgt")
    with pytest.raises(NotFoundError), unit_of_work(world.factory) as s:  # a colleague cannot even see it
        instances.withdraw_instance(s, user=world.user(s, "pc2"), instance_id=iid)
    with unit_of_work(world.factory) as s:
        inst = instances.withdraw_instance(s, user=world.user(s, "pc"), instance_id=iid, reason="changed my mind")
        assert inst.status == "cancelled"
    with pytest.raises(ConflictError):
        complete(world, "sgt", item, {"decision": "approve"})
    with pytest.raises(ConflictError), unit_of_work(world.factory) as s:
        instances.withdraw_instance(s, user=world.user(s, "pc"), instance_id=iid)


def test_audit_events_cannot_be_updated_or_deleted_through_the_database(world: World) -> None:
    iid = start(world)
    from sqlalchemy import delete, update
    from sqlalchemy.exc import DBAPIError

    for stmt in (update(AuditEvent).where(AuditEvent.instance_id == iid).values(actor="mallory"),
                 delete(AuditEvent).where(AuditEvent.instance_id == iid)):
        with pytest.raises(DBAPIError, match="append-only"), unit_of_work(world.factory) as s:
            s.execute(stmt)


def test_due_dates_skip_weekends_bank_holidays_and_force_closure_days() -> None:
    import datetime as dt

    friday = dt.datetime(2026, 12, 18, 10, 0, tzinfo=dt.timezone.utc)
    due = instances.due_at({"dueInWorkingDays": "3"}, friday)  # Mon 21, Tue 22, Wed 23
    assert due == dt.datetime(2026, 12, 23, 17, 0, tzinfo=dt.timezone.utc)
    due = instances.due_at({"dueInWorkingDays": "3"}, friday, ("2026-12-22",))
    assert due == dt.datetime(2026, 12, 24, 17, 0, tzinfo=dt.timezone.utc)
    christmas_eve = dt.datetime(2026, 12, 24, 10, 0, tzinfo=dt.timezone.utc)  # 25th Fri, 28th substitute
    assert instances.due_at({"dueInWorkingDays": "1"}, christmas_eve).date() == dt.date(2026, 12, 29)
    assert instances.due_at({"dueIn": "PT4H"}, friday) == friday + dt.timedelta(hours=4)
    assert instances.due_at({"dueIn": "soon"}, friday) is None


def test_a_request_is_visible_only_to_those_it_concerns(world: World) -> None:
    iid = start(world)
    with unit_of_work(world.factory) as s:
        for who in ("pc", "sgt"):  # the requester and the approver it waits for
            assert instances.get_instance(s, user=world.user(s, who), instance_id=iid).id == iid
        for who in ("pc2", "ap", "nsgt"):  # a colleague, a role not yet involved, another force
            with pytest.raises(NotFoundError):
                instances.get_instance(s, user=world.user(s, who), instance_id=iid)
