"""Notifications: in-app rows and outbox emails, written in the caller's transaction (sent after commit).

Wording comes from ``notification_templates/common/<event>.txt``, overridden per force by
``notification_templates/forces/<FORCE>/<event>.txt`` along the force chain (nearest wins), rendered with
``string.Template.safe_substitute``. The first line of a template is ``Subject: ...``. No SMTP here.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from . import catalog, jobs
from .calendar import utcnow
from .models import Instance, Notification, OutboxEmail, User, WorkItem
from .org.forces import known_force
from .org.roles import holders_query

EVENTS = ("new_item", "reminder", "escalation", "outcome")
TEMPLATES = Path(__file__).parent / "notification_templates"
LONDON = ZoneInfo("Europe/London")
MAX_RECIPIENTS = 25  # a role queue may have many holders; beyond this, the inbox is the notification
FALLBACK = "Subject: $event: $task_title $reference\n\n$link\n"


@dataclass(frozen=True)
class Message:
    """A rendered notification."""

    subject: str
    body: str


def template_for(session: Session, force: str, event: str) -> str:
    """The template text of ``event`` for ``force``: the nearest force folder on the chain, else common."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event '{event}'")
    for scope in catalog.force_chain(session, force):
        path = TEMPLATES / "common" / f"{event}.txt" if scope == catalog.COMMON else \
            TEMPLATES / "forces" / scope / f"{event}.txt"
        text = _read(path)
        if text is not None:
            return text
    return FALLBACK


@functools.lru_cache(maxsize=256)
def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None


def render(template: str, values: dict[str, Any]) -> Message:
    """Fill ``$name`` placeholders (unknown ones stay as written); split the Subject line from the body."""
    text = Template(template).safe_substitute({k: "" if v is None else str(v) for k, v in values.items()})
    first, _, rest = text.partition("\n")
    if first.lower().startswith("subject:"):
        subject, body = first.split(":", 1)[1].strip(), rest.lstrip("\n")
    else:
        subject, body = str(values.get("event", "Muster")), text
    return Message(" ".join(subject.split())[:300], body)


class Recipient(Protocol):
    """What a notification needs of a person (a User, or a narrow Contact row)."""

    @property
    def id(self) -> int: ...

    @property
    def active(self) -> bool: ...

    @property
    def full_name(self) -> str: ...

    @property
    def email(self) -> str | None: ...


@dataclass(frozen=True)
class Contact:
    """A person's notification details, read without loading the whole user and their role grants."""

    id: int
    active: bool
    full_name: str
    email: str | None


def contacts(session: Session, user_ids: Iterable[int]) -> list[Contact]:
    """The contacts of ``user_ids`` in one narrow query."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return []
    rows = session.execute(select(User.id, User.active, User.full_name, User.email)
                           .where(User.id.in_(ids))).all()
    by_id = {r.id: Contact(r.id, r.active, r.full_name, r.email) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def role_contacts(session: Session, force: str, role: str) -> list[Contact]:
    """Active holders of ``role`` in ``force`` (own and cross-force grants), as contacts, by name."""
    rows = session.execute(holders_query(force, role).with_only_columns(
        User.id, User.active, User.full_name, User.email)).all()
    return [Contact(r.id, r.active, r.full_name, r.email) for r in rows]


def send(session: Session, *, event: str, force: str, recipients: Iterable[Recipient], values: dict[str, Any],
         link: str | None = None) -> list[Notification]:
    """Write one in-app notification per distinct active recipient, and an outbox email (plus its
    ``send_email`` job) for those with an email address, all in the caller's transaction."""
    template = template_for(session, force, event)
    now = utcnow()
    out: list[Notification] = []
    seen: set[int] = set()
    for user in recipients:
        if user.id in seen or not user.active or len(seen) >= MAX_RECIPIENTS:
            continue
        seen.add(user.id)
        msg = render(template, {**values, "event": event, "recipient_name": user.full_name,
                                "link": _absolute(link)})
        note = Notification(user_id=user.id, force_code=force, kind=event, text=msg.subject[:500], link=link,
                            created_at=now)
        session.add(note)
        out.append(note)
        if user.email:
            email = OutboxEmail(to_address=user.email, subject=msg.subject, body=msg.body, created_at=now)
            session.add(email)
            session.flush()
            jobs.enqueue(session, "send_email", due_at=now, force_code=force, payload={"email_id": email.id})
    session.flush()
    return out


def _absolute(link: str | None) -> str:
    base = os.environ.get("MUSTER_BASE_URL", "http://localhost:5000").rstrip("/")
    return f"{base}{link}" if link else base


def item_link(item: WorkItem) -> str:
    return f"/inbox/items/{item.id}"


def instance_link(inst: Instance) -> str:
    return f"/requests/{inst.id}"


def format_time(when: dt.datetime | None) -> str:
    """A due time as people in England read it, e.g. 'Wed 2 Dec 2026, 17:00'."""
    if when is None:
        return "no due date"
    local = when.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def item_values(session: Session, item: WorkItem, inst: Instance,
                known: Mapping[int, Contact] | None = None) -> dict[str, Any]:
    """Placeholder values describing a work item and its request (``known`` contacts save a query)."""
    holder_id = item.assignee_id or item.candidate_user_id
    wanted = [inst.started_by_id] + ([holder_id] if holder_id else [])
    people: Mapping[int, Contact] = known if known is not None and all(i in known for i in wanted) else \
        {c.id: c for c in contacts(session, wanted)}
    requester, holder = people.get(inst.started_by_id), people.get(holder_id) if holder_id else None
    force = known_force(session, inst.force_code)
    return {"task_title": item.title, "process_title": inst.title, "reference": inst.reference,
            "requester_name": requester.full_name if requester else "", "due": format_time(item.due_at),
            "holder_name": holder.full_name if holder else (item.candidate_role or "unassigned"),
            "force_name": force.name if force else inst.force_code, "force_code": inst.force_code}


def instance_values(session: Session, inst: Instance) -> dict[str, Any]:
    """Placeholder values describing a request and its outcome."""
    force = known_force(session, inst.force_code)
    outcome = (inst.data_summary or {}).get("outcome") or inst.status
    return {"process_title": inst.title, "reference": inst.reference, "outcome": outcome,
            "force_name": force.name if force else inst.force_code, "force_code": inst.force_code}


# --- the in-app list -------------------------------------------------------------------------


def unread_count(session: Session, user_id: int) -> int:
    """How many of the user's notifications are unread."""
    return int(session.execute(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))).scalar_one())


def list_for(session: Session, user_id: int, *, unread_only: bool = False,
             limit: int = 50) -> list[Notification]:
    """The user's notifications, newest first."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.execute(query.order_by(Notification.id.desc()).limit(limit)).scalars())


def mark_read(session: Session, user_id: int, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (only ``ids`` if given); returns how many changed."""
    stmt = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    stmt = stmt.values(read_at=utcnow()).execution_options(synchronize_session=False)
    result: CursorResult[Any] = session.execute(stmt)  # type: ignore[assignment]
    return int(result.rowcount or 0)
