"""Append-only, hash-chained audit events per instance, and their verification.

Each event's hash covers its content and the previous event's hash; the instance row keeps the chain
head, so editing, deleting or truncating events is detected by ``verify``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEvent, Instance, utcnow

GENESIS = "0" * 64


def _digest(ev: AuditEvent) -> str:
    body = {
        "instance_id": ev.instance_id, "seq": ev.seq, "at": ev.at.isoformat(timespec="microseconds"),
        "actor": ev.actor, "action": ev.action, "task": ev.task_name, "work_item": ev.work_item_id,
        "data": ev.data, "prev": ev.prev_hash, "force": ev.force_code,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def record(session: Session, *, instance: Instance | None, actor: str, action: str, force: str | None = None,
           task_name: str | None = None, work_item_id: int | None = None,
           data: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event to the instance's chain (or the global chain when ``instance`` is None)."""
    if instance is not None:
        seq, prev = instance.audit_seq + 1, instance.audit_head or GENESIS
    else:
        last = session.execute(
            select(AuditEvent).where(AuditEvent.instance_id.is_(None)).order_by(AuditEvent.seq.desc()).limit(1)
        ).scalar_one_or_none()
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    ev = AuditEvent(instance_id=instance.id if instance is not None else None,
                    force_code=force or (instance.force_code if instance is not None else None),
                    seq=seq, at=utcnow(), actor=actor, action=action,
                    task_name=task_name, work_item_id=work_item_id, data=json.loads(json.dumps(data or {},
                                                                                               default=str)),
                    prev_hash=prev, hash="")
    ev.hash = _digest(ev)
    session.add(ev)
    if instance is not None:
        instance.audit_seq, instance.audit_head = seq, ev.hash
    return ev


@dataclass(frozen=True)
class AuditProblem:
    """One integrity failure found by ``verify``."""

    instance_id: int | None
    seq: int | None
    message: str


def verify(session: Session, instance_id: int | None = None) -> list[AuditProblem]:
    """Check every chain (or one instance's); an empty list means intact."""
    if instance_id is not None:
        ids: list[int | None] = [instance_id]
    else:
        ids = list(session.execute(select(Instance.id).order_by(Instance.id)).scalars()) + [None]
    problems: list[AuditProblem] = []
    for iid in ids:
        problems.extend(_verify_chain(session, iid))
    return problems


def _verify_chain(session: Session, instance_id: int | None) -> list[AuditProblem]:
    cond = AuditEvent.instance_id == instance_id if instance_id is not None else AuditEvent.instance_id.is_(None)
    events = session.execute(select(AuditEvent).where(cond).order_by(AuditEvent.seq)).scalars().all()
    out: list[AuditProblem] = []
    prev, expected = GENESIS, 1
    for ev in events:
        if ev.seq != expected:
            out.append(AuditProblem(instance_id, expected, f"event {expected} is missing (deleted)"))
        if ev.prev_hash != prev:
            out.append(AuditProblem(instance_id, ev.seq, "chain broken: previous hash does not match"))
        if _digest(ev) != ev.hash:
            out.append(AuditProblem(instance_id, ev.seq, "event content was changed after it was written"))
        prev, expected = ev.hash, ev.seq + 1
    if instance_id is not None:
        inst = session.get(Instance, instance_id)
        if inst is None:
            out.append(AuditProblem(instance_id, None, "instance not found"))
        elif inst.audit_seq != (events[-1].seq if events else 0) or (events and inst.audit_head != events[-1].hash):
            out.append(AuditProblem(instance_id, inst.audit_seq,
                                    "the newest events were removed (chain head does not match the instance)"))
    return out


def history(session: Session, instance_id: int) -> list[AuditEvent]:
    """An instance's events in order."""
    return list(session.execute(
        select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq)).scalars())
